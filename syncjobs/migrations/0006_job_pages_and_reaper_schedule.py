"""Sync administrators may see the synchronization log and errors and act on them; the reaper
of stale jobs runs every five minutes.

Permissions are created by a post_migrate handler after every migration ran, so on a fresh
database these do not exist yet here: create them first.
"""

from django.db import migrations

from nav_crm import migration_helpers

GRANTS = {"Sync administrators": ["view_syncjob", "change_syncjob", "delete_syncjob"]}
REAPER_NAME = "Reap stale sync jobs"
REAPER_FUNC = "syncjobs.tasks.reap_stale_jobs"


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


def schedule_reaper(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).update_or_create(
        name=REAPER_NAME,
        defaults={"func": REAPER_FUNC, "schedule_type": "I", "minutes": 5, "repeats": -1},
    )


def unschedule_reaper(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).filter(name=REAPER_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("syncjobs", "0005_sync_jobs"),
    ]

    operations = [
        migrations.RunPython(grant, revoke),
        migrations.RunPython(schedule_reaper, unschedule_reaper),
    ]

"""Sync administrators may see the synchronization log and errors and act on them; the reaper
of stale jobs runs every five minutes.

Permissions are created by a post_migrate handler after every migration ran, so on a fresh
database these do not exist yet here: create them first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Sync administrators"
CODENAMES = ("view_syncjob", "change_syncjob", "delete_syncjob")
REAPER_NAME = "Reap stale sync jobs"
REAPER_FUNC = "syncjobs.tasks.reap_stale_jobs"


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("syncjobs")
    models_module = getattr(app_config, "models_module", None)
    # create_permissions skips app configs without a models module, which is how historical ones look.
    app_config.models_module = models_module or True
    try:
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    finally:
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP)
    group.permissions.add(
        *Permission.objects.using(using).filter(content_type__app_label="syncjobs", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    using = schema_editor.connection.alias
    for group in Group.objects.using(using).filter(name=GROUP):
        group.permissions.remove(
            *Permission.objects.using(using).filter(content_type__app_label="syncjobs", codename__in=CODENAMES)
        )


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

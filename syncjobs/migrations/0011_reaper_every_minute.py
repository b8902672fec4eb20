"""The reaper runs every minute (it ran every five): with a job's heart beating every 15 seconds and a job
stale after a minute without a beat, a job whose worker died resumes within about two minutes."""

from django.db import migrations

REAPER_NAME = "Reap stale sync jobs"


def every_minute(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).filter(name=REAPER_NAME).update(minutes=1)


def every_five_minutes(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).filter(name=REAPER_NAME).update(minutes=5)


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0010_one_job_per_mapping"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(every_minute, every_five_minutes)]

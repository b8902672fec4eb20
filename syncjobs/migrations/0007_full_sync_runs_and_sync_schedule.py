"""Full synchronization runs and their lines; the schedule that queues each mapping's recurring
synchronization (syncjobs.scheduling) runs every minute.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DISPATCH_NAME = "Dispatch scheduled synchronizations"
DISPATCH_FUNC = "syncjobs.tasks.dispatch_scheduled_synchronizations"


def schedule_dispatcher(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).update_or_create(
        name=DISPATCH_NAME,
        defaults={"func": DISPATCH_FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def unschedule_dispatcher(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.using(schema_editor.connection.alias).filter(name=DISPATCH_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("syncjobs", "0006_job_pages_and_reaper_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FullSyncRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting for a worker"),
                            ("running", "Running"),
                            ("finished", "Finished"),
                            ("failed", "Stopped"),
                            ("cancelled", "Cancelled"),
                        ],
                        db_index=True,
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("message", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("worker", models.CharField(blank=True, max_length=100)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "full synchronization",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="FullSyncLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField()),
                ("mapping_name", models.CharField(max_length=50)),
                (
                    "recommendation",
                    models.CharField(
                        choices=[
                            ("full", "Full synchronization"),
                            ("couple", "Couple records"),
                            ("none", "No records found"),
                            ("skip", "Skip"),
                        ],
                        max_length=10,
                    ),
                ),
                ("erp_count", models.PositiveIntegerField(blank=True, null=True, verbose_name="ERP records")),
                ("crm_count", models.PositiveIntegerField(blank=True, null=True, verbose_name="Dynamics 365 rows")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("waiting", "Waiting"),
                            ("running", "Running"),
                            ("success", "Finished"),
                            ("error", "Finished with errors"),
                            ("failed", "Failed"),
                            ("skipped", "Skipped"),
                        ],
                        default="waiting",
                        max_length=10,
                    ),
                ),
                ("message", models.TextField(blank=True)),
                (
                    "coupling_job",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="syncjobs.syncjob",
                    ),
                ),
                (
                    "mapping",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="syncjobs.integrationtablemapping",
                    ),
                ),
                (
                    "sync_job",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="syncjobs.syncjob",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="lines", to="syncjobs.fullsyncrun"
                    ),
                ),
            ],
            options={
                "verbose_name": "full synchronization line",
                "ordering": ["run", "position"],
            },
        ),
        migrations.RunPython(schedule_dispatcher, unschedule_dispatcher),
    ]

"""Sync administrators may start synchronization jobs: "Synchronize now" on a record, "Synchronize modified
records" on a mapping, match-based coupling (they could see, retry and delete jobs, not start one)."""

from django.db import migrations

from nav_crm import migration_helpers

GRANTS = {"Sync administrators": ["add_syncjob"]}


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("syncjobs", "0018_record_templates")]

    operations = [migrations.RunPython(grant, revoke)]

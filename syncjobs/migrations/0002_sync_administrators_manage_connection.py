"""Sync administrators may set up the CRM connection.

Permissions are created by a post_migrate handler, after every migration ran, so on a fresh
database this one does not exist yet here: create it first.
"""

from django.db import migrations

from nav_crm import migration_helpers

GRANTS = {"Sync administrators": ["manage_connection"]}


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0001_initial"),
        ("erp", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

"""Sync administrators may couple and decouple records: the errors page sends them to a record's couple page
("Couple salesperson …"), which they could not open (coupling.add_coupling)."""

from django.db import migrations

from nav_crm import migration_helpers

GRANTS = {"Sync administrators": ["view_coupling", "add_coupling", "delete_coupling"]}


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="coupling", grants=GRANTS)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="coupling", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("coupling", "0006_coupling_erp_deleted_label"),
        ("erp", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

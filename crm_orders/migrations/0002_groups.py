"""The back office ("Sales") and the sync administrators may create ERP orders from the orders submitted in
Dynamics 365 (the "Dynamics 365 sales orders" page)."""

from django.db import migrations

from nav_crm import migration_helpers

GRANTS = {"Sales": ["process_crm_orders"], "Sync administrators": ["process_crm_orders"]}


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="crm_orders", grants=GRANTS)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="crm_orders", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("crm_orders", "0001_initial"), ("erp", "0002_groups")]

    operations = [migrations.RunPython(grant, revoke)]

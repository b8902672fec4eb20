"""Posting invoices: Sales may post them (erp.add_salesinvoiceheader) and see posted invoices, the customer
ledger and the sales setup; Sync administrators see them. The posted invoice number series S-INV and the
sales setup row are created when missing, so that an existing install can post its first invoice.

Idempotent (tests call ``grant`` again after a transactional test flushed the tables); reversing removes
the permissions again and keeps the series and the setup.
"""

from django.db import migrations

from nav_crm import migration_helpers

INVOICE_VIEWS = ["view_salesinvoiceheader", "view_salesinvoiceline", "view_custledgerentry", "view_salessetup"]
GRANTS = {
    "Sales": [*INVOICE_VIEWS, "add_salesinvoiceheader"],
    "Sync administrators": INVOICE_VIEWS,
}


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="erp", grants=GRANTS)
    using = schema_editor.connection.alias if schema_editor else "default"
    NoSeries = apps.get_model("erp", "NoSeries")
    NoSeries.objects.using(using).get_or_create(
        code="S-INV", defaults={"description": "Posted sales invoices", "prefix": "S-INV", "width": 6}
    )
    SalesSetup = apps.get_model("erp", "SalesSetup")
    SalesSetup.objects.using(using).get_or_create(pk=1)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="erp", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0007_sales_invoices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

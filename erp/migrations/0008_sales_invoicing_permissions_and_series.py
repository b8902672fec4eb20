"""Posting invoices: Sales may post them (erp.add_salesinvoiceheader) and see posted invoices, the customer
ledger and the sales setup; Sync administrators see them. The posted invoice number series S-INV and the
sales setup row are created when missing, so that an existing install can post its first invoice.

Idempotent (tests call ``grant`` again after a transactional test flushed the tables); reversing removes
the permissions again and keeps the series and the setup.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

INVOICE_VIEWS = ["view_salesinvoiceheader", "view_salesinvoiceline", "view_custledgerentry", "view_salessetup"]
GRANTS = {
    "Sales": [*INVOICE_VIEWS, "add_salesinvoiceheader"],
    "Sync administrators": INVOICE_VIEWS,
}


def grant(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    app_config = apps.get_app_config("erp")
    models_module = getattr(app_config, "models_module", None)
    # create_permissions skips app configs without a models module, which is how historical ones look.
    app_config.models_module = models_module or True
    try:
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    finally:
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.using(using).filter(content_type__app_label="erp", codename__in=codenames)
        )
    NoSeries = apps.get_model("erp", "NoSeries")
    NoSeries.objects.using(using).get_or_create(
        code="S-INV", defaults={"description": "Posted sales invoices", "prefix": "S-INV", "width": 6}
    )
    SalesSetup = apps.get_model("erp", "SalesSetup")
    SalesSetup.objects.using(using).get_or_create(pk=1)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    using = schema_editor.connection.alias
    for name, codenames in GRANTS.items():
        for group in Group.objects.using(using).filter(name=name):
            group.permissions.remove(
                *Permission.objects.using(using).filter(content_type__app_label="erp", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0007_sales_invoices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

"""The role groups "Sales" and "Sync administrators" with their ERP permissions.

Permissions are created by a post_migrate handler, i.e. only after every migration ran, so on a
fresh database they do not exist yet here: create them first. ``create_groups`` is idempotent
(tests call it again after a transactional test flushed the tables).
"""

from django.db import migrations

from nav_crm import migration_helpers

ERP_MODELS = [
    "currency",
    "currencyexchangerate",
    "customer",
    "customerpricegroup",
    "contact",
    "generalsetup",
    "item",
    "itemledgerentry",
    "itemunitofmeasure",
    "noseries",
    "paymentterms",
    "resource",
    "salesheader",
    "salesline",
    "salesperson",
    "salesprice",
    "shipmentmethod",
    "shippingagent",
    "unitofmeasure",
]
SALES_EDITS = ["customer", "contact", "salesheader", "salesline", "salesprice"]

GROUP_PERMISSIONS = {
    # add_itemledgerentry: posting a shipment writes sale entries (granted to existing databases by 0005).
    "Sales": [f"view_{model}" for model in ERP_MODELS]
    + [f"{action}_{model}" for model in SALES_EDITS for action in ("add", "change")]
    + ["add_itemledgerentry"],
    "Sync administrators": [f"view_{model}" for model in ERP_MODELS],
}


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    for label in ("contenttypes", "auth"):
        migration_helpers.create_app_permissions(apps, label, using=using)
    migration_helpers.grant(apps, schema_editor, app_label="erp", grants=GROUP_PERMISSIONS)


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=GROUP_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]

"""Sales may post item ledger entries: posting a shipment through the API needs erp.add_itemledgerentry
besides erp.change_salesheader (it writes the sale entries), and Sales lacked it.

0002_groups lists it for new databases as well; this grants it to the group of an existing one.
Idempotent; reversing removes it again.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Sales"
CODENAME = "add_itemledgerentry"


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
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
    group, _ = Group.objects.using(using).get_or_create(name=GROUP)
    group.permissions.add(Permission.objects.using(using).get(content_type__app_label="erp", codename=CODENAME))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    using = schema_editor.connection.alias
    for group in Group.objects.using(using).filter(name=GROUP):
        group.permissions.remove(
            *Permission.objects.using(using).filter(content_type__app_label="erp", codename=CODENAME)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0004_sales_line_discount_message"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

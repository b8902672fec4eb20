"""Sales may post item ledger entries: posting a shipment through the API needs erp.add_itemledgerentry
besides erp.change_salesheader (it writes the sale entries), and Sales lacked it.

0002_groups lists it for new databases as well; this grants it to the group of an existing one.
Idempotent; reversing removes it again.
"""

from django.db import migrations

from nav_crm import migration_helpers

GRANTS = {"Sales": ["add_itemledgerentry"]}


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="erp", grants=GRANTS)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="erp", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0004_sales_line_discount_message"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

"""A field mapping's transform may be "inactive_state": an ERP Blocked flag ↔ the CRM row's statecode."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0014_sales_order_mode"),
    ]

    operations = [
        migrations.AlterField(
            model_name="integrationfieldmapping",
            name="transform",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "None"),
                    ("trim", "Trim to the target's maximum length (with a warning)"),
                    ("lookup", "Look up by coupled id"),
                    ("schedule_base_unit", "Base unit of the coupled unit group"),
                    ("option", "Option value of the coupled ERP record"),
                    ("inactive_state", "Blocked ↔ inactive state (true: Inactive/Retired, false: Active)"),
                ],
                default="",
                max_length=20,
            ),
        ),
    ]

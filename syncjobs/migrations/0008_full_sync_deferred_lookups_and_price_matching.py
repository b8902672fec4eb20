"""A full synchronization line remembers the job that sends the lookups left out until a later line
coupled their record. Installed defaults that were never edited learn two things: SALESPRC-PRODPRICE
couples price list items by price list and product (and creates what finds no match), and CONTACT
takes the persons of unblocked customers only. Mappings a user changed are left as they are.
"""

import django.db.models.deletion
from django.db import migrations, models

OLD_CONTACT_FILTER = {"type": "person", "company__isnull": False}
NEW_CONTACT_FILTER = {"type": "person", "company__customer__blocked": ""}
PRICE_MATCH_FIELDS = ("pricelevelid", "productid")


def update_untouched_defaults(apps, schema_editor):
    Mapping = apps.get_model("syncjobs", "IntegrationTableMapping")
    FieldMapping = apps.get_model("syncjobs", "IntegrationFieldMapping")
    contact = Mapping.objects.filter(name="CONTACT").first()
    if contact is not None and contact.erp_filter == OLD_CONTACT_FILTER:
        contact.erp_filter = NEW_CONTACT_FILTER
        # A changed scope: the next run looks at every record again.
        contact.erp_watermark = None
        contact.save(update_fields=["erp_filter", "erp_watermark"])
    prices = Mapping.objects.filter(name="SALESPRC-PRODPRICE").first()
    if prices is None:
        return
    fields = FieldMapping.objects.filter(table_mapping=prices)
    if fields.filter(use_for_match_based_coupling=True).exists():
        return  # criteria chosen by a user
    fields.filter(name__in=PRICE_MATCH_FIELDS).update(use_for_match_based_coupling=True, match_priority=1)
    prices.create_new_if_no_match = True
    prices.save(update_fields=["create_new_if_no_match"])


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0007_full_sync_runs_and_sync_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="fullsyncline",
            name="deferred_job",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="syncjobs.syncjob",
            ),
        ),
        migrations.RunPython(update_untouched_defaults, migrations.RunPython.noop),
    ]

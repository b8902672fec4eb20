"""Installed ITEM-PRODUCT and RESOURCE-PRODUCT mappings learn Blocked ↔ statecode (a blocked item or
resource retires its product, a product made inactive in Dynamics 365 blocks it), and their filters
no longer leave blocked records and inactive products out, so that their state synchronizes; the
engine still creates nothing blocked or inactive. Filters a user changed are left as they are.
"""

from django.db import migrations

OLD_FILTERS = {
    "ITEM-PRODUCT": ({"blocked": False}, "producttypecode eq 1 and statecode eq 0"),
    "RESOURCE-PRODUCT": ({"blocked": False}, "producttypecode eq 3"),
}
NEW_FILTERS = {
    "ITEM-PRODUCT": ({}, "producttypecode eq 1"),
    "RESOURCE-PRODUCT": ({}, "producttypecode eq 3"),
}


def add_blocked_state(apps, schema_editor):
    Mapping = apps.get_model("syncjobs", "IntegrationTableMapping")
    FieldMapping = apps.get_model("syncjobs", "IntegrationFieldMapping")
    for name, (old_erp_filter, old_crm_filter) in OLD_FILTERS.items():
        mapping = Mapping.objects.filter(name=name).first()
        if mapping is None:
            continue
        fields = FieldMapping.objects.filter(table_mapping=mapping)
        if not fields.filter(name="statecode").exists():
            last = fields.order_by("-position").values_list("position", flat=True).first() or 0
            FieldMapping.objects.create(
                table_mapping=mapping,
                name="statecode",
                position=last + 10,
                erp_field="blocked",
                crm_attribute="statecode",
                direction="bidirectional",
                transform="inactive_state",
                validate_field=True,
            )
        if (mapping.erp_filter, mapping.crm_filter) == (old_erp_filter, old_crm_filter):
            mapping.erp_filter, mapping.crm_filter = NEW_FILTERS[name]
            # A changed scope: the next run looks at every record again.
            mapping.erp_watermark = None
            mapping.crm_watermark = None
            mapping.crm_delta_link = ""
            mapping.save(update_fields=["erp_filter", "crm_filter", "erp_watermark", "crm_watermark", "crm_delta_link"])


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0015_inactive_state_transform"),
    ]

    operations = [
        migrations.RunPython(add_blocked_state, migrations.RunPython.noop),
    ]

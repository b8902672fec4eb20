"""Tables of the integration mapping pages (django-tables2)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from nav_crm.ui.tables import ObjectTable
from syncjobs.models import IntegrationFieldMapping, IntegrationTableMapping


class MappingTable(ObjectTable):
    name = tables.Column(linkify=True)
    erp_model = tables.Column("ERP table", accessor="erp_model", order_by=("erp_model__model",))
    depends_on = tables.ManyToManyColumn(verbose_name="Depends on", orderable=False)
    is_enabled = tables.BooleanColumn("Enabled")

    class Meta(ObjectTable.Meta):
        model = IntegrationTableMapping
        fields = (
            "pk",
            "name",
            "title",
            "erp_model",
            "crm_entity",
            "direction",
            "is_enabled",
            "depends_on",
            "update_conflict_policy",
            "deletion_policy",
        )

    def render_erp_model(self, value):
        model = value.model_class()
        return model._meta.verbose_name_plural.capitalize() if model else value.model


class FieldMappingTable(tables.Table):
    is_enabled = tables.BooleanColumn("Enabled")
    use_for_match_based_coupling = tables.BooleanColumn("Match on")
    lookup_mapping = tables.Column("Lookup through")
    edit = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta:
        model = IntegrationFieldMapping
        fields = (
            "name",
            "erp_field",
            "direction",
            "crm_attribute",
            "constant_value",
            "transform",
            "lookup_mapping",
            "use_for_match_based_coupling",
            "match_priority",
            "case_sensitive_matching",
            "not_null",
            "is_enabled",
            "edit",
        )
        empty_text = "No field mappings."
        attrs = {"class": "table table-sm table-hover align-middle"}

    def render_edit(self, record):
        url = reverse("syncjobs:field_mapping_edit", args=[record.table_mapping_id, record.pk])
        return format_html('<a href="{}" aria-label="Edit {}"><i class="bi bi-pencil"></i> Edit</a>', url, record.name)

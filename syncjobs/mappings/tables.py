"""Tables of the integration mapping pages: mappings, their field mappings, their record templates."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from nav_crm.ui.tables import ObjectTable
from syncjobs import permissions
from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import (
    IntegrationFieldMapping,
    IntegrationTableMapping,
    RecordTemplate,
)
from syncjobs.runs import scheduling


class MappingTable(ObjectTable):
    name = tables.Column(linkify=True)
    erp_model = tables.Column("ERP table", accessor="erp_model", order_by=("erp_model__model",))
    depends_on = tables.ManyToManyColumn(verbose_name="Depends on", orderable=False)
    is_enabled = tables.BooleanColumn("Enabled")
    next_run = tables.Column("Next run", empty_values=(), orderable=False)
    run_now = tables.Column("", empty_values=(), orderable=False)

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
            "next_run",
            "run_now",
            "depends_on",
            "update_conflict_policy",
            "deletion_policy",
        )

    def __init__(self, *args, request=None, **kwargs):
        if request is None or not request.user.has_perm(permissions.START_JOBS):
            kwargs["exclude"] = (*(kwargs.get("exclude") or ()), "run_now")
        super().__init__(*args, request=request, **kwargs)

    def render_erp_model(self, value):
        model = value.model_class()
        return model._meta.verbose_name_plural.capitalize() if model else value.model

    def render_next_run(self, record):
        if not hasattr(self, "_schedule_states"):
            # One query for the whole table, not two per row.
            self._connection_enabled = connection_selectors.crm_connection_is_enabled()
            self._schedule_states = scheduling.schedule_states()
        next_run = scheduling.mapping_next_run(
            mapping=record, state=self._schedule_states.get(record.pk), connection_enabled=self._connection_enabled
        )
        return format_html(
            '<span class="small" title="every {} minutes">{}</span>', record.sync_interval_minutes, next_run.label
        )

    def render_run_now(self, record):
        """A button of the list's (bulk) form that posts, with its CSRF token, to the mapping's run-now address."""
        if not record.is_enabled:
            return ""
        return format_html(
            '<button type="submit" class="btn btn-sm btn-outline-primary text-nowrap" formaction="{}" '
            'name="back" value="{}" data-run-now="{}" title="An incremental job for {}: the records changed on '
            'either side since its last run"><i class="bi bi-play-circle"></i> Synchronize modified records</button>',
            reverse("syncjobs:mapping_synchronize", args=[record.pk]),
            self.request.get_full_path(),
            record.name,
            record.name,
        )


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


class RecordTemplateTable(tables.Table):
    crm_filter = tables.Column("CRM filter", default="Every row")
    values = tables.Column("Values")
    actions = tables.Column(empty_values=(), orderable=False, verbose_name="")

    class Meta:
        model = RecordTemplate
        fields = ("priority", "code", "description", "crm_filter", "values", "actions")
        orderable = False
        empty_text = "No templates: records created from Dynamics 365 take only its values and the ERP's defaults."
        attrs = {"class": "table table-sm table-hover align-middle"}

    def render_crm_filter(self, value):
        return format_html("<code>{}</code>", value)

    def render_values(self, value):
        return format_html_join(", ", "<code>{}</code> = {}", sorted(value.items()))

    def render_actions(self, record):
        edit = reverse("syncjobs:record_template_edit", args=[record.mapping_id, record.pk])
        delete = reverse("syncjobs:record_template_delete", args=[record.mapping_id, record.pk])
        return format_html(
            '<a href="{}" aria-label="Edit {}"><i class="bi bi-pencil"></i> Edit</a> '
            '<a class="ms-2 text-danger" href="{}" aria-label="Delete {}"><i class="bi bi-trash"></i> Delete</a>',
            edit,
            record.code,
            delete,
            record.code,
        )

"""Tables of the integration mapping pages: mappings, their field mappings, their record templates."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from nav_crm.ui.tables import ObjectTable
from syncjobs import permissions
from syncjobs.connection import selectors as connection_selectors
from syncjobs.engine.context import CRM_ENTITY_NOUNS
from syncjobs.mappings import rules
from syncjobs.models import (
    IntegrationFieldMapping,
    IntegrationTableMapping,
    RecordTemplate,
)
from syncjobs.runs import scheduling


def _without_bc_name(label: str) -> str:
    """ "Leave both and report (BC: None)" → "Leave both and report"."""
    return label.split(" (BC: ")[0]


class MappingTable(ObjectTable):
    name = tables.Column()
    title = tables.Column(attrs={"td": {"class": "text-wrap"}})
    erp_model = tables.Column("ERP table", accessor="erp_model", order_by=("erp_model__model",))
    crm_entity = tables.Column("Dynamics 365 table")
    depends_on = tables.ManyToManyColumn(verbose_name="Depends on", orderable=False)
    is_enabled = tables.BooleanColumn("Enabled")
    next_run = tables.Column("Next run", empty_values=(), orderable=False)
    policies = tables.Column(
        "Policies", empty_values=(), orderable=False, attrs={"td": {"class": "mapping-policies small"}}
    )

    # The title names both tables already; the tables, dependencies and each policy alone are in the "Columns" dialog.
    default_columns = ("name", "title", "direction", "is_enabled", "next_run", "policies")

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
            "depends_on",
            "policies",
            "update_conflict_policy",
            "deletion_policy",
        )

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.may_run_now = request is not None and request.user.has_perm(permissions.START_JOBS)

    def render_name(self, record):
        """The mapping's page, and under it (as on the full synchronization page) its "Synchronize modified
        records" button."""
        link = format_html('<a href="{}">{}</a>', record.get_absolute_url(), record.name)
        if not (self.may_run_now and record.is_enabled):
            return link
        return format_html("{}<div>{}</div>", link, self.run_now_button(record))

    def render_erp_model(self, value):
        model = value.model_class()
        return capfirst(model._meta.verbose_name_plural) if model else value.model

    def render_crm_entity(self, value):
        return capfirst(CRM_ENTITY_NOUNS.get(value, value))

    def render_policies(self, record):
        """Both policies in one cell that wraps, in their short words (the edit form says what BC calls them)."""
        return format_html(
            '<div><span class="text-body-secondary">Changed on both sides:</span> {}</div>'
            '<div><span class="text-body-secondary">Deleted:</span> {}</div>',
            _without_bc_name(record.get_update_conflict_policy_display()),
            _without_bc_name(record.get_deletion_policy_display()),
        )

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

    def run_now_button(self, record):
        """A button of the list's (bulk) form that posts, with its CSRF token, to the mapping's run-now address."""
        return format_html(
            '<button type="submit" class="btn btn-sm btn-link p-0 text-nowrap" formaction="{}" '
            'name="back" value="{}" data-run-now="{}" title="An incremental job for {}: the records changed on '
            'either side since its last run"><i aria-hidden="true" class="bi bi-play-circle"></i> '
            "Synchronize modified records</button>",
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

    def __init__(self, *args, crm_labels: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The names Dynamics 365 shows for the attributes (selectors.crm_attribute_labels), where it has them.
        self.crm_labels = crm_labels or {}

    def render_crm_attribute(self, value):
        shown = self.crm_labels.get(value)
        return format_html('<span title="{}">{}</span>', value, shown) if shown else value

    def render_erp_field(self, record, value):
        words = rules.erp_field_words(record.table_mapping.erp_model.model_class(), value)
        return format_html('<span title="{}">{}</span>', value, words)

    def render_edit(self, record):
        url = reverse("syncjobs:field_mapping_edit", args=[record.table_mapping_id, record.pk])
        return format_html(
            '<a href="{}" aria-label="Edit {}"><i aria-hidden="true" class="bi bi-pencil"></i> Edit</a>',
            url,
            record.name,
        )


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
            '<a href="{}" aria-label="Edit {}"><i aria-hidden="true" class="bi bi-pencil"></i> Edit</a> '
            '<a class="ms-2 text-danger" href="{}" aria-label="Delete {}">'
            '<i aria-hidden="true" class="bi bi-trash"></i> Delete</a>',
            edit,
            record.code,
            delete,
            record.code,
        )

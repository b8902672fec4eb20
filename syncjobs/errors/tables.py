"""Tables of rows about one record each, the errors and the warnings (on the errors page and a job's page)."""

import django_tables2 as tables
from django.contrib.contenttypes.models import ContentType
from django.utils.html import format_html

from nav_crm.ui.permissions import may_open, may_view
from nav_crm.ui.tables import ObjectTable
from syncjobs.engine import crm_queries
from syncjobs.engine.context import CRM_ENTITY_NOUNS
from syncjobs.errors.selectors import RestoreSide
from syncjobs.models import (
    SyncJobError,
    SyncJobWarning,
)


class RecordRowsTable(ObjectTable):
    """Rows about one record each (errors, warnings): the ERP record and the Dynamics 365 row, linked."""

    # Record names and ids wrap anywhere (an id is one long word), so that the list fits the screen.
    erp_record = tables.Column(
        "ERP record", accessor="erp_label", empty_values=(), order_by=("erp_label",), attrs={"td": {"class": "wrap"}}
    )
    crm_row = tables.Column(
        "Dynamics 365", accessor="crm_id", empty_values=(), orderable=False, attrs={"td": {"class": "wrap"}}
    )

    def __init__(self, *args, crm_server_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.crm_server_url = crm_server_url
        self._erp_urls: dict[tuple[int, object], str] | None = None

    def erp_record_urls(self) -> dict[tuple[int, object], str]:
        """The page of every ERP record on the current page that still exists, in one query per ERP table."""
        if self._erp_urls is None:
            rows = [row.record for row in self.page.object_list] if hasattr(self, "page") else list(self.data)
            wanted: dict[int, set] = {}
            for row in rows:
                if row.erp_model_id and row.erp_system_id:
                    wanted.setdefault(row.erp_model_id, set()).add(row.erp_system_id)
            self._erp_urls = {}
            user = getattr(self.request, "user", None)
            for content_type_id, system_ids in wanted.items():
                model = ContentType.objects.get_for_id(content_type_id).model_class()
                if model is None or not hasattr(model, "get_absolute_url"):
                    continue
                # A record the user may not open is named, not linked (""): its page would refuse them.
                openable = user is None or may_view(user, model)
                for record in model._default_manager.filter(system_id__in=system_ids):
                    url = record.get_absolute_url() if openable else ""
                    self._erp_urls[(content_type_id, record.system_id)] = url
        return self._erp_urls

    def render_erp_record(self, record):
        if not record.erp_system_id:
            return "—"
        label = record.erp_label or str(record.erp_system_id)
        url = self.erp_record_urls().get((record.erp_model_id, record.erp_system_id))
        if url is None:
            return format_html('{} <span class="text-body-secondary small">(no longer exists)</span>', label)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    def render_crm_row(self, record):
        url = (
            crm_queries.crm_record_url(
                server_url=self.crm_server_url, crm_entity=record.crm_entity, crm_id=record.crm_id
            )
            if self.crm_server_url and record.crm_entity and record.crm_id
            else None
        )
        if url is None:
            return "—"
        noun = CRM_ENTITY_NOUNS.get(record.crm_entity, record.crm_entity)
        # The row's id only where nothing else names it (a row that no ERP record is coupled with).
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Open in Dynamics 365 '
            '<i aria-hidden="true" class="bi bi-box-arrow-up-right"></i></a>'
            '<div class="small text-body-secondary">{}</div>',
            url,
            noun if record.erp_label else f"{noun} {record.crm_id}",
        )


class ErrorTable(RecordRowsTable):
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="When", attrs={"td": {"class": "text-nowrap"}})
    since = tables.DateTimeColumn(
        format="Y-m-d H:i", verbose_name="Failing since", attrs={"td": {"class": "text-nowrap"}}, default=""
    )
    times = tables.Column("Times", default="", attrs={"td": {"class": "text-end"}})
    job = tables.Column(linkify=True, order_by=("job_id",))
    mapping = tables.Column(accessor="job__mapping_name", verbose_name="Mapping")
    message = tables.Column(attrs={"td": {"class": "error-message"}})
    skipped = tables.BooleanColumn("Skipped", accessor="is_skipped", order_by=("is_skipped",))
    restore = tables.Column("", empty_values=(), orderable=False)

    class Meta(ObjectTable.Meta):
        model = SyncJobError
        fields = (
            "pk",
            "created_at",
            "since",
            "times",
            "job",
            "mapping",
            "erp_record",
            "crm_row",
            "message",
            "skipped",
            "restore",
        )
        empty_text = "No synchronization errors."
        attrs = {"class": f"{ObjectTable.Meta.attrs['class']} error-table"}

    # What fits 1,366 px with real rows: when the latest error happened is in the Columns dialog ("Failing since"
    # and "Times" say how long it has failed).
    default_columns = ("since", "times", "job", "mapping", "erp_record", "crm_row", "message", "skipped", "restore")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Error pk → selectors.ErrorRestorePlan, set by the errors page for the rows it shows (when the user may act).
        self.restore_plans: dict = {}

    def render_job(self, value):
        return f"#{value.pk}"

    def render_crm_row(self, record):
        plan = self.restore_plans.get(record.pk)
        if plan is not None and plan.side == RestoreSide.CRM_ROW:
            # Deleted there: a link would open a page Dynamics 365 no longer has.
            noun = CRM_ENTITY_NOUNS.get(record.crm_entity, record.crm_entity)
            return format_html(
                '<span class="text-body-secondary">Deleted in Dynamics 365</span>'
                '<div class="small text-body-secondary">{}</div>',
                noun,
            )
        return super().render_crm_row(record)

    def render_restore(self, record):
        """ "Restore deleted counterpart" on the rows it applies to: submits the page's one-row restore form."""
        plan = self.restore_plans.get(record.pk)
        if plan is None or not plan.applies:
            return ""
        return format_html(
            '<button type="submit" form="restore-one-form" name="pk" value="{}" class="btn btn-sm btn-outline-primary '
            'text-nowrap" aria-label="Restore deleted counterpart: {}" data-restore="{}">'
            '<i aria-hidden="true" class="bi bi-arrow-counterclockwise"></i> Restore</button>'
            '<div class="small text-body-secondary">{}</div>',
            record.pk,
            plan.description,
            plan.side,
            plan.description,
        )

    def render_message(self, record):
        message = record.message
        user = getattr(self.request, "user", None)
        if record.fix_url and (user is None or may_open(user, record.fix_url)):
            message = format_html('{} <a href="{}">{}</a>', message, record.fix_url, record.fix_label or "Fix it")
        if not record.details:
            return message
        return format_html(
            '{}<details class="small"><summary>Details</summary><pre class="mb-0 text-wrap">{}</pre></details>',
            message,
            record.details,
        )


class WarningTable(RecordRowsTable):
    """A job's warnings (values shortened to fit the ERP), on the job's page."""

    created_at = tables.DateTimeColumn(
        format="Y-m-d H:i:s", verbose_name="When", attrs={"td": {"class": "text-nowrap"}}
    )
    field = tables.Column("Field")
    message = tables.Column()

    class Meta(ObjectTable.Meta):
        model = SyncJobWarning
        fields = ("created_at", "erp_record", "crm_row", "field", "message")
        exclude = ("pk",)
        empty_text = "No warnings."

"""Tables of the integration mapping, synchronization log and synchronization errors pages (django-tables2)."""

from urllib.parse import urlencode

import django_tables2 as tables
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from nav_crm.ui.tables import ObjectTable
from syncjobs import run_now, scheduling, selectors
from syncjobs.models import (
    IntegrationFieldMapping,
    IntegrationTableMapping,
    RecordTemplate,
    SyncJob,
    SyncJobError,
    SyncJobWarning,
)


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
        if request is None or not request.user.has_perm(run_now.RUN_NOW_PERMISSION):
            kwargs["exclude"] = (*(kwargs.get("exclude") or ()), "run_now")
        super().__init__(*args, request=request, **kwargs)

    def render_erp_model(self, value):
        model = value.model_class()
        return model._meta.verbose_name_plural.capitalize() if model else value.model

    def render_next_run(self, record):
        if not hasattr(self, "_schedule_states"):
            # One query for the whole table, not two per row.
            self._connection_enabled = selectors.crm_connection_is_enabled()
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


STATUS_BADGES = {
    SyncJob.Status.PENDING: "secondary",
    SyncJob.Status.RUNNING: "primary",
    SyncJob.Status.SUCCESS: "success",
    SyncJob.Status.ERROR: "warning",
    SyncJob.Status.FAILED: "danger",
    SyncJob.Status.CANCELLED: "secondary",
}


def status_badge(job: SyncJob) -> str:
    colour = STATUS_BADGES.get(job.status, "secondary")
    return format_html('<span class="badge text-bg-{}">{}</span>', colour, job.get_status_display())


def job_duration(job: SyncJob) -> str:
    if job.started_at is None:
        return "—"
    seconds = int(((job.finished_at or timezone.now()) - job.started_at).total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


class JobTable(tables.Table):
    number = tables.Column("Job", accessor="pk", linkify=True, attrs={"td": {"class": "text-nowrap"}})
    mapping_name = tables.Column("Mapping")
    status = tables.Column()
    http_requests = tables.Column("HTTP requests")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Created")
    started_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Started")
    finished_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Finished")
    duration = tables.Column(empty_values=(), orderable=False)

    class Meta:
        model = SyncJob
        fields = (
            "number",
            "mapping_name",
            "direction",
            "kind",
            "full",
            "status",
            *SyncJob.COUNTERS,
            "http_requests",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
        )
        empty_text = "No synchronization jobs match."
        attrs = {"class": "table table-sm table-hover align-middle object-table"}

    def render_number(self, value):
        return f"#{value}"

    def render_status(self, record):
        return status_badge(record)

    def render_duration(self, record):
        return job_duration(record)


def crm_row_url(*, server_url: str, crm_entity: str, crm_id) -> str | None:
    """The row in the Dynamics 365 web client (the real client's URL form)."""
    if not (server_url and crm_entity and crm_id):
        return None
    query = urlencode({"etn": crm_entity, "id": str(crm_id), "pagetype": "entityrecord"})
    return f"{server_url.rstrip('/')}/main.aspx?{query}"


class RecordRowsTable(ObjectTable):
    """Rows about one record each (errors, warnings): the ERP record and the Dynamics 365 row, linked."""

    erp_record = tables.Column("ERP record", accessor="erp_label", empty_values=(), order_by=("erp_label",))
    crm_row = tables.Column("Dynamics 365", accessor="crm_id", empty_values=(), orderable=False)

    def __init__(self, *args, crm_server_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.crm_server_url = crm_server_url
        self._erp_urls: dict[tuple[int, object], str] | None = None

    def erp_record_urls(self) -> dict[tuple[int, object], str]:
        """The page of every ERP record on the current page, in one query per ERP table."""
        if self._erp_urls is None:
            rows = [row.record for row in self.page.object_list] if hasattr(self, "page") else list(self.data)
            wanted: dict[int, set] = {}
            for row in rows:
                if row.erp_model_id and row.erp_system_id:
                    wanted.setdefault(row.erp_model_id, set()).add(row.erp_system_id)
            self._erp_urls = {}
            for content_type_id, system_ids in wanted.items():
                model = ContentType.objects.get_for_id(content_type_id).model_class()
                if model is None or not hasattr(model, "get_absolute_url"):
                    continue
                for record in model._default_manager.filter(system_id__in=system_ids):
                    self._erp_urls[(content_type_id, record.system_id)] = record.get_absolute_url()
        return self._erp_urls

    def render_erp_record(self, record):
        if not record.erp_system_id:
            return "—"
        label = record.erp_label or str(record.erp_system_id)
        url = self.erp_record_urls().get((record.erp_model_id, record.erp_system_id))
        if url is None:
            return format_html('{} <span class="text-body-secondary small">(no longer exists)</span>', label)
        return format_html('<a href="{}">{}</a>', url, label)

    def render_crm_row(self, record):
        url = crm_row_url(server_url=self.crm_server_url, crm_entity=record.crm_entity, crm_id=record.crm_id)
        if url is None:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">Open in Dynamics 365 '
            '<i class="bi bi-box-arrow-up-right"></i></a>'
            '<div class="small text-body-secondary">{} {}</div>',
            url,
            record.crm_entity,
            record.crm_id,
        )


class ErrorTable(RecordRowsTable):
    created_at = tables.DateTimeColumn(
        format="Y-m-d H:i:s", verbose_name="When", attrs={"td": {"class": "text-nowrap"}}
    )
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Error pk → selectors.ErrorRestorePlan, set by the errors page for the rows it shows (when the user may act).
        self.restore_plans: dict = {}

    def render_job(self, value):
        return f"#{value.pk}"

    def render_restore(self, record):
        """ "Restore deleted counterpart" on the rows it applies to: submits the page's one-row restore form."""
        plan = self.restore_plans.get(record.pk)
        if plan is None or not plan.applies:
            return ""
        return format_html(
            '<button type="submit" form="restore-one-form" name="pk" value="{}" class="btn btn-sm btn-outline-primary '
            'text-nowrap" aria-label="Restore deleted counterpart: {}" data-restore="{}">'
            '<i class="bi bi-arrow-counterclockwise"></i> Restore</button>'
            '<div class="small text-body-secondary">{}</div>',
            record.pk,
            plan.description,
            plan.side,
            plan.description,
        )

    def render_message(self, record):
        message = record.message
        if record.fix_url:
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

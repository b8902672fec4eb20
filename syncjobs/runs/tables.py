"""The synchronization log's table: a job's status badge, duration and counters."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from nav_crm.ui.tables import ObjectTable
from syncjobs.models import (
    SyncJob,
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


def job_records(job: SyncJob) -> str:
    """The job's counters that counted something, in one cell: "11 inserted · 22 modified · 3 failed"."""
    counted = [(name, getattr(job, name)) for name in SyncJob.COUNTERS if getattr(job, name)]
    if not counted:
        return format_html('<span class="text-body-secondary">{}</span>', "—")
    return format_html_join(
        " · ",
        '<span class="text-nowrap{}" data-counter="{}"><span class="fw-semibold">{}</span> {}</span>',
        ((" text-danger" if name == "failed" else "", name, value, name) for name, value in counted),
    )


class JobTable(ObjectTable):
    number = tables.Column("Job", accessor="pk", linkify=True, attrs={"td": {"class": "text-nowrap"}})
    mapping_name = tables.Column("Mapping")
    status = tables.Column()
    records = tables.Column("Records", empty_values=(), orderable=False, attrs={"td": {"class": "job-records"}})
    http_requests = tables.Column("HTTP requests")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Created")
    started_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Started")
    finished_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="Finished")
    duration = tables.Column(empty_values=(), orderable=False)

    # Every counter in one "Records" cell: the separate counter columns are in the "Columns" dialog.
    default_columns = ("number", "mapping_name", "direction", "kind", "status", "records", "created_at", "duration")

    class Meta(ObjectTable.Meta):
        model = SyncJob
        fields = (
            "number",
            "mapping_name",
            "direction",
            "kind",
            "full",
            "status",
            "records",
            *SyncJob.COUNTERS,
            "http_requests",
            "created_at",
            "started_at",
            "finished_at",
            "duration",
        )
        empty_text = "No synchronization jobs match."

    def render_number(self, value):
        return f"#{value}"

    def render_status(self, record):
        return status_badge(record)

    def render_kind(self, record):
        if not record.full:
            return record.get_kind_display()
        return format_html('{} <span class="badge text-bg-light border">full</span>', record.get_kind_display())

    def render_records(self, record):
        return job_records(record)

    def render_duration(self, record):
        return job_duration(record)

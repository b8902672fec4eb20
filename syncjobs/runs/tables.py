"""The synchronization log's table: a job's status badge, duration and counters."""

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

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

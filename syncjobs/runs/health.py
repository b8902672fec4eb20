"""The integration's health, for the home page: per mapping its state, last run, next run, records in and out in
the last 24 hours, what fails now and what is skipped; records and errors per hour over the last week; the last
full synchronization's progress; the connection's own state.

Charts are SVG drawn on the server (pygal), with no script: readable without JavaScript, nothing from a CDN.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import pygal
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

import dataverse
from coupling.models import Coupling
from syncjobs.connection import selectors as connection_selectors
from syncjobs.errors import selectors
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import (
    CrmConnection,
    FullSyncLine,
    FullSyncRun,
    IntegrationTableMapping,
    SyncJob,
    SyncJobError,
)
from syncjobs.runs import scheduling

DAY = datetime.timedelta(hours=24)
WEEK = datetime.timedelta(days=7)
WRITTEN = ("inserted", "modified", "deleted")
INLINE_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


@dataclass
class MappingHealth:
    mapping: IntegrationTableMapping
    last_job: SyncJob | None
    next_run: str
    records_out: int  # ERP → Dynamics 365 in the last 24 hours
    records_in: int  # Dynamics 365 → ERP
    failing_now: int
    skipped: int


def _written(counters: dict) -> int:
    return sum(counters.get(name, 0) for name in WRITTEN)


def _in_and_out(jobs: list[SyncJob]) -> tuple[int, int]:
    """Records written each way by jobs: a job both ways keeps its passes apart (counts_by_direction)."""
    records_in = records_out = 0
    for job in jobs:
        if job.direction == SyncJob.JobDirection.BOTH:
            records_out += _written(job.counts_by_direction.get("to_crm", {}))
            records_in += _written(job.counts_by_direction.get("from_crm", {}))
            continue
        written = job.inserted + job.modified + job.deleted
        if job.direction == SyncJob.JobDirection.TO_CRM:
            records_out += written
        else:
            records_in += written
    return records_in, records_out


def mappings_health(*, now: datetime.datetime | None = None) -> list[MappingHealth]:
    now = now or timezone.now()
    connection = connection_selectors.crm_connection_get()
    mappings = [m for m in mapping_selectors.mapping_dependency_order() if not m.is_option_mapping or m.is_enabled]
    states = scheduling.schedule_states(mapping_ids=[m.pk for m in mappings])
    recent = list(SyncJob.objects.filter(mapping__in=mappings, created_at__gte=now - DAY))
    latest_ids = SyncJob.objects.filter(mapping__in=mappings).values("mapping").annotate(last=Max("pk"))
    last_jobs = {job.mapping_id: job for job in SyncJob.objects.filter(pk__in=latest_ids.values("last"))}
    failing = dict(
        selectors.current_sync_errors()
        .values("job__mapping_name")
        .annotate(n=Count("pk"))
        .values_list("job__mapping_name", "n")
    )
    skipped = dict(
        Coupling.objects.filter(skipped=True).values("erp_model").annotate(n=Count("pk")).values_list("erp_model", "n")
    )
    rows = []
    for mapping in mappings:
        records_in, records_out = _in_and_out([job for job in recent if job.mapping_id == mapping.pk])
        next_run = scheduling.mapping_next_run(
            mapping=mapping, state=states.get(mapping.pk), connection_enabled=connection.is_enabled, now=now
        )
        rows.append(
            MappingHealth(
                mapping=mapping,
                last_job=last_jobs.get(mapping.pk),
                next_run=next_run.label,
                records_out=records_out,
                records_in=records_in,
                failing_now=failing.get(mapping.name, 0),
                skipped=0 if mapping.is_option_mapping else skipped.get(mapping.erp_model_id, 0),
            )
        )
    return rows


def _hours(now: datetime.datetime) -> list[datetime.datetime]:
    start = (now - WEEK).replace(minute=0, second=0, microsecond=0)
    return [start + datetime.timedelta(hours=n) for n in range(int(WEEK / datetime.timedelta(hours=1)) + 1)]


def activity_per_hour(*, now: datetime.datetime | None = None) -> tuple[list, list[int], list[int]]:
    """(hours, records written, errors) per hour over the last week."""
    now = now or timezone.now()
    hours = _hours(now)
    written = dict(
        SyncJob.objects.filter(finished_at__gte=hours[0])
        .annotate(hour=TruncHour("finished_at"))
        .values("hour")
        .annotate(n=Sum(F("inserted") + F("modified") + F("deleted")))
        .values_list("hour", "n")
    )
    errors = dict(
        SyncJobError.objects.filter(created_at__gte=hours[0])
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("pk"))
        .values_list("hour", "n")
    )
    return hours, [written.get(hour, 0) or 0 for hour in hours], [errors.get(hour, 0) for hour in hours]


def activity_chart(*, now: datetime.datetime | None = None) -> SafeString:
    """Records synchronized and errors per hour, last 7 days: an inline SVG."""
    hours, written, errors = activity_per_hour(now=now)
    chart = pygal.Bar(
        js=[],  # no tooltip script (it would come from a CDN): the SVG reads on its own
        disable_xml_declaration=True,
        height=260,
        width=900,
        show_minor_x_labels=False,
        truncate_label=-1,
        x_label_rotation=0,
        legend_at_bottom=True,
        style=pygal.style.DefaultStyle(background="transparent", plot_background="transparent", font_family="inherit"),
        title="Records synchronized and errors per hour, last 7 days",
        value_formatter=lambda value: f"{value:,.0f}",
        secondary_range=(0, max(max(errors), 1)),
        min_scale=2,
        max_scale=5,
    )
    chart.x_labels = [timezone.localtime(hour).strftime("%a %H:00") for hour in hours]
    chart.x_labels_major = [label for label in chart.x_labels if label.endswith(" 00:00")]
    chart.add("Records synchronized", written)
    # Errors are few beside the records: their own scale on the right, so that one error still shows.
    chart.add("Errors (right scale)", errors, secondary=True)
    # pygal always writes its tooltips' configuration as an inline script; without the tooltips it is dead weight
    # (and the pages' Content-Security-Policy refuses inline scripts).
    svg = INLINE_SCRIPT.sub("", chart.render(is_unicode=True))
    return mark_safe(svg)  # noqa: S308 — pygal's own SVG of our numbers and labels


@dataclass
class ConnectionHealth:
    connection: CrmConnection
    last_failed_job: SyncJob | None
    throttling: dataverse.Throttling  # the 429 answers of the last 24 hours

    @property
    def token_check(self) -> dict | None:
        """The connection test's token check (status, message), when a test ran."""
        return next((check for check in self.connection.last_test_results if check.get("key") == "token"), None)


def connection_health(*, now: datetime.datetime | None = None) -> ConnectionHealth:
    now = now or timezone.now()
    connection = connection_selectors.crm_connection_get()
    last_failed = SyncJob.objects.filter(status=SyncJob.Status.FAILED).order_by("-created_at").first()
    return ConnectionHealth(
        connection=connection,
        last_failed_job=last_failed,
        throttling=connection_selectors.crm_throttling_since(now - DAY),
    )


@dataclass
class FullSyncProgress:
    run: FullSyncRun
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def last_full_synchronization() -> FullSyncProgress | None:
    run = FullSyncRun.objects.order_by("-created_at").first()
    if run is None:
        return None
    lines = list(run.lines.values_list("status", flat=True))
    done = sum(status not in (FullSyncLine.Status.WAITING, FullSyncLine.Status.RUNNING) for status in lines)
    return FullSyncProgress(run=run, done=done, total=len(lines))


def home_context(*, now: datetime.datetime | None = None) -> dict:
    return {
        "mappings": mappings_health(now=now),
        "activity_chart": activity_chart(now=now),
        "connection": connection_health(now=now),
        "full_sync": last_full_synchronization(),
    }

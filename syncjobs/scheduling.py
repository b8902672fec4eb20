"""Recurring synchronization (BC's job queue entries: each mapping every N minutes).

One django-q2 schedule, installed by a migration like the reaper's, calls ``scheduled_sync_dispatch``
every minute. It queues an incremental job for every enabled mapping that is due: its last
synchronization job finished at least ``sync_interval_minutes`` ago (or it never ran) and none of its
jobs is waiting or running. Nothing runs while the connection is disabled, and a mapping under a
full synchronization waits for it to end. Running it twice at the same moment queues each due
mapping once: the dispatch holds a write lock on the connection row while it decides.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from syncjobs import jobs, selectors
from syncjobs.models import CrmConnection, Direction, IntegrationTableMapping, SyncJob

DISPATCH_SCHEDULE_NAME = "Dispatch scheduled synchronizations"
DISPATCH_FUNC = "syncjobs.tasks.dispatch_scheduled_synchronizations"
JOB_DIRECTIONS = {
    Direction.TO_CRM: SyncJob.JobDirection.TO_CRM,
    Direction.FROM_CRM: SyncJob.JobDirection.FROM_CRM,
    Direction.BIDIRECTIONAL: SyncJob.JobDirection.BOTH,
}
UNFINISHED = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING)


@dataclass(frozen=True)
class ScheduleState:
    """What decides a mapping's next run: when its last synchronization job finished, and whether one is under way."""

    last_sync_finished_at: datetime.datetime | None
    has_unfinished_job: bool


def schedule_states(*, mapping_ids: list[int] | None = None) -> dict[int, ScheduleState]:
    """Per mapping (by primary key), in one query."""
    unfinished = SyncJob.objects.filter(mapping=OuterRef("pk"), status__in=UNFINISHED)
    queryset = IntegrationTableMapping.objects.all()
    if mapping_ids is not None:
        queryset = queryset.filter(pk__in=mapping_ids)
    rows = queryset.annotate(
        last_finished=Max("jobs__finished_at", filter=Q(jobs__kind=SyncJob.Kind.SYNCHRONIZATION)),
        unfinished=Exists(unfinished),
    ).values_list("pk", "last_finished", "unfinished")
    return {pk: ScheduleState(last_finished, unfinished) for pk, last_finished, unfinished in rows}


@dataclass(frozen=True)
class NextRun:
    """When a mapping synchronizes next: ``at`` (None when not scheduled) and a label for people."""

    at: datetime.datetime | None
    label: str

    @property
    def is_due(self) -> bool:
        return self.label == DUE_NOW


DUE_NOW = "Due now"


def mapping_next_run(
    *,
    mapping: IntegrationTableMapping,
    state: ScheduleState | None,
    connection_enabled: bool,
    now: datetime.datetime | None = None,
) -> NextRun:
    now = now or timezone.now()
    if not connection_enabled:
        return NextRun(None, "Connection disabled")
    if not mapping.is_enabled:
        return NextRun(None, "—")
    if mapping.full_sync_running:
        return NextRun(None, "After the full synchronization")
    state = state or ScheduleState(None, False)
    if state.has_unfinished_job:
        return NextRun(None, "Running or queued now")
    if state.last_sync_finished_at is None:
        return NextRun(now, DUE_NOW)
    at = state.last_sync_finished_at + datetime.timedelta(minutes=mapping.sync_interval_minutes)
    if at <= now:
        return NextRun(now, DUE_NOW)
    return NextRun(at, timezone.localtime(at).strftime("%Y-%m-%d %H:%M"))


def scheduled_sync_due(*, now: datetime.datetime | None = None) -> list[IntegrationTableMapping]:
    """The enabled mappings due for an incremental run, in dependency order."""
    now = now or timezone.now()
    ordered = selectors.mapping_dependency_order(enabled_only=True)
    states = schedule_states(mapping_ids=[mapping.pk for mapping in ordered])
    return [
        mapping
        for mapping in ordered
        if mapping_next_run(mapping=mapping, state=states.get(mapping.pk), connection_enabled=True, now=now).is_due
    ]


def scheduled_sync_dispatch(*, now: datetime.datetime | None = None) -> list[SyncJob]:
    """Queue the due mappings' incremental jobs (one task, dependency order); nothing when the connection is off."""
    now = now or timezone.now()
    with transaction.atomic():
        # A write on the connection row first: two dispatches at once (several schedulers) take
        # turns here, so the second sees the first one's jobs as unfinished. Also the enabled check.
        if not CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK, is_enabled=True).update(is_enabled=True):
            return []
        created = [
            jobs.job_create(mapping=mapping, direction=JOB_DIRECTIONS[mapping.direction], enqueue=False)
            for mapping in scheduled_sync_due(now=now)
        ]
        if len(created) == 1:
            jobs.job_enqueue(job=created[0])
        elif created:
            jobs.jobs_enqueue_in_order(jobs=created)
    return created

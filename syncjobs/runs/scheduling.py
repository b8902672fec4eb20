"""Recurring synchronization (BC's job queue entries: each mapping every N minutes).

One django-q2 schedule, installed by a migration like the reaper's, calls ``scheduled_sync_dispatch``
every minute. It queues an incremental job for every enabled mapping that is due: its last
synchronization job finished at least ``sync_interval_minutes`` ago (or it never ran) and none of its
jobs is waiting or running.

Idle mappings (BC's "On Hold with Inactivity Timeout"): when a mapping's runs have found nothing to
do for ``inactivity_timeout_minutes``, it runs only once per that timeout, until an ERP record in its
filter changes (the ERP side is asked cheaply, by its ``modified_at`` index: like BC's table
triggers, that wakes the mapping at its normal interval). Changes made only in Dynamics 365 wait at
most the timeout. Nothing runs while the connection is disabled, and a mapping under a
full synchronization waits for it to end. Running it twice at the same moment queues each due
mapping once: the dispatch holds a write lock on the connection row while it decides.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import CrmConnection, Direction, IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs

DISPATCH_SCHEDULE_NAME = "Dispatch scheduled synchronizations"
DISPATCH_FUNC = "syncjobs.tasks.dispatch_scheduled_synchronizations"
UNFINISHED = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING)
# Jobs of no mapping that recur too: callables(*, now) → the jobs they created (not queued), by dotted path.
# They run after the mappings' jobs of the same minute (an order's new customer is coupled first).
RECURRING_JOB_SOURCES = ["crm_orders.services.order_jobs_due"]


@dataclass(frozen=True)
class ScheduleState:
    """What decides a mapping's next run: when its last synchronization job finished, and whether one is under way."""

    last_sync_finished_at: datetime.datetime | None
    has_unfinished_job: bool
    # When the last synchronization job that found something to do finished (else the first job).
    last_activity_at: datetime.datetime | None = None


def schedule_states(*, mapping_ids: list[int] | None = None) -> dict[int, ScheduleState]:
    """Per mapping (by primary key), in one query."""
    unfinished = SyncJob.objects.filter(mapping=OuterRef("pk"), status__in=UNFINISHED)
    queryset = IntegrationTableMapping.objects.all()
    if mapping_ids is not None:
        queryset = queryset.filter(pk__in=mapping_ids)
    synchronization = Q(jobs__kind=SyncJob.Kind.SYNCHRONIZATION)
    did_something = (
        Q(jobs__inserted__gt=0)
        | Q(jobs__modified__gt=0)
        | Q(jobs__deleted__gt=0)
        | Q(jobs__coupled__gt=0)
        | Q(jobs__failed__gt=0)
        | ~Q(jobs__status=SyncJob.Status.SUCCESS)
    )
    rows = queryset.annotate(
        last_finished=Max("jobs__finished_at", filter=synchronization),
        first_finished=Min("jobs__finished_at", filter=synchronization),
        last_active=Max("jobs__finished_at", filter=synchronization & did_something),
        unfinished=Exists(unfinished),
    ).values_list("pk", "last_finished", "unfinished", "last_active", "first_finished")
    return {
        pk: ScheduleState(last_finished, unfinished, last_active or first_finished)
        for pk, last_finished, unfinished, last_active, first_finished in rows
    }


def mapping_is_idle(*, mapping: IntegrationTableMapping, state: ScheduleState) -> bool:
    """Its runs found nothing to do for its inactivity timeout, and no ERP record in its filter changed since."""
    if state.last_sync_finished_at is None or state.last_activity_at is None:
        return False
    timeout = datetime.timedelta(minutes=mapping.inactivity_timeout_minutes)
    if state.last_activity_at + timeout > state.last_sync_finished_at:
        return False
    return not _erp_changed_since_last_run(mapping, state)


def _erp_changed_since_last_run(mapping: IntegrationTableMapping, state: ScheduleState) -> bool:
    """An ERP record in the mapping's filter changed after what its last run took in (its ERP watermark;
    option mappings, which keep none, after their last run)."""
    if mapping.direction == Direction.FROM_CRM:
        return False  # nothing of the ERP's goes to Dynamics 365
    since = mapping.erp_watermark or state.last_sync_finished_at
    model = mapping.erp_model.model_class()
    return model._default_manager.filter(modified_at__gt=since, **mapping.erp_filter).exists()


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
    idle = mapping_is_idle(mapping=mapping, state=state)
    minutes = mapping.inactivity_timeout_minutes if idle else mapping.sync_interval_minutes
    at = state.last_sync_finished_at + datetime.timedelta(minutes=minutes)
    if at <= now:
        return NextRun(now, DUE_NOW)
    label = timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
    return NextRun(at, f"{label} (idle: nothing to do for {mapping.inactivity_timeout_minutes} min)" if idle else label)


def scheduled_sync_due(*, now: datetime.datetime | None = None) -> list[IntegrationTableMapping]:
    """The enabled mappings due for an incremental run, in dependency order."""
    now = now or timezone.now()
    ordered = mapping_selectors.mapping_dependency_order(enabled_only=True)
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
            jobs.job_create(mapping=mapping, direction=mapping.job_direction, enqueue=False)
            for mapping in scheduled_sync_due(now=now)
        ]
        for source in RECURRING_JOB_SOURCES:
            created += import_string(source)(now=now)
        if len(created) == 1:
            jobs.job_enqueue(job=created[0])
        elif created:
            jobs.jobs_enqueue_in_order(jobs=created)
    return created

"""Run mappings now (BC's "Synchronize Modified Records"): an incremental job for one mapping, or for every
enabled mapping in dependency order, without waiting for the schedule.

``jobs_for_every_enabled_mapping`` is what ``crm_sync run --all`` and the pages' "Synchronize all modified
records" share: a job per enabled mapping (each after those it depends on), then, with sales order integration
on, the sales order jobs; one task runs them one after the other.

The pages' actions (``mapping_synchronize_modified``, ``every_mapping_synchronize_modified``) refuse, with a
message for the user, while the connection is disabled, for a disabled mapping and while a full
synchronization runs (it synchronizes those mappings itself).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from crm_orders import services as order_services
from syncjobs.connection import selectors as connection_selectors
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs

# Who may start these synchronizations from a page (as any other job's start: "Synchronize now" on records).


def jobs_for_every_enabled_mapping(*, user=None, enqueue: bool = True) -> list[SyncJob]:
    """An incremental job for every enabled mapping in dependency order, then the sales order jobs; with
    ``enqueue`` one task runs them in that order (after commit), else the caller runs them."""
    mappings = mapping_selectors.mapping_dependency_order(enabled_only=True)
    if not mappings:
        raise ValidationError("No integration table mapping is enabled.", code="nothing_enabled")
    with transaction.atomic():
        created = [
            jobs.job_create(mapping=mapping, direction=mapping.job_direction, user=user, enqueue=False)
            for mapping in mappings
        ]
        created += order_services.order_jobs_now(user=user)
        if enqueue:
            jobs.jobs_enqueue_in_order(jobs=created)
    return created


# --- The pages' "Synchronize modified records" -------------------------------------------------------------


def _active_full_sync() -> FullSyncRun | None:
    return FullSyncRun.objects.filter(status__in=FullSyncRun.ACTIVE).order_by("pk").first()


def run_now_refusal(*, mapping: IntegrationTableMapping | None = None) -> ValidationError | None:
    """Why the mapping (None: every enabled mapping) cannot be synchronized now, or None when it can."""
    if not connection_selectors.crm_connection_is_enabled():
        return ValidationError(
            "The connection to Dynamics 365 is disabled: enable it first.", code="connection_disabled"
        )
    if mapping is not None and not mapping.is_enabled:
        return ValidationError(
            f"The mapping {mapping.name} is disabled: enable it first to synchronize it.", code="mapping_disabled"
        )
    run = _active_full_sync()
    if run is None:
        return None
    if mapping is None:
        return ValidationError(
            f"Full synchronization #{run.pk} is running: it synchronizes the mappings now. "
            "Wait for it to finish, then synchronize the modified records.",
            code="full_sync_running",
        )
    if run.lines.filter(mapping=mapping).exists() or mapping.full_sync_running:
        return ValidationError(
            f"Full synchronization #{run.pk} is running for {mapping.name}: it synchronizes the mapping now. "
            "Wait for it to finish, then synchronize the modified records.",
            code="full_sync_running",
        )
    return None


def mapping_synchronize_modified(*, mapping: IntegrationTableMapping, user=None) -> SyncJob:
    """One incremental job for the mapping, in its own directions, queued for a worker after commit."""
    refusal = run_now_refusal(mapping=mapping)
    if refusal is not None:
        raise refusal
    return jobs.job_create(mapping=mapping, direction=mapping.job_direction, user=user)


def every_mapping_synchronize_modified(*, user=None) -> list[SyncJob]:
    """Every enabled mapping's incremental job (dependency order) and the sales order jobs, in one task."""
    refusal = run_now_refusal()
    if refusal is not None:
        raise refusal
    return jobs_for_every_enabled_mapping(user=user)

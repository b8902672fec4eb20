"""Synchronization jobs: create, claim, run, report progress and errors, finish.

The project owns its job records; django-q2 only carries a job's primary key to a worker
(syncjobs.tasks.run_sync_job). A worker claims the job with a conditional update, so a task
delivered twice runs once (runs.leases). Handlers (the engine for SYNCHRONIZATION, coupling's for COUPLING
and UNCOUPLING, the order integration's) are called with a ``JobReport`` (runs.report.Report) and report
through it: ``job_progress``, ``job_checkpoint``, ``job_record_error`` here; each of those is a single UPDATE
committed at once (when not inside the caller's transaction), so the job's page and the reaper see a running
job's counters and heartbeat. No handler imports this module's lifecycle.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import time
import uuid
from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from coupling import services as coupling_services
from coupling.dependencies import parent_couple_link
from nav_crm.records import describe_record
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError, SyncJobWarning
from syncjobs.runs.leases import Heartbeat, lease_claim, stale_cutoff
from syncjobs.runs.report import JobCannotRun
from syncjobs.runs.selectors import finished_jobs_older_than

logger = logging.getLogger(__name__)

JobHandler = Callable[..., None]


# Kind → the handler, callable(*, job, report), by dotted path (resolved when a job runs: the engine and the order
# integration build on this module, not the other way round). A test may put a callable in its place.
JOB_HANDLERS: dict[str, str | JobHandler] = {
    SyncJob.Kind.SYNCHRONIZATION: "syncjobs.engine.run.run_synchronization",
    SyncJob.Kind.COUPLING: "coupling.workflows.run_coupling",
    SyncJob.Kind.UNCOUPLING: "coupling.workflows.run_uncoupling",
    SyncJob.Kind.ORDER_INTAKE: "crm_orders.handlers.run_order_intake",
    SyncJob.Kind.ORDER_PROGRESS: "crm_orders.progress.run_order_progress",
}
# Kinds that belong to no mapping (their jobs need none and take no mapping's lease).
MAPPINGLESS_KINDS = {SyncJob.Kind.ORDER_INTAKE, SyncJob.Kind.ORDER_PROGRESS}

# Where a mapping's direction allows a job direction.
_ALLOWED_DIRECTIONS = {
    "bidirectional": {SyncJob.JobDirection.TO_CRM, SyncJob.JobDirection.FROM_CRM, SyncJob.JobDirection.BOTH},
    "to_crm": {SyncJob.JobDirection.TO_CRM},
    "from_crm": {SyncJob.JobDirection.FROM_CRM},
}


def job_enqueue(*, job: SyncJob) -> None:
    """Hand the job's primary key to django-q2 once the surrounding transaction has committed."""
    from django_q.tasks import async_task

    job_id = job.pk
    transaction.on_commit(
        lambda: async_task("syncjobs.tasks.run_sync_job", job_id, task_name=f"sync-job-{job_id}", group="sync-jobs")
    )


def jobs_enqueue_in_order(*, jobs: list[SyncJob]) -> None:
    """One task runs the jobs one after the other: each mapping after those it depends on."""
    from django_q.tasks import async_task

    job_ids = [job.pk for job in jobs]
    transaction.on_commit(
        lambda: async_task("syncjobs.tasks.run_sync_jobs_in_order", job_ids, task_name="sync-jobs-in-order")
    )


def job_create(
    *,
    mapping: IntegrationTableMapping | None,
    direction: str,
    full: bool = False,
    kind: str = SyncJob.Kind.SYNCHRONIZATION,
    parameters: dict | None = None,
    user=None,
    enqueue: bool = True,
) -> SyncJob:
    """A pending job for ``mapping`` (None for the kinds of no mapping: the sales order integration's); queued for
    a worker after commit unless ``enqueue`` is False."""
    if direction not in SyncJob.JobDirection.values:
        raise ValidationError({"direction": f"Unknown direction “{direction}”: use to_crm, from_crm or both."})
    if kind not in SyncJob.Kind.values:
        raise ValidationError({"kind": f"Unknown job kind “{kind}”."})
    if (mapping is None) != (kind in MAPPINGLESS_KINDS):
        raise ValidationError(
            {"kind": f"A {SyncJob.Kind(kind).label.lower()} job needs {'no' if mapping else 'a'} mapping."}
        )
    if mapping is not None and direction not in _ALLOWED_DIRECTIONS.get(mapping.direction, set()):
        raise ValidationError(
            {
                "direction": f"The mapping {mapping.name} synchronizes {mapping.get_direction_display().lower()}: "
                f"a job {SyncJob.JobDirection(direction).label.lower()} is not possible."
            }
        )
    job = SyncJob.objects.create(
        mapping=mapping,
        mapping_name=mapping.name if mapping is not None else SyncJob.Kind(kind).label[:50],
        kind=kind,
        direction=direction,
        full=full,
        parameters=parameters or {},
        created_by=user if user is not None and user.is_authenticated else None,
    )
    if enqueue:
        job_enqueue(job=job)
    return job


def job_claim(*, job_id: int) -> SyncJob | None:
    """PENDING → RUNNING for this worker; None when the job is not pending (someone else has it) or when
    another job of its mapping runs: then it waits for that one (``waiting_for``) and is queued again
    when it ends. One mapping, one job at a time, on any number of workers."""
    job = SyncJob.objects.filter(pk=job_id, status=SyncJob.Status.PENDING).only("pk", "mapping_id").first()
    if job is None:
        return None
    if job.mapping_id is not None:
        holder = _take_lease(job)
        if holder is not None:
            SyncJob.objects.filter(pk=job_id, status=SyncJob.Status.PENDING).update(
                waiting_for=holder, message=f"Waiting for job #{holder} of this mapping to finish."
            )
            return None
    claimed = lease_claim(
        SyncJob.objects.filter(pk=job_id, status=SyncJob.Status.PENDING), waiting_for=None, message=""
    )
    if not claimed:
        job_lease_release(job)  # another worker ran it meanwhile
        return None
    return SyncJob.objects.select_related("mapping", "mapping__erp_model").get(pk=job_id)


def _take_lease(job: SyncJob) -> int | None:
    """Take the mapping's lease for ``job``: None when it holds it, else the id of the job that does.

    A compare-and-swap on the mapping's ``lease_job``: of two workers that saw it free (or held by a
    job that has ended), one swaps it; the other sees the new holder on its next look."""
    mappings = IntegrationTableMapping.objects.filter(pk=job.mapping_id)
    for _ in range(3):
        holder = mappings.values_list("lease_job_id", flat=True).first()
        if holder == job.pk:
            return None
        if holder is not None and SyncJob.objects.filter(pk=holder).exclude(status__in=SyncJob.FINISHED).exists():
            return holder
        if mappings.filter(lease_job_id=holder).update(lease_job=job.pk):
            return None
    return mappings.values_list("lease_job_id", flat=True).first()


def job_lease_release(job: SyncJob) -> None:
    """When ``job`` has ended: give the mapping back and queue the jobs that waited for it (the first to be
    claimed runs, the others wait for that one)."""
    if job.mapping_id is None:
        return
    IntegrationTableMapping.objects.filter(pk=job.mapping_id, lease_job=job.pk).update(lease_job=None)
    waiting = list(
        SyncJob.objects.filter(
            mapping_id=job.mapping_id, status=SyncJob.Status.PENDING, waiting_for__isnull=False
        ).order_by("pk")
    )
    if waiting:
        SyncJob.objects.filter(pk__in=[w.pk for w in waiting]).update(waiting_for=None, message="")
        for waiter in waiting:
            job_enqueue(job=waiter)


def _handler_for(kind: str) -> JobHandler:
    handler = JOB_HANDLERS.get(kind)
    if handler is None:
        raise JobCannotRun(f"No handler for {SyncJob.Kind(kind).label.lower()} jobs.")
    return import_string(handler) if isinstance(handler, str) else handler


def job_run(*, job_id: int) -> SyncJob:
    """Claim the job, run its handler and finish it; a second delivery returns the job untouched.

    An exception from the handler marks the job FAILED with a plain message (and the trace in the
    log); what the handler committed before stays.
    """
    job = job_claim(job_id=job_id)
    if job is None:
        return SyncJob.objects.get(pk=job_id)
    try:
        if job.mapping_id is None and job.kind not in MAPPINGLESS_KINDS:
            raise JobCannotRun(f"The mapping {job.mapping_name} no longer exists.")
        with Heartbeat(SyncJob, job.pk):
            _handler_for(job.kind)(job=job, report=JobReport(job))
    except Exception as error:  # noqa: BLE001 — whatever went wrong, the job must not stay RUNNING
        logger.exception("Sync job %s failed", job_id)
        return job_fail(job=job, message=_plain_message(error))
    return job_finish(job=job)


# How often a job run in the foreground looks again while another job of its mapping runs.
FOREGROUND_POLL_SECONDS = 2.0


def job_run_to_end(
    *, job_id: int, on_wait=None, poll_seconds: float = FOREGROUND_POLL_SECONDS, sleep=time.sleep
) -> SyncJob:
    """Run the job here (``crm_sync run --wait``, a full synchronization's coordinator) and return it finished:
    while another job of its mapping runs (or a worker has this one), wait for it, then run it. ``on_wait(job)``
    is called before each wait (to say what it waits for, or to beat a heart of the caller's)."""
    while True:
        job = job_run(job_id=job_id)
        if job.is_finished:
            return job
        if on_wait is not None:
            on_wait(job)
        sleep(poll_seconds)


def _plain_message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    if isinstance(error, JobCannotRun):
        return str(error)
    return f"The job stopped: {type(error).__name__}: {str(error).strip() or 'no details'}"


def job_progress(
    *, job: SyncJob, done: int | None = None, total: int | None = None, http_requests: int | None = None, **counters
) -> None:
    """Add to the job's counters and beat its heart, in one UPDATE.

    ``http_requests`` and the counters (inserted=, modified=, …, uncoupled=) are increments, so
    concurrent callers never lose each other's counts; ``done`` (records worked through so far)
    and ``total`` replace the stored values.
    """
    unknown = set(counters) - set(SyncJob.COUNTERS)
    if unknown:
        raise TypeError(f"Unknown job counters: {', '.join(sorted(unknown))}")
    changes: dict[str, object] = {"heartbeat_at": timezone.now()}
    for name, increment in counters.items():
        if increment:
            changes[name] = F(name) + increment
    if done is not None:
        changes["progress_done"] = done
    if http_requests:
        changes["http_requests"] = F("http_requests") + http_requests
    if total is not None:
        changes["progress_total"] = total
    SyncJob.objects.filter(pk=job.pk).update(**changes)


def job_checkpoint(*, job: SyncJob, checkpoint: dict) -> None:
    """Keep the last committed position, so that a job resumed after a crash carries on from it."""
    SyncJob.objects.filter(pk=job.pk).update(checkpoint=checkpoint, heartbeat_at=timezone.now())
    job.checkpoint = checkpoint


def error_fingerprint(*, mapping_name: str, message: str) -> str:
    """Equal for the same failure of a record in two jobs (what BC compares to mark it skipped)."""
    return hashlib.sha256(f"{mapping_name}\n{' '.join(message.split())}".encode()).hexdigest()


def job_record_error(
    *,
    job: SyncJob,
    mapping: IntegrationTableMapping | None,
    message: str,
    details: str = "",
    record: models.Model | None = None,
    erp_model: ContentType | None = None,
    erp_system_id: uuid.UUID | str | None = None,
    erp_label: str = "",
    crm_entity: str = "",
    crm_id: uuid.UUID | str | None = None,
    fix_url: str = "",
    fix_label: str = "",
    parent: models.Model | None = None,
) -> SyncJobError:
    """One error row for a failed record; counts it as failed and updates the record's failure streak.

    ``parent``: the record it refers to that is not coupled (a customer's salesperson): without a ``fix_url`` of
    its own, the row links to that record's couple page ("Couple salesperson JR John Roberts").

    The coupling (when the record is coupled) remembers the failure: failing with the same
    fingerprint as in its previous synchronization marks it skipped, so that normal runs pass
    over it until someone retries it from the errors page.
    """
    if record is not None:
        erp_model = ContentType.objects.get_for_model(type(record))
        erp_system_id = record.system_id
        erp_label = erp_label or describe_record(record)
    if parent is not None and not fix_url:
        fix_url, fix_label = parent_couple_link(parent)
    mapping_name = mapping.name if mapping is not None else job.mapping_name
    fingerprint = error_fingerprint(mapping_name=mapping_name, message=message)
    with transaction.atomic():
        error = SyncJobError.objects.create(
            job=job,
            mapping=mapping,
            erp_model=erp_model,
            erp_system_id=erp_system_id,
            erp_label=erp_label[:200],
            crm_entity=crm_entity or (mapping.crm_entity if mapping is not None and crm_id else ""),
            crm_id=crm_id,
            message=message,
            details=details,
            fix_url=fix_url,
            fix_label=fix_label,
            fingerprint=fingerprint,
        )
        SyncJob.objects.filter(pk=job.pk).update(failed=F("failed") + 1, heartbeat_at=timezone.now())
        coupling_services.coupling_record_failure(
            erp_model=erp_model,
            erp_system_id=erp_system_id,
            crm_entity=error.crm_entity,
            crm_id=crm_id,
            job_id=job.pk,
            message=message,
            fingerprint=fingerprint,
        )
    return error


def job_record_warning(
    *,
    job: SyncJob,
    record: models.Model,
    field: str,
    message: str,
    mapping: IntegrationTableMapping | None = None,
    crm_entity: str = "",
    crm_id: uuid.UUID | str | None = None,
) -> SyncJobWarning:
    """One warning row for one record and field (a value shortened to fit one side), as ``job_record_error`` is
    for a failure: the job's page lists it, naming the record."""
    return SyncJobWarning.objects.create(
        job=job,
        mapping=mapping,
        erp_model=ContentType.objects.get_for_model(type(record)),
        erp_system_id=record.system_id,
        erp_label=describe_record(record)[:200],
        crm_entity=crm_entity,
        crm_id=crm_id,
        field=str(field)[:200],
        message=message,
    )


class JobReport:
    """What a handler reports through (runs.report.Report): this job's progress, checkpoint, error and warning
    rows and message, written by the functions above."""

    def __init__(self, job: SyncJob):
        self.job = job

    def progress(
        self, *, done: int | None = None, total: int | None = None, http_requests: int | None = None, **counters: int
    ) -> None:
        job_progress(job=self.job, done=done, total=total, http_requests=http_requests, **counters)

    def counts_by_direction(self, by_direction: dict) -> None:
        SyncJob.objects.filter(pk=self.job.pk).update(counts_by_direction=by_direction)
        self.job.counts_by_direction = by_direction

    def checkpoint(self, position: dict) -> None:
        job_checkpoint(job=self.job, checkpoint=position)

    def record_error(self, **details) -> SyncJobError:
        return job_record_error(job=self.job, **details)

    def record_warning(self, **details) -> SyncJobWarning:
        return job_record_warning(job=self.job, **details)

    def note(self, message: str) -> None:
        SyncJob.objects.filter(pk=self.job.pk).update(message=message)
        self.job.message = message


def job_finish(*, job: SyncJob, message: str = "") -> SyncJob:
    """RUNNING → SUCCESS, or ERROR when records failed; returns the job as stored.

    Without a ``message`` the one the handler wrote while running (e.g. trim warnings) is kept.
    """
    failed = SyncJob.objects.filter(pk=job.pk).values_list("failed", flat=True).first() or 0
    status = SyncJob.Status.ERROR if failed else SyncJob.Status.SUCCESS
    now = timezone.now()
    finished = {"status": status, "finished_at": now, "heartbeat_at": now}
    if message:
        finished["message"] = message
    SyncJob.objects.filter(pk=job.pk, status=SyncJob.Status.RUNNING).update(**finished)
    job.refresh_from_db()
    job_lease_release(job)
    return job


def job_fail(*, job: SyncJob, message: str) -> SyncJob:
    """The job itself could not go on: FAILED with a plain message; its counters stay as they were."""
    now = timezone.now()
    SyncJob.objects.filter(pk=job.pk).exclude(status__in=SyncJob.FINISHED).update(
        status=SyncJob.Status.FAILED, message=message, finished_at=now, heartbeat_at=now
    )
    job.refresh_from_db()
    job_lease_release(job)
    return job


# --- Reaper --------------------------------------------------------------------------------------------

# A job without a heartbeat for leases.STALE_AFTER lost its worker (killed, out of memory, machine restarted).
# With the reaper every minute, such a job resumes from its checkpoint within about two minutes.
# Times a job is handed to a new worker after its worker died, before it is given up.
MAX_ATTEMPTS = 3


def job_reap_stale(*, now: datetime.datetime | None = None) -> tuple[list[int], list[int]]:
    """Re-queue the running jobs whose heartbeat stopped (they resume from their checkpoint).

    A job whose workers died MAX_ATTEMPTS times is marked FAILED instead. Returns the ids
    re-queued and the ids failed.
    """
    now = now or timezone.now()
    requeued: list[int] = []
    failed: list[int] = []
    stale = SyncJob.objects.filter(status=SyncJob.Status.RUNNING, heartbeat_at__lt=stale_cutoff(now))
    for job in stale.only("pk", "attempts", "heartbeat_at"):
        # Conditional on the heartbeat we saw: a job that came back to life meanwhile is left alone.
        still_stale = SyncJob.objects.filter(pk=job.pk, status=SyncJob.Status.RUNNING, heartbeat_at=job.heartbeat_at)
        if job.attempts + 1 >= MAX_ATTEMPTS:
            message = (
                f"The worker running this job stopped responding {job.attempts + 1} times "
                f"(last sign of life {timezone.localtime(job.heartbeat_at):%Y-%m-%d %H:%M}); the job was given up. "
                "Start the synchronization again."
            )
            if still_stale.update(
                status=SyncJob.Status.FAILED, message=message, finished_at=now, attempts=F("attempts") + 1
            ):
                failed.append(job.pk)
                job_lease_release(SyncJob.objects.only("pk", "mapping_id").get(pk=job.pk))
            continue
        with transaction.atomic():
            if still_stale.update(status=SyncJob.Status.PENDING, worker="", attempts=F("attempts") + 1):
                job_enqueue(job=job)
                requeued.append(job.pk)
    # Jobs still waiting for a job that has ended (the queue lost the wake-up): queue them again.
    for job in SyncJob.objects.filter(status=SyncJob.Status.PENDING, waiting_for__status__in=SyncJob.FINISHED):
        if SyncJob.objects.filter(pk=job.pk, waiting_for=job.waiting_for_id).update(waiting_for=None, message=""):
            job_enqueue(job=job)
            requeued.append(job.pk)
    if requeued or failed:
        logger.warning("Stale sync jobs: re-queued %s, failed %s", requeued, failed)
    return requeued, failed


def jobs_delete_older_than(*, days: int) -> int:
    """Delete the finished jobs created more than ``days`` days ago, with their errors; returns the jobs count."""
    if days < 0:
        raise ValidationError({"days": "Enter zero or more days."})
    old = finished_jobs_older_than(days=days)
    with transaction.atomic():
        SyncJobError.objects.filter(job__in=old).delete()
        count, _ = old.delete()
    return count

"""Full synchronization (BC's "Dataverse Full Synch. Review" and Sync All): what each side holds per
mapping, a recommendation, and one coordinator that runs the mappings in dependency order.

The review counts, per enabled mapping, the ERP records in its filter (one COUNT query) and the
Dynamics 365 rows in its filter (one ``$top=1&$count=true`` request; Dataverse counts up to 5000)
and recommends:

- **No records found** when neither side holds any: nothing to do;
- **Couple records** when both sides hold data: match-based coupling first (syncjobs.engine.matching),
  then a synchronization of the coupled records only. Records that found no match are created on
  the other side only when the mapping says so ("create new in case of no match", or "synchronize
  only coupled records" off): where both sides already hold data, a full run couples instead of
  creating duplicates;
- **Full synchronization** otherwise: every record in the filters, the uncoupled ones created.

Special cases (BC's rules): CURRENCY is a full synchronization only when Dynamics 365 holds a single
currency at rate 1 (its base currency), else coupled. Option mappings (PAYMENT TERMS …) always run
full. SALESPEOPLE (users) runs full while the ERP holds no salespeople; once it does, they are coupled
by their match fields (e-mail) rather than created a second time from the same users — BC asks the
user to couple them by hand first.

A run (FullSyncRun, one FullSyncLine per mapping) is carried by one django-q2 task (or the
foreground ``crm_sync run --all --full --wait``) that runs the lines one after the other. A line
whose dependency failed is not started. The mappings' ``full_sync_running`` flag is set when the
run is created and cleared when it ends, however it ends; meanwhile the scheduled synchronization
leaves those mappings alone, and a second start is refused. The coordinator holds the run like a
lease (``worker`` + heartbeat): when its worker dies, the reaper hands the run to another worker,
which resumes at the line it stopped at.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from coupling.models import Coupling
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.engine import matching
from syncjobs.engine.crm_queries import crm_mapping_filter
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import Direction, FullSyncLine, FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs
from syncjobs.runs.leases import LeaseLost, lease_beat, lease_claim, stale_cutoff

logger = logging.getLogger(__name__)

Recommendation = FullSyncLine.Recommendation
LineStatus = FullSyncLine.Status

# Dataverse's @odata.count stops at this many rows.
CRM_COUNT_LIMIT = 5000
# How often a coordinator waiting for a job that another worker runs looks again.
WAIT_POLL_SECONDS = 5.0
SALESPEOPLE_ENTITY = "systemuser"
CURRENCY_ENTITY = "transactioncurrency"
# The choices a user may pick for a line instead of the recommendation.
OVERRIDES = (Recommendation.FULL, Recommendation.COUPLE, Recommendation.SKIP)


# --- Review ----------------------------------------------------------------------------------------------


@dataclass
class ReviewLine:
    """One mapping as the review sees it now."""

    mapping: IntegrationTableMapping
    erp_count: int | None
    crm_count: int | None
    recommendation: str
    reason: str
    # Why the recommendation cannot run as it is (e.g. no coupling criteria), for the page and start.
    problem: str = ""
    dependencies: list[str] = field(default_factory=list)

    @property
    def recommendation_label(self) -> str:
        return Recommendation(self.recommendation).label

    @property
    def crm_count_is_capped(self) -> bool:
        return self.crm_count is not None and self.crm_count >= CRM_COUNT_LIMIT

    @property
    def can_couple(self) -> bool:
        return not self.mapping.is_option_mapping and _has_match_fields(self.mapping)


def _has_match_fields(mapping: IntegrationTableMapping) -> bool:
    return matching.match_fields(mapping=mapping).filter(use_for_match_based_coupling=True).exists()


def erp_record_count(*, mapping: IntegrationTableMapping) -> int:
    model = mapping.erp_model.model_class()
    return model._default_manager.filter(**mapping.erp_filter).count()


def crm_row_count(*, client, mapping: IntegrationTableMapping) -> int:
    """Rows in the mapping's CRM filter: one request for one row and the count, never the table."""
    result = client.query(
        mapping.crm_entity_set,
        select=[mapping.crm_primary_key],
        filter=crm_mapping_filter(mapping),
        top=1,
        count=True,
    )
    first_page = next(result.pages(), [])
    return result.count if result.count is not None else len(first_page)


def _crm_has_only_base_currency(*, client, mapping: IntegrationTableMapping) -> tuple[int, bool]:
    """(currencies in the filter, whether that is a single one at exchange rate 1)."""
    result = client.query(
        mapping.crm_entity_set, select=["exchangerate"], filter=crm_mapping_filter(mapping), top=2, count=True
    )
    rows = next(result.pages(), [])
    count = result.count if result.count is not None else len(rows)
    try:
        single_at_one = count == 1 and Decimal(str(rows[0].get("exchangerate"))) == 1
    except (InvalidOperation, IndexError):
        single_at_one = False
    return count, single_at_one


def _review_line(client, mapping: IntegrationTableMapping, names_in_review: set[str]) -> ReviewLine:
    erp_count = erp_record_count(mapping=mapping)
    dependencies = [dep.name for dep in mapping.depends_on.all() if dep.name in names_in_review]
    if mapping.is_option_mapping:
        return ReviewLine(
            mapping,
            erp_count,
            None,
            Recommendation.FULL,
            "Option values are always synchronized in full.",
            dependencies=dependencies,
        )
    if mapping.crm_entity == CURRENCY_ENTITY:
        crm_count, only_base = _crm_has_only_base_currency(client=client, mapping=mapping)
        if not (erp_count or crm_count):
            line = ReviewLine(mapping, erp_count, crm_count, Recommendation.NONE, "Neither side holds a currency.")
        elif only_base or not crm_count:
            line = ReviewLine(
                mapping,
                erp_count,
                crm_count,
                Recommendation.FULL,
                "Dynamics 365 holds only its base currency (rate 1)." if crm_count else "Only the ERP holds data.",
            )
        else:
            line = ReviewLine(
                mapping,
                erp_count,
                crm_count,
                Recommendation.COUPLE,
                "Dynamics 365 holds several currencies: they are coupled by their code.",
            )
    else:
        crm_count = crm_row_count(client=client, mapping=mapping)
        if erp_count and crm_count:
            reason = "Both sides hold data: records are coupled by their match fields instead of created twice."
            line = ReviewLine(mapping, erp_count, crm_count, Recommendation.COUPLE, reason)
        elif erp_count or crm_count:
            side = "the ERP" if erp_count else "Dynamics 365"
            if mapping.crm_entity == SALESPEOPLE_ENTITY:
                reason = "Salespeople are created from the Dynamics 365 users."
            else:
                reason = f"Only {side} holds data."
            line = ReviewLine(mapping, erp_count, crm_count, Recommendation.FULL, reason)
        else:
            line = ReviewLine(mapping, erp_count, crm_count, Recommendation.NONE, "Neither side holds data.")
    line.dependencies = dependencies
    if line.recommendation == Recommendation.COUPLE and not line.can_couple:
        # Not a full synchronization instead: that would create duplicates of what both sides hold.
        line.problem = (
            f"Not started: coupling needs match fields. Choose the coupling criteria of {mapping.name}, "
            "or choose a full synchronization for it."
        )
    return line


def full_sync_review(*, client=None) -> list[ReviewLine]:
    """One line per enabled mapping, in dependency order, with the counts and the recommendation.

    Raises the CRM client's errors (clients.CrmNotConfigured, dataverse.DataverseError, requests'
    exceptions) when Dynamics 365 cannot be asked.
    """
    mappings = mapping_selectors.mapping_dependency_order(enabled_only=True)
    names = {mapping.name for mapping in mappings}
    if client is None:
        with clients.crm_client() as own_client:
            return [_review_line(own_client, mapping, names) for mapping in mappings]
    return [_review_line(client, mapping, names) for mapping in mappings]


# --- Start, cancel ---------------------------------------------------------------------------------------


def full_sync_active() -> FullSyncRun | None:
    return FullSyncRun.objects.filter(status__in=FullSyncRun.ACTIVE).select_related("created_by").first()


def _already_running(run: FullSyncRun) -> ValidationError:
    who = f" by {run.created_by}" if run.created_by else ""
    when = timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M")
    return ValidationError(
        f"A full synchronization is already running (#{run.pk}, started {when}{who}): "
        "wait for it to finish before starting another.",
        code="full_sync_running",
    )


def _apply_overrides(review: list[ReviewLine], overrides: dict[str, str]) -> None:
    by_name = {line.mapping.name: line for line in review}
    errors = []
    for name, choice in overrides.items():
        line = by_name.get(name)
        if line is None:
            errors.append(f"{name} is not an enabled mapping.")
        elif choice not in OVERRIDES:
            errors.append(f"{name}: “{choice}” is not a choice; use {', '.join(OVERRIDES)}.")
        elif choice == Recommendation.COUPLE and line.mapping.is_option_mapping:
            errors.append(f"{name} is an option mapping: its values are synchronized in full.")
        elif choice == Recommendation.COUPLE and not line.can_couple:
            errors.append(f"{name}: coupling needs match fields; choose its coupling criteria first.")
        elif choice != line.recommendation:
            line.recommendation = choice
            line.reason = "Chosen instead of the recommendation."
            line.problem = ""
    if errors:
        raise ValidationError(errors)


def full_sync_start(
    *,
    user=None,
    overrides: dict[str, str] | None = None,
    review: list[ReviewLine] | None = None,
    enqueue: bool = True,
) -> FullSyncRun:
    """A full synchronization of every enabled mapping, queued for a worker (or, without ``enqueue``,
    left for the caller to run with ``full_sync_run``).

    ``overrides`` maps a mapping's name to full, couple or skip instead of the recommendation.
    Refused (ValidationError) while another full synchronization runs, when the connection is not
    enabled, and when an override asks to couple a mapping without match fields. A mapping the
    review would couple but cannot is not started (its line says why), nor are its dependants.
    """
    if not connection_selectors.crm_connection_is_enabled():
        raise ValidationError("Enable the connection to Dynamics 365 first.", code="connection_disabled")
    active = full_sync_active()
    if active is not None:
        raise _already_running(active)
    if review is None:
        review = full_sync_review()
    if not review:
        raise ValidationError("No integration table mapping is enabled.", code="nothing_enabled")
    _apply_overrides(review, overrides or {})
    with transaction.atomic():
        active = full_sync_active()
        if active is not None:
            raise _already_running(active)
        # Flags left by a run that ended without clearing them (its process was killed) mean nothing now.
        IntegrationTableMapping.objects.filter(full_sync_running=True).update(full_sync_running=False)
        mapping_ids = [line.mapping.pk for line in review]
        # Conditional, so that of two starts at the same moment only one flags the mappings.
        flagged = IntegrationTableMapping.objects.filter(pk__in=mapping_ids, full_sync_running=False).update(
            full_sync_running=True
        )
        if flagged != len(mapping_ids):
            raise ValidationError(
                "A full synchronization was started at the same moment: wait for it to finish.",
                code="full_sync_running",
            )
        run = FullSyncRun.objects.create(created_by=user if user is not None and user.is_authenticated else None)
        FullSyncLine.objects.bulk_create(
            FullSyncLine(
                run=run,
                position=position,
                mapping=line.mapping,
                mapping_name=line.mapping.name,
                recommendation=line.recommendation,
                erp_count=line.erp_count,
                crm_count=line.crm_count,
                status=LineStatus.SKIPPED if line.problem else LineStatus.WAITING,
                message=line.problem,
            )
            for position, line in enumerate(review, start=1)
        )
        if enqueue:
            full_sync_enqueue(run=run)
    logger.info("Full synchronization #%s started by %s", run.pk, run.created_by or "the system")
    return run


def full_sync_enqueue(*, run: FullSyncRun) -> None:
    from django_q.tasks import async_task

    run_id = run.pk
    transaction.on_commit(
        lambda: async_task(
            "syncjobs.tasks.run_full_synchronization", run_id, task_name=f"full-sync-{run_id}", group="sync-jobs"
        )
    )


def _run_job_ids(run_id: int) -> list[int]:
    ids = FullSyncLine.objects.filter(run_id=run_id).values_list("coupling_job_id", "sync_job_id", "deferred_job_id")
    return [job_id for pair in ids for job_id in pair if job_id is not None]


def _has_live_job(run_id: int, now: datetime.datetime) -> bool:
    return SyncJob.objects.filter(
        pk__in=_run_job_ids(run_id), status=SyncJob.Status.RUNNING, heartbeat_at__gte=stale_cutoff(now)
    ).exists()


def full_sync_is_abandoned(*, run: FullSyncRun, now: datetime.datetime | None = None) -> bool:
    """Waiting for a worker, or no sign of life from the run and its jobs for a while."""
    now = now or timezone.now()
    if run.status == FullSyncRun.Status.PENDING:
        return True
    if run.status != FullSyncRun.Status.RUNNING:
        return False
    stale = run.heartbeat_at is None or run.heartbeat_at < stale_cutoff(now)
    return stale and not _has_live_job(run.pk, now)


def _release_mappings(run: FullSyncRun) -> None:
    mapping_ids = FullSyncLine.objects.filter(run=run, mapping__isnull=False).values_list("mapping_id", flat=True)
    IntegrationTableMapping.objects.filter(pk__in=list(mapping_ids)).update(full_sync_running=False)


@transaction.atomic
def full_sync_cancel(*, run: FullSyncRun) -> FullSyncRun:
    """Give up a run no worker carries (never picked up, or its worker gone): its lines stop where they are."""
    if not full_sync_is_abandoned(run=run):
        raise ValidationError(
            "The full synchronization is running: it can be cancelled only while it waits for a worker "
            "or after its worker stopped responding.",
            code="running",
        )
    now = timezone.now()
    cancelled = FullSyncRun.objects.filter(pk=run.pk, status=run.status, heartbeat_at=run.heartbeat_at).update(
        status=FullSyncRun.Status.CANCELLED, finished_at=now, message="Cancelled before it finished."
    )
    if not cancelled:
        raise ValidationError("The full synchronization changed meanwhile: look again.", code="changed")
    pending = list(SyncJob.objects.filter(pk__in=_run_job_ids(run.pk), status=SyncJob.Status.PENDING))
    SyncJob.objects.filter(pk__in=[job.pk for job in pending], status=SyncJob.Status.PENDING).update(
        status=SyncJob.Status.CANCELLED, finished_at=now, message="The full synchronization was cancelled."
    )
    for job in pending:
        jobs.job_lease_release(job)
    FullSyncLine.objects.filter(run=run, status__in=[LineStatus.WAITING, LineStatus.RUNNING]).update(
        status=LineStatus.SKIPPED, message="The full synchronization was cancelled."
    )
    _release_mappings(run)
    run.refresh_from_db()
    return run


def full_sync_resume_abandoned(*, now: datetime.datetime | None = None) -> list[int]:
    """Hand running full synchronizations whose worker died to another worker (called by the reaper)."""
    now = now or timezone.now()
    resumed = []
    for run in FullSyncRun.objects.filter(status=FullSyncRun.Status.RUNNING, heartbeat_at__lt=stale_cutoff(now)):
        if full_sync_is_abandoned(run=run, now=now):
            full_sync_enqueue(run=run)
            resumed.append(run.pk)
    if resumed:
        logger.warning("Full synchronizations without a live worker handed on: %s", resumed)
    return resumed


# --- The coordinator -------------------------------------------------------------------------------------


def _claim(run_id: int) -> FullSyncRun | None:
    """PENDING → RUNNING for this worker, or take over a RUNNING run nobody carries any more (the jobs' lease)."""
    now = timezone.now()
    claimable = Q(status=FullSyncRun.Status.PENDING)
    if not _has_live_job(run_id, now):
        claimable |= Q(status=FullSyncRun.Status.RUNNING, heartbeat_at__lt=stale_cutoff(now))
    claimed = lease_claim(FullSyncRun.objects.filter(pk=run_id).filter(claimable))
    return FullSyncRun.objects.get(pk=run_id) if claimed else None


def _beat(run: FullSyncRun) -> None:
    if not lease_beat(FullSyncRun, run.pk, worker=run.worker):
        raise LeaseLost()


def _job_done(run: FullSyncRun, job: SyncJob) -> SyncJob:
    """Run the job here; when another worker has it (a job re-queued after a crash), wait for it, and take
    it back should it be handed on again while this coordinator waits."""
    job = jobs.job_run_to_end(job_id=job.pk, on_wait=lambda _waiting: _beat(run), poll_seconds=WAIT_POLL_SECONDS)
    _beat(run)
    return job


def _set_line(line: FullSyncLine, status: str, message: str = "", **jobs_of_line) -> None:
    line.status = status
    line.message = message
    for name, job in jobs_of_line.items():
        setattr(line, name, job)
    line.save(update_fields=["status", "message", *jobs_of_line])


def _sync_job_for(line: FullSyncLine, *, full: bool) -> SyncJob:
    """The line's synchronization job, created once (a resumed run finds the one it created before)."""
    if line.sync_job_id is not None:
        return line.sync_job
    mapping = line.mapping
    with transaction.atomic():
        if not full:
            # After coupling, every coupled record is synchronized, not only the changes since the
            # last run: the next run starts from nothing, and moves the watermarks to its start.
            IntegrationTableMapping.objects.filter(pk=mapping.pk).update(
                erp_watermark=None, crm_watermark=None, crm_delta_link=""
            )
        job = jobs.job_create(
            mapping=mapping,
            direction=mapping.job_direction,
            full=full,
            user=line.run.created_by,
            enqueue=False,
        )
        _set_line(line, LineStatus.RUNNING, sync_job=job)
    return job


def _coupling_job_for(line: FullSyncLine) -> SyncJob:
    if line.coupling_job_id is not None:
        return line.coupling_job
    mapping = line.mapping
    with transaction.atomic():
        job = jobs.job_create(
            mapping=mapping,
            direction=SyncJob.JobDirection.FROM_CRM
            if mapping.direction == Direction.FROM_CRM
            else SyncJob.JobDirection.TO_CRM,
            kind=SyncJob.Kind.COUPLING,
            user=line.run.created_by,
            enqueue=False,
        )
        # Recorded with the job, so that the coupling leaves the synchronization after it to this run.
        _set_line(line, LineStatus.RUNNING, coupling_job=job)
    return job


def _outcome(line: FullSyncLine, finished: list[SyncJob]) -> None:
    statuses = {job.status for job in finished}
    failed = [job for job in finished if job.status in (SyncJob.Status.FAILED, SyncJob.Status.CANCELLED)]
    if failed:
        _set_line(line, LineStatus.FAILED, f"Job #{failed[0].pk} could not run: {failed[0].message}")
    elif SyncJob.Status.ERROR in statuses:
        records = sum(job.failed for job in finished)
        _set_line(line, LineStatus.ERROR, f"{records} record{'s' if records != 1 else ''} failed.")
    else:
        _set_line(line, LineStatus.SUCCESS)


def _run_line(run: FullSyncRun, line: FullSyncLine) -> None:
    if line.recommendation == Recommendation.COUPLE:
        coupling = _job_done(run, _coupling_job_for(line))
        if coupling.status in (SyncJob.Status.FAILED, SyncJob.Status.CANCELLED):
            _outcome(line, [coupling])
            return
        _outcome(line, [coupling, _job_done(run, _sync_job_for(line, full=False))])
    else:
        _outcome(line, [_job_done(run, _sync_job_for(line, full=True))])


def _has_deferred_values(line: FullSyncLine) -> bool:
    return Coupling.objects.filter(erp_model_id=line.mapping.erp_model_id, deferred_values=True, skipped=False).exists()


def _send_deferred_values(run: FullSyncRun, line: FullSyncLine) -> None:
    """A line's lookups that were left out because their record was coupled only by a later line (a
    customer's primary contact) go out now, so that the run ends with both sides equal."""
    if line.deferred_job_id is None:
        if not _has_deferred_values(line):
            return
        job = jobs.job_create(
            mapping=line.mapping, direction=SyncJob.JobDirection.TO_CRM, user=run.created_by, enqueue=False
        )
        line.deferred_job = job
        line.save(update_fields=["deferred_job"])
    job = _job_done(run, line.deferred_job)
    if job.status in (SyncJob.Status.FAILED, SyncJob.Status.CANCELLED):
        _set_line(line, LineStatus.FAILED, f"Job #{job.pk} could not send the lookups left out: {job.message}")
    elif job.status == SyncJob.Status.ERROR and line.status == LineStatus.SUCCESS:
        _set_line(line, LineStatus.ERROR, f"{job.failed} record{'s' if job.failed != 1 else ''} failed.")


def _blocks_dependants(line: FullSyncLine) -> bool:
    """Failed, or meant to run and not started: what depends on it must not run either (BC: not Finished)."""
    if line.status == LineStatus.FAILED:
        return True
    to_run = line.recommendation in (Recommendation.FULL, Recommendation.COUPLE)
    return line.status == LineStatus.SKIPPED and to_run and line.mapping is not None


def _blocking_dependencies(line: FullSyncLine, not_done: set[str]) -> list[str]:
    if line.mapping is None:
        return []
    return sorted(dep.name for dep in line.mapping.depends_on.all() if dep.name in not_done)


def full_sync_run(*, run_id: int) -> FullSyncRun:
    """Claim the run and work through its lines in order; another delivery of a claimed run does nothing."""
    run = _claim(run_id)
    if run is None:
        return FullSyncRun.objects.get(pk=run_id)
    status, message = FullSyncRun.Status.FAILED, ""
    try:
        # Lines of mappings that failed (or were not started because of a failure): their dependants wait.
        not_done: set[str] = set()
        lines = run.lines.select_related("mapping", "coupling_job", "sync_job", "run__created_by").order_by("position")
        for line in lines:
            if line.status in (LineStatus.SUCCESS, LineStatus.ERROR, LineStatus.SKIPPED, LineStatus.FAILED):
                if _blocks_dependants(line):
                    not_done.add(line.mapping_name)
                continue
            _beat(run)
            if line.mapping is None:
                _set_line(line, LineStatus.SKIPPED, "The mapping was deleted.")
            elif line.recommendation in (Recommendation.NONE, Recommendation.SKIP):
                _set_line(line, LineStatus.SKIPPED, line.get_recommendation_display() + ".")
            elif blocking := _blocking_dependencies(line, not_done):
                _set_line(line, LineStatus.SKIPPED, f"Not started: {', '.join(blocking)} did not finish.")
            else:
                try:
                    _run_line(run, line)
                except LeaseLost:
                    raise
                except Exception as error:  # noqa: BLE001 — one line's trouble must not stop the others
                    logger.exception("Full synchronization #%s: %s failed", run.pk, line.mapping_name)
                    _set_line(line, LineStatus.FAILED, f"{type(error).__name__}: {error}")
            if _blocks_dependants(line):
                not_done.add(line.mapping_name)
        for line in run.lines.select_related("mapping", "deferred_job", "run__created_by").order_by("position"):
            if line.status in (LineStatus.SUCCESS, LineStatus.ERROR) and line.mapping is not None:
                _beat(run)
                _send_deferred_values(run, line)
        status, message = FullSyncRun.Status.FINISHED, _summary(run)
    except LeaseLost:
        logger.warning("Full synchronization #%s was taken over by another worker", run.pk)
        return FullSyncRun.objects.get(pk=run.pk)
    except BaseException as error:
        logger.exception("Full synchronization #%s stopped", run.pk)
        message = f"The full synchronization stopped: {type(error).__name__}: {str(error).strip() or 'no details'}"
        raise
    finally:
        if status == FullSyncRun.Status.FINISHED or message:
            _finish(run, status, message)
    return FullSyncRun.objects.get(pk=run.pk)


def _finish(run: FullSyncRun, status: str, message: str) -> None:
    """End the run and release its mappings, whether it finished or stopped."""
    now = timezone.now()
    with transaction.atomic():
        FullSyncRun.objects.filter(pk=run.pk, worker=run.worker).update(
            status=status, message=message, finished_at=now, heartbeat_at=now
        )
        if status != FullSyncRun.Status.FINISHED:
            FullSyncLine.objects.filter(run=run, status__in=[LineStatus.WAITING, LineStatus.RUNNING]).update(
                status=LineStatus.SKIPPED, message="Not started: the full synchronization stopped."
            )
        _release_mappings(run)
    logger.info("Full synchronization #%s ended: %s", run.pk, message)


def _summary(run: FullSyncRun) -> str:
    counts = dict.fromkeys(LineStatus.values, 0)
    for status in run.lines.values_list("status", flat=True):
        counts[status] += 1
    parts = [f"{counts[LineStatus.SUCCESS]} finished"]
    for status, label in ((LineStatus.ERROR, "with failed records"), (LineStatus.FAILED, "failed")):
        if counts[status]:
            parts.append(f"{counts[status]} {label}")
    if counts[LineStatus.SKIPPED]:
        parts.append(f"{counts[LineStatus.SKIPPED]} skipped")
    return f"Mappings: {', '.join(parts)}."


# --- For the page and the command ------------------------------------------------------------------------


def full_sync_latest() -> FullSyncRun | None:
    return FullSyncRun.objects.select_related("created_by").first()


def full_sync_jobs(*, run: FullSyncRun) -> list[SyncJob]:
    """The run's jobs in the order they ran: per line coupling, then synchronization; then the lookups
    left out, sent after every line."""
    lines = list(run.lines.select_related("coupling_job", "sync_job", "deferred_job").order_by("position"))
    jobs_of_lines = [job for line in lines for job in (line.coupling_job, line.sync_job) if job is not None]
    return jobs_of_lines + [line.deferred_job for line in lines if line.deferred_job is not None]

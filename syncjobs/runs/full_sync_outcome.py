"""What a full synchronization did, for its page: the totals of a run's jobs, and the review's recommendations
after a run (a mapping it synchronized is not recommended again until something changed).

After a finished run, a mapping whose line finished without failures is kept up to date by its scheduled
(incremental) synchronization; a second full synchronization would only do the same work again. It is
recommended again when something changed that the scheduled synchronization does not take care of: the
mapping's settings (filters, directions, policies) were changed since, or records were added on either side
since (new records may need coupling rather than creating).
"""

from __future__ import annotations

import datetime
from contextlib import ExitStack
from dataclasses import dataclass

from django.utils import timezone

import dataverse
from syncjobs.connection import clients
from syncjobs.engine.crm_queries import and_filters, crm_mapping_filter
from syncjobs.models import FullSyncLine, FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import full_sync
from syncjobs.runs.full_sync import Recommendation, ReviewLine

# Counters of a run's jobs, in the words of its page.
TOTALS = (("inserted", "created"), ("modified", "updated"), ("coupled", "coupled"), ("failed", "failed"))


@dataclass(frozen=True)
class RunTotals:
    """The records a run's jobs created, updated, coupled and failed, across its lines (both directions)."""

    created: int
    updated: int
    coupled: int
    failed: int
    jobs: int

    def as_words(self) -> list[tuple[str, int]]:
        return [(word, getattr(self, word)) for _, word in TOTALS]


def run_totals(*, run: FullSyncRun) -> RunTotals:
    """Summed over every job of the run's lines: coupling, synchronization and the lookups sent after."""
    ids = {
        job_id
        for line in run.lines.values_list("coupling_job_id", "sync_job_id", "deferred_job_id")
        for job_id in line
        if job_id is not None
    }
    sums = dict.fromkeys((counter for counter, _ in TOTALS), 0)
    for row in SyncJob.objects.filter(pk__in=ids).values(*sums):
        for counter in sums:
            sums[counter] += row[counter]
    return RunTotals(*(sums[counter] for counter, _ in TOTALS), jobs=len(ids))


def _last_finished_lines(mappings: list[IntegrationTableMapping]) -> dict[int, FullSyncLine]:
    """Per mapping, the line of the last finished run that ran it (not skipped), in one query."""
    lines = (
        FullSyncLine.objects.filter(
            mapping__in=mappings, run__status=FullSyncRun.Status.FINISHED, run__finished_at__isnull=False
        )
        .exclude(status=FullSyncLine.Status.SKIPPED)
        .select_related("run")
        .order_by("-run__finished_at", "-run_id")
    )
    last: dict[int, FullSyncLine] = {}
    for line in lines:
        last.setdefault(line.mapping_id, line)
    return last


def _erp_added_since(mapping: IntegrationTableMapping, since: datetime.datetime) -> bool:
    model = mapping.erp_model.model_class()
    if model is None or not any(field.name == "created_at" for field in model._meta.concrete_fields):
        return False
    return model._default_manager.filter(**mapping.erp_filter, created_at__gt=since).exists()


class _RowsAddedSince:
    """Asks Dynamics 365 whether a mapping's filter holds rows created since a moment (one row, one request),
    with one client opened on the first question."""

    def __init__(self, stack: ExitStack):
        self.stack = stack
        self.client: dataverse.Client | None = None

    def __call__(self, mapping: IntegrationTableMapping, since: datetime.datetime) -> bool:
        if mapping.is_option_mapping or not mapping.crm_primary_key:
            return False
        if self.client is None:
            self.client = self.stack.enter_context(clients.crm_client())
        rows = self.client.query(
            mapping.crm_entity_set,
            select=[mapping.crm_primary_key],
            filter=and_filters(crm_mapping_filter(mapping), dataverse.F.gt("createdon", since)),
            top=1,
        )
        return bool(next(rows.pages(), []))


def _what_changed(crm_added_since: _RowsAddedSince, mapping: IntegrationTableMapping, since: datetime.datetime) -> str:
    if mapping.modified_at > since:
        return "its settings were changed since"
    if _erp_added_since(mapping, since):
        return "records were added in the ERP since"
    if crm_added_since(mapping, since):
        return "rows were added in Dynamics 365 since"
    return ""


def review_after_last_runs(review: list[ReviewLine]) -> None:
    """Recommend skipping the mappings the last finished run synchronized without failures, unless something
    changed since; the others keep the review's recommendation, with a word on what changed.

    Raises the CRM client's errors when Dynamics 365 cannot be asked whether rows were added.
    """
    last = _last_finished_lines([line.mapping for line in review]) if review else {}
    with ExitStack() as stack:
        crm_added_since = _RowsAddedSince(stack)
        for line in review:
            previous = last.get(line.mapping.pk)
            if previous is None or line.problem or line.recommendation in (Recommendation.NONE, Recommendation.SKIP):
                continue
            run = previous.run
            when = timezone.localtime(run.finished_at).strftime("%Y-%m-%d %H:%M")
            if previous.status != FullSyncLine.Status.SUCCESS:
                line.reason = f"{line.reason} Full synchronization #{run.pk} ({when}) left failures."
                continue
            changed = _what_changed(crm_added_since, line.mapping, run.finished_at)
            if changed:
                line.reason = f"{line.reason} Synchronized by full synchronization #{run.pk} ({when}), but {changed}."
                continue
            line.recommendation = Recommendation.SKIP
            line.reason = (
                f"Synchronized by full synchronization #{run.pk} ({when}); nothing changed since that its "
                "scheduled synchronization does not take care of."
            )


def review_with_last_runs() -> list[ReviewLine]:
    """The review (full_sync.full_sync_review) with the recommendations after the last finished runs."""
    review = full_sync.full_sync_review()
    review_after_last_runs(review)
    return review

"""ERP → CRM: the ERP records to look at, page by page, merged with their CRM rows and written in bulk."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import models
from django.db.models import Exists, OuterRef, Q

from coupling import services as coupling_services
from coupling.models import Coupling
from erp.models import SyncedModel
from syncjobs.engine import deletions, outcomes, records, values
from syncjobs.engine.context import READ_IDS_PER_QUERY, WATERMARK_OVERLAP, WRITE_PAGE_SIZE, RunContext
from syncjobs.engine.merge import merge
from syncjobs.engine.values import Lookups, RecordFailure
from syncjobs.engine.writes import Dispatched, PendingWrite, WritePlan


def _couplings(ctx: RunContext) -> models.QuerySet[Coupling]:
    return Coupling.objects.filter(erp_model=ctx.erp_content_type)


def _incremental(ctx: RunContext) -> bool:
    return not ctx.explicit and not ctx.job.full and ctx.mapping.erp_watermark is not None


def _since(ctx: RunContext) -> datetime.datetime:
    """Where an incremental run reads changes from: its watermark, less the overlap."""
    watermark = ctx.mapping.erp_watermark
    assert watermark is not None, "only an incremental run (_incremental: it has a watermark) reads since it"
    return watermark - WATERMARK_OVERLAP


def _in_scope(ctx: RunContext) -> models.QuerySet[SyncedModel]:
    """The records the mapping synchronizes: its ERP filter, and only coupled ones where it says so."""
    queryset = ctx.erp_model._default_manager.filter(**ctx.mapping.erp_filter)
    if ctx.only_coupled:
        queryset = queryset.filter(Exists(_couplings(ctx).filter(erp_system_id=OuterRef("system_id"))))
    return queryset


def erp_queryset(ctx: RunContext) -> models.QuerySet[SyncedModel]:
    """The ERP records this run looks at (BC: FindModifiedLocalRecords, plus failed and pending ones)."""
    if ctx.explicit:
        # "Synchronize now" on chosen records: those records only, chosen on either side.
        chosen = list(ctx.explicit_erp_ids or [])
        if ctx.explicit_crm_ids:
            coupled = _couplings(ctx).filter(crm_entity=ctx.mapping.crm_entity, crm_id__in=ctx.explicit_crm_ids)
            chosen += [str(system_id) for system_id in coupled.values_list("erp_system_id", flat=True)]
        return ctx.erp_model._default_manager.filter(system_id__in=chosen)
    queryset = _in_scope(ctx)
    if _incremental(ctx):
        redo = _couplings(ctx).filter(
            Q(state=Coupling.State.CREATING)
            | Q(last_result=Coupling.Result.FAILURE, skipped=False)
            | Q(deferred_values=True, skipped=False)
        )
        # Two indexable terms (modified_at, and system_id IN the few couplings to redo): the database
        # reads the changed records by index instead of testing every record of the table.
        queryset = queryset.filter(Q(modified_at__gt=_since(ctx)) | Q(system_id__in=redo.values("erp_system_id")))
    return queryset


def _changed_through_filter(ctx: RunContext) -> set[int]:
    """Records that came into the filter because a record it looks through changed (a customer unblocked:
    its contacts), though they did not change themselves. Read from the changed side, by its index."""
    since = _since(ctx)
    pks: set[int] = set()
    for path, model in values.relation_paths(ctx.erp_model, list(ctx.mapping.erp_filter)).items():
        if issubclass(model, SyncedModel):  # it keeps modified_at
            changed = _in_scope(ctx).filter(**{f"{path}__modified_at__gt": since})
            pks.update(changed.order_by().values_list("pk", flat=True))
    return pks


def erp_pages(ctx: RunContext) -> Iterator[list[SyncedModel]]:
    """Pages of records in primary key order (keyset paging: bounded memory, stable under writes)."""
    queryset = erp_queryset(ctx)
    paths = [f.erp_field for f in ctx.fields if f.erp_field and not f.lookup_erp_key]
    related = values.select_related_paths(ctx.erp_model, paths)
    if related:
        queryset = queryset.select_related(*related)
    if _incremental(ctx):
        # The few changed records by their indexes first (no ORDER BY, which would make the database
        # walk the table in key order testing each record), then read in pages: proportional to the change.
        changed = sorted(set(queryset.order_by().values_list("pk", flat=True)) | _changed_through_filter(ctx))
        records = ctx.erp_model._default_manager.select_related(*related)
        for start in range(0, len(changed), WRITE_PAGE_SIZE):
            yield list(records.filter(pk__in=changed[start : start + WRITE_PAGE_SIZE]).order_by("pk"))
        return
    last_pk = resumes_after(ctx)
    while True:
        page_query = queryset.order_by("pk")
        if last_pk is not None:
            page_query = page_query.filter(pk__gt=last_pk)
        page = list(page_query[:WRITE_PAGE_SIZE])
        if not page:
            return
        yield page
        last_pk = page[-1].pk


def fetch_crm_rows(ctx: RunContext, crm_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    rows: dict[uuid.UUID, dict] = {}
    select = values.crm_select(ctx)
    for start in range(0, len(crm_ids), READ_IDS_PER_QUERY):
        chunk = crm_ids[start : start + READ_IDS_PER_QUERY]
        result = ctx.client.query(
            ctx.mapping.crm_entity_set,
            select=select,
            filter=values.ids_filter(ctx.primary_key, chunk),
            page_size=READ_IDS_PER_QUERY,
        )
        for row in result:
            rows[uuid.UUID(str(row[ctx.primary_key]))] = row
    return rows


def sync_to_crm(ctx: RunContext) -> None:
    # A page's bulk requests are in flight on a worker thread while the next page is read and
    # merged here; each page's outcome is settled (couplings saved, progress written) in order.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="crm-write") as sender:
        run = ToCrmPass(ctx, sender)
        for page in erp_pages(ctx):
            run.sync_page(page)
            run.keep_checkpoint()
        run.settle()
        run.keep_checkpoint()


@dataclass
class _InFlight:
    """A page whose writes were dispatched and whose outcome is not saved yet."""

    dispatched: Dispatched
    successes: list[Coupling]
    page_size: int
    last_pk: int


# A full run's ERP → CRM pass keeps, as the job's checkpoint, the last record whose page is settled: a job taken
# over after its worker died starts after it (the records before are written and their couplings saved).
CHECKPOINT = "to_crm_after_pk"


def resumes_after(ctx: RunContext) -> int | None:
    if ctx.explicit or not ctx.job.full:
        return None
    return (ctx.job.checkpoint or {}).get(CHECKPOINT)


class ToCrmPass:
    """One ERP → Dynamics 365 pass: what every page needs, and the page whose writes are in flight."""

    def __init__(self, ctx: RunContext, sender: ThreadPoolExecutor):
        self.ctx = ctx
        self.sender = sender
        self.lookups = Lookups(ctx)
        self.field_directions = records.directions(ctx)
        self.creation_defaults = values.creation_defaults(ctx)
        # A new row starts in the CRM's default state (Active): its state is written by later updates.
        self.created_without = values.state_field_names(ctx)
        self.plan = WritePlan(
            ctx, on_row_missing=lambda write: deletions.crm_row_missing(ctx, write.record, write.coupling)
        )
        self.in_flight: _InFlight | None = None
        self.settled_pk: int | None = None

    def settle(self) -> None:
        """Save the outcome of the page in flight (its couplings, the job's progress)."""
        if self.in_flight is None:
            return
        outcomes.save_successes(self.in_flight.successes + self.in_flight.dispatched.collect())
        self.ctx.flush(done=self.in_flight.page_size)
        self.settled_pk = self.in_flight.last_pk
        self.in_flight = None

    def keep_checkpoint(self) -> None:
        if self.settled_pk is None or self.ctx.explicit or not self.ctx.job.full:
            return
        self.ctx.checkpoint(**{CHECKPOINT: self.settled_pk})

    def sync_page(self, page: list[SyncedModel]) -> None:
        """Merge one page and dispatch its writes; settle the previous page's once this one is on its way."""
        ctx, lookups = self.ctx, self.lookups
        needs_crm_values = bool(ctx.from_crm_fields)
        couplings = {c.erp_system_id: c for c in _couplings(ctx).filter(erp_system_id__in=[r.system_id for r in page])}
        lookups.prime_for_records(page)
        coupled_ids = [c.crm_id for c in couplings.values() if c.state == Coupling.State.COUPLED]
        # A mapping that only sends reads no rows, except those of records that failed last time: one whose row
        # was deleted must not pass for synchronized because nothing of the ERP's changed since.
        failed_ids = {c.crm_id for c in couplings.values() if c.last_result == Coupling.Result.FAILURE}
        read_ids = coupled_ids if needs_crm_values else [crm_id for crm_id in coupled_ids if crm_id in failed_ids]
        crm_rows = fetch_crm_rows(ctx, read_ids) if read_ids else {}
        new_couplings: list[Coupling] = []
        pending: list[tuple[SyncedModel, Coupling, dict]] = []
        successes: list[Coupling] = []
        for record in page:
            coupling = couplings.get(record.system_id)
            if coupling is not None and coupling.skipped and not ctx.explicit:
                ctx.count("skipped")
                continue
            # A record this run would not create is passed over before its values are read: a lookup it could
            # not resolve (an uncoupled salesperson) is no failure of a record that is not synchronized.
            if coupling is None and (ctx.only_coupled or values.record_inactive(ctx, record)):
                # Not created while blocked (BC's Blocked=No table filter): it would be an active row.
                continue
            erp_side = records.erp_side_of(ctx, lookups, record, coupling)
            if erp_side is None:
                continue
            if coupling is None:
                # The id is chosen and committed before anything is sent: a rerun upserts this same row.
                coupling = Coupling(
                    erp_model=ctx.erp_content_type,
                    erp_system_id=record.system_id,
                    crm_entity=ctx.mapping.crm_entity,
                    crm_id=uuid.uuid4(),
                    state=Coupling.State.CREATING,
                )
                new_couplings.append(coupling)
            if coupling.state == Coupling.State.CREATING:
                pending.append((record, coupling, erp_side))
                continue
            row = crm_rows.get(coupling.crm_id) if needs_crm_values else None
            if (needs_crm_values or coupling.crm_id in failed_ids) and coupling.crm_id not in crm_rows:
                deletions.crm_row_missing(ctx, record, coupling)
                continue
            write = records.merge_record(ctx, lookups, self.field_directions, record, coupling, erp_side, row)
            if write is None:
                continue
            if write.body:
                self.plan.add(write)
            else:
                outcomes.mark_success(ctx, coupling, snapshot=write.snapshot, record=record, row=row)
                successes.append(coupling)
        if new_couplings:
            coupling_services.couplings_create(couplings=new_couplings, batch_size=WRITE_PAGE_SIZE)
            ctx.count("coupled", len(new_couplings))
        self._plan_creates(pending)
        dispatched = self.plan.dispatch(self.sender)
        self.settle()
        self.in_flight = _InFlight(dispatched, successes, len(page), page[-1].pk)

    def _plan_creates(self, pending: list[tuple[SyncedModel, Coupling, dict]]) -> None:
        """New rows: everything the ERP maps, plus what a new row needs that the mapping does not set."""
        if not pending:
            return
        try:
            bindings = values.creation_bindings(self.ctx, self.lookups)
        except RecordFailure as failure:  # e.g. the local currency a new price list needs is not coupled
            for record, coupling, _ in pending:
                outcomes.record_failure_of(self.ctx, failure, record=record, coupling=coupling)
            return
        for record, coupling, erp_side in pending:
            if values.record_inactive(self.ctx, record):
                # Waiting to be created (e.g. left by match-based coupling) but blocked: not sent as an
                # active row; the coupling waits and the record is created once it is unblocked.
                continue
            try:
                needed = values.record_creation_values(self.ctx, record)
            except RecordFailure as failure:  # e.g. a new currency without an exchange rate
                outcomes.record_failure_of(self.ctx, failure, record=record, coupling=coupling)
                continue
            merged = merge(directions=self.field_directions, base={}, erp=erp_side, crm=None, policy="", erp_only=True)
            body = values.crm_payload(self.ctx, erp_side, merged.to_crm - self.created_without)
            self.plan.add(
                PendingWrite(
                    record=record,
                    coupling=coupling,
                    body={**self.creation_defaults, **bindings, **needed, **body},
                    snapshot=merged.merged,
                    create=True,
                )
            )

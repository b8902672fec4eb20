"""CRM → ERP: the CRM rows to look at (change tracking, else modifiedon), merged with their ERP records.

Incoming values go through the ERP's own rules (erp.services.record_save → full_clean): a value
the ERP refuses fails that record with the ERP's message. A new ERP record and its coupling are
written in one transaction, so a crash leaves neither or both.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

import dataverse
from coupling import services as coupling_services
from coupling.models import Coupling
from nav_crm.records import describe_record
from syncjobs.engine import deletions, outcomes, templates, values
from syncjobs.engine.context import (
    EXPIRED_TOKEN_CODE,
    READ_IDS_PER_QUERY,
    READ_PAGE_SIZE,
    WATERMARK_OVERLAP,
    RunContext,
)
from syncjobs.engine.creation import crm_held_values, fill_new_record, save_new_record
from syncjobs.engine.records import directions, erp_refusal_message, erp_side_of, merge_record
from syncjobs.engine.values import Lookups, RecordFailure
from syncjobs.engine.writes import WritePlan
from syncjobs.models import Direction


@dataclass
class CrmBatch:
    rows: list[dict] = field(default_factory=list)
    deleted: list[uuid.UUID] = field(default_factory=list)


@dataclass
class CrmReadState:
    """What the run leaves for the next one: the new delta link (kept only when the run gets to its end)."""

    delta_link: str | None = None


def _crm_filter(ctx: RunContext) -> dataverse.Filter | None:
    text = ctx.mapping.crm_filter.strip()
    return dataverse.Filter(f"({text})", 0) if text else None


def _and(left: dataverse.Filter, right: dataverse.Filter | None) -> dataverse.Filter:
    return left & right if right is not None else left


def _rows_by_ids(ctx: RunContext, ids: list, *, filtered: bool) -> Iterator[list[dict]]:
    select = values.crm_select(ctx)
    for start in range(0, len(ids), READ_IDS_PER_QUERY):
        chunk = ids[start : start + READ_IDS_PER_QUERY]
        condition = values.ids_filter(ctx.primary_key, chunk)
        if filtered:
            condition = _and(condition, _crm_filter(ctx))
        rows = list(
            ctx.client.query(ctx.mapping.crm_entity_set, select=select, filter=condition, page_size=READ_IDS_PER_QUERY)
        )
        if rows:
            yield rows


def _query_pages(ctx: RunContext, condition: dataverse.Filter | None) -> Iterator[list[dict]]:
    result = ctx.client.query(
        ctx.mapping.crm_entity_set, select=values.crm_select(ctx), filter=condition, page_size=READ_PAGE_SIZE
    )
    yield from result.pages()


def _start_tracking(ctx: RunContext, state: CrmReadState) -> None:
    """A delta link from now on: the next incremental run reads only what changed after this point."""
    if not ctx.change_tracking:
        return
    feed = ctx.client.track_changes(
        ctx.mapping.crm_entity_set, select=[ctx.primary_key], page_size=5000, primary_key=ctx.primary_key
    )
    for _ in feed:
        pass
    state.delta_link = feed.delta_link


def _retry_ids(ctx: RunContext) -> list[uuid.UUID]:
    """Rows whose last synchronization failed and that are not skipped: worked on again every run."""
    return list(
        Coupling.objects.filter(
            erp_model=ctx.erp_content_type,
            crm_entity=ctx.mapping.crm_entity,
            last_result=Coupling.Result.FAILURE,
            skipped=False,
            state=Coupling.State.COUPLED,
        ).values_list("crm_id", flat=True)
    )


def crm_batches(ctx: RunContext, state: CrmReadState) -> Iterator[CrmBatch]:
    mapping = ctx.mapping
    if ctx.explicit:
        # "Synchronize now" on chosen records: their rows only, not the change feed or other failed ones.
        chosen = list(ctx.explicit_crm_ids or [])
        if ctx.explicit_erp_ids:
            coupled = Coupling.objects.filter(
                erp_model=ctx.erp_content_type, crm_entity=mapping.crm_entity, erp_system_id__in=ctx.explicit_erp_ids
            )
            chosen += [str(crm_id) for crm_id in coupled.values_list("crm_id", flat=True)]
        for rows in _rows_by_ids(ctx, chosen, filtered=False):
            yield CrmBatch(rows=rows)
        return
    if ctx.job.full or (not mapping.crm_delta_link and mapping.crm_watermark is None):
        _start_tracking(ctx, state)
        for rows in _query_pages(ctx, _crm_filter(ctx)):
            yield CrmBatch(rows=rows)
        return
    seen: set = set()
    if mapping.crm_delta_link and ctx.change_tracking:
        try:
            yield from _delta_batches(ctx, state, seen)
        except dataverse.ValidationFailed as error:
            if error.code != EXPIRED_TOKEN_CODE:
                raise
            ctx.warn("The change-tracking token had expired; changes were read by modification time instead.")
            yield from _watermark_batches(ctx, state, seen)
    else:
        yield from _watermark_batches(ctx, state, seen)
    retry = [crm_id for crm_id in _retry_ids(ctx) if str(crm_id) not in seen]
    for rows in _rows_by_ids(ctx, retry, filtered=False):
        yield CrmBatch(rows=rows)


def _delta_batches(ctx: RunContext, state: CrmReadState, seen: set) -> Iterator[CrmBatch]:
    feed = ctx.client.changes(ctx.mapping.crm_delta_link, page_size=READ_PAGE_SIZE, primary_key=ctx.primary_key)
    changed: list[str] = []
    deleted: list[uuid.UUID] = []
    for change in feed:
        if change.deleted:
            if change.id:
                deleted.append(uuid.UUID(change.id))
        elif change.id:
            changed.append(str(change.id).lower())
            seen.add(str(change.id).lower())
        if len(changed) >= READ_IDS_PER_QUERY:
            yield from (CrmBatch(rows=rows) for rows in _rows_by_ids(ctx, changed, filtered=True))
            changed = []
        if len(deleted) >= READ_IDS_PER_QUERY:
            yield CrmBatch(deleted=deleted)
            deleted = []
    yield from (CrmBatch(rows=rows) for rows in _rows_by_ids(ctx, changed, filtered=True))
    if deleted:
        yield CrmBatch(deleted=deleted)
    state.delta_link = feed.delta_link


def _watermark_batches(ctx: RunContext, state: CrmReadState, seen: set) -> Iterator[CrmBatch]:
    _start_tracking(ctx, state)
    condition = _crm_filter(ctx)
    if ctx.mapping.crm_watermark is not None:
        since = ctx.mapping.crm_watermark - WATERMARK_OVERLAP - datetime.timedelta(milliseconds=999)
        condition = _and(dataverse.F.gt("modifiedon", since), condition)
    for rows in _query_pages(ctx, condition):
        seen.update(str(row[ctx.primary_key]).lower() for row in rows)
        yield CrmBatch(rows=rows)


def sync_from_crm(ctx: RunContext) -> CrmReadState:
    state = CrmReadState()
    lookups = Lookups(ctx)
    field_directions = directions(ctx)
    plan = WritePlan(ctx, on_row_missing=lambda write: deletions.crm_row_missing(ctx, write.record, write.coupling))
    for batch in crm_batches(ctx, state):
        if batch.deleted:
            _deleted_rows(ctx, batch.deleted)
        if batch.rows:
            successes = _process_rows(ctx, lookups, field_directions, plan, batch.rows)
            successes += plan.send()
            outcomes.save_successes(successes)
        ctx.flush(done=len(batch.rows) + len(batch.deleted))
    return state


def _deleted_rows(ctx: RunContext, crm_ids: list[uuid.UUID]) -> None:
    couplings = list(
        Coupling.objects.filter(erp_model=ctx.erp_content_type, crm_entity=ctx.mapping.crm_entity, crm_id__in=crm_ids)
    )
    records = {
        r.system_id: r
        for r in ctx.erp_model._default_manager.filter(system_id__in=[c.erp_system_id for c in couplings])
    }
    for coupling in couplings:
        if coupling.skipped and not ctx.explicit:
            ctx.count("skipped")
            continue
        if coupling.crm_id in ctx.deletions_handled:
            continue  # the ERP → CRM pass found the row gone already: one outcome per job
        deletions.crm_row_missing(ctx, records.get(coupling.erp_system_id), coupling)


def _process_rows(ctx: RunContext, lookups: Lookups, field_directions, plan: WritePlan, rows: list[dict]):
    ids = [uuid.UUID(str(row[ctx.primary_key])) for row in rows]
    couplings = {
        c.crm_id: c
        for c in Coupling.objects.filter(
            erp_model=ctx.erp_content_type, crm_entity=ctx.mapping.crm_entity, crm_id__in=ids
        )
    }
    # A row another table's mapping has coupled (a product of a resource in ITEM-PRODUCT's filter)
    # is not this mapping's to create: the coupling is unique per CRM row.
    coupled_elsewhere = {
        c.crm_id: c
        for c in Coupling.objects.filter(crm_entity=ctx.mapping.crm_entity, crm_id__in=ids)
        .exclude(erp_model=ctx.erp_content_type)
        .select_related("erp_model")
    }
    queryset = ctx.erp_model._default_manager.filter(system_id__in=[c.erp_system_id for c in couplings.values()])
    related = values.select_related_paths(ctx.erp_model, [f.erp_field for f in ctx.fields if f.erp_field])
    records = {r.system_id: r for r in (queryset.select_related(*related) if related else queryset)}
    lookups.prime_for_rows(rows)
    lookups.prime_for_records(list(records.values()))
    if not ctx.only_coupled and ctx.mapping.direction != Direction.TO_CRM:
        templates.choice_for(ctx).prime(
            [
                row
                for crm_id, row in zip(ids, rows, strict=True)
                if crm_id not in couplings and crm_id not in coupled_elsewhere
            ]
        )
    successes: list[Coupling] = []
    for crm_id, row in zip(ids, rows, strict=True):
        coupling = couplings.get(crm_id)
        if coupling is not None and coupling.skipped and not ctx.explicit:
            ctx.count("skipped")
            continue
        if coupling is None:
            if ctx.only_coupled or ctx.mapping.direction == Direction.TO_CRM or values.row_inactive(ctx, row):
                # An inactive row is not created in the ERP (BC's Active integration table filter).
                continue
            other = coupled_elsewhere.get(crm_id)
            if other is not None:
                _creation_failed(ctx, crm_id, _coupled_elsewhere_message(ctx, other), "")
            else:
                _create_erp_record(ctx, lookups, row, crm_id)
            continue
        if coupling.state == Coupling.State.CREATING or coupling.last_job_id == ctx.job.pk:
            # Being created by the ERP side, or worked on in this job already (written, unchanged or
            # failed: the coupling says so, rather than a set of ids that would grow with the table).
            continue
        record = records.get(coupling.erp_system_id)
        if record is None:
            deletions.erp_record_missing(ctx, coupling, row=row)
            continue
        erp_side = erp_side_of(ctx, lookups, record, coupling)
        if erp_side is None:
            continue
        write = merge_record(ctx, lookups, field_directions, record, coupling, erp_side, row)
        if write is None:
            continue
        if write.body:
            plan.add(write)
        else:
            outcomes.mark_success(ctx, coupling, snapshot=write.snapshot, record=record, row=row)
            successes.append(coupling)
    return successes


def _create_erp_record(ctx: RunContext, lookups: Lookups, row: dict, crm_id: uuid.UUID) -> None:
    crm_side = values.crm_values(ctx, row)
    record = ctx.erp_model()
    cut: dict[str, values.Shortened] = {}
    try:
        with transaction.atomic():
            cut = fill_new_record(ctx, lookups, record, crm_side, row, restoring=ctx.restoring)
            save_new_record(record)
            coupling = coupling_services.coupling_create_for_new_record(
                record=record, crm_entity=ctx.mapping.crm_entity, crm_id=crm_id
            )
            erp_side = values.erp_values_for_merge(ctx, lookups, record)
            outcomes.keep_shortened(ctx, coupling=coupling, record=record, cut=cut, held=lambda: erp_side)
            # Fields that go only to Dynamics 365 were not written there: their base is what the row
            # holds, so the next ERP → CRM pass sends the new record's values where they differ (a
            # credit limit the account never had, say) and nothing where they agree.
            snapshot = {**erp_side, **crm_held_values(ctx, row), **crm_side}
            outcomes.mark_success(ctx, coupling, snapshot=snapshot, record=record, row=row)
            outcomes.save_successes([coupling])
    except RecordFailure as failure:
        ctx.crm_uncoupled_failures += 1
        outcomes.record_failure_of(ctx, failure, crm_id=crm_id)
        return
    except ValidationError as error:
        _creation_failed(ctx, crm_id, erp_refusal_message(ctx, error, cut), "")
        return
    ctx.count("inserted")
    ctx.count("coupled")
    ctx.created_erp_ids.append(str(record.system_id))


def _coupled_elsewhere_message(ctx: RunContext, coupling: Coupling) -> str:
    model = coupling.erp_model.model_class()
    record = model._default_manager.filter(system_id=coupling.erp_system_id).first() if model else None
    what = describe_record(record) if record is not None else f"a {coupling.erp_model.model}"
    return (
        f"The {ctx.mapping.crm_entity} {coupling.crm_id} is coupled to {what}, so the mapping "
        f"{ctx.mapping.name} does not create it in the ERP: narrow the mapping's CRM filter, or decouple it."
    )


def _creation_failed(ctx: RunContext, crm_id: uuid.UUID, message: str, details: str) -> None:
    ctx.crm_uncoupled_failures += 1
    outcomes.record_failure(ctx, message=message, details=details, crm_id=crm_id)

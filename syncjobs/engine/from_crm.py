"""CRM → ERP: the CRM rows to look at (change tracking, else modifiedon), merged with their ERP records.

Incoming values go through the ERP's own rules (erp.services.record_save → full_clean): a value
the ERP refuses fails that record with the ERP's message. A new ERP record and its coupling are
written in one transaction, so a crash leaves neither or both.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse

import dataverse
from coupling import services as coupling_services
from coupling.models import Coupling
from erp import services as erp_services
from erp.models import Customer
from nav_crm.records import describe_record
from syncjobs.engine import deletions, outcomes, templates, values
from syncjobs.engine.context import READ_IDS_PER_QUERY, READ_PAGE_SIZE, WATERMARK_OVERLAP, RunContext, crm_noun
from syncjobs.engine.records import directions, merge_record, validation_message
from syncjobs.engine.values import Lookups, RecordFailure, Transform
from syncjobs.engine.writes import WritePlan
from syncjobs.models import Direction, IntegrationFieldMapping

EXPIRED_TOKEN_CODE = "0x80044352"


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
    couplings = Coupling.objects.filter(
        erp_model=ctx.erp_content_type, crm_entity=ctx.mapping.crm_entity, crm_id__in=crm_ids
    )
    couplings = list(couplings)
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
        ctx.record_templates.prime(
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
        try:
            erp_side = values.erp_values(ctx, lookups, record)
        except RecordFailure as failure:
            outcomes.record_failure(
                ctx,
                message=failure.message,
                details=failure.details,
                record=record,
                coupling=coupling,
                parent=failure.parent,
            )
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


def fill_new_record(
    ctx: RunContext, lookups: Lookups, record: models.Model, crm_side: dict, row: dict, *, restoring: bool = False
) -> dict[str, values.Shortened]:
    """The new record's values from the CRM row, then its template's for what the row does not send; returns the
    values shortened to fit (values.apply_to_erp).

    ``restoring``: the record is a deleted one brought back from its row (BC: Restore records). The row holds the
    last synchronized values of the fields that go only to Dynamics 365 too (a salesperson as the owner, a credit
    limit): the record takes them, or the next run would overwrite Dynamics 365 with the new record's blanks."""
    names = {f.name for f in ctx.from_crm_fields}
    shortened = values.apply_to_erp(ctx, lookups, record, crm_side, names)
    if restoring:
        shortened.update(_restore_to_crm_only_values(ctx, lookups, record, row))
    _file_under_parent(ctx, record, row)
    templates.apply_template(ctx, record, crm_side, row)
    _default_code(record)
    return shortened


def _to_crm_only_fields(ctx: RunContext) -> list[IntegrationFieldMapping]:
    """The fields that go only to Dynamics 365 and that a record restored from its row can take back: a field of
    the record itself (not one reached through a reference), not a constant."""
    return [
        f
        for f in ctx.to_crm_fields
        if f.direction == Direction.TO_CRM and f.erp_field and "__" not in f.erp_field and not f.constant_value
    ]


def _restore_to_crm_only_values(
    ctx: RunContext, lookups: Lookups, record: models.Model, row: dict
) -> dict[str, values.Shortened]:
    """The row's values of the fields that go only to Dynamics 365, set on the record restored from it.

    A reference the ERP cannot resolve (the account owned by a user coupled to no salesperson) is left empty rather
    than failing the restore: the field never came from Dynamics 365, and the row keeps its value."""
    fields = _to_crm_only_fields(ctx)
    if not fields:
        return {}
    lookups.prime_for_rows([row], fields)
    held: dict = {}
    for field_mapping in fields:
        if field_mapping.transform not in (Transform.NONE, Transform.TRIM, Transform.LOOKUP, Transform.OPTION):
            continue  # a state, a unit group's base unit: the row's value is not the ERP field's
        value = values.canonical(values.crm_row_value(field_mapping, row))
        if value is not None and field_mapping.transform == Transform.LOOKUP:
            local = values.is_currency_lookup(field_mapping) and lookups.is_local_currency(value)
            known = lookups.erp_by_crm_id[field_mapping.lookup_mapping.pk]
            if not local and uuid.UUID(str(value)) not in known:
                value = None
        elif value is not None and field_mapping.transform == Transform.OPTION:
            _, coupled_options = lookups.option_couplings(field_mapping)
            if int(Decimal(value)) not in coupled_options:
                value = None
        held[field_mapping.name] = value
    return values.apply_to_erp(ctx, lookups, record, held, set(held), field_mappings=fields)


def crm_held_values(ctx: RunContext, row: dict) -> dict:
    """What the row holds of the fields that go only to Dynamics 365: their base in a new coupling's snapshot.

    A record created from the row sends its own values where they differ (a credit limit the account never had)
    and nothing where they agree, as a record restored from the row does, which took them from it."""
    return {
        f.name: values.canonical(values.crm_row_value(f, row))
        for f in ctx.to_crm_fields
        if f.direction == Direction.TO_CRM and f.crm_attribute and not f.constant_value
    }


def save_new_record(record: models.Model) -> None:
    """Save a record created from a CRM row, with what the ERP creates with it: a customer gets the company
    contact its persons are filed under (as Business Central creates one when contacts are set up), so that
    the account's contacts can come in under it. Without a contact number series there are no contacts to
    create: the customer comes in alone, and its contacts' errors say what is missing."""
    erp_services.record_save(instance=record)
    if isinstance(record, Customer) and erp_services.contacts_numbered():
        erp_services.customer_company_contact_create(customer=record)


def _file_under_parent(ctx: RunContext, record: models.Model, row: dict) -> None:
    """A new record takes its place under the parent its CRM row names (BC: SetContactParentCompany).

    The CONTACT mapping sends a person's ``company__customer`` as parentcustomerid, one way only.
    Read backwards once, when the person is created from Dynamics 365: the parent account's coupled
    customer gives the company, the company contact whose ``customer`` it is. Without a coupled
    parent or such a company the record fails, rather than landing outside its mapping.
    """
    for field_mapping in ctx.to_crm_fields:
        reference, _, parent_field = field_mapping.erp_field.partition("__")
        if (
            field_mapping.transform != Transform.LOOKUP
            or field_mapping.direction != Direction.TO_CRM
            or not parent_field
            or "__" in parent_field
            or field_mapping.lookup_erp_key
        ):
            continue
        lookup_mapping = field_mapping.lookup_mapping
        parent_model = lookup_mapping.erp_model.model_class()
        parent_noun = crm_noun(lookup_mapping.crm_entity)
        crm_id = row.get(f"_{field_mapping.crm_attribute}_value")
        parent = None
        if crm_id:
            coupled = Coupling.objects.filter(
                crm_entity=lookup_mapping.crm_entity, crm_id=crm_id, state=Coupling.State.COUPLED
            ).values_list("erp_system_id", flat=True)
            parent = parent_model._default_manager.filter(system_id__in=coupled).first()
        if parent is None:
            couple_at = reverse("coupling:uncoupled", args=[lookup_mapping.pk])
            missing = (
                f"The {parent_noun} {crm_id} ({field_mapping.crm_attribute}) is not coupled to a "
                f"{parent_model._meta.verbose_name}"
                if crm_id
                else f"The {crm_noun(ctx.mapping.crm_entity)} has no {parent_noun} in {field_mapping.crm_attribute}"
            )
            raise RecordFailure(
                f"{missing}: the {record._meta.verbose_name} cannot be created without its {reference}.",
                details=f"Couple the {parent_noun} (mapping {lookup_mapping.name}, {couple_at}), "
                "then synchronize this row again.",
            )
        reference_field = type(record)._meta.get_field(reference)
        holders = reference_field.related_model._default_manager.filter(**{parent_field: parent})
        holder = holders.complex_filter(reference_field.get_limit_choices_to()).order_by("pk").first()
        if holder is None:
            holder_noun = f"{reference_field.verbose_name} {reference_field.related_model._meta.verbose_name}"
            raise RecordFailure(
                f"{describe_record(parent, capitalize=True)} has no {holder_noun} "
                f"to file the new {record._meta.verbose_name} under.",
                details=f"Create a {holder_noun} for {parent} ({parent.get_absolute_url()}), "
                "then synchronize this row again.",
            )
        setattr(record, reference, holder)


def _default_code(record: models.Model) -> None:
    """A record created from the CRM whose table is keyed by a code gets one from its name's initials (JR, JR2…)."""
    try:
        code_field = type(record)._meta.get_field("code")
    except Exception:  # noqa: BLE001 — tables numbered by a series get their number in record_save
        return
    if getattr(record, "code", ""):
        return
    name = str(getattr(record, "name", "") or "")
    base = "".join(word[0] for word in re.findall(r"[A-Za-z0-9]+", name)).upper()[: code_field.max_length - 3] or "NEW"
    candidate, n = base, 1
    manager = type(record)._default_manager
    while manager.filter(code=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    record.code = candidate


def _create_erp_record(ctx: RunContext, lookups: Lookups, row: dict, crm_id: uuid.UUID) -> None:
    crm_side = values.crm_values(ctx, row)
    record = ctx.erp_model()
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
        _creation_failed(ctx, crm_id, failure.message, failure.details)
        return
    except ValidationError as error:
        _creation_failed(ctx, crm_id, f"The ERP refused the values from Dynamics 365: {validation_message(error)}", "")
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

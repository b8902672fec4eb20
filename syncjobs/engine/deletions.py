"""Deletion conflicts: one side of a coupling was deleted. The mapping's deletion policy decides.

- propagate: delete the counterpart too;
- deactivate: CRM row → statecode inactive; ERP record → blocked (where the table has it);
- decouple: remove the coupling only (BC: Delete coupling);
- restore: bring the deleted side back from the other (BC: Restore records);
- report: leave both, one error row per run (BC: None) — the coupling becomes skipped on the second.

Never silently dropped: each case counts (deleted / uncoupled / modified / inserted) or fails.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef

import dataverse
from coupling import selectors as coupling_selectors
from coupling import services as coupling_services
from coupling.models import Coupling
from erp import services as erp_services
from erp.models import SyncedModel
from syncjobs.engine import creation, outcomes, values
from syncjobs.engine.context import EXPIRED_TOKEN_CODE, RunContext, crm_noun
from syncjobs.engine.values import RecordFailure
from syncjobs.models import Direction, IntegrationTableMapping

Policy = IntegrationTableMapping.DeletionPolicy
INACTIVE_STATE = 1
# Ids per page of the id-only reads (a full run's query, the change feed of a mapping that only sends).
CRM_IDS_PAGE_SIZE = 5000


def _label(ctx: RunContext, record: models.Model | None, coupling: Coupling) -> str:
    if record is not None:
        return f"{record._meta.verbose_name} {record}"
    return f"{ctx.erp_model._meta.verbose_name} {coupling.erp_system_id}"


def _block(record: models.Model) -> bool:
    """Deactivate an ERP record the NAV way: its Blocked field."""
    try:
        field = type(record)._meta.get_field("blocked")
    except Exception:  # noqa: BLE001 — a table without Blocked cannot be deactivated
        return False
    if isinstance(field, models.BooleanField):
        setattr(record, field.attname, True)
    elif isinstance(field, models.Field) and field.choices:
        setattr(record, field.attname, [value for value, _ in field.choices][-1])  # NAV: "All"
    else:
        return False
    erp_services.record_save(instance=record)
    return True


def crm_row_missing(ctx: RunContext, record: SyncedModel | None, coupling: Coupling) -> None:
    """The CRM row coupled to ``record`` was deleted (delta $deletedEntity, a 404, or missing on read)."""
    ctx.deletions_handled.add(coupling.crm_id)
    policy = ctx.mapping.deletion_policy
    label = _label(ctx, record, coupling)
    try:
        if policy == Policy.DECOUPLE:
            coupling_services.coupling_remove(coupling=coupling)
            ctx.count("uncoupled")
        elif policy == Policy.PROPAGATE and record is not None:
            with transaction.atomic():
                coupling_services.coupling_remove(coupling=coupling)
                erp_services.record_delete(instance=record)
            ctx.count("deleted")
        elif policy == Policy.DEACTIVATE and record is not None:
            with transaction.atomic():
                if not _block(record):
                    raise ValidationError(f"The {record._meta.verbose_name} table has no Blocked field to deactivate.")
                coupling_services.coupling_remove(coupling=coupling)
            ctx.count("modified")
            ctx.count("uncoupled")
        elif policy == Policy.RESTORE and record is not None:
            _restore_crm_row(ctx, record, coupling)
            ctx.count("inserted")
        elif record is None:
            coupling_services.coupling_remove(coupling=coupling)
            ctx.count("uncoupled")
        else:
            outcomes.record_failure(
                ctx,
                message=f"The {label} is coupled to a deleted {_row_words(ctx, coupling)}. Restore it, delete the "
                f"{record._meta.verbose_name} or remove the coupling.",
                record=record,
                coupling=coupling,
            )
    except ValidationError as error:
        outcomes.record_failure(
            ctx,
            message=f"The {crm_noun(ctx.mapping.crm_entity)} coupled to the {label} was deleted, "
            f"and the deletion policy ({policy}) could not be applied: {' '.join(error.messages)}",
            record=record,
            coupling=coupling,
        )
    except dataverse.DataverseError as error:
        outcomes.record_failure(
            ctx,
            message=f"Restoring the deleted {crm_noun(ctx.mapping.crm_entity)} of the {label} failed: {error.message}",
            details=str(error),
            record=record,
            coupling=coupling,
        )


def _restore_crm_row(ctx: RunContext, record: SyncedModel, coupling: Coupling) -> None:
    """Create the row again under its old id, from the ERP record: the coupling stays as it is."""
    lookups = values.Lookups(ctx)
    lookups.prime_for_records([record])
    erp_side = values.erp_values(ctx, lookups, record)
    # Restored as a create would make it (e.g. customertypecode), or the row falls outside the mapping's filter.
    body = {
        **values.creation_defaults(ctx),
        **values.record_creation_values(ctx, record),
        **values.crm_payload(ctx, erp_side),
    }
    ctx.client.upsert(ctx.mapping.crm_entity_set, coupling.crm_id, body)
    outcomes.mark_success(ctx, coupling, snapshot=erp_side, record=record, crm_written=True)
    outcomes.save_successes([coupling])


def tracks_deletions(ctx: RunContext) -> bool:
    """A mapping that only sends to the CRM, on a table with change tracking: the mapping's delta link is its own,
    kept only to learn the rows deleted since the last run (no from-CRM pass reads the feed)."""
    return ctx.mapping.direction == Direction.TO_CRM and ctx.change_tracking


def crm_rows_missing(ctx: RunContext) -> str | None:
    """A full run's check of every coupling against the CRM: the rows deleted there, which no write and no read
    of the run came across (a mapping that only sends to the CRM writes unchanged records not at all).

    One paged query of the entity's ids, whatever the mapping's filter (a row outside it is not deleted);
    the couplings of this mapping whose row is not among them follow the deletion policy. Where the mapping
    learns deletions through change tracking (``tracks_deletions``), that query starts tracking: its delta
    link is returned, for the next incremental run."""
    delta_link = None
    if tracks_deletions(ctx):
        feed = ctx.client.track_changes(
            ctx.mapping.crm_entity_set,
            select=[ctx.primary_key],
            page_size=CRM_IDS_PAGE_SIZE,
            primary_key=ctx.primary_key,
        )
        present = {str(change.id).lower() for change in feed if change.id and not change.deleted}
        delta_link = feed.delta_link
    else:
        query = ctx.client.query(ctx.mapping.crm_entity_set, select=[ctx.primary_key], page_size=CRM_IDS_PAGE_SIZE)
        present = {str(row[ctx.primary_key]).lower() for row in query}
    couplings = Coupling.objects.filter(
        erp_model=ctx.erp_content_type, crm_entity=ctx.mapping.crm_entity, state=Coupling.State.COUPLED
    ).order_by("pk")
    missing = [
        coupling
        for coupling in couplings.iterator(chunk_size=2000)
        if str(coupling.crm_id).lower() not in present and coupling.crm_id not in ctx.deletions_handled
    ]
    _apply_policy(ctx, missing)
    return delta_link


def crm_rows_deleted(ctx: RunContext) -> str | None:
    """An incremental run's check of a mapping that only sends to the CRM: the rows deleted since its last run,
    from the change feed (ids only; created and updated rows are passed over). Returns the new delta link.

    Nothing without change tracking (the full run finds those). The first run, or one whose token expired,
    starts tracking with one paged id query, which is the full run's check."""

    if not tracks_deletions(ctx):
        return None
    if not ctx.mapping.crm_delta_link:
        return crm_rows_missing(ctx)
    feed = ctx.client.changes(ctx.mapping.crm_delta_link, page_size=CRM_IDS_PAGE_SIZE, primary_key=ctx.primary_key)
    try:
        deleted = {uuid.UUID(change.id) for change in feed if change.deleted and change.id}
    except dataverse.ValidationFailed as error:
        if error.code != EXPIRED_TOKEN_CODE:
            raise
        ctx.warn("The change-tracking token had expired; the deleted Dynamics 365 rows were looked for by their ids.")
        return crm_rows_missing(ctx)
    deleted -= ctx.deletions_handled
    ids = sorted(deleted)
    for start in range(0, len(ids), 1000):
        couplings = Coupling.objects.filter(
            erp_model=ctx.erp_content_type,
            crm_entity=ctx.mapping.crm_entity,
            state=Coupling.State.COUPLED,
            crm_id__in=ids[start : start + 1000],
        ).order_by("pk")
        _apply_policy(ctx, list(couplings))
        ctx.flush()
    return feed.delta_link


def _apply_policy(ctx: RunContext, couplings: list[Coupling]) -> None:
    records = {
        record.system_id: record
        for record in ctx.erp_model._default_manager.filter(system_id__in=[c.erp_system_id for c in couplings])
    }
    for coupling in couplings:
        if not coupling.skipped:  # a skipped one was counted as such by the pass over its records
            crm_row_missing(ctx, records.get(coupling.erp_system_id), coupling)


def erp_records_missing(ctx: RunContext) -> None:
    """Couplings of this mapping whose ERP record was deleted (one anti-join query, in pages).

    A full run checks every coupling; an incremental one only those marked when their record was
    deleted (coupling.signals), so its cost follows the deletions, not the table.
    """
    model = ctx.erp_model
    orphans = (
        Coupling.objects.filter(erp_model=ctx.erp_content_type)
        # NOT EXISTS probes the record's unique index per coupling; NOT IN would first copy every
        # system id of the table, even when an incremental run has only a few couplings to check.
        .filter(~Exists(model._default_manager.filter(system_id=OuterRef("erp_system_id"))))
        .exclude(skipped=True)
        .order_by("pk")
    )
    if not ctx.job.full:
        # The marked couplings by their index first (in key order the database would walk them all).
        marked = sorted(orphans.filter(erp_deleted_at__isnull=False).order_by().values_list("pk", flat=True))
        pages: Iterator[list[Coupling]] = (
            list(orphans.filter(pk__in=marked[i : i + 500])) for i in range(0, len(marked), 500)
        )
    else:
        pages = _keyset_pages(orphans)
    for page in pages:
        for coupling in page:
            if coupling.crm_id in ctx.deletions_handled:
                continue  # the CRM → ERP pass found the record gone already: one outcome per job
            erp_record_missing(ctx, coupling, row=None)
        ctx.flush()


def _keyset_pages(queryset: models.QuerySet[Coupling]) -> Iterator[list[Coupling]]:
    last_pk = 0
    while True:
        page = list(queryset.filter(pk__gt=last_pk)[:500])
        if not page:
            return
        last_pk = page[-1].pk
        yield page


def _row_words(ctx: RunContext, coupling: Coupling) -> str:
    """The coupled Dynamics 365 row by the name it had when last synchronized ("Dynamics 365 account “Adatum”"), or
    by its id where the mapping does not carry its name."""
    name = coupling_selectors.crm_row_name(ctx.mapping, coupling, field_mappings=ctx.fields)
    return (
        f"{crm_noun(ctx.mapping.crm_entity)} “{name}”"
        if name
        else f"{crm_noun(ctx.mapping.crm_entity)} ({coupling.crm_id})"
    )


def _deleted_label(ctx: RunContext, coupling: Coupling) -> str:
    """The deleted ERP record as it was named when it went (coupling.signals), e.g. "customer C00010 Adatum";
    one deleted behind Django's back is named by its table and id."""
    return coupling.erp_deleted_label or f"{ctx.erp_model._meta.verbose_name} {coupling.erp_system_id}"


def erp_record_missing(ctx: RunContext, coupling: Coupling, *, row: dict | None) -> None:
    """The ERP record coupled to a CRM row was deleted."""
    ctx.deletions_handled.add(coupling.crm_id)
    policy = ctx.mapping.deletion_policy
    entity_set = ctx.mapping.crm_entity_set
    label = _row_words(ctx, coupling)
    deleted = _deleted_label(ctx, coupling)
    # The error rows name the deleted record (the errors page shows it, not only its id).
    erp_label = coupling.erp_deleted_label
    try:
        if coupling.state == Coupling.State.CREATING or policy == Policy.DECOUPLE:
            coupling_services.coupling_remove(coupling=coupling)
            ctx.count("uncoupled")
        elif policy == Policy.PROPAGATE:
            with contextlib.suppress(dataverse.NotFound):  # already gone: only the coupling is left
                ctx.client.delete(entity_set, coupling.crm_id)
            coupling_services.coupling_remove(coupling=coupling)
            ctx.count("deleted")
        elif policy == Policy.DEACTIVATE:
            with contextlib.suppress(dataverse.NotFound):
                ctx.client.update(entity_set, coupling.crm_id, {"statecode": INACTIVE_STATE})
            coupling_services.coupling_remove(coupling=coupling)
            ctx.count("modified")
            ctx.count("uncoupled")
        elif policy == Policy.RESTORE:
            _restore_erp_record(ctx, coupling, row)
            ctx.count("inserted")
        else:
            outcomes.record_failure(
                ctx,
                message=f"The {label} is coupled to a deleted {_deleted_with_id(ctx, coupling)}. "
                "Restore it in the ERP, delete the row in Dynamics 365 or remove the coupling.",
                coupling=coupling,
                erp_label=erp_label,
            )
    except (ValidationError, RecordFailure) as error:
        reason = error.message if isinstance(error, RecordFailure) else " ".join(error.messages)
        outcomes.record_failure(
            ctx,
            message=f"The {deleted} coupled to the {label} was deleted and could not be restored: {reason}",
            coupling=coupling,
            erp_label=erp_label,
        )
    except dataverse.DataverseError as error:
        if isinstance(error, dataverse.TransportError | dataverse.Throttled | dataverse.ServiceUnavailable):
            raise
        outcomes.record_failure(
            ctx,
            message=f"Applying the deletion policy ({policy}) to the {label} (its {deleted} was deleted) failed: "
            f"{error.message}",
            details=str(error),
            coupling=coupling,
            erp_label=erp_label,
        )


def _deleted_with_id(ctx: RunContext, coupling: Coupling) -> str:
    """ "customer C00010 Adatum (<system id>)", or "customer (<system id>)" for one deleted behind Django's back."""
    if coupling.erp_deleted_label:
        return f"{coupling.erp_deleted_label} ({coupling.erp_system_id})"
    return f"{ctx.erp_model._meta.verbose_name} ({coupling.erp_system_id})"


def _restore_erp_record(ctx: RunContext, coupling: Coupling, row: dict | None) -> None:
    """Create the ERP record again from the CRM row and point the coupling at it."""
    if row is None:
        row = ctx.client.retrieve(ctx.mapping.crm_entity_set, coupling.crm_id, select=values.crm_select(ctx))
    lookups = values.Lookups(ctx)
    lookups.prime_for_rows([row])
    crm_side = values.crm_values(ctx, row)
    record = ctx.erp_model()
    with transaction.atomic():
        # Every mapped value, those that go only to Dynamics 365 too (the row holds them as last synchronized).
        cut = creation.fill_new_record(ctx, lookups, record, crm_side, row, restoring=True)
        creation.save_new_record(record)
        coupling_services.coupling_reattach(coupling=coupling, record=record)
        # The base of the next runs: what the row holds of every field, so that nothing is sent back.
        snapshot = {
            **values.erp_values_for_merge(ctx, lookups, record),
            **creation.crm_held_values(ctx, row),
            **crm_side,
        }
        outcomes.mark_success(ctx, coupling, snapshot=snapshot, record=record, row=row)
        outcomes.keep_shortened(
            ctx,
            coupling=coupling,
            record=record,
            cut=cut,
            held=lambda: values.erp_values_for_merge(ctx, lookups, record),
            written=set(crm_side),
        )
        outcomes.save_successes([coupling])

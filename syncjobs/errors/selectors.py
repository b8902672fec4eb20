"""Reads of the synchronization errors: what fails now per record, and whether a deleted counterpart can be
restored."""

import datetime
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

from django.contrib.contenttypes.models import ContentType
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from coupling.models import Coupling
from syncjobs.models import Direction, IntegrationTableMapping, SyncJobError

EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def sync_errors() -> QuerySet[SyncJobError]:
    """Error rows with ``is_skipped``: the failed record's coupling is marked skipped (normal runs pass over it)."""
    by_erp_record = Coupling.objects.filter(
        erp_model=OuterRef("erp_model"), erp_system_id=OuterRef("erp_system_id"), skipped=True
    )
    by_crm_row = Coupling.objects.filter(crm_entity=OuterRef("crm_entity"), crm_id=OuterRef("crm_id"), skipped=True)
    return SyncJobError.objects.select_related("job", "mapping").annotate(
        is_skipped=ExpressionWrapper(Q(Exists(by_erp_record)) | Q(Exists(by_crm_row)), output_field=BooleanField())
    )


def _same_record(prefix: str = "") -> Q:
    """The same record as the outer error row's: its ERP record, or (an error before any coupling) its CRM row."""
    return Q(**{f"{prefix}erp_model": OuterRef("erp_model"), f"{prefix}erp_system_id": OuterRef("erp_system_id")}) | Q(
        **{f"{prefix}crm_entity": OuterRef("crm_entity"), f"{prefix}crm_id": OuterRef("crm_id")}
    )


def current_sync_errors() -> QuerySet[SyncJobError]:
    """What is wrong *now*: per failing record (and mapping or order job), its latest error, with ``since`` (the
    first error of its current streak) and ``times`` (how many errors in it). A record that has synchronized
    successfully since its last error (a retry, a restore, a fix of its data, a policy change) is not listed; each
    job keeps its full history."""
    same_errors = SyncJobError.objects.filter(_same_record(), job__mapping_name=OuterRef("job__mapping_name"))
    newer = same_errors.filter(pk__gt=OuterRef("pk"))
    synchronized_since = Coupling.objects.filter(_same_record(), ~Q(last_result=Coupling.Result.FAILURE)).filter(
        Q(last_synced_at__gt=OuterRef("created_at")) | Q(created_at__gt=OuterRef("created_at"))
    )
    last_success = (
        Coupling.objects.filter(_same_record(), last_result=Coupling.Result.SUCCESS)
        .order_by("-last_synced_at")
        .values("last_synced_at")[:1]
    )
    streak = same_errors.filter(created_at__gt=Coalesce(OuterRef("last_success"), Value(EPOCH)))
    return (
        sync_errors()
        .annotate(last_success=Subquery(last_success))
        .filter(~Exists(newer), ~Exists(synchronized_since))
        .annotate(
            since=Subquery(streak.order_by("created_at").values("created_at")[:1]),
            times=Subquery(streak.values("job__mapping_name").annotate(n=Count("pk")).values("n")[:1]),
        )
    )


# --- Restore deleted counterpart (errors page) ------------------------------------------------------------


class RestoreSide(StrEnum):
    CRM_ROW = "crm_row"  # the Dynamics 365 row was deleted: recreate it from the ERP record
    ERP_RECORD = "erp_record"  # the ERP record was deleted: recreate it from the Dynamics 365 row


@dataclass(frozen=True)
class ErrorRestorePlan:
    """Whether "Restore deleted counterpart" applies to an error's record, which side it recreates, or why not."""

    error: SyncJobError
    side: RestoreSide | None = None
    reason: str = ""
    coupling: Coupling | None = None
    erp_system_id: uuid.UUID | None = None
    crm_id: uuid.UUID | None = None

    @property
    def applies(self) -> bool:
        return self.side is not None

    @property
    def description(self) -> str:
        erp_noun, crm_noun = _nouns(self.error.mapping)
        if self.side == RestoreSide.CRM_ROW:
            return f"The {crm_noun} was deleted: recreate it from the {erp_noun}."
        if self.side == RestoreSide.ERP_RECORD:
            return f"The {erp_noun} was deleted: recreate it from the {crm_noun}."
        return self.reason


def _nouns(mapping: IntegrationTableMapping | None) -> tuple[str, str]:
    """("customer", "Dynamics 365 account"): how messages name the two sides of a mapping."""
    if mapping is None:
        return "ERP record", "Dynamics 365 row"
    model = ContentType.objects.get_for_id(mapping.erp_model_id).model_class()  # cached: no query per error
    return (model._meta.verbose_name if model is not None else "ERP record"), f"Dynamics 365 {mapping.crm_entity}"


def _refused(error: SyncJobError, reason: str) -> ErrorRestorePlan:
    return ErrorRestorePlan(error=error, reason=reason)


def _existing_system_ids(wanted: dict[int, set[uuid.UUID]]) -> set[tuple[int, uuid.UUID]]:
    """(content type id, system id) of the ERP records that still exist, in one query per ERP table."""
    existing: set[tuple[int, uuid.UUID]] = set()
    for content_type_id, system_ids in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        found = model._default_manager.filter(system_id__in=system_ids).values_list("system_id", flat=True)
        existing.update((content_type_id, system_id) for system_id in found)
    return existing


def error_restore_plans(*, errors: list[SyncJobError], client) -> dict[int, ErrorRestorePlan]:
    """For each error (by primary key): does one side of its record's coupling no longer exist, and can it come back?

    Reads the couplings and the ERP records in a few queries, and asks Dynamics 365 which of the
    coupled rows exist in one request per mapping (per 200 rows): a row "deleted" is one that
    Dynamics 365 no longer has, not a guess from the error's message. ``client`` is a
    ``dataverse.Client``; its errors propagate (the caller says the CRM could not be reached).
    """
    from syncjobs.engine.crm_queries import crm_rows_by_id

    by_record = Q(pk__in=[])
    for error in errors:
        if error.erp_model_id and error.erp_system_id:
            by_record |= Q(erp_model_id=error.erp_model_id, erp_system_id=error.erp_system_id)
        if error.crm_entity and error.crm_id:
            by_record |= Q(crm_entity=error.crm_entity, crm_id=error.crm_id)
    couplings = list(Coupling.objects.filter(by_record))
    coupling_of_record = {(c.erp_model_id, c.erp_system_id): c for c in couplings}
    coupling_of_row = {(c.crm_entity, c.crm_id): c for c in couplings}

    plans: dict[int, ErrorRestorePlan] = {}
    candidates: list[ErrorRestorePlan] = []
    for error in errors:
        mapping = error.mapping
        if mapping is None:
            plans[error.pk] = _refused(error, f"The mapping {error.job.mapping_name} no longer exists.")
            continue
        if mapping.is_option_mapping:
            plans[error.pk] = _refused(error, "An option mapping couples codes to option values: there are no rows.")
            continue
        coupling = coupling_of_record.get((error.erp_model_id, error.erp_system_id)) or coupling_of_row.get(
            (error.crm_entity, error.crm_id)
        )
        if coupling is not None and coupling.erp_model_id != mapping.erp_model_id:
            coupling = None
        erp_system_id = coupling.erp_system_id if coupling is not None else error.erp_system_id
        crm_id = coupling.crm_id if coupling is not None else error.crm_id
        if erp_system_id is None and crm_id is None:
            plans[error.pk] = _refused(error, "It names no record.")
            continue
        candidates.append(ErrorRestorePlan(error=error, coupling=coupling, erp_system_id=erp_system_id, crm_id=crm_id))

    wanted: dict[int, set[uuid.UUID]] = {}
    for plan in candidates:
        if plan.erp_system_id is not None:
            wanted.setdefault(plan.error.mapping.erp_model_id, set()).add(plan.erp_system_id)
    existing = _existing_system_ids(wanted)

    crm_ids_by_mapping: dict[int, set[uuid.UUID]] = {}
    for plan in candidates:
        if plan.crm_id is not None:
            crm_ids_by_mapping.setdefault(plan.error.mapping_id, set()).add(plan.crm_id)
    mappings = {plan.error.mapping_id: plan.error.mapping for plan in candidates}
    existing_rows: set[tuple[int, str]] = set()
    for mapping_id, crm_ids in crm_ids_by_mapping.items():
        rows = crm_rows_by_id(client=client, mapping=mappings[mapping_id], crm_ids=sorted(crm_ids, key=str), select=[])
        existing_rows.update((mapping_id, crm_id) for crm_id in rows)

    for plan in candidates:
        error, mapping = plan.error, plan.error.mapping
        record_exists = (mapping.erp_model_id, plan.erp_system_id) in existing
        row_exists = plan.crm_id is not None and (mapping.pk, str(plan.crm_id).lower()) in existing_rows
        plans[error.pk] = _restore_plan(plan, mapping, record_exists=record_exists, row_exists=row_exists)
    return plans


def _restore_plan(
    plan: ErrorRestorePlan, mapping: IntegrationTableMapping, *, record_exists: bool, row_exists: bool
) -> ErrorRestorePlan:
    erp_noun, crm_noun = _nouns(mapping)
    if record_exists and row_exists:
        return replace(plan, reason="Both sides exist: nothing was deleted. Retry it instead.")
    if plan.erp_system_id is None:
        # A CRM row that failed to come into the ERP in the first place: nothing was deleted.
        return replace(plan, reason=f"No {erp_noun} was ever created from this {crm_noun}: retry it instead.")
    if not record_exists and plan.crm_id is None:
        return replace(plan, reason=f"The {erp_noun} no longer exists and was never coupled: nothing can restore it.")
    if not record_exists and not row_exists:
        return replace(
            plan, reason=f"Both the {erp_noun} and its {crm_noun} are gone: there is nothing to restore from."
        )
    if record_exists:
        if plan.coupling is None:
            return replace(plan, reason=f"The {erp_noun} is not coupled: couple it with Dynamics 365 instead.")
        if mapping.direction == Direction.FROM_CRM:
            return replace(
                plan,
                reason=f"The mapping {mapping.name} only synchronizes from Dynamics 365: the deleted {crm_noun} "
                f"cannot be recreated from the {erp_noun}.",
            )
        return replace(plan, side=RestoreSide.CRM_ROW)
    if mapping.direction == Direction.TO_CRM:
        return replace(
            plan,
            reason=f"The mapping {mapping.name} only synchronizes to Dynamics 365: the deleted {erp_noun} cannot be "
            f"recreated from the {crm_noun}.",
        )
    return replace(plan, side=RestoreSide.ERP_RECORD)

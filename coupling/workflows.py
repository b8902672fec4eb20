"""What the coupling pages start: couple (then synchronize), create new, synchronize now, decouple, create in ERP,
and the uncoupling job's handler. Coupling rows are written by coupling.services; this module adds the jobs."""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from coupling import selectors as coupling_selectors
from coupling import services as coupling_services
from coupling.models import Coupling, system_id_of
from syncjobs.engine import matching
from syncjobs.engine.context import job_mapping
from syncjobs.engine.matching import match_fields
from syncjobs.models import Direction, FullSyncLine, IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs
from syncjobs.runs.report import Report

# Decoupling this many records or fewer happens at once; more go to a background uncoupling job.
DECOUPLE_DIRECTLY_UP_TO = 100

SYNC_AFTER_COUPLING = {
    "": None,
    "erp": SyncJob.JobDirection.TO_CRM,
    "crm": SyncJob.JobDirection.FROM_CRM,
}


def _system_ids(records: list[models.Model]) -> list[str]:
    return [str(system_id_of(record)) for record in records]


@transaction.atomic
def record_couple(
    *, mapping: IntegrationTableMapping, record: models.Model, crm_id: uuid.UUID | str, sync: str = "", user=None
) -> tuple[Coupling, SyncJob | None]:
    """Couple the record to the CRM row; ``sync`` "erp" / "crm" then synchronizes it using that side's data."""
    if sync not in SYNC_AFTER_COUPLING:
        raise ValidationError({"sync": "Choose No, Use ERP data or Use Dynamics 365 data."})
    coupling = coupling_services.coupling_create(record=record, crm_entity=mapping.crm_entity, crm_id=crm_id)
    direction = SYNC_AFTER_COUPLING[sync]
    if direction is None:
        return coupling, None
    job = jobs.job_create(
        mapping=mapping, direction=direction, parameters={"erp_system_ids": _system_ids([record])}, user=user
    )
    return coupling, job


@transaction.atomic
def record_couple_new(*, mapping: IntegrationTableMapping, record: models.Model, user=None) -> tuple[Coupling, SyncJob]:
    """Create the record's counterpart in Dynamics 365: its id is chosen and kept now, the engine creates the row.

    The pending coupling makes the create safe to repeat: a rerun upserts the same id.
    """
    if mapping.direction == Direction.FROM_CRM:
        raise ValidationError(
            f"The mapping {mapping.name} only synchronizes from Dynamics 365: records cannot be created there."
        )
    coupling = coupling_services.coupling_create(
        record=record, crm_entity=mapping.crm_entity, crm_id=uuid.uuid4(), state=Coupling.State.CREATING
    )
    job = jobs.job_create(
        mapping=mapping,
        direction=SyncJob.JobDirection.TO_CRM,
        parameters={"erp_system_ids": _system_ids([record])},
        user=user,
    )
    return coupling, job


RecordT = TypeVar("RecordT", bound=models.Model)


def coupled_records(*, records: list[RecordT]) -> tuple[list[RecordT], list[RecordT]]:
    """(coupled, not coupled) among the records, in one query."""
    if not records:
        return [], []
    model = type(records[0])
    crm_ids = coupling_selectors.crm_ids_for(model=model, system_ids=[system_id_of(r) for r in records])
    return [r for r in records if system_id_of(r) in crm_ids], [r for r in records if system_id_of(r) not in crm_ids]


def records_synchronize(
    *, mapping: IntegrationTableMapping, records: list[models.Model], direction: str | None = None, user=None
) -> SyncJob:
    """ "Synchronize now": one job for the records, in ``direction`` or the mapping's own."""
    if not records:
        raise ValidationError("None of the selected records is coupled: couple them first.")
    return jobs.job_create(
        mapping=mapping,
        direction=direction or mapping.job_direction,
        parameters={"erp_system_ids": _system_ids(records)},
        user=user,
    )


def records_decouple(
    *, mapping: IntegrationTableMapping, records: list[models.Model], user=None
) -> tuple[list[models.Model], SyncJob | None]:
    """Decouple the records: at once when they are few, else in a background uncoupling job.

    Returns the records decoupled at once, or the job that will do it.
    """
    if len(records) > DECOUPLE_DIRECTLY_UP_TO:
        job = jobs.job_create(
            mapping=mapping,
            direction=mapping.job_direction,
            kind=SyncJob.Kind.UNCOUPLING,
            parameters={"erp_system_ids": _system_ids(records)},
            user=user,
        )
        return [], job
    return [record for record in records if coupling_services.coupling_delete(record=record)], None


def crm_rows_create_in_erp(
    *, mapping: IntegrationTableMapping, crm_ids: list[str], user=None, restore: bool = False
) -> SyncJob:
    """Create ERP records for uncoupled CRM rows: a from-CRM job for those rows.

    The job runs as a full one so that the engine creates the rows' ERP records even where the
    mapping synchronizes only coupled records (BC's "Create in Business Central"). ``restore``: the
    rows' ERP records were deleted and come back, with the rows' values of the fields that go only
    to Dynamics 365 too (the rows hold what was last synchronized).
    """
    if mapping.direction == Direction.TO_CRM:
        raise ValidationError(
            f"The mapping {mapping.name} only synchronizes to Dynamics 365: ERP records cannot be created from it."
        )
    ids = []
    for crm_id in crm_ids:
        try:
            ids.append(str(uuid.UUID(str(crm_id))))
        except ValueError:
            raise ValidationError(f"“{crm_id}” is not a Dynamics 365 row id.") from None
    if not ids:
        raise ValidationError("Select at least one Dynamics 365 row.")
    taken = Coupling.objects.filter(crm_entity=mapping.crm_entity, crm_id__in=ids).count()
    if taken:
        raise ValidationError(f"{taken} of the selected rows are coupled already: reload the list.")
    return jobs.job_create(
        mapping=mapping,
        direction=SyncJob.JobDirection.FROM_CRM,
        full=True,
        parameters={"crm_ids": ids, "restore": True} if restore else {"crm_ids": ids},
        user=user,
    )


# --- Uncoupling (BC's "Int. Uncouple Job Runner") -------------------------------------------------------


def run_uncoupling(*, job: SyncJob, report: Report) -> None:
    """Decouple ``parameters["erp_system_ids"]`` (or ``["crm_ids"]``), or every coupling of the mapping."""
    mapping = job_mapping(job)
    couplings = Coupling.objects.filter(erp_model_id=mapping.erp_model_id)
    if "erp_system_ids" in job.parameters:
        couplings = couplings.filter(erp_system_id__in=job.parameters["erp_system_ids"])
    elif "crm_ids" in job.parameters:
        couplings = couplings.filter(crm_entity=mapping.crm_entity, crm_id__in=job.parameters["crm_ids"])
    pks = list(couplings.values_list("pk", flat=True))
    report.progress(total=len(pks))
    batch_size = 500
    for start in range(0, len(pks), batch_size):
        batch = pks[start : start + batch_size]
        removed = coupling_services.couplings_delete(couplings=Coupling.objects.filter(pk__in=batch))
        report.progress(done=start + len(batch), uncoupled=removed)


@transaction.atomic
def match_criteria_save(
    *,
    mapping: IntegrationTableMapping,
    criteria: dict[int, tuple[bool, bool, int]],
    create_new_if_no_match: bool,
    sync_after_bulk_coupling: bool,
) -> IntegrationTableMapping:
    """Keep the coupling criteria: per field mapping id (match on, case-sensitive, priority), and the options."""
    if not any(use for use, _, _ in criteria.values()):
        raise ValidationError("Choose at least one field to match on.")
    if create_new_if_no_match and mapping.direction == Direction.FROM_CRM:
        raise ValidationError(
            {"create_new_if_no_match": f"The mapping {mapping.name} cannot create rows in Dynamics 365."}
        )
    fields = {f.pk: f for f in match_fields(mapping=mapping)}
    for pk, (use, case_sensitive, priority) in criteria.items():
        field = fields.get(pk)
        if field is None:
            raise ValidationError(f"Field mapping {pk} cannot be used for matching in {mapping.name}.")
        field.use_for_match_based_coupling = use
        field.case_sensitive_matching = case_sensitive
        field.match_priority = priority
        field.save(update_fields=["use_for_match_based_coupling", "case_sensitive_matching", "match_priority"])
    mapping.create_new_if_no_match = create_new_if_no_match
    mapping.sync_after_bulk_coupling = sync_after_bulk_coupling
    mapping.save(update_fields=["create_new_if_no_match", "sync_after_bulk_coupling", "modified_at"])
    return mapping


def match_coupling_start(
    *, mapping: IntegrationTableMapping, erp_system_ids: list[str] | None = None, user=None, enqueue: bool = True
) -> SyncJob:
    """A background match-based coupling job: for the given records, or every uncoupled one of the mapping (queued
    unless ``enqueue`` is False: the caller queues it with others)."""
    if not match_fields(mapping=mapping).filter(use_for_match_based_coupling=True).exists():
        raise ValidationError("Choose at least one field to match on.")
    direction = (
        SyncJob.JobDirection.FROM_CRM if mapping.direction == Direction.FROM_CRM else SyncJob.JobDirection.TO_CRM
    )
    parameters = {"erp_system_ids": [str(i) for i in erp_system_ids]} if erp_system_ids is not None else {}
    return jobs.job_create(
        mapping=mapping,
        direction=direction,
        kind=SyncJob.Kind.COUPLING,
        parameters=parameters,
        user=user,
        enqueue=enqueue,
    )


def _follow_up(job: SyncJob, mapping: IntegrationTableMapping, newly_coupled: list[str], to_create: list[str]) -> None:
    """Synchronize the newly coupled records (when the mapping says so) and create the unmatched ones."""
    notes = [f"{len(newly_coupled)} coupled."]
    if FullSyncLine.objects.filter(coupling_job=job).exists():
        # Part of a full synchronization: its coordinator synchronizes every coupled record next.
        notes.append("The full synchronization synchronizes them next.")
        SyncJob.objects.filter(pk=job.pk).update(message=" ".join(notes))
        return
    sync_ids = newly_coupled if mapping.sync_after_bulk_coupling else []
    from_crm = mapping.direction == Direction.FROM_CRM
    if from_crm and sync_ids:
        follow = jobs.job_create(
            mapping=mapping,
            direction=SyncJob.JobDirection.FROM_CRM,
            parameters={"erp_system_ids": sync_ids, "follow_up_of": job.pk},
            user=job.created_by,
        )
        notes.append(f"Synchronizing them from Dynamics 365: job #{follow.pk}.")
    elif sync_ids or to_create:
        # The ERP records are what was chosen to couple: their data goes to Dynamics 365 (BC: Use BC data).
        follow = jobs.job_create(
            mapping=mapping,
            direction=SyncJob.JobDirection.TO_CRM,
            parameters={"erp_system_ids": sync_ids + to_create, "follow_up_of": job.pk},
            user=job.created_by,
        )
        parts = []
        if sync_ids:
            parts.append(f"synchronizing {len(sync_ids)} coupled")
        if to_create:
            parts.append(f"creating {len(to_create)} unmatched in Dynamics 365")
        notes.append(f"{' and '.join(parts).capitalize()}: job #{follow.pk}.")
    SyncJob.objects.filter(pk=job.pk).update(message=" ".join(notes))


def run_coupling(*, job: SyncJob, report: Report) -> None:
    """The match-based coupling job (BC's "Match-Based Coupling"): couple by match, then what the mapping says comes
    after (synchronize the newly coupled, create the unmatched in Dynamics 365)."""
    newly_coupled, to_create = matching.couple_by_match(job=job, report=report)
    _follow_up(job, job_mapping(job), newly_coupled, to_create)

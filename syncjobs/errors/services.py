"""What the synchronization errors page does to failed records: retry them, couple their parents and retry,
decouple them, delete the error rows. (Restoring a deleted counterpart is restore.py.)"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models, transaction

from coupling import services as coupling_services
from coupling.dependencies import uncoupled_parents
from coupling.models import Coupling
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs.jobs import job_create, jobs_enqueue_in_order


def _erp_record(error: SyncJobError) -> models.Model | None:
    model = error.erp_model.model_class() if error.erp_model_id else None
    if model is None or error.erp_system_id is None:
        return None
    return model._default_manager.filter(system_id=error.erp_system_id).first()


def _couplings_of(errors: list[SyncJobError]) -> models.QuerySet[Coupling]:
    by_record = models.Q(pk__in=[])
    for error in errors:
        if error.erp_model_id and error.erp_system_id:
            by_record |= models.Q(erp_model_id=error.erp_model_id, erp_system_id=error.erp_system_id)
        elif error.crm_entity and error.crm_id:
            by_record |= models.Q(crm_entity=error.crm_entity, crm_id=error.crm_id)
    return Coupling.objects.filter(by_record)


def job_errors_retry(
    *, errors: models.QuerySet[SyncJobError], user=None, enqueue: bool = True
) -> tuple[list[SyncJob], list[tuple]]:
    """Synchronize the failed records again: one job per mapping and direction, for those records only.

    A record that failed in a full synchronization is retried by a full job (for it only): a record not coupled
    yet is created only by one, where the mapping synchronizes only coupled records. Their couplings lose the
    skipped mark and the failure streak first, so the new job works on them. Returns the jobs created and
    (error, why) for the errors that cannot be retried.
    """
    errors = list(errors.select_related("mapping", "job"))
    refused: list[tuple[SyncJobError, str]] = []
    groups: dict[tuple[int, str, bool], dict[str, set[str]]] = {}
    retried: list[SyncJobError] = []
    for error in errors:
        if error.mapping_id is None:
            refused.append((error, f"The mapping {error.job.mapping_name} no longer exists."))
            continue
        if error.erp_system_id is not None:
            key, ids = (
                (error.mapping_id, error.job.direction, error.job.full),
                ("erp_system_ids", str(error.erp_system_id)),
            )
        elif error.crm_id is not None:
            key, ids = (error.mapping_id, SyncJob.JobDirection.FROM_CRM, error.job.full), ("crm_ids", str(error.crm_id))
        else:
            refused.append((error, "It names no record to retry: start a synchronization of the mapping instead."))
            continue
        groups.setdefault(key, {}).setdefault(ids[0], set()).add(ids[1])
        retried.append(error)
    mappings = {error.mapping_id: error.mapping for error in retried}
    created: list[SyncJob] = []
    with transaction.atomic():
        coupling_services.couplings_clear_failures(couplings=_couplings_of(retried))
        for (mapping_id, direction, full), ids in groups.items():
            parameters = {name: sorted(values) for name, values in ids.items()}
            created.append(
                job_create(
                    mapping=mappings[mapping_id],
                    direction=direction,
                    full=full,
                    parameters=parameters,
                    user=user,
                    enqueue=enqueue,
                )
            )
    return created, refused


def job_error_decouple(*, error: SyncJobError) -> bool:
    """Remove the coupling of the error's record (or CRM row); False when it was not coupled."""
    record = _erp_record(error)
    if record is not None:
        return coupling_services.coupling_delete(record=record)
    # The ERP record is gone (or the error names only the CRM row): its coupling is a leftover.
    return bool(coupling_services.couplings_delete(couplings=_couplings_of([error])))


def job_errors_delete(*, errors: models.QuerySet[SyncJobError]) -> int:
    deleted, _ = errors.delete()
    return deleted


def job_errors_couple_parents_and_retry(*, errors: models.QuerySet, user=None) -> tuple[list[SyncJob], list[tuple]]:
    """For the failed records: a match-based coupling job per parent mapping, for their uncoupled parents, then
    the retry of the records (job_errors_retry), all run one after the other by one task.

    Returns the jobs (in the order they run) and (error, why) for the errors it does not apply to: no ERP
    record, no uncoupled parent, or a parent mapping without match criteria."""
    errors = list(errors.select_related("mapping", "erp_model", "job"))
    refused: list[tuple] = []
    chosen = []
    parents: dict[int, tuple[IntegrationTableMapping, set[str]]] = {}
    for error in errors:
        record = _erp_record(error)
        if record is None or error.mapping is None:
            refused.append((error, "It names no ERP record whose parents could be coupled."))
            continue
        found = uncoupled_parents(mapping=error.mapping, record=record)
        if not found:
            refused.append((error, "The records it refers to are coupled: retry it instead."))
            continue
        chosen.append((error, found))
    from coupling.workflows import match_coupling_start

    created: list[SyncJob] = []
    with transaction.atomic():
        for _, found in chosen:
            for parent in found:
                parents.setdefault(parent.mapping.pk, (parent.mapping, set()))[1].add(str(parent.record.system_id))
        unmatchable: dict[int, str] = {}
        for mapping_pk, (mapping, system_ids) in parents.items():
            try:
                created.append(
                    match_coupling_start(mapping=mapping, erp_system_ids=sorted(system_ids), user=user, enqueue=False)
                )
            except ValidationError as refusal:
                unmatchable[mapping_pk] = f"Mapping {mapping.name}: {' '.join(refusal.messages)}"
        retried = []
        for error, found in chosen:
            whys = sorted({unmatchable[p.mapping.pk] for p in found if p.mapping.pk in unmatchable})
            if whys:
                refused.append((error, " ".join(whys)))
            else:
                retried.append(error)
        if retried:
            retry_jobs, retry_refused = job_errors_retry(
                errors=SyncJobError.objects.filter(pk__in=[e.pk for e in retried]), user=user, enqueue=False
            )
            created += retry_jobs
            refused += retry_refused
        if created:
            jobs_enqueue_in_order(jobs=created)
    return created, refused

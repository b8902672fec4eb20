""" "Restore deleted counterpart" on the errors page: the deleted side of a coupled pair is recreated from the
other (a Dynamics 365 row from the ERP record, or an ERP record from the row), by a job for the chosen records."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction

import dataverse
from coupling import services as coupling_services
from coupling.models import Coupling
from coupling.services import couplings_update_fields
from syncjobs.connection import clients
from syncjobs.errors import selectors
from syncjobs.models import Direction, IntegrationFieldMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs

logger = logging.getLogger(__name__)


@dataclass
class RestoreOutcome:
    jobs: list[SyncJob] = field(default_factory=list)
    restored: list[SyncJobError] = field(default_factory=list)
    refused: list[tuple[SyncJobError, str]] = field(default_factory=list)
    # Records that refer to a recreated row: their mappings' next runs send them the new id.
    referring: int = 0


def referring_couplings_resend(*, model: type[models.Model], system_ids: list) -> int:
    """The records that refer to these (a customer's contacts, a price list's items) through a lookup
    send that lookup again with their mapping's next run; returns how many couplings were marked.

    For when the CRM rows of ``system_ids`` get new ids (a deleted row recreated): Dynamics 365 has
    emptied (or still holds the old id in) the referring rows' lookup, while their snapshots say it
    was sent. The lookup's value is dropped from each snapshot and the coupling is marked
    ``deferred_values``, which incremental runs look at whether or not the record changed.
    """
    content_type = ContentType.objects.get_for_model(model)
    lookups = IntegrationFieldMapping.objects.filter(
        transform=IntegrationFieldMapping.Transform.LOOKUP,
        lookup_mapping__erp_model=content_type,
        direction__in=[Direction.TO_CRM, Direction.BIDIRECTIONAL],
        is_enabled=True,
        constant_value="",
        table_mapping__is_enabled=True,
        table_mapping__is_option_mapping=False,
    ).select_related("table_mapping__erp_model")
    records = model._default_manager.filter(system_id__in=system_ids)
    marked = 0
    for lookup in lookups:
        child_model = lookup.table_mapping.erp_model.model_class()
        if lookup.lookup_erp_key:  # a code that names the record (a sales price's sales code)
            keys = records.values_list(lookup.lookup_erp_key, flat=True)
            children = child_model._default_manager.filter(**{f"{lookup.erp_field}__in": keys})
        else:
            children = child_model._default_manager.filter(**{f"{lookup.erp_field}__in": records})
        couplings = list(
            Coupling.objects.filter(
                erp_model=lookup.table_mapping.erp_model, erp_system_id__in=children.values("system_id")
            )
        )
        for coupling in couplings:
            coupling.snapshot.pop(lookup.name, None)
            coupling.deferred_values = True
        couplings_update_fields(couplings=couplings, fields=["snapshot", "deferred_values"])
        marked += len(couplings)
    return marked


def job_errors_restore(
    *, errors: models.QuerySet[SyncJobError], user=None, client: dataverse.Client | None = None
) -> RestoreOutcome:
    """BC's "Restore" on failed and skipped records: recreate the side of each record's coupling that was deleted.

    Dynamics 365 row deleted → the coupling is re-pointed (see ``coupling.services.coupling_recreate_crm_row``) and
    a to-Dynamics-365 job for those records creates the rows. ERP record deleted → the leftover
    coupling goes and a from-Dynamics-365 job for those rows creates the ERP records, each with
    its coupling in one transaction (as "Create in ERP" on the uncoupled rows page). Either way
    the engine maps the values. What applies is decided here from both systems as they are now
    (``selectors.error_restore_plans``), not from what the page showed. CRM errors propagate.
    """
    from coupling.workflows import crm_rows_create_in_erp

    errors = list(errors.select_related("mapping", "mapping__erp_model", "job"))
    if client is None:
        with clients.crm_client() as own_client:
            plans = selectors.error_restore_plans(errors=errors, client=own_client)
    else:
        plans = selectors.error_restore_plans(errors=errors, client=client)
    outcome = RestoreOutcome()
    in_crm: dict[int, list[selectors.ErrorRestorePlan]] = {}
    in_erp: dict[int, list[selectors.ErrorRestorePlan]] = {}
    for error in errors:
        plan = plans[error.pk]
        if not plan.applies:
            outcome.refused.append((error, plan.reason))
            continue
        side = in_crm if plan.side == selectors.RestoreSide.CRM_ROW else in_erp
        side.setdefault(error.mapping_id, []).append(plan)
    for mapping_plans in in_crm.values():
        mapping = mapping_plans[0].error.mapping
        with transaction.atomic():
            for plan in mapping_plans:
                coupling_services.coupling_recreate_crm_row(coupling=plan.coupling)
            system_ids = sorted({str(plan.erp_system_id) for plan in mapping_plans})
            outcome.referring += referring_couplings_resend(
                model=mapping.erp_model.model_class(), system_ids=system_ids
            )
            outcome.jobs.append(
                jobs.job_create(
                    mapping=mapping,
                    direction=SyncJob.JobDirection.TO_CRM,
                    parameters={"erp_system_ids": system_ids},
                    user=user,
                )
            )
        outcome.restored += [plan.error for plan in mapping_plans]
    for mapping_plans in in_erp.values():
        mapping = mapping_plans[0].error.mapping
        try:
            with transaction.atomic():
                for plan in mapping_plans:
                    if plan.coupling is not None:
                        coupling_services.coupling_remove_if_still_deleted(
                            coupling=plan.coupling, erp_system_id=plan.erp_system_id
                        )
                crm_ids = sorted({str(plan.crm_id) for plan in mapping_plans})
                outcome.jobs.append(crm_rows_create_in_erp(mapping=mapping, crm_ids=crm_ids, user=user, restore=True))
        except ValidationError as refusal:
            outcome.refused += [(plan.error, " ".join(refusal.messages)) for plan in mapping_plans]
            continue
        outcome.restored += [plan.error for plan in mapping_plans]
    if outcome.jobs:
        logger.info(
            "Restore deleted counterparts: %s errors, jobs %s", len(outcome.restored), [job.pk for job in outcome.jobs]
        )
    return outcome

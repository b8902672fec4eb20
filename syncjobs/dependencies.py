"""A record's parents (issue 13 §2, "Dependencies"): the records its mapping's lookups refer to, which must be
coupled before it can synchronize (a customer's salesperson and currency, an item's unit of measure).

- ``uncoupled_parents``: every parent of a record that is not coupled yet, all at once (the couple page lists
  them up front instead of the synchronization failing one parent at a time).
- ``parent_couple_link``: where to couple the parent an error names (the errors page's "Couple <parent>").
- ``job_errors_couple_parents_and_retry``: match-based coupling of the failed records' parents, then the retry
  of those records, one job after the other.
- ``local_currency_couple``: on enabling the connection, the ERP's local currency (LCY) is coupled to the CRM
  currency with the same ISO code (the connection test has checked that it exists).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.dispatch import receiver
from django.urls import reverse

import dataverse
from coupling import selectors as coupling_selectors
from coupling import services as coupling_services
from erp import selectors as erp_selectors
from nav_crm.records import describe_record
from syncjobs import clients, jobs, signals
from syncjobs.models import (
    CrmConnection,
    Direction,
    IntegrationFieldMapping,
    IntegrationTableMapping,
    SyncJob,
    SyncJobError,
)

logger = logging.getLogger(__name__)

LOCAL_CURRENCY_ENTITY = "transactioncurrency"


# --- The parents of a record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UncoupledParent:
    record: models.Model
    mapping: IntegrationTableMapping  # the parent's mapping (the lookup's)
    erp_field: str  # where the record refers to it; "" for the local currency a blank currency code means

    @property
    def label(self) -> str:
        return describe_record(self.record)

    @property
    def couple_url(self) -> str:
        return couple_url(mapping=self.mapping, record=self.record)


def couple_url(*, mapping: IntegrationTableMapping, record: models.Model) -> str:
    """The couple page of ``record`` in ``mapping`` ("" for an option mapping, which has none)."""
    if mapping.is_option_mapping:
        return ""
    return reverse("syncjobs:coupling_record", args=[mapping.pk, record.system_id])


def _needed_lookups(mapping: IntegrationTableMapping) -> list[IntegrationFieldMapping]:
    """The lookups whose parent must be coupled for the record to go to Dynamics 365 (those left out when their
    parent is not coupled, clear_value_on_failed_sync, do not hold it up)."""
    return list(
        mapping.field_mappings.filter(
            is_enabled=True,
            constant_value="",
            transform=IntegrationFieldMapping.Transform.LOOKUP,
            direction__in=[Direction.TO_CRM, Direction.BIDIRECTIONAL],
            clear_value_on_failed_sync=False,
            lookup_mapping__isnull=False,
        )
        .exclude(erp_field="")
        .select_related("lookup_mapping__erp_model")
        .order_by("position", "name")
    )


def uncoupled_parents(*, mapping: IntegrationTableMapping, record: models.Model) -> list[UncoupledParent]:
    """Every record ``record`` refers to through its mapping's lookups that is not coupled, once each, in the
    mapping's field order; a blank currency stands for the local currency (as the engine reads it)."""
    from syncjobs.engine.values import erp_path_value, is_currency_lookup

    if mapping.direction == Direction.FROM_CRM:
        return []  # nothing goes to Dynamics 365: its lookups are read from there
    found: dict[tuple[type, object], UncoupledParent] = {}
    for field_mapping in _needed_lookups(mapping):
        lookup_mapping = field_mapping.lookup_mapping
        value = erp_path_value(record, field_mapping.erp_field)
        parent, erp_field = None, field_mapping.erp_field
        if value not in (None, ""):
            if field_mapping.lookup_erp_key:
                model = lookup_mapping.erp_model.model_class()
                parent = model._default_manager.filter(**{field_mapping.lookup_erp_key: value}).first()
            elif isinstance(value, models.Model):
                parent = value
        elif is_currency_lookup(field_mapping):
            parent, erp_field = erp_selectors.general_setup().local_currency, ""
        if parent is None or (type(parent), parent.system_id) in found:
            continue
        if coupling_selectors.crm_ids_for(model=type(parent), system_ids=[parent.system_id]):
            continue
        found[(type(parent), parent.system_id)] = UncoupledParent(
            record=parent, mapping=lookup_mapping, erp_field=erp_field
        )
    return list(found.values())


def parent_mapping(parent: models.Model) -> IntegrationTableMapping | None:
    """The mapping that couples records such as ``parent`` (an enabled one first)."""
    return (
        IntegrationTableMapping.objects.filter(erp_model=ContentType.objects.get_for_model(type(parent)))
        .order_by("is_option_mapping", "-is_enabled", "pk")
        .first()
    )


def parent_couple_link(parent: models.Model) -> tuple[str, str]:
    """(url, label) of the couple page of the parent a failure names; ("", "") when it has none."""
    mapping = parent_mapping(parent)
    url = couple_url(mapping=mapping, record=parent) if mapping is not None else ""
    return (url, f"Couple {describe_record(parent)}"[:100]) if url else ("", "")


# --- Couple by match and retry ----------------------------------------------------------------------------


def _erp_record(error) -> models.Model | None:
    model = error.erp_model.model_class() if error.erp_model_id else None
    if model is None or error.erp_system_id is None:
        return None
    return model._default_manager.filter(system_id=error.erp_system_id).first()


def job_errors_couple_parents_and_retry(*, errors: models.QuerySet, user=None) -> tuple[list[SyncJob], list[tuple]]:
    """For the failed records: a match-based coupling job per parent mapping, for their uncoupled parents, then
    the retry of the records (jobs.job_errors_retry), all run one after the other by one task.

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
    from syncjobs.matching import match_coupling_start

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
            retry_jobs, retry_refused = jobs.job_errors_retry(
                errors=SyncJobError.objects.filter(pk__in=[e.pk for e in retried]), user=user, enqueue=False
            )
            created += retry_jobs
            refused += retry_refused
        if created:
            jobs.jobs_enqueue_in_order(jobs=created)
    return created, refused


# --- The local currency on enabling ----------------------------------------------------------------------


def local_currency_couple(*, client: dataverse.Client) -> bool:
    """Couple the ERP's local currency to the CRM currency with its ISO code when it is not coupled yet; True
    when it coupled it. Nothing happens when either side is coupled to something else already."""
    local = erp_selectors.general_setup().local_currency
    if local is None or coupling_selectors.coupling_for_record(record=local) is not None:
        return False
    mapping = parent_mapping(local)
    crm_entity = mapping.crm_entity if mapping is not None else LOCAL_CURRENCY_ENTITY
    rows = list(
        client.query(
            "transactioncurrencies",
            select=["transactioncurrencyid"],
            filter=dataverse.F.eq("isocurrencycode", local.code),
            top=1,
        )
    )
    if not rows:
        return False
    try:
        coupling_services.coupling_create(record=local, crm_entity=crm_entity, crm_id=rows[0]["transactioncurrencyid"])
    except ValidationError as refusal:
        logger.warning("The local currency %s was not coupled: %s", local.code, " ".join(refusal.messages))
        return False
    logger.info("The local currency %s coupled to the CRM currency %s", local.code, rows[0]["transactioncurrencyid"])
    return True


@receiver(signals.connection_enabling, dispatch_uid="syncjobs_local_currency_couple")
def _connection_enabling(sender, connection: CrmConnection, **kwargs) -> None:
    try:
        with clients.crm_client(connection=connection) as client:
            local_currency_couple(client=client)
    except dataverse.DataverseError:
        # Not a reason to keep the connection disabled: a record in the LCY then fails naming it, with its link.
        logger.warning("The local currency could not be coupled on enabling the connection", exc_info=True)

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from coupling.models import Coupling, system_id_of

if TYPE_CHECKING:  # syncjobs builds on coupling: its mappings are only named here
    from syncjobs.models import IntegrationTableMapping


def couplings_for_model(*, model: type[models.Model]) -> QuerySet[Coupling]:
    return Coupling.objects.filter(erp_model=ContentType.objects.get_for_model(model))


def coupling_for_record(*, record: models.Model) -> Coupling | None:
    return couplings_for_model(model=type(record)).filter(erp_system_id=system_id_of(record)).first()


def coupling_for_crm_row(*, crm_entity: str, crm_id: uuid.UUID | str) -> Coupling | None:
    return Coupling.objects.filter(crm_entity=crm_entity, crm_id=crm_id).first()


def crm_ids_for(*, model: type[models.Model], system_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """ERP system id → coupled CRM id, in one query, for the records that are coupled."""
    rows = couplings_for_model(model=model).filter(erp_system_id__in=list(system_ids), state=Coupling.State.COUPLED)
    return dict(rows.values_list("erp_system_id", "crm_id"))


def records_for_crm_ids(*, model: type[models.Model], crm_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, models.Model]:
    """CRM id → the coupled ERP record, in two queries, for the rows that are coupled (the other way round from
    ``crm_ids_for``)."""
    rows = couplings_for_model(model=model).filter(crm_id__in=list(crm_ids), state=Coupling.State.COUPLED)
    by_system_id = dict(rows.values_list("crm_id", "erp_system_id"))
    records = {
        system_id_of(record): record for record in model._default_manager.filter(system_id__in=by_system_id.values())
    }
    return {crm_id: records[system_id] for crm_id, system_id in by_system_id.items() if system_id in records}


def with_coupling(queryset: QuerySet) -> QuerySet:
    """Annotate ``crm_id`` (the coupled CRM row, or None) and ``is_coupled`` for list pages and APIs."""
    couplings = couplings_for_model(model=queryset.model).filter(
        erp_system_id=OuterRef("system_id"), state=Coupling.State.COUPLED
    )
    return queryset.annotate(crm_id=Subquery(couplings.values("crm_id")[:1]), is_coupled=Exists(couplings))


# The attribute Dynamics 365 names a row by (its primary name), where it is not "name".
_PRIMARY_NAMES = {"contact": "fullname", "systemuser": "fullname", "transactioncurrency": "currencyname"}


def crm_row_name(mapping: IntegrationTableMapping | None, coupling: Coupling | None, *, field_mappings=None) -> str:
    """The coupled row's name as last synchronized (the coupling's snapshot), without asking Dynamics 365;
    empty when the mapping does not carry it (a contact's first and last name, say). ``field_mappings``: the
    mapping's, when the caller holds them already (a run: no query per record)."""
    if mapping is None or coupling is None:
        return ""
    primary = _PRIMARY_NAMES.get(coupling.crm_entity, "name")
    if field_mappings is None:
        field_mappings = mapping.field_mappings.all()
    for field_mapping in (f for f in field_mappings if f.crm_attribute == primary):
        value = (coupling.snapshot or {}).get(field_mapping.name)
        if value:
            return str(value)
    return ""

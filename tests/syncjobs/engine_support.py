"""Helpers for the engine tests (sandbox fixtures: tests/conftest.py): jobs, and reading the CRM as an administrator."""

from __future__ import annotations

import uuid

from coupling import services as coupling_services
from coupling.models import Coupling
from dataverse import F  # noqa: F401 — re-exported for tests
from syncjobs.models import IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs
from tests import factories
from tests.syncjobs import crm_support
from tests.syncjobs.crm_support import admin_client, save_connection


def connect(sandbox) -> None:
    """The saved, enabled connection the engine's crm_client() uses."""
    connection = save_connection(sandbox)
    connection.is_enabled = True
    connection.save(update_fields=["is_enabled"])


def mapping(name: str, **changes) -> IntegrationTableMapping:
    found = IntegrationTableMapping.objects.get(name=name)
    for field, value in changes.items():
        setattr(found, field, value)
    if changes:
        found.save()
    return found


def run(mapping_name: str, direction: str, *, full: bool = False, parameters: dict | None = None) -> SyncJob:
    job = jobs.job_create(
        mapping=IntegrationTableMapping.objects.get(name=mapping_name),
        direction=direction,
        full=full,
        parameters=parameters,
        enqueue=False,
    )
    return jobs.job_run(job_id=job.pk)


def crm_user_id(sandbox, fullname: str) -> str:
    with admin_client(sandbox) as admin:
        return next(iter(admin.query("systemusers", select=["fullname"], filter=F.eq("fullname", fullname))))[
            "systemuserid"
        ]


def couple(record, crm_entity: str, crm_id) -> Coupling:
    return coupling_services.coupling_create(record=record, crm_entity=crm_entity, crm_id=crm_id)


def crm_currency_id(sandbox, code: str) -> str:
    """The id of the CRM's transactioncurrency with this ISO code."""
    rows = crm_rows(sandbox, "transactioncurrencies", select=["isocurrencycode"], filter=F.eq("isocurrencycode", code))
    return rows[0]["transactioncurrencyid"]


def couple_local_currency(sandbox, code: str = "USD"):
    """The ERP's local currency (LCY), coupled to the CRM's currency with the same code (USD: its base currency)."""
    currency = crm_support.local_currency(code)
    couple(currency, "transactioncurrency", crm_currency_id(sandbox, code))
    return currency


def couple_john_roberts(sandbox):
    """Salesperson JR "John Roberts", coupled to the CRM user of that name (the sandbox seeds it)."""
    salesperson = factories.SalespersonFactory(code="JR", name="John Roberts")
    couple(salesperson, "systemuser", crm_user_id(sandbox, "John Roberts"))
    return salesperson


def crm_rows(sandbox, entity_set: str, *, select: list[str], filter=None) -> list[dict]:
    with admin_client(sandbox) as admin:
        return list(admin.query(entity_set, select=select, filter=filter))


def crm_row(sandbox, entity_set: str, crm_id, select: list[str]) -> dict:
    with admin_client(sandbox) as admin:
        return admin.retrieve(entity_set, uuid.UUID(str(crm_id)), select=select)


def crm_update(sandbox, entity_set: str, crm_id, data: dict) -> None:
    """A user's edit in Dynamics 365 (as the administrator, not the integration user)."""
    with admin_client(sandbox) as admin:
        admin.update(entity_set, uuid.UUID(str(crm_id)), data)


def crm_delete(sandbox, entity_set: str, crm_id) -> None:
    with admin_client(sandbox) as admin:
        admin.delete(entity_set, uuid.UUID(str(crm_id)))


def coupling_of(record) -> Coupling | None:
    from coupling import selectors

    return selectors.coupling_for_record(record=record)


def errors(job: SyncJob) -> list[str]:
    return [job.message, *job.errors.values_list("message", flat=True)]

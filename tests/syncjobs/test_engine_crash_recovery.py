"""A worker dies between a write to one side and the commit on the other; the rerun makes no duplicate.

Transactional tests: every commit is real (no test-wide transaction hides what a crash would lose),
so what the rerun finds is what a real worker would find after dying at that point. The crash is our
own bookkeeping raising once the CRM has taken the write; the CRM is the real sandbox.
"""

import pytest

from coupling.models import Coupling
from dataverse import F
from erp.models import Customer
from syncjobs.engine import outcomes
from syncjobs.engine.writes import WritePlan
from syncjobs.mappings.services import mapping_reset_to_defaults
from syncjobs.models import IntegrationTableMapping, SyncJob
from tests import factories
from tests.syncjobs import engine_support as support
from tests.syncjobs.coupling_support import create_account

pytestmark = pytest.mark.django_db(transaction=True)

PER_RECORD = {"one_request_per_record": True}


class WorkerKilled(Exception):
    """Stands for the process dying: nothing after the raise runs, nothing uncommitted survives."""


@pytest.fixture
def connected(transactional_db, connected):
    # A transactional test before this one flushed the rows the data migrations installed.
    if not IntegrationTableMapping.objects.exists():
        mapping_reset_to_defaults()
    return connected


@pytest.fixture
def unit(connected):
    unit = factories.UnitOfMeasureFactory(code="PCS")
    with support.admin_client(connected) as admin:
        rows = list(admin.query("uomschedules", select=["name"], filter=F.eq("name", "PCS")))
        group = (
            rows[0]["uomscheduleid"] if rows else admin.create("uomschedules", {"name": "PCS", "baseuomname": "PCS"})
        )
    support.couple(unit, "uomschedule", group)
    return unit


def products_by_number(sandbox, items) -> dict[str, list[str]]:
    """Product ids per item number (the business key), for the items given."""
    numbers = {item.no for item in items}
    found: dict[str, list[str]] = {number: [] for number in numbers}
    for row in support.crm_rows(sandbox, "products", select=["productnumber"]):
        if row["productnumber"] in numbers:
            found[row["productnumber"]].append(row["productid"])
    return found


def assert_one_product_each_coupled(sandbox, items) -> None:
    found = products_by_number(sandbox, items)
    assert {number: len(ids) for number, ids in found.items()} == {item.no: 1 for item in items}
    for item in items:
        coupling = support.coupling_of(item)
        assert coupling.state == Coupling.State.COUPLED
        assert found[item.no] == [str(coupling.crm_id)]


def test_bulk_create_acknowledged_then_crash_before_the_couplings_commit_then_rerun(connected, unit, monkeypatch):
    items = factories.ItemFactory.create_batch(3, base_unit_of_measure=unit, description="Crash bulk")

    def killed(couplings):
        raise WorkerKilled

    # Right after the UpsertMultiple returned: the couplings' success is about to be committed.
    monkeypatch.setattr(outcomes, "save_successes", killed)
    crashed = support.run("ITEM-PRODUCT", "to_crm", full=True)

    assert crashed.status == SyncJob.Status.FAILED
    assert {support.coupling_of(item).state for item in items} == {Coupling.State.CREATING}
    assert {number: len(ids) for number, ids in products_by_number(connected, items).items()} == {
        item.no: 1 for item in items
    }

    monkeypatch.undo()
    rerun = support.run("ITEM-PRODUCT", "to_crm")

    assert rerun.status == SyncJob.Status.SUCCESS, support.errors(rerun)
    assert_one_product_each_coupled(connected, items)


def test_per_record_create_acknowledged_then_crash_midway_then_rerun(connected, unit, monkeypatch):
    items = factories.ItemFactory.create_batch(3, base_unit_of_measure=unit, description="Crash per record")
    acknowledged = []
    succeed = WritePlan._succeed

    def dies_on_the_second(plan, write):
        # The second create was accepted by Dynamics 365; the worker dies before recording it.
        acknowledged.append(write)
        if len(acknowledged) == 2:
            raise WorkerKilled
        return succeed(plan, write)

    monkeypatch.setattr(WritePlan, "_succeed", dies_on_the_second)
    crashed = support.run("ITEM-PRODUCT", "to_crm", full=True, parameters=PER_RECORD)

    assert crashed.status == SyncJob.Status.FAILED
    assert {support.coupling_of(item).state for item in items} == {Coupling.State.CREATING}
    written = products_by_number(connected, items)
    assert sorted(len(ids) for ids in written.values()) == [0, 1, 1]

    monkeypatch.undo()
    rerun = support.run("ITEM-PRODUCT", "to_crm", parameters=PER_RECORD)

    assert rerun.status == SyncJob.Status.SUCCESS, support.errors(rerun)
    assert rerun.inserted == 3
    assert_one_product_each_coupled(connected, items)


def test_crm_row_created_in_the_erp_then_crash_before_the_commit_then_rerun(connected, monkeypatch):
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="CR")
    account_ids = [create_account(connected, f"Crash From Crm {n}") for n in range(3)]

    def killed(ctx, coupling, **kwargs):
        raise WorkerKilled

    # Inside the transaction that writes the new customer and its coupling, before it commits.
    monkeypatch.setattr(outcomes, "mark_success", killed)
    crashed = support.run("CUSTOMER", "from_crm", full=True, parameters={"crm_ids": account_ids})

    assert crashed.status == SyncJob.Status.FAILED
    assert not Customer.objects.filter(name__startswith="Crash From Crm").exists()
    assert not Coupling.objects.filter(crm_id__in=account_ids).exists()

    monkeypatch.undo()
    rerun = support.run("CUSTOMER", "from_crm", full=True, parameters={"crm_ids": account_ids})

    assert rerun.status == SyncJob.Status.SUCCESS, support.errors(rerun)
    customers = Customer.objects.filter(name__startswith="Crash From Crm")
    assert sorted(customers.values_list("name", flat=True)) == [f"Crash From Crm {n}" for n in range(3)]
    assert {str(support.coupling_of(customer).crm_id) for customer in customers} == set(account_ids)

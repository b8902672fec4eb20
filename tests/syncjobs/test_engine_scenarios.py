"""Scenarios the reference describes: "Synch. Only Coupled Records", blocked and inactive records, deletion conflicts.

Each test has a clean organization: incremental and full runs read every row of the mapping's filter.
"""

import datetime

import pytest
from django.utils import timezone

from coupling.models import Coupling
from erp.models import Customer
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from tests import factories
from tests.syncjobs import engine_support as support
from tests.syncjobs.coupling_support import create_account

Deletion = IntegrationTableMapping.DeletionPolicy


@pytest.fixture
def john(connected):
    """The ERP's salesperson, coupled to its CRM user; the LCY coupled to the CRM's base currency."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    return support.couple_john_roberts(connected)


@pytest.fixture
def synced_customer(connected, john):
    customer = factories.CustomerFactory(name="Scenario Synced Inc", city="Springfield", salesperson=john)
    job = support.run("CUSTOMER", "both", full=True)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    # The accounts the full run brought in send their ERP-only values (credit limit…) once: settle.
    settle = support.run("CUSTOMER", "both")
    assert settle.status == SyncJob.Status.SUCCESS, support.errors(settle)
    return customer


def accounts_named(sandbox, name: str) -> list[dict]:
    return support.crm_rows(
        sandbox,
        "accounts",
        select=["name", "statecode", "customertypecode", "address1_city"],
        filter=support.F.eq("name", name),
    )


# --- Synch. Only Coupled Records -----------------------------------------------------------------------


def test_only_coupled_records_creates_nothing_on_either_side_and_synchronizes_the_coupled(
    connected, synced_customer, john
):
    assert support.mapping("CUSTOMER").sync_only_coupled
    coupling = support.coupling_of(synced_customer)
    loose = factories.CustomerFactory(name="Scenario Loose Customer", salesperson=john)
    create_account(connected, "Scenario Loose Account")
    synced_customer.city = "Shelbyville"
    synced_customer.save()
    support.crm_update(connected, "accounts", coupling.crm_id, {"telephone1": "+1 555 222 3333"})

    job = support.run("CUSTOMER", "both")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert (job.inserted, job.coupled) == (0, 0)
    assert support.coupling_of(loose) is None
    assert accounts_named(connected, "Scenario Loose Customer") == []
    assert not Customer.objects.filter(name="Scenario Loose Account").exists()
    synced_customer.refresh_from_db()
    assert synced_customer.phone == "+1 555 222 3333"
    assert support.crm_row(connected, "accounts", coupling.crm_id, ["address1_city"])["address1_city"] == "Shelbyville"

    # BC's full synchronization runs with the option off: both come across then.
    full = support.run("CUSTOMER", "both", full=True)
    assert full.status == SyncJob.Status.SUCCESS, support.errors(full)
    assert [row["name"] for row in accounts_named(connected, "Scenario Loose Customer")] == ["Scenario Loose Customer"]
    assert Customer.objects.filter(name="Scenario Loose Account").exists()


# --- Blocked and inactive records ---------------------------------------------------------------------


def test_blocked_customers_and_inactive_accounts_stay_out_of_a_full_synchronization(connected, john):
    factories.CustomerFactory(name="Scenario Blocked Customer", salesperson=john, blocked=Customer.Blocked.ALL)
    factories.CustomerFactory(name="Scenario Open Customer", salesperson=john)
    create_account(connected, "Scenario Inactive Account", statecode=1, statuscode=2)

    job = support.run("CUSTOMER", "both", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert accounts_named(connected, "Scenario Blocked Customer") == []
    assert len(accounts_named(connected, "Scenario Open Customer")) == 1
    assert not Customer.objects.filter(name="Scenario Inactive Account").exists()


def test_blocked_items_stay_out_of_a_full_synchronization(connected):
    unit = factories.UnitOfMeasureFactory(code="PCS")
    with support.admin_client(connected) as admin:
        group = admin.create("uomschedules", {"name": "PCS", "baseuomname": "PCS"})
    support.couple(unit, "uomschedule", group)
    blocked = factories.ItemFactory(base_unit_of_measure=unit, blocked=True)
    open_item = factories.ItemFactory(base_unit_of_measure=unit)

    job = support.run("ITEM-PRODUCT", "to_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    numbers = {row["productnumber"] for row in support.crm_rows(connected, "products", select=["productnumber"])}
    assert open_item.no in numbers
    assert blocked.no not in numbers
    assert support.coupling_of(blocked) is None


def test_a_customer_blocked_after_coupling_is_neither_deleted_nor_decoupled_in_dynamics(connected, synced_customer):
    support.mapping("CUSTOMER", deletion_policy=Deletion.PROPAGATE)
    coupling = support.coupling_of(synced_customer)
    synced_customer.blocked = Customer.Blocked.ALL
    synced_customer.save()

    job = support.run("CUSTOMER", "both")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert (job.deleted, job.uncoupled) == (0, 0)
    assert support.crm_row(connected, "accounts", coupling.crm_id, ["statecode"])["statecode"] == 0
    assert Coupling.objects.filter(pk=coupling.pk).exists()


def test_an_account_deactivated_in_dynamics_is_left_alone_not_taken_for_a_deletion(connected, synced_customer):
    support.mapping("CUSTOMER", deletion_policy=Deletion.PROPAGATE)
    coupling = support.coupling_of(synced_customer)
    # Last changed in the ERP well before the last run (not in the watermark's overlap, where the
    # ERP → CRM pass would merge the coupled row's values whatever its state).
    Customer.objects.filter(pk=synced_customer.pk).update(modified_at=timezone.now() - datetime.timedelta(hours=1))
    support.crm_update(
        connected, "accounts", coupling.crm_id, {"statecode": 1, "statuscode": 2, "address1_city": "Ogdenville"}
    )

    job = support.run("CUSTOMER", "both")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert (job.deleted, job.uncoupled, job.modified) == (0, 0, 0)
    synced_customer.refresh_from_db()
    assert synced_customer.city == "Springfield"
    assert Coupling.objects.filter(pk=coupling.pk).exists()


# --- Deletion conflicts: deleted on one side, changed on the other ----------------------------------------


def test_deleted_in_dynamics_and_changed_in_the_erp_is_reported_once_per_job_then_skipped(connected, synced_customer):
    coupling = support.coupling_of(synced_customer)
    support.crm_delete(connected, "accounts", coupling.crm_id)
    synced_customer.city = "Shelbyville"
    synced_customer.save()

    first = support.run("CUSTOMER", "both")

    # Both passes meet the deleted row (the ERP change, the delta feed's deletion): one error row.
    assert first.failed == 1
    [error] = SyncJobError.objects.filter(job=first)
    assert error.message.startswith(f"The customer {synced_customer} is coupled to a deleted Dynamics 365 account")
    assert Customer.objects.filter(pk=synced_customer.pk).exists()
    second = support.run("CUSTOMER", "both", full=True)
    assert second.failed == 1
    assert support.coupling_of(synced_customer).skipped
    third = support.run("CUSTOMER", "both", full=True)
    assert (third.failed, third.skipped) == (0, 1)


def test_deleted_in_the_erp_and_changed_in_dynamics_is_reported_once_per_job(connected, synced_customer):
    coupling = support.coupling_of(synced_customer)
    support.crm_update(connected, "accounts", coupling.crm_id, {"address1_city": "Capital City"})
    synced_customer.delete()

    job = support.run("CUSTOMER", "both")

    # The CRM → ERP pass meets the changed row, the deleted-records pass the coupling: one error row.
    assert job.failed == 1
    [error] = SyncJobError.objects.filter(job=job)
    assert error.message.startswith(
        f"The Dynamics 365 account “{synced_customer.name}” is coupled to a deleted customer"
    )
    assert len(accounts_named(connected, "Scenario Synced Inc")) == 1


def test_deleted_in_dynamics_and_changed_in_the_erp_is_restored_with_the_change_inside_the_filter(
    connected, synced_customer
):
    support.mapping("CUSTOMER", deletion_policy=Deletion.RESTORE)
    coupling = support.coupling_of(synced_customer)
    support.crm_delete(connected, "accounts", coupling.crm_id)
    synced_customer.city = "Shelbyville"
    synced_customer.save()

    job = support.run("CUSTOMER", "both")

    assert (job.status, job.inserted) == (SyncJob.Status.SUCCESS, 1), support.errors(job)
    # Restored under its id with the ERP's change, and as a customer account: the mapping still sees it.
    [row] = accounts_named(connected, "Scenario Synced Inc")
    assert row["accountid"] == str(coupling.crm_id)
    assert (row["address1_city"], row["customertypecode"], row["statecode"]) == ("Shelbyville", 3, 0)


def test_deleted_in_the_erp_and_changed_in_dynamics_is_restored_with_the_change(connected, synced_customer):
    support.mapping("CUSTOMER", deletion_policy=Deletion.RESTORE)
    coupling = support.coupling_of(synced_customer)
    support.crm_update(connected, "accounts", coupling.crm_id, {"address1_city": "Capital City"})
    synced_customer.delete()

    job = support.run("CUSTOMER", "both")

    assert (job.status, job.inserted, job.failed) == (SyncJob.Status.SUCCESS, 1, 0), support.errors(job)
    restored = Customer.objects.get(name="Scenario Synced Inc")
    assert restored.city == "Capital City"
    assert support.coupling_of(restored).crm_id == coupling.crm_id

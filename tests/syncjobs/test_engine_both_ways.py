"""CRM → ERP and both ways: salespeople from users, merge, echo, conflicts, skipped records, deletions, trimming."""

import pytest

from coupling.models import Coupling
from erp.models import Customer, Salesperson
from syncjobs.engine import run_synchronization
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests import factories
from tests.syncjobs import engine_support as support

Policy = IntegrationTableMapping.UpdateConflictPolicy
Deletion = IntegrationTableMapping.DeletionPolicy


@pytest.fixture
def local_currency(connected):
    """The LCY coupled to the CRM's base currency (BC refuses to enable the integration otherwise)."""
    return support.couple_local_currency(connected)


@pytest.fixture
def synced_customer(connected, local_currency):
    """A customer created in the CRM by a full run (which also brings in the CRM's accounts); both in sync."""
    factories.NoSeriesFactory(code="CUST", prefix="C")
    salesperson = support.couple_john_roberts(connected)
    customer = factories.CustomerFactory(name="Both Ways Inc", city="Springfield", phone="+1 555 000 0001")
    customer.salesperson = salesperson
    customer.save()
    job = support.run("CUSTOMER", "both", full=True)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    # The accounts the full run brought in send their ERP-only values (credit limit…) once: settle.
    settle = support.run("CUSTOMER", "both")
    assert settle.status == SyncJob.Status.SUCCESS, support.errors(settle)
    return customer


def test_salespeople_come_from_enabled_licensed_users(connected):
    for name in ("Benjamin Chiu", "Helen Ray", "John Roberts", "Otis Falls", "Peter Saddow"):
        # Read-write access, as Dynamics 365 gives every licensed user (the sandbox's seed leaves it empty).
        support.crm_update(connected, "systemusers", support.crm_user_id(connected, name), {"accessmode": 0})
    # The sandbox's seed leaves isdisabled empty (and read-only), so that part of the default filter is dropped here.
    support.mapping("SALESPEOPLE", crm_filter="accessmode eq 0 and applicationid eq null")
    job = support.run("SALESPEOPLE", "from_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    john = Salesperson.objects.get(email="john@cronus-demosite.com")
    assert (john.code, john.name) == ("JR", "John Roberts")
    assert support.coupling_of(john).crm_id.hex == support.crm_user_id(connected, "John Roberts").replace("-", "")
    assert not Salesperson.objects.filter(name__contains="Integration").exists()
    assert job.inserted == Salesperson.objects.count()

    again = support.run("SALESPEOPLE", "from_crm", full=True)
    assert (again.inserted, again.modified, again.unchanged) == (0, 0, job.inserted)


def test_a_field_changed_in_each_system_both_kept(connected, synced_customer):
    coupling = support.coupling_of(synced_customer)
    synced_customer.city = "Shelbyville"
    synced_customer.save()
    support.crm_update(connected, "accounts", coupling.crm_id, {"telephone1": "+1 555 999 9999"})

    job = support.run("CUSTOMER", "both")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    synced_customer.refresh_from_db()
    assert synced_customer.phone == "+1 555 999 9999"
    row = support.crm_row(connected, "accounts", coupling.crm_id, ["address1_city", "telephone1"])
    assert (row["address1_city"], row["telephone1"]) == ("Shelbyville", "+1 555 999 9999")


def test_our_own_write_does_not_come_back_as_a_change(connected, synced_customer):
    synced_customer.city = "Capital City"
    synced_customer.save()
    first = support.run("CUSTOMER", "to_crm")
    assert first.modified == 1
    modified_at = Customer.objects.get(pk=synced_customer.pk).modified_at

    echo = support.run("CUSTOMER", "from_crm")

    assert (echo.modified, echo.inserted, echo.failed) == (0, 0, 0)
    assert Customer.objects.get(pk=synced_customer.pk).modified_at == modified_at


@pytest.mark.parametrize(
    ("policy", "erp_city", "crm_city", "failed"),
    [
        (Policy.REPORT, "ERP City", "CRM City", 1),
        (Policy.ERP_WINS, "ERP City", "ERP City", 0),
        (Policy.CRM_WINS, "CRM City", "CRM City", 0),
    ],
)
def test_the_same_field_changed_on_both_sides_follows_the_policy(
    connected, synced_customer, policy, erp_city, crm_city, failed
):
    support.mapping("CUSTOMER", update_conflict_policy=policy)
    coupling = support.coupling_of(synced_customer)
    synced_customer.city = "ERP City"
    synced_customer.save()
    support.crm_update(connected, "accounts", coupling.crm_id, {"address1_city": "CRM City"})

    job = support.run("CUSTOMER", "both")

    assert job.failed == failed, support.errors(job)
    synced_customer.refresh_from_db()
    assert synced_customer.city == erp_city
    assert support.crm_row(connected, "accounts", coupling.crm_id, ["address1_city"])["address1_city"] == crm_city
    if failed:
        message = SyncJobError.objects.get(job=job).message
        assert "changed in the ERP and in Dynamics 365 since the last synchronization (City)" in message


def test_invalid_crm_data_is_a_failed_record_then_skipped_then_retried(connected, synced_customer):
    coupling = support.coupling_of(synced_customer)
    support.crm_update(connected, "accounts", coupling.crm_id, {"emailaddress1": "not an e-mail address"})

    first = support.run("CUSTOMER", "from_crm")
    assert first.failed == 1, support.errors(first)
    assert SyncJobError.objects.get(job=first).message == (
        "The ERP refused the values from Dynamics 365: E-mail: Enter a valid email address."
    )
    assert not support.coupling_of(synced_customer).skipped

    second = support.run("CUSTOMER", "from_crm")
    assert second.failed == 1
    assert support.coupling_of(synced_customer).skipped

    third = support.run("CUSTOMER", "to_crm", full=True)
    assert third.skipped == 1 and third.failed == 0

    support.crm_update(connected, "accounts", coupling.crm_id, {"emailaddress1": "sales@bothways.example.com"})
    retried = support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(coupling.crm_id)]})
    assert retried.status == SyncJob.Status.SUCCESS, retried.message
    assert not support.coupling_of(synced_customer).skipped
    synced_customer.refresh_from_db()
    assert synced_customer.email == "sales@bothways.example.com"


def test_over_long_crm_value_is_trimmed_with_a_warning(connected, synced_customer):
    coupling = support.coupling_of(synced_customer)
    support.crm_update(connected, "accounts", coupling.crm_id, {"address1_city": "C" * 60})

    # Run by the engine directly: jobs.job_finish replaces the job's message (the warnings) with its own.
    job = jobs.job_create(mapping=support.mapping("CUSTOMER"), direction="from_crm", enqueue=False)
    claimed = jobs.job_claim(job_id=job.pk)
    run_synchronization(job=claimed, report=jobs.JobReport(claimed))
    job.refresh_from_db()

    synced_customer.refresh_from_db()
    assert synced_customer.city == "C" * 30
    assert "has 60 characters and was shortened to the ERP's 30" in job.message
    (warning,) = job.warnings.all()
    assert (warning.field, warning.erp_system_id) == ("city", synced_customer.system_id)


@pytest.mark.parametrize(
    ("policy", "counter", "erp_left", "coupling_left"),
    [
        (Deletion.REPORT, "failed", True, True),
        (Deletion.DECOUPLE, "uncoupled", True, False),
        (Deletion.PROPAGATE, "deleted", False, False),
    ],
)
def test_crm_row_deleted_follows_the_deletion_policy(
    connected, synced_customer, policy, counter, erp_left, coupling_left
):
    support.mapping("CUSTOMER", deletion_policy=policy)
    coupling = support.coupling_of(synced_customer)
    support.crm_delete(connected, "accounts", coupling.crm_id)

    job = support.run("CUSTOMER", "from_crm")

    assert getattr(job, counter) == 1
    assert Customer.objects.filter(pk=synced_customer.pk).exists() == erp_left
    assert Coupling.objects.filter(pk=coupling.pk).exists() == coupling_left


def test_crm_row_deleted_restored_under_its_id(connected, synced_customer):
    support.mapping("CUSTOMER", deletion_policy=Deletion.RESTORE)
    coupling = support.coupling_of(synced_customer)
    support.crm_delete(connected, "accounts", coupling.crm_id)

    job = support.run("CUSTOMER", "from_crm")

    assert job.inserted == 1
    assert support.crm_row(connected, "accounts", coupling.crm_id, ["name"])["name"] == "Both Ways Inc"


@pytest.mark.parametrize(("policy", "statecode"), [(Deletion.DEACTIVATE, 1), (Deletion.PROPAGATE, None)])
def test_erp_record_deleted_follows_the_deletion_policy(connected, synced_customer, policy, statecode):
    support.mapping("CUSTOMER", deletion_policy=policy)
    coupling = support.coupling_of(synced_customer)
    synced_customer.delete()

    job = support.run("CUSTOMER", "to_crm")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert not Coupling.objects.filter(pk=coupling.pk).exists()
    rows = support.crm_rows(
        connected, "accounts", select=["statecode"], filter=support.F.eq("accountid", coupling.crm_id)
    )
    assert [row["statecode"] for row in rows] == ([statecode] if statecode is not None else [])

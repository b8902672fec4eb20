"""Restoring a deleted ERP record from its Dynamics 365 row keeps every mapped value (issue 13 §2).

The repro: a customer with a salesperson (coupled to a CRM user) and a credit limit, synchronized to an
account, deleted in the ERP and restored ("Restore deleted counterpart" on the errors page, or the
deletion policy RESTORE) came back with no salesperson and a credit limit of 0.00, and the next run
to Dynamics 365 could overwrite the account's values with those. The salesperson (ownerid) and the
credit limit (creditlimit) go only to Dynamics 365 in the default CUSTOMER mapping: the row holds their
last synchronized values, so a record recreated from it takes them too.
"""

import uuid
from decimal import Decimal

import pytest
from django.test import Client

from erp import services as erp_services
from erp.models import Customer
from syncjobs.errors import restore
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests import factories
from tests.syncjobs import engine_support as support

Deletion = IntegrationTableMapping.DeletionPolicy


@pytest.fixture
def synced(connected):
    """A customer of John Roberts with a credit limit, sent to Dynamics 365; the account's credit limit is then
    changed there (the CRM holds the last value); returns (customer, account id, John Roberts' CRM user id)."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="R")
    salesperson = support.couple_john_roberts(connected)
    customer = factories.CustomerFactory(
        name=f"Keep {uuid.uuid4().hex[:8]}", salesperson=salesperson, credit_limit_lcy=Decimal("5000.00")
    )
    created = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})
    assert created.inserted == 1, support.errors(created)
    crm_id = support.coupling_of(customer).crm_id
    owner = support.crm_user_id(connected, "John Roberts")
    assert str(account(connected, crm_id)["_ownerid_value"]).lower() == str(owner).lower()
    support.crm_update(connected, "accounts", crm_id, {"creditlimit": 7500})
    return customer, crm_id, owner


def account(sandbox, crm_id) -> dict:
    return support.crm_row(sandbox, "accounts", crm_id, ["name", "creditlimit", "ownerid"])


def assert_restored_with_every_value(sandbox, customer, crm_id, owner) -> Customer:
    restored = Customer.objects.get(name=customer.name)
    assert restored.pk != customer.pk
    assert restored.salesperson is not None and restored.salesperson.code == "JR"
    assert restored.credit_limit_lcy == Decimal("7500.00")
    assert support.coupling_of(restored).crm_id == crm_id

    # The next runs leave the account as it is: nothing the ERP holds differs from it.
    for full in (False, True):
        job = support.run("CUSTOMER", "to_crm", full=full)
        assert job.status == SyncJob.Status.SUCCESS and (job.modified, job.failed) == (0, 0), support.errors(job)
    row = account(sandbox, crm_id)
    assert Decimal(str(row["creditlimit"])) == Decimal("7500")
    assert str(row["_ownerid_value"]).lower() == str(owner).lower()
    return restored


def test_restore_deleted_counterpart_on_the_errors_page_keeps_the_salesperson_and_credit_limit(connected, synced):
    customer, crm_id, owner = synced
    erp_services.record_delete(instance=Customer.objects.get(pk=customer.pk))
    failed = support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(crm_id)]})
    error = SyncJobError.objects.get(job=failed)

    outcome = restore.job_errors_restore(errors=SyncJobError.objects.filter(pk=error.pk))
    assert outcome.restored == [error], outcome.refused
    (job,) = outcome.jobs
    finished = jobs.job_run(job_id=job.pk)
    assert (finished.status, finished.inserted) == (SyncJob.Status.SUCCESS, 1), support.errors(finished)

    assert_restored_with_every_value(connected, customer, crm_id, owner)


def test_the_deletion_policy_restore_keeps_the_salesperson_and_credit_limit(connected, synced):
    customer, crm_id, owner = synced
    support.mapping("CUSTOMER", deletion_policy=Deletion.RESTORE)
    erp_services.record_delete(instance=Customer.objects.get(pk=customer.pk))

    job = support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(crm_id)]})

    assert (job.inserted, job.failed) == (1, 0), support.errors(job)
    assert_restored_with_every_value(connected, customer, crm_id, owner)


def test_an_owner_coupled_to_no_salesperson_restores_the_customer_without_one(connected, synced):
    """A to-Dynamics-365-only lookup the ERP cannot resolve is left empty rather than failing the restore."""
    customer, crm_id, _ = synced
    users = support.crm_rows(connected, "systemusers", select=["fullname"])
    other = next(u for u in users if u["fullname"] != "John Roberts")["systemuserid"]
    support.crm_update(connected, "accounts", crm_id, {"ownerid@odata.bind": f"systemusers({other})"})
    support.mapping("CUSTOMER", deletion_policy=Deletion.RESTORE)
    erp_services.record_delete(instance=Customer.objects.get(pk=customer.pk))

    job = support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(crm_id)]})

    assert (job.inserted, job.failed) == (1, 0), support.errors(job)
    restored = Customer.objects.get(name=customer.name)
    assert restored.salesperson is None and restored.credit_limit_lcy == Decimal("7500.00")


def test_the_error_about_a_deleted_record_names_it_by_its_number_and_name(connected, synced):
    customer, crm_id, _ = synced
    erp_services.record_delete(instance=Customer.objects.get(pk=customer.pk))

    job = support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(crm_id)]})

    error = SyncJobError.objects.get(job=job)
    assert error.erp_label == f"customer {customer.no} {customer.name}"
    assert f"is coupled to a deleted customer {customer.no} {customer.name}" in error.message
    admin = Client()
    admin.force_login(factories.UserFactory(groups=["Sync administrators"]))
    page = admin.get("/sync/errors/").content.decode()
    assert f"{customer.no} {customer.name}" in page

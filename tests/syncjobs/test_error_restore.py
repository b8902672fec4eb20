"""Restore deleted counterpart on the synchronization errors page, against a real CRM sandbox.

A Dynamics 365 row deleted under a coupled record comes back from the ERP record (under a new
id recorded before sending); an ERP record deleted under a coupled row comes back from the row.
The engine's own jobs do the writing; the page offers the action only where it applies.
"""

import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from coupling.models import Coupling
from erp.models import Currency, Customer
from syncjobs.errors.restore import referring_couplings_resend
from syncjobs.models import CrmConnection, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests import factories
from tests.erp.pages_support import messages_of
from tests.syncjobs import engine_support as support

ERRORS_URL = "/sync/errors/"


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(factories.UserFactory(groups=["Sync administrators"]))
    return client


@pytest.fixture
def synced_customer(connected):
    """A customer created in Dynamics 365 by the engine (its salesperson and currency coupled first)."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="R")
    salesperson = support.couple_john_roberts(connected)
    name = f"Restore {uuid.uuid4().hex[:8]}"
    customer = factories.CustomerFactory(name=name, city="Springfield", salesperson=salesperson)
    created = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})
    assert created.inserted == 1, support.errors(created)
    return customer


def accounts_named(sandbox, name: str) -> list[dict]:
    return support.crm_rows(sandbox, "accounts", select=["name", "address1_city"], filter=support.F.eq("name", name))


def crm_row_deleted_error(sandbox, customer) -> SyncJobError:
    """What the engine reports when a coupled customer's account was deleted (deletion policy "report")."""
    support.crm_delete(sandbox, "accounts", support.coupling_of(customer).crm_id)
    job = support.run("CUSTOMER", "to_crm", parameters={"erp_system_ids": [str(customer.system_id)]})
    error = SyncJobError.objects.get(job=job)
    assert "coupled to a deleted Dynamics 365 account" in error.message
    return error


def erp_record_deleted_error(customer) -> SyncJobError:
    """What the engine reports when a coupled account's customer was deleted in the ERP."""
    crm_id = support.coupling_of(customer).crm_id
    Customer.objects.filter(pk=customer.pk).delete()
    job = support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(crm_id)]})
    error = SyncJobError.objects.get(job=job)
    assert "is coupled to a deleted customer" in error.message
    return error


def new_jobs(before: set[int]):
    return SyncJob.objects.exclude(pk__in=before).order_by("pk")


# --- Dynamics 365 row deleted ------------------------------------------------------------------------------


def test_a_deleted_crm_row_is_recreated_from_the_erp_record_under_a_new_recorded_id(connected, synced_customer, admin):
    old_id = support.coupling_of(synced_customer).crm_id
    error = crm_row_deleted_error(connected, synced_customer)

    page = admin.get(ERRORS_URL).content.decode()
    assert 'data-restore="crm_row"' in page and 'value="restore"' in page
    assert "The Dynamics 365 account was deleted: recreate it from the customer." in page
    # The deleted row is not linked: Dynamics 365 no longer has its page.
    assert "Deleted in Dynamics 365" in page and f"id={old_id}" not in page

    before = set(SyncJob.objects.values_list("pk", flat=True))
    response = admin.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]}, follow=True)
    assert "1 error restored." in messages_of(response)
    job = new_jobs(before).get()
    assert (job.direction, job.parameters) == ("to_crm", {"erp_system_ids": [str(synced_customer.system_id)]})
    assert job.created_by == response.context["user"]
    coupling = support.coupling_of(synced_customer)
    assert coupling.state == Coupling.State.CREATING and coupling.crm_id != old_id  # recorded before sending
    assert f"#{job.pk}</a> recreates the deleted records." in response.content.decode()

    finished = jobs.job_run(job_id=job.pk)
    assert (finished.status, finished.inserted) == (SyncJob.Status.SUCCESS, 1), support.errors(finished)
    coupling.refresh_from_db()
    assert (coupling.state, coupling.last_result, coupling.skipped) == (Coupling.State.COUPLED, "success", False)
    assert support.crm_row(connected, "accounts", coupling.crm_id, ["name", "address1_city"])["address1_city"] == (
        "Springfield"
    )
    assert [row["accountid"] for row in accounts_named(connected, synced_customer.name)] == [str(coupling.crm_id)]
    assert 'data-restore="' not in admin.get(ERRORS_URL).content.decode()  # nothing is missing any more


def test_restoring_twice_before_the_job_runs_creates_one_row(connected, synced_customer, admin):
    error = crm_row_deleted_error(connected, synced_customer)
    before = set(SyncJob.objects.values_list("pk", flat=True))
    admin.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]})
    pending_id = support.coupling_of(synced_customer).crm_id
    admin.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]})
    assert support.coupling_of(synced_customer).crm_id == pending_id  # the recorded id is kept, not replaced

    for job in new_jobs(before):
        assert jobs.job_run(job_id=job.pk).status == SyncJob.Status.SUCCESS
    assert [row["accountid"] for row in accounts_named(connected, synced_customer.name)] == [str(pending_id)]


def test_a_skipped_record_is_restored_too(connected, synced_customer, admin):
    crm_row_deleted_error(connected, synced_customer)
    again = support.run("CUSTOMER", "to_crm", parameters={"erp_system_ids": [str(synced_customer.system_id)]})
    assert again.failed == 1 and support.coupling_of(synced_customer).skipped
    assert (
        admin.get(ERRORS_URL, {"is_skipped": "true"}).context["table"].paginator.count == 1
    )  # the record fails now: one row (its two errors are history)

    before = set(SyncJob.objects.values_list("pk", flat=True))
    admin.post(ERRORS_URL, {"action": "restore", "select_all_matching": "1"})
    assert not support.coupling_of(synced_customer).skipped
    job = new_jobs(before).get()  # both errors name the one record: one job, one row
    assert jobs.job_run(job_id=job.pk).inserted == 1
    assert len(accounts_named(connected, synced_customer.name)) == 1
    assert admin.get(ERRORS_URL, {"is_skipped": "true"}).context["table"].paginator.count == 0


# --- ERP record deleted --------------------------------------------------------------------------------------


def test_a_deleted_erp_record_is_recreated_from_the_crm_row(connected, synced_customer, admin):
    crm_id = support.coupling_of(synced_customer).crm_id
    support.crm_update(connected, "accounts", crm_id, {"address1_city": "Shelbyville"})
    error = erp_record_deleted_error(synced_customer)

    page = admin.get(ERRORS_URL).content.decode()
    assert 'data-restore="erp_record"' in page
    assert "The customer was deleted: recreate it from the Dynamics 365 account." in page

    before = set(SyncJob.objects.values_list("pk", flat=True))
    response = admin.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]}, follow=True)
    assert "1 error restored." in messages_of(response)
    job = new_jobs(before).get()
    assert (job.direction, job.full, job.parameters) == ("from_crm", True, {"crm_ids": [str(crm_id)], "restore": True})
    assert not Coupling.objects.filter(crm_id=crm_id).exists()  # the leftover coupling of the deleted record

    finished = jobs.job_run(job_id=job.pk)
    assert (finished.status, finished.inserted) == (SyncJob.Status.SUCCESS, 1), support.errors(finished)
    restored = Customer.objects.get(name=synced_customer.name)
    assert restored.city == "Shelbyville" and restored.pk != synced_customer.pk
    assert support.coupling_of(restored).crm_id == crm_id
    assert len(accounts_named(connected, synced_customer.name)) == 1  # nothing new in Dynamics 365

    # The record synchronized since: the error is history (not on the page of what fails now), still acted on there.
    again = admin.post(f"{ERRORS_URL}?show=all", {"action": "restore", "pk": [error.pk]}, follow=True)
    assert "not restored. Both sides exist" in " ".join(messages_of(again))
    assert Customer.objects.filter(name=synced_customer.name).count() == 1


# --- Where it does not apply --------------------------------------------------------------------------------


def test_restore_is_not_offered_when_both_sides_exist_and_refused_with_the_reason(connected, synced_customer, admin):
    job = support.run("CUSTOMER", "to_crm", parameters={"erp_system_ids": [str(synced_customer.system_id)]})
    error = jobs.job_record_error(job=job, mapping=job.mapping, message="Phone is too long.", record=synced_customer)

    page = admin.get(ERRORS_URL).content.decode()
    assert "Phone is too long." in page
    assert 'value="restore"' not in page and 'data-restore="' not in page

    response = admin.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]}, follow=True)
    assert "not restored. Both sides exist: nothing was deleted. Retry it instead." in " ".join(messages_of(response))
    assert SyncJob.objects.latest("pk") == job


def test_one_way_mappings_refuse_to_restore_the_side_they_do_not_write(connected, admin):
    # Currencies only go to Dynamics 365: a deleted ERP currency cannot come back from its row.
    currency = factories.CurrencyFactory(code="USD")
    support.couple(currency, "transactioncurrency", support.crm_currency_id(connected, "USD"))
    job = jobs.job_create(mapping=support.mapping("CURRENCY"), direction="to_crm", enqueue=False)
    gone = jobs.job_record_error(job=job, mapping=job.mapping, message="Gone.", record=currency)
    Currency.objects.filter(pk=currency.pk).delete()
    # Salespeople only come from Dynamics 365: a deleted user cannot be recreated from the ERP.
    salesperson = factories.SalespersonFactory(code="ZZ", name="Zed Zulu")
    support.couple(salesperson, "systemuser", uuid.uuid4())
    from_job = jobs.job_create(mapping=support.mapping("SALESPEOPLE"), direction="from_crm", enqueue=False)
    deleted_user = jobs.job_record_error(job=from_job, mapping=from_job.mapping, message="Gone.", record=salesperson)
    # A customer that was never coupled has no counterpart to restore.
    loose = factories.CustomerFactory()
    loose_job = jobs.job_create(mapping=support.mapping("CUSTOMER"), direction="to_crm", enqueue=False)
    uncoupled = jobs.job_record_error(job=loose_job, mapping=loose_job.mapping, message="Odd.", record=loose)

    assert 'data-restore="' not in admin.get(ERRORS_URL).content.decode()
    response = admin.post(
        ERRORS_URL, {"action": "restore", "pk": [gone.pk, deleted_user.pk, uncoupled.pk]}, follow=True
    )
    text = " ".join(messages_of(response))
    assert "The mapping CURRENCY only synchronizes to Dynamics 365: the deleted currency cannot be recreated" in text
    assert "The mapping SALESPEOPLE only synchronizes from Dynamics 365: the deleted Dynamics 365 systemuser" in text
    assert "The customer is not coupled: couple it with Dynamics 365 instead." in text
    assert SyncJob.objects.count() == 3 and support.coupling_of(salesperson) is not None


def test_both_sides_gone_is_refused(connected, synced_customer, admin):
    error = crm_row_deleted_error(connected, synced_customer)
    Customer.objects.filter(pk=synced_customer.pk).delete()
    response = admin.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]}, follow=True)
    assert "there is nothing to restore from" in " ".join(messages_of(response))


# --- Permissions, CSRF and an unreachable Dynamics 365 -----------------------------------------------------


def test_restoring_needs_the_permission_to_change_jobs(connected, synced_customer):
    error = crm_row_deleted_error(connected, synced_customer)
    viewer = Client()
    viewer.force_login(factories.UserFactory(perms=["syncjobs.view_syncjob"]))
    page = viewer.get(ERRORS_URL).content.decode()
    assert 'value="restore"' not in page and 'data-restore="' not in page
    assert viewer.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]}).status_code == 403

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(factories.UserFactory(groups=["Sync administrators"]))
    assert csrf_client.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]}).status_code == 403
    assert support.coupling_of(synced_customer).state == Coupling.State.COUPLED


def test_a_dynamics_that_cannot_answer_is_said_and_nothing_is_restored(connected, admin):
    customer = factories.CustomerFactory()
    coupling = support.couple(customer, "account", uuid.uuid4())
    job = jobs.job_create(mapping=support.mapping("CUSTOMER"), direction="to_crm", enqueue=False)
    error = jobs.job_record_error(job=job, mapping=job.mapping, message="Gone.", record=customer)
    # A server URL no CRM answers at (the authority refuses a token for it): the page and the action say so.
    CrmConnection.objects.update(server_url="https://127.0.0.1:9")

    page = admin.get(ERRORS_URL)
    assert page.status_code == 200
    assert "Whether records' counterparts were deleted is not known" in page.content.decode()
    response = admin.post(ERRORS_URL, {"action": "restore", "pk": [error.pk]}, follow=True)
    assert messages_of(response)[0].startswith("Nothing was restored: Dynamics 365 ")
    coupling.refresh_from_db()
    assert coupling.state == Coupling.State.COUPLED and SyncJob.objects.count() == 1
    assert ContentType.objects.get_for_id(coupling.erp_model_id).model_class() is Customer


def test_records_referring_to_a_recreated_row_send_their_lookup_again(db):
    """A price list recreated under a new id: its prices (looked up by code) and nothing else forget the
    id they sent, and are marked for the next run; the same for a customer's contacts (looked up by path)."""
    group = factories.CustomerPriceGroupFactory(code="RECREATED")
    price = factories.SalesPriceFactory(sales_type="customer_price_group", sales_code="RECREATED")
    other = factories.SalesPriceFactory(sales_type="customer_price_group", sales_code="UNTOUCHED")
    snapshot = {"pricelevelid": str(uuid.uuid4()), "amount": "10.00"}
    for record in (price, other):
        Coupling.objects.create(
            erp_model=ContentType.objects.get_for_model(record),
            erp_system_id=record.system_id,
            crm_entity="productpricelevel",
            crm_id=uuid.uuid4(),
            snapshot=dict(snapshot),
        )

    assert referring_couplings_resend(model=type(group), system_ids=[group.system_id]) == 1

    resend, untouched = support.coupling_of(price), support.coupling_of(other)
    assert resend.deferred_values and resend.snapshot == {"amount": "10.00"}
    assert not untouched.deferred_values and untouched.snapshot == snapshot

    customer = factories.CustomerFactory()
    person = factories.ContactFactory(company=factories.CompanyContactFactory(customer=customer))
    Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(person),
        erp_system_id=person.system_id,
        crm_entity="contact",
        crm_id=uuid.uuid4(),
        snapshot={"parentcustomerid": str(uuid.uuid4()), "lastname": person.last_name},
    )
    assert referring_couplings_resend(model=Customer, system_ids=[customer.system_id]) == 1
    assert support.coupling_of(person).snapshot == {"lastname": person.last_name}

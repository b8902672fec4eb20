"""CONTACT ↔ contact: a person goes under the account of their company's customer, and comes back under it.

BC's rules: only persons whose company has a business relation to a customer synchronize; to
Dynamics 365 the parent account is the customer's coupled account; a new Dynamics 365 contact
becomes a person of the company contact of the customer coupled to its parent account, and fails
when that account is not coupled (CRMSynchHelper.SetContactParentCompany, "CRM Synch. Rules Test").
"""

import datetime

import pytest
from django.urls import reverse

from dataverse import F
from erp.models import Contact, Customer, NoSeries
from syncjobs.models import SyncJob, SyncJobError
from tests import factories
from tests.syncjobs import engine_support as support
from tests.syncjobs.coupling_support import create_account


@pytest.fixture
def connected(connected):
    factories.NoSeriesFactory(code="CONT", prefix="CT")
    return connected


def coupled_company(sandbox, name: str):
    """A customer coupled to an account, and the company contact that is that customer."""
    account_id = create_account(sandbox, name)
    customer = factories.CustomerFactory(name=name)
    support.couple(customer, "account", account_id)
    return factories.CompanyContactFactory(customer=customer), account_id


def crm_contact(sandbox, first: str, last: str, account_id: str | None) -> str:
    body = {"firstname": first, "lastname": last}
    if account_id:
        body["parentcustomerid_account@odata.bind"] = f"/accounts({account_id})"
    with support.admin_client(sandbox) as admin:
        return str(admin.create("contacts", body)).lower()


def contacts_named(sandbox, last: str) -> list[dict]:
    return support.crm_rows(
        sandbox, "contacts", select=["firstname", "lastname", "_parentcustomerid_value"], filter=F.eq("lastname", last)
    )


def test_a_person_goes_to_dynamics_under_the_account_of_their_companys_customer(connected):
    company, account_id = coupled_company(connected, "Contacts Parent Ltd")
    person = factories.ContactFactory(first_name="Ann", last_name="Parented", company=company)

    job = support.run("CONTACT", "to_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    [row] = contacts_named(connected, "Parented")
    assert row["_parentcustomerid_value"] == account_id
    assert row["contactid"] == str(support.coupling_of(person).crm_id)


def test_a_person_whose_customer_is_not_coupled_fails_naming_it_and_where_to_couple_it(connected):
    customer = factories.CustomerFactory(name="Contacts Uncoupled Ltd")
    company = factories.CompanyContactFactory(customer=customer)
    person = factories.ContactFactory(first_name="Bob", last_name="Unparented", company=company)

    job = support.run("CONTACT", "to_crm", full=True)

    assert job.status == SyncJob.Status.ERROR
    error = SyncJobError.objects.get(job=job)
    assert error.message == f"Customer {customer} must be coupled to a Dynamics 365 account."
    assert error.erp_system_id == person.system_id
    assert "refers to it as its Company › Customer. Couple it first (Customers ↔ Accounts)." in error.details
    couple_page = reverse("coupling:record", args=[support.mapping("CUSTOMER").pk, customer.system_id])
    assert error.fix_url == couple_page
    assert support.coupling_of(person) is None
    assert contacts_named(connected, "Unparented") == []


def test_persons_of_a_blocked_customer_or_of_a_company_that_is_no_customer_are_outside_the_mapping(connected):
    """Not failures on every run (BC's false "company does not exist" errors): they have no account to go under."""
    blocked = factories.CustomerFactory(name="Contacts Blocked Ltd", blocked="all")
    of_blocked = factories.ContactFactory(
        last_name="OfBlocked", company=factories.CompanyContactFactory(customer=blocked)
    )
    of_no_customer = factories.ContactFactory(last_name="OfNoCustomer", company=factories.CompanyContactFactory())
    company, account_id = coupled_company(connected, "Contacts Unblocked Ltd")
    in_scope = factories.ContactFactory(last_name="OfUnblocked", company=company)

    job = support.run("CONTACT", "to_crm", full=True)

    assert (job.status, job.inserted, job.failed) == (SyncJob.Status.SUCCESS, 1, 0), support.errors(job)
    assert support.coupling_of(in_scope) is not None
    assert support.coupling_of(of_blocked) is None and support.coupling_of(of_no_customer) is None
    assert contacts_named(connected, "OfBlocked") == [] and contacts_named(connected, "OfNoCustomer") == []


def test_a_change_made_while_the_customer_was_blocked_goes_out_once_it_is_unblocked(connected):
    """The person did not change again: the run finds them through their customer, which the filter looks through."""
    company, account_id = coupled_company(connected, "Contacts Unblocked Later Ltd")
    person = factories.ContactFactory(last_name="Unblockedlater", job_title="Buyer", company=company)
    assert support.run("CONTACT", "to_crm", full=True).inserted == 1
    crm_id = support.coupling_of(person).crm_id
    customer = company.customer
    Customer.objects.filter(pk=customer.pk).update(blocked="all")
    person.job_title = "Head buyer"
    person.save()
    while_blocked = support.run("CONTACT", "to_crm")
    assert (while_blocked.status, while_blocked.modified) == (SyncJob.Status.SUCCESS, 0)
    assert support.crm_row(connected, "contacts", crm_id, ["jobtitle"])["jobtitle"] == "Buyer"
    # Time passes: the change is older than what the next run looks back to (its watermark, less the overlap).
    watermark = support.mapping("CONTACT").erp_watermark
    Contact.objects.filter(pk=person.pk).update(modified_at=watermark - datetime.timedelta(minutes=5))

    customer.refresh_from_db()
    customer.blocked = ""
    customer.save()
    unblocked = support.run("CONTACT", "to_crm")

    assert (unblocked.status, unblocked.modified) == (SyncJob.Status.SUCCESS, 1), support.errors(unblocked)
    assert support.crm_row(connected, "contacts", crm_id, ["jobtitle"])["jobtitle"] == "Head buyer"


def test_a_new_dynamics_contact_of_a_coupled_account_becomes_a_person_of_that_company(connected):
    company, account_id = coupled_company(connected, "Contacts From Crm Ltd")
    contact_id = crm_contact(connected, "Dee", "Fromcrm", account_id)

    # What "Create in the ERP" on the uncoupled rows page runs.
    job = support.run("CONTACT", "from_crm", full=True, parameters={"crm_ids": [contact_id]})

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    person = Contact.objects.get(last_name="Fromcrm")
    assert (person.type, person.first_name, person.company) == (Contact.Type.PERSON, "Dee", company)
    assert str(support.coupling_of(person).crm_id) == contact_id
    # It is within the mapping now, and its parent as last synchronized is the account: nothing to send back.
    again = support.run("CONTACT", "to_crm", parameters={"erp_system_ids": [str(person.system_id)]})
    assert (again.status, again.modified, again.unchanged) == (SyncJob.Status.SUCCESS, 0, 1), support.errors(again)


def test_a_new_dynamics_contact_of_an_uncoupled_account_fails_and_nothing_is_created(connected):
    account_id = create_account(connected, "Contacts Lonely Account")
    contact_id = crm_contact(connected, "Eve", "Lonelyparent", account_id)

    job = support.run("CONTACT", "from_crm", full=True, parameters={"crm_ids": [contact_id]})

    assert job.status == SyncJob.Status.ERROR
    error = SyncJobError.objects.get(job=job)
    assert error.message == (
        f"The Dynamics 365 account set as Company Name (id {account_id}) is not coupled to a customer: "
        "the contact cannot be created without its company."
    )
    assert str(error.crm_id) == contact_id
    assert "(Customers ↔ Accounts)" in error.details
    customers = support.mapping("CUSTOMER")
    assert (error.fix_url, error.fix_label) == (
        reverse("coupling:uncoupled", args=[customers.pk]),
        "Couple Dynamics 365 accounts",
    )
    assert not Contact.objects.filter(last_name="Lonelyparent").exists()


def test_a_new_dynamics_contact_whose_customer_has_no_company_contact_fails_saying_so(connected):
    account_id = create_account(connected, "Contacts Companyless Ltd")
    customer = factories.CustomerFactory(name="Contacts Companyless Ltd")
    support.couple(customer, "account", account_id)
    contact_id = crm_contact(connected, "Fay", "Companyless", account_id)

    job = support.run("CONTACT", "from_crm", full=True, parameters={"crm_ids": [contact_id]})

    error = SyncJobError.objects.get(job=job)
    assert error.message == f"Customer {customer} has no company contact to file the new contact under."
    assert customer.get_absolute_url() in error.details
    assert not Contact.objects.filter(last_name="Companyless").exists()


def test_a_customer_created_from_an_account_gets_its_company_contact_and_the_accounts_contacts_come_in_under_it(
    connected,
):
    """BC creates the company contact of a new customer; without it every contact of the account failed on every
    run ("…has no company contact to file the new contact under")."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    account_id = create_account(connected, "Born In CRM Holdings", address1_city="Leeds", telephone1="+44 113 496 0000")
    crm_contact(connected, "Dana", "Fromcrm", account_id)
    customers = support.run("CUSTOMER", "from_crm", full=True)
    assert customers.status == SyncJob.Status.SUCCESS, support.errors(customers)
    customer = Customer.objects.get(name="Born In CRM Holdings")

    contacts = support.run("CONTACT", "from_crm", full=True)

    company = Contact.objects.get(customer=customer)
    assert (company.type, company.name, company.city, company.phone) == (
        "company",
        "Born In CRM Holdings",
        "Leeds",
        "+44 113 496 0000",
    )
    person = Contact.objects.get(last_name="Fromcrm")
    assert person.company == company
    assert not contacts.errors.filter(message__contains="has no company contact").exists(), support.errors(contacts)
    again = support.run("CUSTOMER", "from_crm", full=True)
    assert Contact.objects.filter(customer=customer).count() == 1, support.errors(again)


def test_without_a_contact_number_series_a_customer_from_an_account_comes_in_alone(connected):
    NoSeries.objects.filter(code="CONT").delete()
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    create_account(connected, "No Contacts Set Up Ltd")

    job = support.run("CUSTOMER", "from_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert not Contact.objects.filter(customer__name="No Contacts Set Up Ltd").exists()

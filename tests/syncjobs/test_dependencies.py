"""Dependencies (issue 13 §2): the local currency coupled on enabling, a missing parent's error linking to its
couple page with "Couple by match and retry", and the couple page listing every uncoupled parent up front."""

import pytest
from django.test import Client
from django.urls import reverse

from coupling import workflows
from coupling.models import Coupling
from syncjobs.connection import services
from syncjobs.engine import matching
from syncjobs.errors import selectors
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from syncjobs.tasks import run_sync_jobs_in_order
from tests import factories
from tests.factories import UserFactory
from tests.queue_support import queued_payloads
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import local_currency, save_connection

ERRORS_URL = "/sync/errors/"

pytestmark = pytest.mark.django_db


def test_enabling_the_connection_couples_the_local_currency_to_the_crm_currency_of_its_code(ready_sandbox):
    currency = local_currency("USD")
    assert support.coupling_of(currency) is None

    services.connection_enable(connection=save_connection(ready_sandbox))

    coupling = support.coupling_of(currency)
    assert coupling is not None
    assert (coupling.crm_entity, str(coupling.crm_id)) == (
        "transactioncurrency",
        support.crm_currency_id(ready_sandbox, "USD"),
    )


def test_enabling_again_keeps_the_local_currency_coupling(ready_sandbox):
    currency = local_currency("USD")
    connection = save_connection(ready_sandbox)
    services.connection_enable(connection=connection)
    first = support.coupling_of(currency)
    services.connection_disable(connection=connection)

    services.connection_enable(connection=connection)

    assert support.coupling_of(currency).pk == first.pk


# --- A missing parent: the error links to its couple page; "Couple by match and retry" ---------------------


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(groups=["Sync administrators"]))
    return client


def match_salespeople_by_name() -> IntegrationTableMapping:
    """SALESPEOPLE couples a salesperson to the Dynamics 365 user of the same full name."""
    mapping = IntegrationTableMapping.objects.get(name="SALESPEOPLE")
    fields = {f.erp_field: f for f in matching.match_fields(mapping=mapping)}
    return workflows.match_criteria_save(
        mapping=mapping,
        criteria={fields["email"].pk: (False, False, 0), fields["name"].pk: (True, False, 1)},
        create_new_if_no_match=False,
        sync_after_bulk_coupling=False,
    )


def test_an_uncoupled_parent_links_to_its_couple_page_and_couple_by_match_and_retry_fixes_it(
    connected, admin_client, django_capture_on_commit_callbacks
):
    john = factories.SalespersonFactory(code="JR", name="John Roberts", email="")
    customer = factories.CustomerFactory(name="Dependencies Ltd", salesperson=john)
    failed = support.run("CUSTOMER", "to_crm", full=True)
    assert failed.status == SyncJob.Status.ERROR
    error = SyncJobError.objects.get(job=failed)
    assert error.message == "Salesperson JR John Roberts must be coupled to a Dynamics 365 user."
    salespeople = match_salespeople_by_name()
    couple_page = reverse("coupling:record", args=[salespeople.pk, john.system_id])
    assert (error.fix_url, error.fix_label) == (couple_page, "Couple salesperson JR John Roberts")
    page = admin_client.get(ERRORS_URL).content.decode()
    assert f'<a href="{couple_page}">Couple salesperson JR John Roberts</a>' in page
    assert "Couple by match and retry" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(ERRORS_URL, {"action": "couple_and_retry", "pk": [error.pk]}, follow=True)

    assert "1 error coupled by match and retried." in response.content.decode()
    coupling_job, retry_job = SyncJob.objects.filter(created_by__isnull=False).order_by("pk")
    assert (coupling_job.kind, coupling_job.mapping_name, coupling_job.parameters) == (
        SyncJob.Kind.COUPLING,
        "SALESPEOPLE",
        {"erp_system_ids": [str(john.system_id)]},
    )
    assert (retry_job.kind, retry_job.mapping_name, retry_job.parameters) == (
        SyncJob.Kind.SYNCHRONIZATION,
        "CUSTOMER",
        {"erp_system_ids": [str(customer.system_id)]},
    )
    [payload] = queued_payloads()  # one task: the coupling, then the retry
    assert (payload["func"], payload["args"]) == (
        "syncjobs.tasks.run_sync_jobs_in_order",
        ([coupling_job.pk, retry_job.pk],),
    )
    assert run_sync_jobs_in_order(*payload["args"]) == [SyncJob.Status.SUCCESS, SyncJob.Status.SUCCESS]

    john_id = support.crm_user_id(connected, "John Roberts")
    assert str(support.coupling_of(john).crm_id) == john_id
    account = support.coupling_of(customer)
    assert account is not None and account.state == Coupling.State.COUPLED
    assert support.crm_row(connected, "accounts", account.crm_id, ["ownerid"])["_ownerid_value"] == john_id
    assert not selectors.current_sync_errors().exists()


def test_a_record_an_incremental_run_would_not_create_fails_for_no_uncoupled_parent(connected):
    """CUSTOMER synchronizes only coupled records outside a full synchronization: an uncoupled customer is passed
    over before its values are read, so its uncoupled salesperson is not reported as its failure (an error whose
    retry, an incremental job too, could never create it)."""
    john = factories.SalespersonFactory(code="JR", name="John Roberts", email="")
    customer = factories.CustomerFactory(name="Dependencies Ltd", salesperson=john)

    job = support.run("CUSTOMER", "to_crm", parameters={"erp_system_ids": [str(customer.system_id)]})

    assert job.status == SyncJob.Status.SUCCESS
    assert not SyncJobError.objects.filter(job=job).exists()
    assert support.coupling_of(customer) is None


def test_an_uncoupled_option_links_to_its_option_mapping_whose_synchronization_couples_it(connected):
    """Payment terms have no couple page: their option mapping couples them when it synchronizes, so the error
    links to that mapping's page (its "Synchronize modified records"), and after it the customer goes through."""
    support.couple_local_currency(connected)
    salesperson = support.couple_john_roberts(connected)
    terms = factories.PaymentTermsFactory(code="N45", description="Net 45 days", due_date_days=45)
    customer = factories.CustomerFactory(name="Options Ltd", salesperson=salesperson, payment_terms=terms)

    failed = support.run("CUSTOMER", "to_crm", full=True)

    error = SyncJobError.objects.get(job=failed)
    payment_terms = IntegrationTableMapping.objects.get(name="PAYMENT TERMS")
    assert (error.fix_url, error.fix_label) == (payment_terms.get_absolute_url(), "Synchronize payment terms")
    assert support.run("PAYMENT TERMS", "to_crm").status == SyncJob.Status.SUCCESS
    assert support.run("CUSTOMER", "to_crm", full=True).status == SyncJob.Status.SUCCESS
    assert support.coupling_of(customer) is not None


def test_couple_by_match_and_retry_refuses_an_error_whose_parents_are_coupled(connected, admin_client):
    john = support.couple_john_roberts(connected)
    customer = factories.CustomerFactory(name="Coupled Parents Ltd", salesperson=john)
    job = jobs.job_create(mapping=support.mapping("CUSTOMER"), direction="to_crm", enqueue=False)
    error = jobs.job_record_error(job=job, mapping=job.mapping, message="Name is required.", record=customer)

    response = admin_client.post(ERRORS_URL, {"action": "couple_and_retry", "pk": [error.pk]}, follow=True)

    assert "The records it refers to are coupled: retry it instead." in response.content.decode()
    assert not SyncJob.objects.exclude(pk=job.pk).exists()


# --- The couple page lists every uncoupled parent up front -------------------------------------------------


def test_the_couple_page_lists_every_uncoupled_parent_at_once_with_a_link_to_couple_each(connected):
    helen = factories.SalespersonFactory(code="HR", name="Helen Ray")
    euro = factories.CurrencyFactory(code="EUR", description="Euro")
    customer = factories.CustomerFactory(name="Many Parents Ltd", salesperson=helen, currency=euro)
    client = cs.client_with(*cs.EVERYTHING)

    page = client.get(reverse("coupling:record", args=[support.mapping("CUSTOMER").pk, customer.system_id]))

    parents = page.context["uncoupled_parents"]
    assert [(parent.record, parent.mapping.name, parent.erp_field) for parent in parents] == [
        (helen, "SALESPEOPLE", "salesperson"),
        (euro, "CURRENCY", "currency"),
    ]
    content = page.content.decode()
    assert 'id="uncoupled-parents"' in content
    for record, mapping_name, label in (
        (helen, "SALESPEOPLE", "salesperson HR Helen Ray"),
        (euro, "CURRENCY", "currency EUR"),
    ):
        url = reverse("coupling:record", args=[support.mapping(mapping_name).pk, record.system_id])
        assert f'<a href="{url}">Couple {label}</a>' in content


def test_the_couple_page_names_the_uncoupled_local_currency_of_a_record_without_a_currency(connected):
    john = support.couple_john_roberts(connected)
    lcy = local_currency("USD")
    customer = factories.CustomerFactory(name="Local Currency Ltd", salesperson=john, currency=None)
    client = cs.client_with(*cs.EVERYTHING)
    url = reverse("coupling:record", args=[support.mapping("CUSTOMER").pk, customer.system_id])

    assert [parent.record for parent in client.get(url).context["uncoupled_parents"]] == [lcy]
    assert "(the local currency)" in client.get(url).content.decode()

    support.couple(lcy, "transactioncurrency", support.crm_currency_id(connected, "USD"))
    page = client.get(url)
    assert page.context["uncoupled_parents"] == []
    assert 'id="uncoupled-parents"' not in page.content.decode()

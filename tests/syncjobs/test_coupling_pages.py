"""Coupling from the ERP's list pages and the coupling pages, against a real CRM sandbox."""

import datetime

import requests
from django.urls import reverse
from django.utils import timezone

from coupling.models import Coupling
from erp.models import Customer
from syncjobs.models import CrmConnection, SyncJob
from tests import factories
from tests.erp.pages_support import messages_of
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

CUSTOMERS = reverse("erp:customer_list")


def couple_url(mapping, record):
    return reverse("coupling:record", args=[mapping.pk, record.system_id])


def customer_mapping():
    return support.mapping("CUSTOMER")


# --- Column, filter, Open in Dynamics 365 ----------------------------------------------------------------


def test_the_customer_list_shows_coupled_or_not_with_a_link_that_opens_the_row_on_the_sandbox(connected):
    crm_id = cs.create_account(connected, "Column Coupled Ltd")
    coupled = factories.CustomerFactory(name="Column Coupled Ltd")
    factories.CustomerFactory(name="Column Loose Ltd")
    support.couple(coupled, "account", crm_id)
    client = cs.client_with("erp.view_customer")

    page = client.get(CUSTOMERS, {"q": "Column", "sort": "-crm_coupling"})
    rows = [row.record for row in page.context["table"].paginated_rows]
    assert [r.name for r in rows] == ["Column Coupled Ltd", "Column Loose Ltd"]
    html = page.content.decode()
    link = f"{connected.url.rstrip('/')}/main.aspx?etn=account&amp;id={crm_id}&amp;pagetype=entityrecord"
    assert link in html and "Not coupled" in html

    opened = requests.get(link.replace("&amp;", "&"), verify=connected.ca_bundle, timeout=10)
    assert opened.status_code == 200
    assert "Column Coupled Ltd" in opened.text

    only_coupled = client.get(CUSTOMERS, {"q": "Column", "coupled": "true"})
    assert [r.record for r in only_coupled.context["table"].paginated_rows] == [coupled]
    not_coupled = client.get(CUSTOMERS, {"q": "Column", "coupled": "false"})
    assert [r.record.name for r in not_coupled.context["table"].paginated_rows] == ["Column Loose Ltd"]


def test_the_list_offers_the_coupling_actions_only_with_their_permissions(connected):
    page = cs.client_with(*cs.EVERYTHING).get(CUSTOMERS).content.decode()
    for action in ("crm_couple", "crm_synchronize", "crm_decouple", "crm_match"):
        assert f'value="{action}"' in page
    bare = cs.client_with("erp.view_customer").get(CUSTOMERS).content.decode()
    assert 'value="crm_couple"' not in bare
    customer = factories.CustomerFactory()
    refused = cs.client_with("erp.view_customer").post(CUSTOMERS, {"action": "crm_couple", "pk": [customer.pk]})
    assert refused.status_code == 403


# --- Couple one record ---------------------------------------------------------------------------------------


def test_couple_action_goes_to_the_coupling_page_for_one_record_only(connected):
    one, two = factories.CustomerFactory.create_batch(2)
    client = cs.client_with(*cs.EVERYTHING)
    response = client.post(CUSTOMERS, {"action": "crm_couple", "pk": [one.pk]})
    assert response.status_code == 302
    assert response["Location"] == couple_url(customer_mapping(), one)
    both = client.post(CUSTOMERS, {"action": "crm_couple", "pk": [one.pk, two.pk]}, follow=True)
    assert "Select one record to couple" in " ".join(messages_of(both))


def test_the_coupling_page_lists_only_uncoupled_rows_and_couples_then_synchronizes(connected):
    free_id = cs.create_account(connected, "Pickme Free Corp")
    taken_id = cs.create_account(connected, "Pickme Taken Corp")
    support.couple(factories.CustomerFactory(name="Other owner"), "account", taken_id)
    customer = factories.CustomerFactory(name="Pickme ERP")
    client = cs.client_with(*cs.EVERYTHING)
    url = couple_url(customer_mapping(), customer)

    page = client.get(url, {"q": "Pickme"})
    names = [row["name"] for row in page.context["rows"].rows]
    assert names == ["Pickme Free Corp"]

    response = client.post(url, {"crm_id": free_id, "sync": "erp"}, follow=True)
    coupling = support.coupling_of(customer)
    assert str(coupling.crm_id) == free_id and coupling.state == Coupling.State.COUPLED
    job = SyncJob.objects.get(mapping__name="CUSTOMER", parameters__erp_system_ids=[str(customer.system_id)])
    assert (job.kind, job.direction, job.status) == (SyncJob.Kind.SYNCHRONIZATION, "to_crm", SyncJob.Status.PENDING)
    assert "coupled with a Dynamics 365 account" in " ".join(messages_of(response))


def test_synchronize_after_coupling_with_crm_data_and_no_synchronization(connected):
    first_id = cs.create_account(connected, "After Sync One")
    second_id = cs.create_account(connected, "After Sync Two")
    first, second = factories.CustomerFactory.create_batch(2)
    client = cs.client_with(*cs.EVERYTHING)
    client.post(couple_url(customer_mapping(), first), {"crm_id": first_id, "sync": "crm"})
    client.post(couple_url(customer_mapping(), second), {"crm_id": second_id, "sync": ""})
    job = SyncJob.objects.get(parameters__erp_system_ids=[str(first.system_id)])
    assert job.direction == "from_crm"
    assert not SyncJob.objects.filter(parameters__erp_system_ids=[str(second.system_id)]).exists()
    assert str(support.coupling_of(second).crm_id) == second_id


def test_create_new_keeps_the_chosen_id_pending_and_starts_a_job_to_dynamics(connected):
    customer = factories.CustomerFactory(name="Brand New Co")
    cs.client_with(*cs.EVERYTHING).post(couple_url(customer_mapping(), customer), {"create_new": "on"})
    coupling = support.coupling_of(customer)
    assert coupling.state == Coupling.State.CREATING
    job = SyncJob.objects.get(parameters__erp_system_ids=[str(customer.system_id)])
    assert job.direction == "to_crm"


def test_create_new_is_refused_for_a_mapping_from_dynamics_only(connected):
    mapping = support.mapping("SALESPEOPLE")
    salesperson = factories.SalespersonFactory(code="ZZ", name="Zed Zulu")
    client = cs.client_with("coupling.add_coupling", "syncjobs.add_syncjob")
    page = client.get(couple_url(mapping, salesperson))
    assert "not possible: the mapping only synchronizes from Dynamics 365" in page.content.decode()
    refused = client.post(couple_url(mapping, salesperson), {"create_new": "on"})
    assert "nothing can be created there" in refused.content.decode()
    assert support.coupling_of(salesperson) is None


def test_coupling_to_a_row_coupled_elsewhere_names_the_other_record(connected):
    crm_id = cs.create_account(connected, "Contested Row")
    owner = factories.CustomerFactory(name="First Owner")
    support.couple(owner, "account", crm_id)
    customer = factories.CustomerFactory(name="Second Try")
    client = cs.client_with(*cs.EVERYTHING)
    page = client.post(couple_url(customer_mapping(), customer), {"crm_id": crm_id})
    assert page.status_code == 200
    assert "already coupled to customer" in page.content.decode() and "First Owner" in page.content.decode()
    assert support.coupling_of(customer) is None

    already = client.get(couple_url(customer_mapping(), owner)).content.decode()
    assert 'id="already-coupled"' in already and crm_id in already


def test_the_coupling_page_without_a_connection_says_so_and_links_the_connection_page(db):
    customer = factories.CustomerFactory()
    page = cs.client_with(*cs.EVERYTHING).get(couple_url(customer_mapping(), customer)).content.decode()
    assert "The connection to Dynamics 365 is not set up" in page
    assert reverse("setup_wizard:crm_connection") in page


def test_the_coupling_page_when_dynamics_refuses_the_connection(connected):
    customer = factories.CustomerFactory()
    # A server the sign-in service does not know: it refuses to issue a token for it.
    CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK).update(server_url="https://127.0.0.1:9")
    page = cs.client_with(*cs.EVERYTHING).get(couple_url(customer_mapping(), customer))
    assert page.status_code == 200
    assert "Dynamics 365 refused the integration user" in page.content.decode()
    assert "rows" not in page.context


# --- Synchronize now ----------------------------------------------------------------------------------------


def test_synchronize_now_queues_the_coupled_records_in_the_mappings_direction(connected):
    crm_id = cs.create_account(connected, "Sync Now Row")
    coupled = factories.CustomerFactory()
    loose = factories.CustomerFactory(name="Never Coupled")
    support.couple(coupled, "account", crm_id)
    response = cs.client_with(*cs.EVERYTHING).post(
        CUSTOMERS, {"action": "crm_synchronize", "pk": [coupled.pk, loose.pk]}, follow=True
    )
    job = SyncJob.objects.get(parameters__erp_system_ids=[str(coupled.system_id)])
    assert job.direction == "both"
    text = " ".join(messages_of(response))
    assert "1 customer queued for synchronization" in text and "Never Coupled: not queued" in text


def test_synchronize_now_asks_which_side_wins_when_both_changed(connected):
    crm_id = cs.create_account(connected, "Both Changed Row")
    customer = factories.CustomerFactory(name="Both Changed")
    long_ago = timezone.now() - datetime.timedelta(days=1)
    coupling = support.couple(customer, "account", crm_id)
    Coupling.objects.filter(pk=coupling.pk).update(erp_modified_at=long_ago, crm_modified_on=long_ago)
    client = cs.client_with(*cs.EVERYTHING)

    question = client.post(CUSTOMERS, {"action": "crm_synchronize", "pk": [customer.pk]})
    assert question.status_code == 200
    assert 'id="both-changed"' in question.content.decode() and "Both Changed" in question.content.decode()
    assert not SyncJob.objects.filter(parameters__erp_system_ids=[str(customer.system_id)]).exists()

    url = reverse("coupling:synchronize", args=[customer_mapping().pk])
    unanswered = client.post(url, {"system_id": [customer.system_id], "back": CUSTOMERS}, follow=True)
    assert "Choose which side's data to use." in messages_of(unanswered)
    client.post(url, {"system_id": [customer.system_id], "direction": "from_crm", "back": CUSTOMERS})
    job = SyncJob.objects.get(parameters__erp_system_ids=[str(customer.system_id)])
    assert job.direction == "from_crm"


def test_synchronize_now_does_not_ask_when_only_the_erp_changed(connected):
    crm_id = cs.create_account(connected, "Only ERP Changed")
    customer = factories.CustomerFactory()
    coupling = support.couple(customer, "account", crm_id)
    Coupling.objects.filter(pk=coupling.pk).update(
        erp_modified_at=timezone.now() - datetime.timedelta(days=1),
        crm_modified_on=timezone.now() + datetime.timedelta(days=1),
    )
    response = cs.client_with(*cs.EVERYTHING).post(CUSTOMERS, {"action": "crm_synchronize", "pk": [customer.pk]})
    assert response.status_code == 302
    assert SyncJob.objects.get(parameters__erp_system_ids=[str(customer.system_id)]).direction == "both"


# --- Decouple -------------------------------------------------------------------------------------------------


def test_decouple_asks_first_then_removes_the_couplings(connected):
    customer = factories.CustomerFactory()
    support.couple(customer, "account", cs.create_account(connected, "Decouple Me"))
    client = cs.client_with(*cs.EVERYTHING)
    question = client.post(CUSTOMERS, {"action": "crm_decouple", "pk": [customer.pk]})
    assert question.status_code == 200 and support.coupling_of(customer) is not None
    done = client.post(CUSTOMERS, {"action": "crm_decouple", "pk": [customer.pk], "confirmed": "1"}, follow=True)
    assert "1 customer decoupled." in messages_of(done)
    assert support.coupling_of(customer) is None


# --- From the CRM side ----------------------------------------------------------------------------------------


def test_uncoupled_crm_rows_are_listed_and_created_in_the_erp_by_a_job(connected):
    free_id = cs.create_account(connected, "Crmside Free")
    taken_id = cs.create_account(connected, "Crmside Taken")
    support.couple(factories.CustomerFactory(), "account", taken_id)
    mapping = customer_mapping()
    url = reverse("coupling:uncoupled", args=[mapping.pk])
    client = cs.client_with(*cs.EVERYTHING)

    page = client.get(url, {"q": "Crmside"})
    assert [row["name"] for row in page.context["rows"].rows] == ["Crmside Free"]
    assert "main.aspx?etn=account&amp;id=" + free_id in page.content.decode()

    client.post(url, {"crm_id": [free_id]})
    job = SyncJob.objects.get(parameters__crm_ids=[free_id])
    assert (job.direction, job.full, job.kind) == ("from_crm", True, SyncJob.Kind.SYNCHRONIZATION)

    usd = support.crm_currency_id(connected, "USD")
    support.couple(factories.CurrencyFactory(code="USD"), "transactioncurrency", usd)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    finished = support.run("CUSTOMER", "from_crm", full=True, parameters={"crm_ids": [free_id]})
    assert finished.inserted == 1, support.errors(finished)
    assert Customer.objects.filter(name="Crmside Free").exists()


def test_create_in_erp_refuses_bad_or_coupled_ids(connected):
    taken_id = cs.create_account(connected, "Crmside Refused")
    support.couple(factories.CustomerFactory(), "account", taken_id)
    url = reverse("coupling:uncoupled", args=[customer_mapping().pk])
    client = cs.client_with(*cs.EVERYTHING)
    assert "is not a Dynamics 365 row id" in " ".join(messages_of(client.post(url, {"crm_id": ["x"]}, follow=True)))
    coupled = client.post(url, {"crm_id": [taken_id]}, follow=True)
    assert "coupled already" in " ".join(messages_of(coupled))
    assert not SyncJob.objects.exists()


# --- Permissions and CSRF -----------------------------------------------------------------------------------


def page_urls():
    mapping = customer_mapping()
    customer = factories.CustomerFactory()
    return [
        couple_url(mapping, customer),
        reverse("coupling:match", args=[mapping.pk]),
        reverse("coupling:uncoupled", args=[mapping.pk]),
        reverse("coupling:synchronize", args=[mapping.pk]),
    ]


def test_anonymous_users_go_to_the_login_page(db):
    from django.test import Client

    for url in page_urls():
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_users_without_the_permissions_get_403(db):
    client = cs.client_with("erp.view_customer")
    for url in page_urls():
        assert client.get(url).status_code in (403, 405), url
        assert client.post(url, {}).status_code == 403, url
    viewer = cs.client_with("coupling.view_coupling")
    assert viewer.post(page_urls()[2], {"crm_id": []}).status_code == 403


def test_every_form_needs_the_csrf_token(db):
    client = cs.client_with(*cs.EVERYTHING, csrf=True)
    for url in page_urls():
        assert client.post(url, {}).status_code == 403, url
    customer = factories.CustomerFactory()
    assert client.post(CUSTOMERS, {"action": "crm_decouple", "pk": [customer.pk]}).status_code == 403

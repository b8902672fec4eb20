"""Words and layout (issue 13 §6): the pages say things in the user's words, wide lists show the columns their user
chose (defaults that fit 1,366 px), nobody is shown a link to a page they cannot open, a favicon, the assisted
setup's last check mark. The browser side (no list wider than a 1,366 px screen) is
tests/e2e/test_lists_fit_the_screen_browser.py."""

import re
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from coupling import services as coupling_services
from coupling.models import Coupling
from erp.models import Customer
from nav_crm.models import UserPreference
from setup_wizard.models import SetupWizardProgress
from syncjobs.models import CrmConnection, IntegrationTableMapping, SyncJob, SyncJobError
from tests.factories import CustomerFactory, SalespersonFactory, UserFactory

pytestmark = pytest.mark.django_db

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CUSTOMERS = reverse("erp:customer_list")
MAPPINGS = reverse("syncjobs:mapping_list")
LOG = reverse("syncjobs:job_list")
ERRORS = reverse("syncjobs:error_list")


def client_for(*perms: str, groups: tuple[str, ...] = ()) -> Client:
    client = Client()
    client.force_login(UserFactory(perms=list(perms), groups=list(groups)))
    return client


def mapping(name: str) -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


def text_of(page: str) -> str:
    """What the reader sees: the page without its tags, scripts and attributes."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def job_of(mapping_name: str = "CUSTOMER", **fields) -> SyncJob:
    return SyncJob.objects.create(
        mapping=mapping(mapping_name), mapping_name=mapping_name, direction=SyncJob.JobDirection.TO_CRM, **fields
    )


def error_of(job: SyncJob, customer: Customer | None, crm_id: uuid.UUID, **fields) -> SyncJobError:
    return SyncJobError.objects.create(
        job=job,
        mapping=job.mapping,
        erp_model=ContentType.objects.get_for_model(Customer) if customer else None,
        erp_system_id=customer.system_id if customer else None,
        erp_label=str(customer) if customer else "",
        crm_entity="account",
        crm_id=crm_id,
        message=fields.pop("message", "Phone is too long."),
        **fields,
    )


def couple(record, crm_id: uuid.UUID, **fields) -> Coupling:
    return Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(type(record)),
        erp_system_id=record.system_id,
        crm_entity=fields.pop("crm_entity", "account"),
        crm_id=crm_id,
        **fields,
    )


@pytest.fixture
def crm_server():
    """A saved connection: the pages link rows in Dynamics 365 (nothing here asks it anything)."""
    return CrmConnection.objects.create(pk=CrmConnection.SINGLETON_PK, server_url="https://crm.example.com/")


# --- Words ---------------------------------------------------------------------------------------------------


def test_a_detail_page_says_its_fields_in_their_own_words():
    customer_mapping = mapping("CUSTOMER")
    page = text_of(
        client_for(groups=("Sync administrators",)).get(customer_mapping.get_absolute_url()).content.decode()
    )
    assert "ERP table Customers " in page and "Dynamics 365 table Account (account)" in page
    assert "ERP filter Blocked: Not blocked " in page  # not the JSON {'blocked': ''}
    assert "ERP changes synchronized up to" in page
    for internal in ("Erp ", "Crm ", "ERP | customer", "{'blocked'", "Crm entity set"):
        assert internal not in page, internal
    contact = text_of(
        client_for(groups=("Sync administrators",)).get(mapping("CONTACT").get_absolute_url()).content.decode()
    )
    assert "Type: Person; Company › Customer › Blocked: Not blocked" in contact
    prices = text_of(
        client_for(groups=("Sync administrators",))
        .get(mapping("SALESPRC-PRODPRICE").get_absolute_url())
        .content.decode()
    )
    assert "Sales code: not empty" in prices and "sales_code__gt" not in prices

    customer = CustomerFactory(name="Worded Ltd")
    page = text_of(client_for("erp.view_customer").get(customer.get_absolute_url()).content.decode())
    assert "Credit limit (LCY)" in page and "(lcy)" not in page
    assert "System id" not in page and str(customer.system_id) not in page


def test_the_field_mappings_name_the_erp_fields_as_their_pages_do():
    page = client_for(groups=("Sync administrators",)).get(mapping("CUSTOMER").get_absolute_url()).content.decode()
    assert '<span title="post_code">Post code</span>' in page
    assert '<span title="salesperson">Salesperson</span>' in page


def test_the_field_mappings_name_dynamics_attributes_as_dynamics_shows_them(connected):
    administrator = client_for(groups=("Sync administrators",))
    page = administrator.get(mapping("CURRENCY").get_absolute_url()).content.decode()
    assert '<span title="isocurrencycode">Currency Code</span>' in page
    page = administrator.get(mapping("CUSTOMER").get_absolute_url()).content.decode()
    assert '<span title="ownerid">Owner</span>' in page
    assert '<span title="address1_postalcode">Address 1: ZIP/Postal Code</span>' in page


def test_without_dynamics_to_ask_the_field_mappings_show_the_attributes_logical_names():
    CrmConnection.objects.create(pk=CrmConnection.SINGLETON_PK, server_url="https://127.0.0.1:9/")  # nothing answers
    page = client_for(groups=("Sync administrators",)).get(mapping("CURRENCY").get_absolute_url()).content.decode()
    assert ">isocurrencycode<" in page


def test_a_jobs_page_names_the_records_it_was_given_not_its_parameters():
    first, second = CustomerFactory(name="Chosen One"), CustomerFactory(name="Chosen Two")
    job = job_of(parameters={"erp_system_ids": [str(first.system_id), str(second.system_id)]})
    page = client_for("syncjobs.view_syncjob", "erp.view_customer").get(job.get_absolute_url()).content.decode()
    chosen = text_of(re.search(r'data-testid="job-chosen-records">(.*?)</dd>', page, re.S).group(1)).strip()
    assert chosen.startswith("2 chosen customers: ")
    assert str(first) in chosen and str(second) in chosen
    assert f'href="{first.get_absolute_url()}"' in page
    assert "erp_system_ids" not in page

    rows = job_of(parameters={"crm_ids": [str(uuid.uuid4()) for _ in range(3)]})
    page = text_of(client_for("syncjobs.view_syncjob").get(rows.get_absolute_url()).content.decode())
    assert "3 chosen Dynamics 365 accounts" in page and "crm_ids" not in page


def test_yes_no_filters_read_any_until_the_user_picks_yes_or_no():
    cases = [
        (client_for("erp.view_customer"), CUSTOMERS, "coupled"),
        (client_for("erp.view_item"), reverse("erp:item_list"), "blocked"),
        (client_for(groups=("Sync administrators",)), MAPPINGS, "is_enabled"),
        (client_for("syncjobs.view_syncjob"), ERRORS, "is_skipped"),
    ]
    for client, url, name in cases:
        page = client.get(url).content.decode()
        select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
        assert re.search(r'<option value="" selected>Any</option>', select), (url, select)
        assert "Unknown" not in select, url
        picked = client.get(url, {name: "false"}).content.decode()
        assert re.search(r'<option value="false" selected>No</option>', picked), url


def test_salespeople_are_called_salespeople_everywhere():
    SalespersonFactory(code="JR", name="John Roberts")
    admin = client_for("erp.view_salesperson", groups=("Sync administrators",))
    for url in (reverse("erp:salesperson_list"), MAPPINGS, reverse("home")):
        page = admin.get(url).content.decode()
        assert "Salespersons" not in page and "Sales people" not in page and "salespersons" not in page, url
    assert "<h1" in (page := admin.get(reverse("erp:salesperson_list")).content.decode()) and "Salespeople" in page


def test_an_error_row_names_its_dynamics_row_and_shows_an_id_only_where_nothing_names_it(crm_server):
    customer = CustomerFactory(name="Named Row Ltd")
    named, unnamed = uuid.uuid4(), uuid.uuid4()
    error_of(job_of(), customer, named)
    error_of(job_of(), None, unnamed, message="The account has no name.")
    page = client_for("syncjobs.view_syncjob", "erp.view_customer").get(ERRORS).content.decode()
    assert str(named) not in text_of(page)  # the row's id stays in the link to it, not in the words
    assert "Open in Dynamics 365" in page and str(unnamed) in text_of(page)


def test_the_coupling_panel_and_couple_page_name_the_coupled_row_not_its_id():
    customer = CustomerFactory(name="Panel Named Ltd")
    crm_id = uuid.uuid4()
    name_mapping = mapping("CUSTOMER").field_mappings.get(crm_attribute="name")
    couple(customer, crm_id, snapshot={name_mapping.name: "Panel Named Ltd (CRM)"})
    client = client_for("erp.view_customer", "coupling.add_coupling")
    panel = text_of(client.get(customer.get_absolute_url()).content.decode())
    assert "Coupled with a Dynamics 365 account “Panel Named Ltd (CRM)”" in panel
    assert str(crm_id) not in panel
    couple_page = reverse("coupling:record", args=[mapping("CUSTOMER").pk, customer.system_id])
    page = text_of(client.get(couple_page).content.decode())
    assert "It is coupled already with a Dynamics 365 account “Panel Named Ltd (CRM)”" in page
    assert str(crm_id) not in page

    creating = CustomerFactory(name="Being Created Ltd")
    couple(creating, uuid.uuid4(), state=Coupling.State.CREATING)
    page = text_of(client.get(creating.get_absolute_url()).content.decode())
    assert "The next synchronization creates its Dynamics 365 account." in page and not GUID.search(page)


def test_a_refused_coupling_names_the_records_as_written_and_no_row_id():
    customer, other, third = CustomerFactory(name="Capital Letters Ltd"), CustomerFactory(), CustomerFactory()
    couple(customer, uuid.uuid4())
    taken = uuid.uuid4()
    couple(other, taken)
    with pytest.raises(ValidationError) as refused:
        coupling_services.coupling_create(record=customer, crm_entity="account", crm_id=uuid.uuid4())
    assert refused.value.messages == [
        f"Customer {customer} is already coupled to another Dynamics 365 row. Decouple it first."
    ]
    with pytest.raises(ValidationError) as refused:
        coupling_services.coupling_create(record=third, crm_entity="account", crm_id=taken)
    assert refused.value.messages == [
        f"That Dynamics 365 row is already coupled to customer {other}. Decouple that record first."
    ]


# --- Columns -------------------------------------------------------------------------------------------------


def column_names(page: str) -> list[str]:
    dialog = re.search(r'id="columns-dialog".*?</form>', page, re.S).group(0)
    return re.findall(r'name="column" value="([^"]+)"', dialog)


def headings(page: str) -> list[str]:
    """The list table's column headings."""
    head = re.search(r"<table[^>]*object-table.*?<thead.*?</thead>", page, re.S).group(0)
    return [text_of(th).strip() for th in re.findall(r"<th\b.*?</th>", head, re.S)]


def shown_columns(page: str) -> list[str]:
    dialog = re.search(r'id="columns-dialog".*?</form>', page, re.S).group(0)
    return re.findall(r'name="column" value="([^"]+)" id="[^"]+" checked', dialog)


def test_a_list_shows_its_default_columns_and_offers_the_others_in_a_columns_dialog():
    job_of(inserted=5, http_requests=47)
    page = client_for("syncjobs.view_syncjob").get(LOG).content.decode()
    assert 'data-testid="columns-button"' in page and 'data-bs-target="#columns-dialog"' in page
    assert shown_columns(page) == [
        "number",
        "mapping_name",
        "direction",
        "kind",
        "status",
        "records",
        "created_at",
        "duration",
    ]
    assert {"inserted", "http_requests", "started_at", "finished_at", "full"} <= set(column_names(page))
    assert headings(page) == ["Job", "Mapping", "Direction", "Kind", "Status", "Records", "Created", "Duration"]

    page = client_for("erp.view_customer").get(CUSTOMERS).content.decode()
    assert "phone" in column_names(page) and "phone" not in shown_columns(page)
    assert "crm_coupling" in shown_columns(page)  # the column coupling registered is shown by default
    assert "pk" not in column_names(page)  # the row selection belongs to the bulk actions


def test_the_chosen_columns_are_kept_for_their_user_only_until_they_go_back_to_the_defaults():
    CustomerFactory(name="Columned Ltd", phone="+47 555 0101")
    mine, theirs = client_for("erp.view_customer"), client_for("erp.view_customer")
    response = mine.post(f"{CUSTOMERS}?q=columned", {"table_columns": "1", "column": ["no", "name", "phone"]})
    assert response.status_code == 302 and response["Location"] == f"{CUSTOMERS}?q=columned"
    page = mine.get(CUSTOMERS).content.decode()
    assert shown_columns(page) == ["no", "name", "phone"] and "+47 555 0101" in page and "Columned Ltd" in page
    assert headings(page) == ["No.", "Name", "Phone no."]
    assert "+47 555 0101" not in theirs.get(CUSTOMERS).content.decode()
    assert UserPreference.objects.count() == 1

    refused = mine.post(CUSTOMERS, {"table_columns": "1", "column": ["no", "password"]}, follow=True)
    assert "The list has no column password." in refused.content.decode()
    nothing = mine.post(CUSTOMERS, {"table_columns": "1"}, follow=True)
    assert "Choose at least one column to show." in nothing.content.decode()

    mine.post(CUSTOMERS, {"table_columns": "1", "reset": "1"})
    assert "+47 555 0101" not in mine.get(CUSTOMERS).content.decode()


def test_a_related_list_on_a_detail_page_shows_the_users_columns_of_that_table():
    salesperson = SalespersonFactory(code="CL", name="Column Lister")
    CustomerFactory(name="Related Columns Ltd", salesperson=salesperson, phone="+47 555 0202")
    client = client_for("erp.view_customer", "erp.view_salesperson")
    assert "+47 555 0202" not in client.get(salesperson.get_absolute_url()).content.decode()
    client.post(CUSTOMERS, {"table_columns": "1", "column": ["no", "name", "phone"]})
    assert "+47 555 0202" in client.get(salesperson.get_absolute_url()).content.decode()


# --- Links only to pages the reader may open -----------------------------------------------------------------


def test_a_sales_user_is_not_shown_links_to_synchronization_pages_they_cannot_open():
    salesperson = SalespersonFactory(code="NL", name="No Link")
    customer = CustomerFactory(name="Sales View Ltd", salesperson=salesperson)
    job = job_of(status=SyncJob.Status.ERROR, finished_at=timezone.now())
    couple(customer, uuid.uuid4(), last_job_id=job.pk, last_result=Coupling.Result.FAILURE)
    couple_page = reverse("coupling:record", args=[mapping("SALESPEOPLE").pk, salesperson.system_id])
    error_of(
        job,
        customer,
        uuid.uuid4(),
        message="Salesperson NL must be coupled.",
        fix_url=couple_page,
        fix_label="Couple salesperson NL No Link",
    )

    sales = client_for("erp.view_customer")
    page = sales.get(customer.get_absolute_url()).content.decode()
    assert "Salesperson NL must be coupled." in page  # what is wrong is said
    for url in (job.get_absolute_url(), couple_page, ERRORS, salesperson.get_absolute_url()):
        assert f'href="{url}' not in page, url
    for url in (job.get_absolute_url(), couple_page, ERRORS, salesperson.get_absolute_url()):
        assert sales.get(url).status_code == 403, url

    allowed = client_for("erp.view_customer", "erp.view_salesperson", "syncjobs.view_syncjob", "coupling.add_coupling")
    page = allowed.get(customer.get_absolute_url()).content.decode()
    for url in (job.get_absolute_url(), couple_page, salesperson.get_absolute_url()):
        assert f'href="{url}' in page, url


def test_list_and_related_links_are_shown_only_to_who_may_open_them():
    salesperson = SalespersonFactory(code="RL", name="Related Link")
    customer = CustomerFactory(name="Linked Ltd", salesperson=salesperson)
    orders_link = f"{reverse('erp:salesorder_list')}?sell_to_customer={customer.pk}"
    only_customers = client_for("erp.view_customer")
    assert salesperson.get_absolute_url() not in only_customers.get(CUSTOMERS).content.decode()
    assert orders_link not in only_customers.get(customer.get_absolute_url()).content.decode()
    both = client_for("erp.view_customer", "erp.view_salesperson", "erp.view_salesheader")
    assert salesperson.get_absolute_url() in both.get(CUSTOMERS).content.decode()
    assert orders_link in both.get(customer.get_absolute_url()).content.decode()


def test_the_errors_and_job_pages_link_records_and_mappings_only_for_who_may_open_them(crm_server):
    customer = CustomerFactory(name="Error Link Ltd")
    job = job_of()
    error_of(job, customer, uuid.uuid4())
    viewer = client_for("syncjobs.view_syncjob")
    errors = viewer.get(ERRORS).content.decode()
    assert str(customer) in errors and customer.get_absolute_url() not in errors
    assert "(no longer exists)" not in errors
    assert mapping("CUSTOMER").get_absolute_url() not in viewer.get(job.get_absolute_url()).content.decode()
    administrator = client_for(groups=("Sync administrators",))
    assert customer.get_absolute_url() in administrator.get(ERRORS).content.decode()
    assert mapping("CUSTOMER").get_absolute_url() in administrator.get(job.get_absolute_url()).content.decode()


def test_the_menu_links_the_synchronization_log_for_who_may_see_it_only():
    assert LOG in client_for("syncjobs.view_syncjob").get(reverse("home")).content.decode()
    assert LOG not in client_for("erp.view_customer").get(reverse("home")).content.decode()


# --- Favicon, assisted setup -----------------------------------------------------------------------------------


def test_every_page_has_a_favicon_served_by_the_site_itself():
    page = client_for().get(reverse("home")).content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link and link.group(1) == "/static/nav_crm/favicon.svg"
    assert finders.find("nav_crm/favicon.svg")
    assert "<svg" in open(finders.find("nav_crm/favicon.svg")).read()  # noqa: SIM115, PTH123


def test_the_summary_step_gets_its_check_mark_once_the_setup_is_finished():
    summary = reverse("setup_wizard:wizard_step", args=["summary"])
    SetupWizardProgress.objects.create(pk=1, current_step=5, completed_steps=[1, 2, 3, 4])
    admin = client_for("syncjobs.manage_connection")

    def step_five() -> str:
        return re.search(r'<li [^>]*data-step="5".*?</li>', admin.get(summary).content.decode(), re.S).group(0)

    assert "bi-check-lg" not in step_five()
    SetupWizardProgress.objects.filter(pk=1).update(completed_steps=[1, 2, 3, 4, 5], finished_at=timezone.now())
    assert "bi-check-lg" in step_five() and "data-done" in step_five()

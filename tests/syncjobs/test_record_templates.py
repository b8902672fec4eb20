"""Templates for ERP records created from Dynamics 365 rows (BC: integration table config templates, issue 12 §5):
the engine gives a new record the first matching template's values for what the row does not send, and the
mapping page lists, adds, edits and deletes them."""

import pytest
from django.test import Client
from django.urls import reverse

from coupling.models import OptionCoupling
from erp.models import Customer, PaymentTerms
from syncjobs.mappings import services
from syncjobs.models import IntegrationTableMapping, RecordTemplate, SyncJob
from tests import factories
from tests.factories import UserFactory
from tests.syncjobs import engine_support as support

# --- the engine -------------------------------------------------------------------------------------------


@pytest.fixture
def connected(connected):
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    return connected


def template(mapping_name: str = "CUSTOMER", **fields) -> RecordTemplate:
    return services.record_template_save(
        template=RecordTemplate(mapping=IntegrationTableMapping.objects.get(name=mapping_name), **fields)
    )


def account(sandbox, name: str, **values) -> str:
    with support.admin_client(sandbox) as admin:
        return str(admin.create("accounts", {"name": name, "customertypecode": 3, **values}))


def option_value(payment_terms: PaymentTerms) -> int:
    return OptionCoupling.objects.get(erp_system_id=payment_terms.system_id).option_value


def test_a_customer_from_an_account_takes_the_templates_payment_terms_and_price_group(connected):
    thirty_days = factories.PaymentTermsFactory(code="30 DAYS")
    factories.CustomerPriceGroupFactory(code="RETAIL")
    assert support.run("PAYMENT TERMS", "to_crm").status == SyncJob.Status.SUCCESS
    # Written as a user would type them: the template keeps each record's own code.
    saved = template(code="DEFAULT", values={"payment_terms": "30 days", "customer_price_group": "retail"})
    assert saved.values == {"payment_terms": "30 DAYS", "customer_price_group": "RETAIL"}
    account_id = account(connected, "Template Traders")

    job = support.run("CUSTOMER", "both", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    customer = Customer.objects.get(name="Template Traders")
    assert customer.payment_terms.code == "30 DAYS"
    assert customer.customer_price_group.code == "RETAIL"
    # The payment terms are the ERP's now: the same job sends them to the account, which had none.
    row = support.crm_row(connected, "accounts", account_id, ["paymenttermscode"])
    assert row["paymenttermscode"] == option_value(thirty_days)
    assert support.run("CUSTOMER", "both", full=True).modified == 0


def test_the_first_template_by_priority_whose_filter_the_row_matches_applies(connected):
    for code in ("DK", "RETAIL", "WRONG"):
        factories.CustomerPriceGroupFactory(code=code)
    template(code="ANY", priority=20, values={"customer_price_group": "RETAIL"})
    template(
        code="DENMARK", priority=10, crm_filter="address1_country eq 'Denmark'", values={"customer_price_group": "DK"}
    )
    template(
        code="ALSO-DK",
        priority=30,
        crm_filter="address1_country eq 'Denmark'",
        values={"customer_price_group": "WRONG"},
    )
    account(connected, "Copenhagen Cargo", address1_country="Denmark")
    account(connected, "Malmo Mills", address1_country="Sweden")
    account(connected, "Nowhere Ltd")

    job = support.run("CUSTOMER", "from_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    mine = Customer.objects.filter(name__in=["Copenhagen Cargo", "Malmo Mills", "Nowhere Ltd"])
    groups = dict(mine.values_list("name", "customer_price_group__code"))
    assert groups == {"Copenhagen Cargo": "DK", "Malmo Mills": "RETAIL", "Nowhere Ltd": "RETAIL"}


def test_a_template_applies_only_to_the_rows_its_filter_matches(connected):
    factories.CustomerPriceGroupFactory(code="DK")
    template(code="DENMARK", crm_filter="address1_country eq 'Denmark'", values={"customer_price_group": "DK"})
    account(connected, "Aarhus Anchors", address1_country="Denmark")
    account(connected, "Oslo Oars", address1_country="Norway")

    job = support.run("CUSTOMER", "from_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert Customer.objects.get(name="Aarhus Anchors").customer_price_group.code == "DK"
    assert Customer.objects.get(name="Oslo Oars").customer_price_group is None


def test_a_template_never_replaces_a_value_the_crm_sent(connected):
    factories.PaymentTermsFactory(code="30 DAYS")
    net_60 = factories.PaymentTermsFactory(code="NET 60")
    factories.CustomerPriceGroupFactory(code="RETAIL")
    assert support.run("PAYMENT TERMS", "to_crm").status == SyncJob.Status.SUCCESS
    template(
        code="DEFAULT",
        values={"payment_terms": "30 DAYS", "country": "Denmark", "customer_price_group": "RETAIL"},
    )
    account(connected, "Sent Everything", paymenttermscode=option_value(net_60), address1_country="Sweden")
    account(connected, "Sent Nothing")

    job = support.run("CUSTOMER", "from_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    sent = Customer.objects.get(name="Sent Everything")
    assert (sent.payment_terms.code, sent.country, sent.customer_price_group.code) == ("NET 60", "Sweden", "RETAIL")
    empty = Customer.objects.get(name="Sent Nothing")
    assert (empty.payment_terms.code, empty.country, empty.customer_price_group.code) == (
        "30 DAYS",
        "Denmark",
        "RETAIL",
    )


def test_a_filter_dynamics_365_refuses_fails_the_rows_it_decides_with_the_templates_name(connected):
    factories.CustomerPriceGroupFactory(code="RETAIL")
    template(code="BROKEN", crm_filter="nosuchattribute eq 'x'", values={"customer_price_group": "RETAIL"})
    account(connected, "Filtered Out Ltd")

    job = support.run("CUSTOMER", "from_crm", full=True)

    assert not Customer.objects.filter(name="Filtered Out Ltd").exists()
    messages = [m for m in support.errors(job) if "BROKEN" in m]
    assert messages and "CRM filter" in messages[0], support.errors(job)


# --- the pages --------------------------------------------------------------------------------------------


def mapping(name: str) -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


@pytest.fixture
def admin_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(groups=["Sync administrators"]))
    return client


@pytest.fixture
def codes(db):
    factories.PaymentTermsFactory(code="30 DAYS")
    factories.CustomerPriceGroupFactory(code="RETAIL")


def form_data(**changes) -> dict:
    return {
        "code": "DENMARK",
        "description": "Danish customers",
        "priority": "10",
        "crm_filter": "address1_country eq 'Denmark'",
        "values": '{"payment_terms": "30 days", "customer_price_group": "RETAIL"}',
        **changes,
    }


def test_the_mapping_page_lists_its_templates_with_priority_filter_and_values(admin_client, codes):
    customer = mapping("CUSTOMER")
    template(
        code="DENMARK", priority=10, crm_filter="address1_country eq 'Denmark'", values={"payment_terms": "30 DAYS"}
    )
    template(code="ANY", priority=20, values={"customer_price_group": "RETAIL"})

    page = admin_client.get(reverse("syncjobs:mapping_detail", args=[customer.pk])).content.decode()

    assert "Templates for new ERP records" in page
    assert reverse("syncjobs:record_template_create", args=[customer.pk]) in page
    assert page.index("DENMARK") < page.index("ANY")
    assert "address1_country eq &#x27;Denmark&#x27;" in page and "Every row" in page
    assert "<code>payment_terms</code> = 30 DAYS" in page
    template_pk = RecordTemplate.objects.get(code="ANY").pk
    assert reverse("syncjobs:record_template_edit", args=[customer.pk, template_pk]) in page
    assert reverse("syncjobs:record_template_delete", args=[customer.pk, template_pk]) in page
    option_page = admin_client.get(reverse("syncjobs:mapping_detail", args=[mapping("PAYMENT TERMS").pk]))
    assert "Templates for new ERP records" not in option_page.content.decode()


def test_adding_a_template_keeps_its_references_by_their_codes(admin_client, codes):
    customer = mapping("CUSTOMER")
    url = reverse("syncjobs:record_template_create", args=[customer.pk])
    form = admin_client.get(url).content.decode()
    assert "payment_terms" in form and "customer_price_group" in form

    response = admin_client.post(url, form_data())

    assert response.status_code == 302
    assert response["Location"] == reverse("syncjobs:mapping_detail", args=[customer.pk]) + "#templates"
    saved = RecordTemplate.objects.get(mapping=customer)
    assert (saved.code, saved.priority, saved.crm_filter) == ("DENMARK", 10, "address1_country eq 'Denmark'")
    assert saved.values == {"payment_terms": "30 DAYS", "customer_price_group": "RETAIL"}


def test_editing_and_deleting_a_template(admin_client, codes):
    customer = mapping("CUSTOMER")
    saved = template(code="DENMARK", values={"payment_terms": "30 DAYS"})
    edit = reverse("syncjobs:record_template_edit", args=[customer.pk, saved.pk])
    assert "30 DAYS" in admin_client.get(edit).content.decode()

    response = admin_client.post(edit, form_data(priority="5", values='{"credit_limit_lcy": "5000"}'))

    assert response.status_code == 302
    saved.refresh_from_db()
    assert (saved.priority, saved.values) == (5, {"credit_limit_lcy": "5000"})
    delete = reverse("syncjobs:record_template_delete", args=[customer.pk, saved.pk])
    assert "DENMARK" in admin_client.get(delete).content.decode()
    response = admin_client.post(delete)
    assert response.status_code == 302
    assert response["Location"] == reverse("syncjobs:mapping_detail", args=[customer.pk]) + "#templates"
    assert not RecordTemplate.objects.exists()


@pytest.mark.parametrize(
    ("mapping_name", "values", "expected"),
    [
        ("CUSTOMER", '{"colour": "red"}', "The ERP table customer has no field “colour”."),
        ("CUSTOMER", '{"payment_terms": "90 DAYS"}', "payment_terms: there is no payment terms “90 DAYS”."),
        ("CUSTOMER", '{"no": "C1"}', "“no” is unique to each customer"),
        ("CUSTOMER", '{"credit_limit_lcy": "-5"}', "credit_limit_lcy: Must not be negative."),
        ("CUSTOMER", '{"blocked": "sometimes"}', "blocked: “sometimes” is not one of ship, invoice, all."),
        ("CUSTOMER", '["payment_terms"]', "Write the values as a JSON object"),
        ("CUSTOMER", '{"payment_terms": 30 DAYS}', "Write the values as JSON"),
        ("CONTACT", '{"type": "company"}', "“type” is filled by the mapping (field mapping type)"),
        ("ITEM-PRODUCT", '{"blocked": true}', "“blocked” is filled by the mapping (field mapping statecode)"),
    ],
)
def test_values_a_template_cannot_give_are_refused_on_the_form(admin_client, codes, mapping_name, values, expected):
    url = reverse("syncjobs:record_template_create", args=[mapping(mapping_name).pk])

    response = admin_client.post(url, form_data(values=values))

    assert response.status_code == 200
    assert expected in response.content.decode()
    assert not RecordTemplate.objects.exists()


def test_a_bad_filter_or_a_code_taken_shows_on_the_form(admin_client, codes):
    customer = mapping("CUSTOMER")
    template(code="DENMARK", values={"payment_terms": "30 DAYS"})
    url = reverse("syncjobs:record_template_create", args=[customer.pk])

    response = admin_client.post(url, form_data(crm_filter="address1_country eq"))
    page = response.content.decode()
    assert "The CRM filter is not a valid OData $filter expression" in page
    assert "The mapping CUSTOMER has a template DENMARK already." in page
    assert RecordTemplate.objects.count() == 1


def test_an_option_mapping_has_no_template_pages(admin_client):
    assert (
        admin_client.get(reverse("syncjobs:record_template_create", args=[mapping("PAYMENT TERMS").pk])).status_code
        == 404
    )


def test_the_template_pages_need_the_mappings_permission(codes):
    customer = mapping("CUSTOMER")
    saved = template(code="DENMARK", values={"payment_terms": "30 DAYS"})
    urls = [
        reverse("syncjobs:record_template_create", args=[customer.pk]),
        reverse("syncjobs:record_template_edit", args=[customer.pk, saved.pk]),
        reverse("syncjobs:record_template_delete", args=[customer.pk, saved.pk]),
    ]
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    client = Client()
    client.force_login(
        UserFactory(
            perms=[
                "syncjobs.view_integrationtablemapping",
                "syncjobs.add_recordtemplate",
                "syncjobs.change_recordtemplate",
                "syncjobs.delete_recordtemplate",
            ]
        )
    )
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, form_data(code="OTHER")).status_code == 403, url
    assert list(RecordTemplate.objects.values_list("code", flat=True)) == ["DENMARK"]


def test_template_posts_need_the_csrf_token(codes):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(groups=["Sync administrators"]))
    customer = mapping("CUSTOMER")
    saved = template(code="DENMARK", values={"payment_terms": "30 DAYS"})

    assert (
        client.post(reverse("syncjobs:record_template_create", args=[customer.pk]), form_data(code="NEW")).status_code
        == 403
    )
    assert client.post(reverse("syncjobs:record_template_delete", args=[customer.pk, saved.pk])).status_code == 403
    assert list(RecordTemplate.objects.values_list("code", flat=True)) == ["DENMARK"]

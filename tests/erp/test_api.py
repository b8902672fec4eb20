"""REST API: create, read, update and delete each ERP resource by its business key."""

import uuid
from decimal import Decimal

import pytest

from erp import models
from tests import factories
from tests.erp.api_support import API, crud_perms, session_client, token_client

pytestmark = pytest.mark.django_db

# endpoint, factory, model name, a valid new record, a change to it
CODE_TABLES = [
    ("currencies", factories.CurrencyFactory, "currency", {"code": "XTS", "description": "Test"}, {"symbol": "¤"}),
    ("units-of-measure", factories.UnitOfMeasureFactory, "unitofmeasure", {"code": "BOX"}, {"description": "Box"}),
    ("salespeople", factories.SalespersonFactory, "salesperson", {"code": "JR", "name": "John Roberts"},
     {"email": "jr@example.com"}),
    ("payment-terms", factories.PaymentTermsFactory, "paymentterms", {"code": "14 DAYS", "due_date_days": 14},
     {"description": "Net 14"}),
    ("shipment-methods", factories.ShipmentMethodFactory, "shipmentmethod", {"code": "EXW"},
     {"description": "Ex works"}),
    ("shipping-agents", factories.ShippingAgentFactory, "shippingagent", {"code": "DHL"}, {"description": "DHL"}),
    ("customer-price-groups", factories.CustomerPriceGroupFactory, "customerpricegroup", {"code": "RETAIL"},
     {"description": "Retail"}),
]  # fmt: skip


@pytest.mark.parametrize("client_for", [token_client, session_client], ids=["token", "session"])
@pytest.mark.parametrize(("endpoint", "factory", "model_name", "new", "change"), CODE_TABLES, ids=lambda v: "")
def test_code_table_crud(client_for, endpoint, factory, model_name, new, change):
    existing = factory()
    client = client_for(*crud_perms(model_name))
    model = factory._meta.model

    listed = client.get(f"{API}/{endpoint}/")
    assert listed.status_code == 200
    assert [row["code"] for row in listed.json()["results"]] == [existing.code]
    row = listed.json()["results"][0]
    assert row["system_id"] == str(existing.system_id)
    assert "id" not in row and "pk" not in row

    created = client.post(f"{API}/{endpoint}/", new, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["code"] == new["code"]
    record = model.objects.get(code=new["code"])
    assert created.json()["system_id"] == str(record.system_id)

    url = f"{API}/{endpoint}/{new['code']}/"
    assert client.get(url).json()["system_id"] == str(record.system_id)

    updated = client.patch(url, change, format="json")
    assert updated.status_code == 200, updated.json()
    record.refresh_from_db()
    for name, value in change.items():
        assert getattr(record, name) == value
        assert updated.json()[name] == value

    assert client.delete(url).status_code == 204
    assert not model.objects.filter(code=new["code"]).exists()
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(("endpoint", "factory", "model_name", "new", "change"), CODE_TABLES, ids=lambda v: "")
def test_code_table_refuses_a_duplicate_code_and_saves_nothing(endpoint, factory, model_name, new, change):
    factory(**{"code": new["code"]})
    client = token_client(*crud_perms(model_name))
    response = client.post(f"{API}/{endpoint}/", new, format="json")
    assert response.status_code == 400
    assert "code" in response.json()
    assert factory._meta.model.objects.filter(code=new["code"]).count() == 1


def test_codes_are_stored_upper_case_and_may_contain_dots_and_spaces():
    client = token_client(*crud_perms("unitofmeasure"))
    response = client.post(f"{API}/units-of-measure/", {"code": " 1.5 l "}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["code"] == "1.5 L"
    assert client.get(f"{API}/units-of-measure/1.5 L/").status_code == 200


def test_invalid_code_is_a_field_error():
    response = token_client(*crud_perms("currency")).post(
        f"{API}/currencies/", {"code": "EURO", "description": "Too long"}, format="json"
    )
    assert response.status_code == 400
    assert "code" in response.json()
    assert not models.Currency.objects.exists()


# --- Exchange rates (nested under their currency) ---------------------------------------------


def test_exchange_rates_nested_under_the_currency():
    currency = factories.CurrencyFactory(code="XTS")
    other = factories.CurrencyExchangeRateFactory(exchange_rate=Decimal("9"))
    client = token_client(*crud_perms("currencyexchangerate"))
    url = f"{API}/currencies/XTS/exchange-rates/"

    created = client.post(url, {"starting_date": "2026-01-01", "exchange_rate": "1.250000"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json() == {"currency": "XTS", "starting_date": "2026-01-01", "exchange_rate": "1.250000"}
    assert currency.exchange_rates.get().exchange_rate == Decimal("1.25")

    listed = client.get(url).json()["results"]
    assert [row["starting_date"] for row in listed] == ["2026-01-01"]  # not the other currency's rate

    assert client.patch(f"{url}2026-01-01/", {"exchange_rate": "1.3"}, format="json").status_code == 200
    assert currency.exchange_rates.get().exchange_rate == Decimal("1.3")
    assert client.get(f"{url}2026-02-30/").status_code == 404
    assert client.get(f"{API}/currencies/{other.currency.code}/exchange-rates/2026-01-01/").status_code == 404
    assert client.delete(f"{url}2026-01-01/").status_code == 204
    assert not currency.exchange_rates.exists()


def test_exchange_rate_must_be_positive_and_unique_per_date():
    rate = factories.CurrencyExchangeRateFactory(starting_date="2026-01-01")
    client = token_client(*crud_perms("currencyexchangerate"))
    url = f"{API}/currencies/{rate.currency.code}/exchange-rates/"
    zero = client.post(url, {"starting_date": "2026-02-01", "exchange_rate": "0"}, format="json")
    assert zero.status_code == 400
    assert "exchange_rate" in zero.json()
    duplicate = client.post(url, {"starting_date": "2026-01-01", "exchange_rate": "2"}, format="json")
    assert duplicate.status_code == 400
    assert "non_field_errors" in duplicate.json()
    assert models.CurrencyExchangeRate.objects.count() == 1


def test_exchange_rates_of_an_unknown_currency_are_404():
    client = token_client(*crud_perms("currencyexchangerate"))
    response = client.post(
        f"{API}/currencies/NOP/exchange-rates/", {"starting_date": "2026-01-01", "exchange_rate": "1"}, format="json"
    )
    assert response.status_code == 404
    assert not models.CurrencyExchangeRate.objects.exists()


def test_missing_parent_is_403_not_404_for_a_user_without_permission():
    response = token_client("erp.view_customer").get(f"{API}/currencies/NOP/exchange-rates/")
    assert response.status_code == 403


# --- Customers --------------------------------------------------------------------------------------


def test_customer_crud_with_references_by_business_key():
    factories.CurrencyFactory(code="XTS")
    factories.SalespersonFactory(code="JR")
    factories.PaymentTermsFactory(code="30 DAYS")
    client = token_client(*crud_perms("customer"))

    created = client.post(
        f"{API}/customers/",
        {"no": "c100", "name": "Adatum", "currency": "XTS", "salesperson": "JR", "payment_terms": "30 DAYS"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["no"], body["currency"], body["salesperson"], body["payment_terms"]) == (
        "C100",
        "XTS",
        "JR",
        "30 DAYS",
    )
    customer = models.Customer.objects.get(no="C100")
    assert customer.currency.code == "XTS"
    assert body["system_id"] == str(customer.system_id)

    updated = client.put(
        f"{API}/customers/C100/", {"no": "C100", "name": "Adatum Corp.", "currency": None}, format="json"
    )
    assert updated.status_code == 200, updated.json()
    customer.refresh_from_db()
    assert (customer.name, customer.currency) == ("Adatum Corp.", None)

    assert client.delete(f"{API}/customers/C100/").status_code == 204
    assert not models.Customer.objects.exists()


def test_customer_number_comes_from_the_series_when_left_empty():
    factories.NoSeriesFactory(code="CUST", prefix="C", width=5, last_number=0, increment_by=10)
    response = token_client(*crud_perms("customer")).post(f"{API}/customers/", {"name": "Numbered"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["no"] == "C00010"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"currency": "ZZZ"}, "currency", "There is no currency with code “ZZZ”."),
        ({"salesperson": "NOBODY"}, "salesperson", "There is no salesperson with code “NOBODY”."),
        ({"credit_limit_lcy": "-1"}, "credit_limit_lcy", "Ensure this value is greater than or equal to 0."),
        ({"blocked": "sometimes"}, "blocked", "“sometimes” is not a valid choice."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"name": ""}, "name", "This field may not be blank."),
    ],
)
def test_customer_invalid_input_is_400_with_the_field_and_nothing_saved(payload, field, message):
    response = token_client(*crud_perms("customer")).post(
        f"{API}/customers/", {"no": "CBAD", "name": "Bad", **payload}, format="json"
    )
    assert response.status_code == 400
    assert response.json()[field] == [message.replace("“sometimes”", '"sometimes"')]
    assert not models.Customer.objects.exists()


def test_customer_duplicate_no_is_400():
    factories.CustomerFactory(no="C1")
    response = token_client(*crud_perms("customer")).post(f"{API}/customers/", {"no": "C1", "name": "X"}, format="json")
    assert response.status_code == 400
    assert "no" in response.json()
    assert models.Customer.objects.count() == 1


def test_customer_rule_from_the_model_is_a_field_error():
    other = factories.CustomerFactory()
    contact = factories.CompanyContactFactory(customer=other)
    customer = factories.CustomerFactory()
    response = token_client(*crud_perms("customer")).patch(
        f"{API}/customers/{customer.no}/", {"primary_contact": contact.no}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"primary_contact": ["The primary contact belongs to another customer."]}
    customer.refresh_from_db()
    assert customer.primary_contact is None


def test_deleting_a_customer_in_use_is_409_with_the_reason():
    order = factories.SalesHeaderFactory()
    response = token_client(*crud_perms("customer")).delete(f"{API}/customers/{order.sell_to_customer.no}/")
    assert response.status_code == 409
    assert order.no in response.json()["detail"]
    assert models.Customer.objects.filter(pk=order.sell_to_customer.pk).exists()


# --- Contacts ----------------------------------------------------------------------------------------


def test_contact_person_at_a_company():
    company = factories.CompanyContactFactory(no="CT1")
    client = token_client(*crud_perms("contact"))
    created = client.post(
        f"{API}/contacts/",
        {"no": "CT2", "type": "person", "first_name": "Ann", "last_name": "Lee", "company": "CT1"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["company"] == "CT1"
    assert created.json()["display_name"] == "Ann Lee"
    assert models.Contact.objects.get(no="CT2").company == company


def test_contact_company_must_be_a_company_contact():
    person = factories.ContactFactory(no="CTP")
    response = token_client(*crud_perms("contact")).post(
        f"{API}/contacts/", {"no": "CT3", "type": "person", "last_name": "Lee", "company": person.no}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"company": ["There is no company contact with no “CTP”."]}
    assert not models.Contact.objects.filter(no="CT3").exists()


def test_contact_person_cannot_be_a_customer():
    customer = factories.CustomerFactory()
    response = token_client(*crud_perms("contact")).post(
        f"{API}/contacts/", {"no": "CT4", "type": "person", "last_name": "Lee", "customer": customer.no}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["customer"] == ["Only a company contact can be a customer; link the person to its company."]


# --- Items, their units of measure, resources, sales prices ----------------------------------------


def test_item_crud_with_units_of_measure():
    factories.UnitOfMeasureFactory(code="PCS")
    factories.UnitOfMeasureFactory(code="BOX")
    client = token_client(*crud_perms("item"), *crud_perms("itemunitofmeasure"))

    created = client.post(
        f"{API}/items/",
        {"no": "1000", "description": "Bicycle", "base_unit_of_measure": "PCS", "unit_price": "499.00"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["unit_price"] == "499.00"

    added = client.post(f"{API}/items/1000/units-of-measure/", {"unit_of_measure": "BOX", "qty_per_unit": "12"})
    assert added.status_code == 201, added.json()
    assert added.json() == {"item": "1000", "unit_of_measure": "BOX", "qty_per_unit": "12.00000"}
    item = client.get(f"{API}/items/1000/").json()
    assert {"unit_of_measure": "BOX", "item": "1000", "qty_per_unit": "12.00000"} in item["units_of_measure"]

    assert client.patch(f"{API}/items/1000/units-of-measure/BOX/", {"qty_per_unit": "6"}).status_code == 200
    assert models.ItemUnitOfMeasure.objects.get(item__no="1000", unit_of_measure__code="BOX").qty_per_unit == 6
    assert client.delete(f"{API}/items/1000/units-of-measure/BOX/").status_code == 204
    assert client.get(f"{API}/items/1000/units-of-measure/BOX/").status_code == 404
    assert client.get(f"{API}/items/NOPE/units-of-measure/").status_code == 404


def test_item_unit_of_measure_quantity_must_be_positive():
    item = factories.ItemFactory()
    factories.UnitOfMeasureFactory(code="BOX")
    response = token_client(*crud_perms("itemunitofmeasure")).post(
        f"{API}/items/{item.no}/units-of-measure/", {"unit_of_measure": "BOX", "qty_per_unit": "0"}
    )
    assert response.status_code == 400
    assert "qty_per_unit" in response.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"unit_price": "-5"}, "unit_price"),
        ({"unit_cost": "-0.01"}, "unit_cost"),
        ({"base_unit_of_measure": "NOPE"}, "base_unit_of_measure"),
        ({"base_unit_of_measure": None}, "base_unit_of_measure"),
        ({"type": "gadget"}, "type"),
    ],
)
def test_item_invalid_input_is_400_and_nothing_saved(payload, field):
    factories.UnitOfMeasureFactory(code="PCS")
    body = {"no": "1001", "description": "Bad", "base_unit_of_measure": "PCS", **payload}
    response = token_client(*crud_perms("item")).post(f"{API}/items/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not models.Item.objects.exists()


def test_deleting_an_item_on_an_order_is_409():
    line = factories.SalesLineFactory()
    response = token_client(*crud_perms("item")).delete(f"{API}/items/{line.item.no}/")
    assert response.status_code == 409
    assert "cannot be deleted" in response.json()["detail"]
    assert models.Item.objects.filter(pk=line.item.pk).exists()


def test_resource_crud():
    factories.UnitOfMeasureFactory(code="HOUR")
    client = token_client(*crud_perms("resource"))
    created = client.post(
        f"{API}/resources/",
        {"no": "R1", "name": "Consultant", "base_unit_of_measure": "HOUR", "unit_price": "80"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert client.patch(f"{API}/resources/R1/", {"capacity": "-1"}, format="json").status_code == 400
    assert client.patch(f"{API}/resources/R1/", {"capacity": "120"}, format="json").status_code == 200
    assert models.Resource.objects.get(no="R1").capacity == 120
    assert client.delete(f"{API}/resources/R1/").status_code == 204


def test_sales_price_crud_by_system_id():
    item = factories.ItemFactory(no="1000")
    group = factories.CustomerPriceGroupFactory(code="RETAIL")
    client = token_client(*crud_perms("salesprice"))
    created = client.post(
        f"{API}/sales-prices/",
        {"item": "1000", "sales_type": "customer_price_group", "sales_code": group.code, "unit_price": "450"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    price = models.SalesPrice.objects.get()
    assert (price.item, created.json()["system_id"]) == (item, str(price.system_id))

    url = f"{API}/sales-prices/{price.system_id}/"
    assert client.patch(url, {"unit_price": "440"}, format="json").json()["unit_price"] == "440.00"
    assert client.get(f"{API}/sales-prices/{uuid.uuid4()}/").status_code == 404
    assert client.get(f"{API}/sales-prices/{price.pk}/").status_code == 404  # never by internal id
    assert client.delete(url).status_code == 204


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sales_type": "customer_price_group", "sales_code": "NOPE"}, "sales_code"),
        ({"sales_type": "all_customers", "sales_code": "X"}, "sales_code"),
        ({"unit_price": "-1"}, "unit_price"),
        ({"currency": "ZZZ"}, "currency"),
        ({"starting_date": "2026-02-01", "ending_date": "2026-01-01"}, "ending_date"),
    ],
)
def test_sales_price_invalid_input_is_400(payload, field):
    factories.ItemFactory(no="1000")
    body = {"item": "1000", "sales_type": "all_customers", "unit_price": "1", **payload}
    response = token_client(*crud_perms("salesprice")).post(f"{API}/sales-prices/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not models.SalesPrice.objects.exists()

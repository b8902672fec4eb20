"""REST API lists: filters by business key, search, ordering, pagination, and a flat query count."""

import datetime
from decimal import Decimal

import pytest

from erp import models
from tests import factories
from tests.erp.api_support import API, token_client

pytestmark = pytest.mark.django_db


def nos(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["no"] for row in response.json()["results"]]


@pytest.fixture
def customers():
    jr = factories.SalespersonFactory(code="JR")
    eur = factories.CurrencyFactory(code="XTS")
    return [
        factories.CustomerFactory(no="C1", name="Zeta Bikes", city="Oslo", salesperson=jr, currency=eur),
        factories.CustomerFactory(no="C2", name="Alpha Cycles", city="Bergen", salesperson=jr),
        factories.CustomerFactory(no="C3", name="Mid Wheels", city="Oslo", blocked=models.Customer.Blocked.SHIP),
    ]


def test_customers_filter_by_salesperson_and_currency_codes(customers):
    client = token_client("erp.view_customer")
    assert nos(client.get(f"{API}/customers/", {"salesperson": "JR"})) == ["C1", "C2"]
    assert nos(client.get(f"{API}/customers/", {"salesperson": "jr", "currency": "XTS"})) == ["C1"]
    assert nos(client.get(f"{API}/customers/", {"blocked": "ship"})) == ["C3"]
    assert nos(client.get(f"{API}/customers/", {"city": "Oslo"})) == ["C1", "C3"]
    assert nos(client.get(f"{API}/customers/", {"salesperson": "NOBODY"})) == []


def test_invalid_filter_value_is_400(customers):
    response = token_client("erp.view_customer").get(f"{API}/customers/", {"blocked": "sometimes"})
    assert response.status_code == 400
    assert "blocked" in response.json()


def test_customers_modified_since(customers):
    models.Customer.objects.filter(no="C1").update(modified_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
    client = token_client("erp.view_customer")
    assert nos(client.get(f"{API}/customers/", {"modified_since": "2021-01-01T00:00:00Z"})) == ["C2", "C3"]


def test_search_and_ordering(customers):
    client = token_client("erp.view_customer")
    assert nos(client.get(f"{API}/customers/", {"search": "cycles"})) == ["C2"]
    assert nos(client.get(f"{API}/customers/", {"search": "oslo"})) == ["C1", "C3"]
    assert nos(client.get(f"{API}/customers/", {"ordering": "name"})) == ["C2", "C3", "C1"]
    assert nos(client.get(f"{API}/customers/", {"ordering": "-no"})) == ["C3", "C2", "C1"]
    # ordering by a field that is not offered is ignored, not an error
    assert nos(client.get(f"{API}/customers/", {"ordering": "-email"})) == ["C1", "C2", "C3"]


def test_pagination_with_page_size_and_its_cap():
    for n in range(7):
        factories.ItemFactory(no=f"I{n}")
    client = token_client("erp.view_item")
    first = client.get(f"{API}/items/", {"page_size": 3}).json()
    assert first["count"] == 7
    assert [row["no"] for row in first["results"]] == ["I0", "I1", "I2"]
    assert first["next"].endswith("/api/v1/items/?page=2&page_size=3")
    third = client.get(f"{API}/items/", {"page_size": 3, "page": 3}).json()
    assert [row["no"] for row in third["results"]] == ["I6"]
    assert third["next"] is None
    assert client.get(f"{API}/items/", {"page": 9}).status_code == 404

    for n in range(7, 501 + 1):
        factories.ItemFactory(no=f"I{n:04d}")
    capped = client.get(f"{API}/items/", {"page_size": 10000}).json()
    assert len(capped["results"]) == 500
    assert capped["count"] == 502


def test_default_page_size_is_50():
    models.UnitOfMeasure.objects.bulk_create([models.UnitOfMeasure(code=f"U{n:03d}") for n in range(60)])
    body = token_client("erp.view_unitofmeasure").get(f"{API}/units-of-measure/").json()
    assert len(body["results"]) == 50
    assert body["count"] == 60


def test_sales_orders_filter_by_customer_status_and_date_range():
    customer = factories.CustomerFactory(no="C1")
    factories.SalesHeaderFactory(no="SO1", sell_to_customer=customer, order_date=datetime.date(2026, 1, 5))
    factories.SalesHeaderFactory(
        no="SO2", sell_to_customer=customer, order_date=datetime.date(2026, 2, 5), status="released"
    )
    factories.SalesHeaderFactory(no="SO3", order_date=datetime.date(2026, 3, 5))
    client = token_client("erp.view_salesheader")
    assert nos(client.get(f"{API}/sales-orders/", {"sell_to_customer": "C1"})) == ["SO2", "SO1"]
    assert nos(client.get(f"{API}/sales-orders/", {"status": "released"})) == ["SO2"]
    assert nos(
        client.get(f"{API}/sales-orders/", {"order_date_after": "2026-02-01", "order_date_before": "2026-03-31"})
    ) == ["SO3", "SO2"]
    assert nos(client.get(f"{API}/sales-orders/", {"ordering": "order_date"})) == ["SO1", "SO2", "SO3"]


def test_sales_prices_filter_by_item_and_sales_code():
    item = factories.ItemFactory(no="1000")
    group = factories.CustomerPriceGroupFactory(code="RETAIL")
    wanted = factories.SalesPriceFactory(item=item, sales_type="customer_price_group", sales_code=group.code)
    factories.SalesPriceFactory(item=item)
    factories.SalesPriceFactory()
    client = token_client("erp.view_salesprice")
    rows = client.get(f"{API}/sales-prices/", {"item": "1000", "sales_code": "retail"}).json()["results"]
    assert [row["system_id"] for row in rows] == [str(wanted.system_id)]
    assert client.get(f"{API}/sales-prices/", {"item": "1000"}).json()["count"] == 2


def test_item_ledger_entries_filter_by_item_type_and_posting_date():
    item = factories.ItemFactory(no="1000")
    wanted = factories.ItemLedgerEntryFactory(item=item, posting_date=datetime.date(2026, 1, 10))
    factories.ItemLedgerEntryFactory(item=item, posting_date=datetime.date(2025, 1, 10))
    factories.ItemLedgerEntryFactory(
        item=item, entry_type="sale", quantity=Decimal("-1"), posting_date=datetime.date(2026, 1, 11)
    )
    factories.ItemLedgerEntryFactory(posting_date=datetime.date(2026, 1, 10))
    client = token_client("erp.view_itemledgerentry")
    response = client.get(
        f"{API}/item-ledger-entries/",
        {"item": "1000", "entry_type": "positive_adjmt", "posting_date_after": "2026-01-01"},
    )
    assert [row["entry_no"] for row in response.json()["results"]] == [wanted.pk]


def test_sales_lines_filter_by_item():
    order = factories.SalesHeaderFactory(no="SO1")
    factories.SalesLineFactory(order=order, line_no=10000, item=factories.ItemFactory(no="A"))
    factories.SalesLineFactory(order=order, line_no=20000, item=factories.ItemFactory(no="B"))
    rows = token_client("erp.view_salesline").get(f"{API}/sales-orders/SO1/lines/", {"item": "B"}).json()["results"]
    assert [row["line_no"] for row in rows] == [20000]


def test_contacts_filter_by_company(customers):
    company = factories.CompanyContactFactory(no="CT1")
    factories.ContactFactory(no="CT2", company=company)
    factories.ContactFactory(no="CT3")
    client = token_client("erp.view_contact")
    assert nos(client.get(f"{API}/contacts/", {"company": "CT1"})) == ["CT2"]
    assert nos(client.get(f"{API}/contacts/", {"type": "company"})) == ["CT1"]


@pytest.mark.parametrize(
    ("endpoint", "make", "perm"),
    [
        ("sales-orders", lambda: factories.SalesLineFactory(), "erp.view_salesheader"),
        (
            "customers",
            lambda: factories.CustomerFactory(salesperson=factories.SalespersonFactory()),
            "erp.view_customer",
        ),
        ("items", lambda: factories.ItemFactory(), "erp.view_item"),
        ("item-ledger-entries", lambda: factories.ItemLedgerEntryFactory(), "erp.view_itemledgerentry"),
        ("item-availability", lambda: factories.ItemFactory(), "erp.view_item"),
        ("sales-prices", lambda: factories.SalesPriceFactory(), "erp.view_salesprice"),
    ],
)
def test_list_query_count_does_not_grow_with_the_rows(django_assert_max_num_queries, endpoint, make, perm):
    client = token_client(perm)
    make()
    with django_assert_max_num_queries(12) as few:
        client.get(f"{API}/{endpoint}/")
    for _ in range(10):
        make()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"{API}/{endpoint}/")
    assert response.json()["count"] == 11

"""REST API: sales orders with their lines and actions, the item ledger and item availability."""

import datetime
from decimal import Decimal

import pytest

from erp import models
from tests import factories
from tests.erp.api_support import API, crud_perms, token_client

pytestmark = pytest.mark.django_db

ORDER_PERMS = [*crud_perms("salesheader"), *crud_perms("salesline")]
SHIP_PERMS = [*ORDER_PERMS, "erp.add_itemledgerentry"]


@pytest.fixture
def customer():
    return factories.CustomerFactory(
        no="C10", currency=factories.CurrencyFactory(code="XTS"), salesperson=factories.SalespersonFactory(code="JR")
    )


@pytest.fixture
def item():
    return factories.ItemFactory(no="1000", unit_price=Decimal("50.00"))


def test_create_order_copies_currency_and_salesperson_from_the_customer(customer):
    client = token_client(*ORDER_PERMS)
    response = client.post(
        f"{API}/sales-orders/", {"no": "SO1", "sell_to_customer": "C10", "order_date": "2026-03-01"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["no"], body["currency"], body["salesperson"], body["status"]) == ("SO1", "XTS", "JR", "open")
    assert body["lines"] == []
    assert body["amount"] == "0.00"
    assert models.SalesHeader.objects.get(no="SO1").sell_to_customer == customer


def test_order_number_and_date_default(customer):
    factories.NoSeriesFactory(code="SO", prefix="SO", width=5)
    response = token_client(*ORDER_PERMS).post(f"{API}/sales-orders/", {"sell_to_customer": "C10"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["no"] == "SO00010"
    assert response.json()["order_date"] == datetime.date.today().isoformat()


def test_blocked_customer_cannot_order_and_nothing_is_saved():
    factories.CustomerFactory(no="CBLK", blocked=models.Customer.Blocked.ALL)
    response = token_client(*ORDER_PERMS).post(
        f"{API}/sales-orders/", {"no": "SO2", "sell_to_customer": "CBLK"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "sell_to_customer": ["Customer CBLK is blocked for all transactions; no new order can be created."]
    }
    assert not models.SalesHeader.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sell_to_customer": "NOPE"}, "sell_to_customer"),
        ({"sell_to_customer": None}, "sell_to_customer"),
        ({"order_date": "yesterday"}, "order_date"),
        ({"currency": "ZZZ"}, "currency"),
        ({"order_date": "2026-03-02", "requested_delivery_date": "2026-03-01"}, "requested_delivery_date"),
    ],
)
def test_invalid_order_is_400(customer, payload, field):
    body = {"no": "SO3", "sell_to_customer": "C10", **payload}
    response = token_client(*ORDER_PERMS).post(f"{API}/sales-orders/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not models.SalesHeader.objects.exists()


def test_status_is_changed_by_actions_only(customer):
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    response = token_client(*ORDER_PERMS).patch(
        f"{API}/sales-orders/{order.no}/", {"status": "released", "your_reference": "PO-1"}, format="json"
    )
    # status is read-only; the rest of the change applies
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.your_reference) == ("open", "PO-1")


def test_lines_nested_under_the_order_get_defaults_and_amounts(customer, item):
    order = factories.SalesHeaderFactory(no="SO5", sell_to_customer=customer, currency=None)
    client = token_client(*ORDER_PERMS)
    url = f"{API}/sales-orders/SO5/lines/"

    first = client.post(url, {"type": "item", "item": "1000", "quantity": "3", "line_discount_pct": "10"})
    assert first.status_code == 201, first.json()
    line = first.json()
    assert (line["order"], line["line_no"], line["description"]) == ("SO5", 10000, item.description)
    assert (line["unit_price"], line["line_discount_amount"], line["line_amount"]) == ("50.00", "15.00", "135.00")
    assert line["unit_of_measure"] == item.base_unit_of_measure.code

    second = client.post(url, {"type": "comment", "description": "Deliver to the back door"})
    assert second.status_code == 201, second.json()
    assert second.json()["line_no"] == 20000

    order_body = client.get(f"{API}/sales-orders/SO5/").json()
    assert [row["line_no"] for row in order_body["lines"]] == [10000, 20000]
    assert order_body["amount"] == "135.00"

    changed = client.patch(f"{url}10000/", {"quantity": "4"})
    assert changed.status_code == 200, changed.json()
    assert changed.json()["line_amount"] == "180.00"

    assert client.delete(f"{url}20000/").status_code == 204
    assert list(order.lines.values_list("line_no", flat=True)) == [10000]
    assert client.get(f"{API}/sales-orders/NOPE/lines/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "item"}, "item"),
        ({"type": "item", "item": "NOPE"}, "item"),
        ({"type": "item", "item": "1000", "quantity": "-1"}, "quantity"),
        ({"type": "item", "item": "1000", "quantity": "1", "unit_price": "-2"}, "unit_price"),
        ({"type": "item", "item": "1000", "quantity": "1", "line_discount_pct": "101"}, "line_discount_pct"),
        ({"type": "comment", "quantity": "1"}, "quantity"),
    ],
)
def test_invalid_line_is_400_and_nothing_saved(customer, item, payload, field):
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    response = token_client(*ORDER_PERMS).post(f"{API}/sales-orders/{order.no}/lines/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not order.lines.exists()


def test_blocked_item_cannot_go_on_a_line(customer):
    factories.ItemFactory(no="BLK", blocked=True)
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    response = token_client(*ORDER_PERMS).post(
        f"{API}/sales-orders/{order.no}/lines/", {"type": "item", "item": "BLK", "quantity": "1"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"item": ["Item BLK is blocked."]}


def test_release_and_reopen(customer, item):
    order = factories.SalesHeaderFactory(no="SO6", sell_to_customer=customer, currency=None)
    factories.SalesLineFactory(order=order, item=item, line_no=10000)
    client = token_client(*ORDER_PERMS)

    released = client.post(f"{API}/sales-orders/SO6/release/")
    assert released.status_code == 200, released.json()
    assert released.json()["status"] == "released"
    order.refresh_from_db()
    assert order.status == "released"

    locked = client.patch(f"{API}/sales-orders/SO6/lines/10000/", {"quantity": "5"}, format="json")
    assert locked.status_code == 400
    assert "released" in locked.json()["non_field_errors"][0]
    assert client.post(f"{API}/sales-orders/SO6/lines/", {"type": "comment"}).status_code == 400
    assert order.lines.count() == 1

    reopened = client.post(f"{API}/sales-orders/SO6/reopen/")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert client.patch(f"{API}/sales-orders/SO6/lines/10000/", {"quantity": "5"}, format="json").status_code == 200


def test_release_of_an_empty_order_is_400(customer):
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    response = token_client(*ORDER_PERMS).post(f"{API}/sales-orders/{order.no}/release/")
    assert response.status_code == 400
    assert "nothing to release" in response.json()["non_field_errors"][0]
    order.refresh_from_db()
    assert order.status == "open"


def test_actions_need_the_change_permission(customer, item):
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    factories.SalesLineFactory(order=order, item=item)
    client = token_client("erp.view_salesheader", "erp.add_salesheader")
    for action in ("release", "reopen", "post-shipment"):
        response = client.post(f"{API}/sales-orders/{order.no}/{action}/")
        assert response.status_code == 403, action
    # posting a shipment writes the item ledger as well
    assert token_client(*ORDER_PERMS).post(f"{API}/sales-orders/{order.no}/post-shipment/").status_code == 403
    assert token_client().post(f"{API}/sales-orders/NOPE/release/").status_code == 403
    order.refresh_from_db()
    assert order.status == "open"


def test_actions_on_an_unknown_order_are_404():
    assert token_client(*SHIP_PERMS).post(f"{API}/sales-orders/NOPE/post-shipment/").status_code == 404


def test_actions_only_accept_post(customer):
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    response = token_client(*ORDER_PERMS).get(f"{API}/sales-orders/{order.no}/release/")
    assert response.status_code == 405


def test_post_shipment_writes_sale_entries_and_ships_the_lines(customer, item):
    factories.ItemLedgerEntryFactory(item=item, quantity=Decimal("10"))
    order = factories.SalesHeaderFactory(no="SO7", sell_to_customer=customer)
    line = factories.SalesLineFactory(order=order, item=item, quantity=Decimal("4"), line_no=10000)
    client = token_client(*SHIP_PERMS)

    response = client.post(f"{API}/sales-orders/SO7/post-shipment/", {"posting_date": "2026-04-01"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["order"]["status"] == "released"
    assert body["order"]["lines"][0]["quantity_shipped"] == "4.00000"
    [entry] = body["item_ledger_entries"]
    assert (entry["item"], entry["entry_type"], entry["quantity"]) == ("1000", "sale", "-4.00000")
    assert (entry["posting_date"], entry["sales_order"], entry["sales_line_no"]) == ("2026-04-01", "SO7", 10000)
    line.refresh_from_db()
    assert line.quantity_shipped == 4

    again = client.post(f"{API}/sales-orders/SO7/post-shipment/")
    assert again.status_code == 400
    assert "nothing to ship" in again.json()["non_field_errors"][0]
    assert models.ItemLedgerEntry.objects.filter(entry_type="sale").count() == 1


def test_the_sales_group_posts_a_shipment(customer, item):
    # The endpoint needs erp.add_itemledgerentry besides erp.change_salesheader; the Sales role has both.
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    line = factories.SalesLineFactory(order=order, item=item, quantity=Decimal("2"))
    client = token_client(user=factories.UserFactory(groups=["Sales"]))
    response = client.post(f"{API}/sales-orders/{order.no}/post-shipment/")
    assert response.status_code == 200, response.json()
    line.refresh_from_db()
    assert line.quantity_shipped == 2
    assert models.ItemLedgerEntry.objects.get(sales_line=line).quantity == -2


def test_post_shipment_refuses_a_customer_blocked_for_shipping(item):
    customer = factories.CustomerFactory(blocked=models.Customer.Blocked.SHIP)
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    factories.SalesLineFactory(order=order, item=item)
    response = token_client(*SHIP_PERMS).post(f"{API}/sales-orders/{order.no}/post-shipment/")
    assert response.status_code == 400
    assert "blocked for shipping" in response.json()["non_field_errors"][0]
    assert not models.ItemLedgerEntry.objects.exists()


def test_post_shipment_rejects_a_bad_posting_date(customer, item):
    order = factories.SalesHeaderFactory(sell_to_customer=customer)
    factories.SalesLineFactory(order=order, item=item)
    response = token_client(*SHIP_PERMS).post(
        f"{API}/sales-orders/{order.no}/post-shipment/", {"posting_date": "someday"}, format="json"
    )
    assert response.status_code == 400
    assert "posting_date" in response.json()


def test_deleting_an_order_deletes_its_lines_unless_shipped(customer, item):
    open_order = factories.SalesHeaderFactory(sell_to_customer=customer)
    factories.SalesLineFactory(order=open_order, item=item)
    shipped_order = factories.SalesHeaderFactory(sell_to_customer=customer)
    factories.SalesLineFactory(order=shipped_order, item=item, quantity=Decimal("2"), quantity_shipped=Decimal("2"))
    client = token_client(*ORDER_PERMS)

    assert client.delete(f"{API}/sales-orders/{open_order.no}/").status_code == 204
    assert not models.SalesLine.objects.filter(order_id=open_order.pk).exists()

    refused = client.delete(f"{API}/sales-orders/{shipped_order.no}/")
    assert refused.status_code == 409
    assert refused.json() == {"detail": f"Sales order {shipped_order.no} has shipped lines and cannot be deleted."}
    assert models.SalesHeader.objects.filter(pk=shipped_order.pk).exists()


# --- Item ledger --------------------------------------------------------------------------------


def test_item_ledger_entries_are_posted_and_read(item):
    client = token_client("erp.view_itemledgerentry", "erp.add_itemledgerentry")
    response = client.post(
        f"{API}/item-ledger-entries/",
        {"item": "1000", "entry_type": "positive_adjmt", "quantity": "7", "posting_date": "2026-01-15"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    entry = models.ItemLedgerEntry.objects.get()
    assert response.json()["entry_no"] == entry.pk
    assert response.json()["sales_order"] is None
    assert client.get(f"{API}/item-ledger-entries/{entry.pk}/").json()["quantity"] == "7.00000"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"entry_type": "sale", "quantity": "5"}, "quantity"),
        ({"entry_type": "purchase", "quantity": "0"}, "quantity"),
        ({"entry_type": "gift", "quantity": "1"}, "entry_type"),
        ({"item": "NOPE"}, "item"),
        ({"posting_date": None}, "posting_date"),
    ],
)
def test_invalid_item_ledger_entry_is_400(item, payload, field):
    body = {"item": "1000", "entry_type": "purchase", "quantity": "1", "posting_date": "2026-01-15", **payload}
    response = token_client("erp.add_itemledgerentry").post(f"{API}/item-ledger-entries/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not models.ItemLedgerEntry.objects.exists()


def test_item_ledger_entries_cannot_be_changed_or_deleted():
    entry = factories.ItemLedgerEntryFactory()
    client = token_client(*crud_perms("itemledgerentry"))
    url = f"{API}/item-ledger-entries/{entry.pk}/"
    assert client.patch(url, {"quantity": "1"}, format="json").status_code == 405
    assert client.put(url, {"quantity": "1"}, format="json").status_code == 405
    response = client.delete(url)
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.'}
    assert models.ItemLedgerEntry.objects.get().quantity == entry.quantity


# --- Item availability -----------------------------------------------------------------------------


def test_item_availability_subtracts_outstanding_sales(customer, item):
    factories.ItemLedgerEntryFactory(item=item, quantity=Decimal("10"), posting_date=datetime.date(2026, 1, 1))
    early = factories.SalesHeaderFactory(sell_to_customer=customer, order_date=datetime.date(2026, 2, 1))
    factories.SalesLineFactory(order=early, item=item, quantity=Decimal("3"))
    late = factories.SalesHeaderFactory(sell_to_customer=customer, order_date=datetime.date(2026, 6, 1))
    factories.SalesLineFactory(order=late, item=item, quantity=Decimal("4"))
    other = factories.ItemFactory(no="2000")
    client = token_client("erp.view_item")

    rows = {row["no"]: row for row in client.get(f"{API}/item-availability/").json()["results"]}
    assert set(rows) == {"1000", "2000"}
    assert (rows["1000"]["inventory"], rows["1000"]["outstanding_sales_qty"], rows["1000"]["available_qty"]) == (
        "10.00000",
        "7.00000",
        "3.00000",
    )
    assert rows["2000"]["available_qty"] == "0.00000"
    assert rows["2000"]["base_unit_of_measure"] == other.base_unit_of_measure.code

    as_of = client.get(f"{API}/item-availability/1000/", {"as_of": "2026-03-01"}).json()
    assert (as_of["outstanding_sales_qty"], as_of["available_qty"]) == ("3.00000", "7.00000")


def test_item_availability_rejects_a_bad_date():
    response = token_client("erp.view_item").get(f"{API}/item-availability/", {"as_of": "01/03/2026"})
    assert response.status_code == 400
    assert response.json() == {"as_of": ["“01/03/2026” is not a date; use YYYY-MM-DD."]}


def test_item_availability_is_read_only(item):
    client = token_client(*crud_perms("item"))
    assert client.post(f"{API}/item-availability/", {"no": "X"}, format="json").status_code == 405
    assert client.delete(f"{API}/item-availability/1000/").status_code == 405


def test_item_availability_orders_by_available_quantity(item):
    factories.ItemLedgerEntryFactory(item=item, quantity=Decimal("5"))
    factories.ItemLedgerEntryFactory(item=factories.ItemFactory(no="2000"), quantity=Decimal("9"))
    response = token_client("erp.view_item").get(f"{API}/item-availability/", {"ordering": "-available_qty"})
    assert [row["no"] for row in response.json()["results"]] == ["2000", "1000"]

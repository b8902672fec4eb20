"""The sales order page: line editing (plain and htmx), release / reopen / post shipment; item availability."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from erp.models import Customer, ItemLedgerEntry, SalesHeader, SalesLine
from tests.erp.pages_support import client_with, messages_of
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    ItemLedgerEntryFactory,
    SalesHeaderFactory,
    SalesLineFactory,
    SalesPriceFactory,
)

pytestmark = pytest.mark.django_db

SALES = ("erp.view_salesheader", "erp.change_salesheader", "erp.add_salesline", "erp.change_salesline")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def order():
    return SalesHeaderFactory()


@pytest.fixture
def sales_client():
    return client_with(*SALES, "erp.delete_salesline")


def line_data(**fields):
    return {"type": "item", "quantity": "", "unit_price": "", "line_discount_pct": "", "description": "", **fields}


def test_order_page_shows_header_lines_and_totals(order, sales_client):
    SalesLineFactory(order=order, quantity=Decimal("2"), unit_price=Decimal("10.00"))
    SalesLineFactory(order=order, quantity=Decimal("1"), unit_price=Decimal("5.50"))
    response = sales_client.get(order.get_absolute_url())
    page = response.content.decode()
    assert order.sell_to_customer.name in page
    assert 'data-testid="total-amount">25.50<' in page
    assert response.context["totals"]["lines"] == 2
    assert "Add a line" in page


def test_add_a_line_through_the_service_with_the_best_price(order, sales_client):
    item = ItemFactory(unit_price=Decimal("100.00"))
    SalesPriceFactory(item=item, unit_price=Decimal("80.00"))
    url = reverse("erp:salesorder_line_create", args=[order.pk])
    response = sales_client.post(url, line_data(item=item.pk, quantity="3", line_discount_pct="10"))
    assert response.status_code == 302
    line = SalesLine.objects.get(order=order)
    assert (line.line_no, line.unit_price, line.line_amount) == (10000, Decimal("80.00"), Decimal("216.00"))
    assert line.description == item.description


def test_add_a_line_with_htmx_returns_the_lines_partial(order, sales_client):
    item = ItemFactory(unit_price=Decimal("12.00"))
    url = reverse("erp:salesorder_line_create", args=[order.pk])
    response = sales_client.post(url, line_data(item=item.pk, quantity="2"), **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and 'id="order-lines"' in page
    assert 'data-testid="total-amount">24.00<' in page
    assert "Line 10000 added." in page


def test_an_invalid_line_shows_errors_keeps_the_input_and_saves_nothing(order, sales_client):
    url = reverse("erp:salesorder_line_create", args=[order.pk])
    response = sales_client.post(url, line_data(quantity="4", description="Typed by hand"), **HTMX)
    assert response.status_code == 200
    assert "An item line needs an item." in response.context["line_form"].errors["item"]
    assert 'value="Typed by hand"' in response.content.decode()
    assert not SalesLine.objects.exists()


def test_a_service_refusal_on_a_line_shows_on_the_form(order, sales_client):
    blocked = ItemFactory(blocked=True)
    response = sales_client.post(
        reverse("erp:salesorder_line_create", args=[order.pk]), line_data(item=blocked.pk, quantity="1")
    )
    assert f"Item {blocked.no} is blocked." in response.context["line_form"].errors["item"]
    assert not SalesLine.objects.exists()


def test_edit_a_line(order, sales_client):
    line = SalesLineFactory(order=order, quantity=Decimal("1"), item=ItemFactory(unit_price=Decimal("10.00")))
    editing = sales_client.get(order.get_absolute_url(), {"edit_line": line.pk}, **HTMX)
    assert f"Edit line {line.line_no}" in editing.content.decode()
    response = sales_client.post(
        reverse("erp:salesorder_line_edit", args=[order.pk, line.pk]),
        line_data(item=line.item_id, quantity="4", unit_price="10.00", line_discount_pct="50", description="Renamed"),
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.quantity, line.line_amount, line.description) == (Decimal("4"), Decimal("20.00"), "Renamed")


def test_delete_a_line(order, sales_client):
    line = SalesLineFactory(order=order)
    response = sales_client.post(reverse("erp:salesorder_line_delete", args=[order.pk, line.pk]), **HTMX)
    assert response.status_code == 200
    assert f"Line {line.line_no} deleted." in response.content.decode()
    assert not SalesLine.objects.exists()


def test_line_editing_needs_the_line_permissions(order):
    line = SalesLineFactory(order=order)
    viewer = client_with("erp.view_salesheader")
    page = viewer.get(order.get_absolute_url()).content.decode()
    assert "Add a line" not in page and "Release" not in page
    assert viewer.post(reverse("erp:salesorder_line_create", args=[order.pk]), line_data()).status_code == 403
    assert viewer.post(reverse("erp:salesorder_line_delete", args=[order.pk, line.pk])).status_code == 403
    assert viewer.post(reverse("erp:salesorder_release", args=[order.pk])).status_code == 403
    assert SalesLine.objects.filter(pk=line.pk).exists()


def test_lines_of_a_released_order_are_read_only_and_the_service_refuses_changes(sales_client):
    order = SalesHeaderFactory(status=SalesHeader.Status.RELEASED)
    line = SalesLineFactory(order=order)
    page = sales_client.get(order.get_absolute_url()).content.decode()
    assert "Add a line" not in page and "reopen it to change its lines" in page
    response = sales_client.post(reverse("erp:salesorder_line_delete", args=[order.pk, line.pk]), follow=True)
    assert any("is released" in m for m in messages_of(response))
    assert SalesLine.objects.filter(pk=line.pk).exists()


def test_release_reopen_and_post_shipment_from_the_page(order, sales_client):
    line = SalesLineFactory(order=order, quantity=Decimal("3"))
    response = sales_client.post(reverse("erp:salesorder_release", args=[order.pk]), follow=True)
    assert f"Sales order {order.no} released." in messages_of(response)
    order.refresh_from_db()
    assert order.status == SalesHeader.Status.RELEASED

    sales_client.post(reverse("erp:salesorder_reopen", args=[order.pk]))
    order.refresh_from_db()
    assert order.status == SalesHeader.Status.OPEN

    response = sales_client.post(
        reverse("erp:salesorder_post_shipment", args=[order.pk]), {"posting_date": "2025-06-30"}, follow=True
    )
    assert any("Shipment of sales order" in m for m in messages_of(response))
    line.refresh_from_db()
    assert line.quantity_shipped == Decimal("3")
    entry = ItemLedgerEntry.objects.get(sales_line=line)
    assert (entry.quantity, entry.posting_date) == (Decimal("-3"), datetime.date(2025, 6, 30))


def test_post_shipment_refusals_and_bad_dates_are_messages(sales_client):
    order = SalesHeaderFactory(sell_to_customer=CustomerFactory(blocked=Customer.Blocked.SHIP))
    SalesLineFactory(order=order)
    url = reverse("erp:salesorder_post_shipment", args=[order.pk])
    assert any("blocked for shipping" in m for m in messages_of(sales_client.post(url, follow=True)))
    assert any("Posting date" in m for m in messages_of(sales_client.post(url, {"posting_date": "31/31"}, follow=True)))
    assert not ItemLedgerEntry.objects.exists()


def test_order_actions_need_the_csrf_token(order):
    SalesLineFactory(order=order)
    client = client_with(*SALES, client=Client(enforce_csrf_checks=True))
    assert client.post(reverse("erp:salesorder_release", args=[order.pk])).status_code == 403
    order.refresh_from_db()
    assert order.status == SalesHeader.Status.OPEN


# --- item availability --------------------------------------------------------------------------


def availability_rows(response):
    return {row.record.no: row.record for row in response.context["table"].paginated_rows}


def test_availability_page_shows_inventory_outstanding_and_available_as_of_a_date():
    today = timezone.localdate()
    item = ItemFactory()
    ItemLedgerEntryFactory(item=item, quantity=Decimal("10"), posting_date=today)
    SalesLineFactory(item=item, quantity=Decimal("3"), order=SalesHeaderFactory(order_date=today))
    later = SalesHeaderFactory(order_date=today, requested_delivery_date=today + datetime.timedelta(days=30))
    SalesLineFactory(item=item, quantity=Decimal("9"), order=later)
    client = client_with("erp.view_item")
    url = reverse("erp:item_availability")

    now = availability_rows(client.get(url))[item.no]
    assert (now.inventory, now.outstanding_sales_qty, now.available_qty) == (10, 3, 7)
    future = availability_rows(client.get(url, {"as_of": (today + datetime.timedelta(days=31)).isoformat()}))
    assert (future[item.no].outstanding_sales_qty, future[item.no].available_qty) == (12, -2)
    assert (
        "table-warning"
        in client.get(url, {"as_of": (today + datetime.timedelta(days=31)).isoformat()}).content.decode()
    )


def test_availability_page_search_and_shortage_filter():
    short = ItemFactory(description="Short widget")
    ItemLedgerEntryFactory(item=short, quantity=Decimal("1"))
    SalesLineFactory(item=short, quantity=Decimal("5"))
    plenty = ItemFactory(description="Plenty widget")
    ItemLedgerEntryFactory(item=plenty, quantity=Decimal("50"))
    client = client_with("erp.view_item")
    url = reverse("erp:item_availability")
    assert set(availability_rows(client.get(url, {"shortage": "true"}))) == {short.no}
    assert set(availability_rows(client.get(url, {"shortage": "false"}))) == {plenty.no}
    assert set(availability_rows(client.get(url, {"q": "plenty"}))) == {plenty.no}
    assert set(availability_rows(client.get(url, {"sort": "-available_qty"}))) == {short.no, plenty.no}
    ordered = [row.record.no for row in client.get(url, {"sort": "available_qty"}).context["table"].paginated_rows]
    assert ordered == [short.no, plenty.no]


def test_availability_page_with_a_bad_date_says_so_and_uses_today():
    client = client_with("erp.view_item")
    response = client.get(reverse("erp:item_availability"), {"as_of": "yesterday-ish"})
    assert response.status_code == 200
    assert response.context["as_of"] == timezone.localdate()
    assert "Enter a valid date." in response.content.decode()

"""Sales orders: create, lines, release/reopen, post shipment; and item ledger posting."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from erp import selectors, services
from erp.models import ItemLedgerEntry, SalesHeader, SalesLine
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal
JAN_5 = datetime.date(2026, 1, 5)


@pytest.fixture(autouse=True)
def so_series():
    factories.NoSeriesFactory(code="SO", prefix="SO", width=5)


@pytest.fixture
def order():
    return factories.SalesHeaderFactory(order_date=JAN_5)


def new_line(order, **fields):
    return services.sales_line_save(line=SalesLine(order=order, **fields))


# --- sales_order_create -----------------------------------------------------------------------


def test_sales_order_create_copies_currency_and_salesperson_from_the_customer():
    customer = factories.CustomerFactory(
        currency=factories.CurrencyFactory(), salesperson=factories.SalespersonFactory()
    )
    order = services.sales_order_create(sell_to_customer=customer, order_date=JAN_5, your_reference="PO-1")
    order.refresh_from_db()
    assert (order.no, order.status, order.order_date) == ("SO00010", "open", JAN_5)
    assert (order.currency, order.salesperson, order.your_reference) == (
        customer.currency,
        customer.salesperson,
        "PO-1",
    )


def test_sales_order_create_defaults_the_order_date_to_today():
    order = services.sales_order_create(sell_to_customer=factories.CustomerFactory())
    assert order.order_date == datetime.date.today()


def test_sales_order_create_refuses_a_customer_blocked_for_all():
    customer = factories.CustomerFactory(blocked="all")
    with pytest.raises(ValidationError) as error:
        services.sales_order_create(sell_to_customer=customer)
    assert error.value.message_dict["sell_to_customer"] == [
        f"Customer {customer.no} is blocked for all transactions; no new order can be created."
    ]
    assert not SalesHeader.objects.exists()


@pytest.mark.parametrize("blocked", ["ship", "invoice"])
def test_sales_order_create_accepts_a_customer_blocked_for_ship_or_invoice(blocked):
    assert services.sales_order_create(sell_to_customer=factories.CustomerFactory(blocked=blocked)).pk


def test_sales_order_create_refuses_a_released_status_and_an_early_delivery_date():
    customer = factories.CustomerFactory()
    with pytest.raises(ValidationError, match="A new order is open"):
        services.sales_order_create(sell_to_customer=customer, status="released")
    with pytest.raises(ValidationError, match="requested delivery date is before the order date"):
        services.sales_order_create(
            sell_to_customer=customer, order_date=JAN_5, requested_delivery_date=JAN_5 - datetime.timedelta(days=1)
        )


def test_record_save_of_a_header_keeps_status_changes_to_release_and_reopen(order):
    factories.SalesLineFactory(order=order)
    order.status = "released"
    with pytest.raises(ValidationError, match="Release or reopen the order with its actions"):
        services.record_save(instance=order)
    order.status = "open"
    released = services.sales_order_release(order=order)
    released.your_reference = "changed"
    with pytest.raises(ValidationError, match="is released; reopen it to change it"):
        services.record_save(instance=released)


def test_record_save_of_a_header_refuses_switching_to_a_blocked_customer(order):
    order.sell_to_customer = factories.CustomerFactory(blocked="all")
    with pytest.raises(ValidationError, match="blocked for all transactions"):
        services.record_save(instance=order)


# --- sales_line_save ----------------------------------------------------------------------------


def test_sales_line_save_fills_item_defaults_and_numbers_lines_in_steps_of_10000(order):
    item = factories.ItemFactory(description="Bicycle", unit_price=D("120.00"))
    first = new_line(order, type="item", item=item, quantity=D("3"))
    second = new_line(order, type="item", item=item, quantity=D("1"))
    assert (first.line_no, second.line_no) == (10000, 20000)
    assert first.description == "Bicycle"
    assert first.unit_of_measure == item.base_unit_of_measure
    assert first.unit_price == D("120.00")
    assert first.line_amount == D("360.00")


def test_sales_line_save_takes_the_best_sales_price(order):
    item = factories.ItemFactory(unit_price=D("120.00"))
    factories.SalesPriceFactory(item=item, unit_price=D("99.50"))
    factories.SalesPriceFactory(item=item, unit_price=D("80.00"), minimum_quantity=D("10"))
    assert new_line(order, type="item", item=item, quantity=D("2")).unit_price == D("99.50")
    line = new_line(order, type="item", item=item, quantity=D("10"))
    assert line.unit_price == D("80.00")
    line.quantity = D("2")
    assert services.sales_line_save(line=line).unit_price == D("99.50")


def test_sales_line_save_keeps_a_price_the_user_entered(order):
    item = factories.ItemFactory(unit_price=D("120.00"))
    line = new_line(order, type="item", item=item, quantity=D("2"), unit_price=D("111.00"))
    assert line.unit_price == D("111.00")
    line.quantity, line.unit_price = D("5"), D("105.00")
    assert services.sales_line_save(line=line).unit_price == D("105.00")


def test_sales_line_save_computes_discount_and_amount_rounded_to_cents(order):
    item = factories.ItemFactory()
    line = new_line(order, type="item", item=item, quantity=D("3.5"), unit_price=D("2.87"), line_discount_pct=D("12.5"))
    # 3.5 × 2.87 = 10.045 → 10.05; 12.5 % of it = 1.25625 → 1.26
    assert line.line_discount_amount == D("1.26")
    assert line.line_amount == D("8.79")
    stored = SalesLine.objects.get(pk=line.pk)
    assert (stored.line_discount_amount, stored.line_amount) == (D("1.26"), D("8.79"))


def test_sales_line_save_converts_the_lcy_price_to_the_order_currency():
    eur = factories.CurrencyFactory(code="EUR")
    factories.CurrencyExchangeRateFactory(
        currency=eur, starting_date=datetime.date(2025, 1, 1), exchange_rate=D("1.25")
    )
    order = factories.SalesHeaderFactory(order_date=JAN_5, currency=eur)
    item = factories.ItemFactory(unit_price=D("100.00"))
    assert new_line(order, type="item", item=item, quantity=D("1")).unit_price == D("80.00")
    factories.SalesPriceFactory(item=item, currency=eur, unit_price=D("77.00"))
    assert new_line(order, type="item", item=item, quantity=D("1")).unit_price == D("77.00")


def test_sales_line_save_asks_for_a_price_when_the_currency_has_no_rate():
    order = factories.SalesHeaderFactory(order_date=JAN_5, currency=factories.CurrencyFactory())
    with pytest.raises(ValidationError, match="There is no exchange rate"):
        new_line(order, type="item", item=factories.ItemFactory(), quantity=D("1"))


def test_sales_line_save_uses_an_alternative_unit_of_measure(order):
    item = factories.ItemFactory(unit_price=D("10.00"))
    box = factories.ItemUnitOfMeasureFactory(item=item, qty_per_unit=D("12")).unit_of_measure
    line = new_line(order, type="item", item=item, unit_of_measure=box, quantity=D("2"))
    assert (line.qty_per_unit_of_measure, line.unit_price, line.line_amount) == (D("12"), D("120.00"), D("240.00"))


def test_sales_line_save_refuses_a_unit_the_item_does_not_have(order):
    item = factories.ItemFactory()
    with pytest.raises(ValidationError) as error:
        new_line(order, type="item", item=item, unit_of_measure=factories.UnitOfMeasureFactory(code="PALLET"))
    assert error.value.message_dict["unit_of_measure"] == [f"PALLET is not a unit of measure of item {item.no}."]


def test_sales_line_save_fills_resource_defaults(order):
    resource = factories.ResourceFactory(name="Installation", unit_price=D("80.00"))
    line = new_line(order, type="resource", resource=resource, quantity=D("4"))
    assert (line.description, line.unit_of_measure, line.line_amount) == (
        "Installation",
        resource.base_unit_of_measure,
        D("320.00"),
    )


def test_sales_line_save_re_defaults_when_the_item_changes(order):
    line = new_line(order, type="item", item=factories.ItemFactory(description="Old"), quantity=D("1"))
    line.item = factories.ItemFactory(description="New", unit_price=D("7.00"))
    line = services.sales_line_save(line=line)
    assert (line.description, line.unit_price, line.unit_of_measure) == (
        "New",
        D("7.00"),
        line.item.base_unit_of_measure,
    )


def test_sales_line_save_accepts_a_comment_line(order):
    line = new_line(order, type="comment", description="Deliver to the back door")
    assert (line.line_no, line.line_amount, line.unit_of_measure) == (10000, D("0.00"), None)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"type": "item"}, "item", "An item line needs an item."),
        ({"type": "resource"}, "resource", "A resource line needs a resource."),
        ({"type": "comment", "quantity": D("1")}, "quantity", "A comment line has no quantity or price."),
        ({"type": "item", "quantity": D("-1")}, "quantity", "Must not be negative."),
        ({"type": "item", "unit_price": D("-1")}, "unit_price", "Must not be negative."),
        ({"type": "item", "line_discount_pct": D("101")}, "line_discount_pct", "The line discount cannot exceed 100%."),
    ],
)
def test_sales_line_save_refuses_inconsistent_lines(order, fields, field, message):
    if field != "item":
        fields = {"item": factories.ItemFactory(), **fields} if fields["type"] == "item" else fields
    with pytest.raises(ValidationError) as error:
        new_line(order, **fields)
    assert message in error.value.message_dict[field]
    assert not order.lines.exists()


def test_sales_line_save_refuses_a_type_that_does_not_match(order):
    with pytest.raises(ValidationError) as error:
        new_line(order, type="item", item=factories.ItemFactory(), resource=factories.ResourceFactory())
    assert error.value.message_dict["resource"] == ["An item line has no resource."]
    with pytest.raises(ValidationError) as error:
        new_line(order, type="resource", resource=factories.ResourceFactory(), item=factories.ItemFactory())
    assert error.value.message_dict["item"] == ["A resource line has no item."]


def test_sales_line_save_refuses_blocked_items_and_resources(order):
    item = factories.ItemFactory(blocked=True)
    with pytest.raises(ValidationError, match=f"Item {item.no} is blocked"):
        new_line(order, type="item", item=item, quantity=D("1"))
    resource = factories.ResourceFactory(blocked=True)
    with pytest.raises(ValidationError, match=f"Resource {resource.no} is blocked"):
        new_line(order, type="resource", resource=resource, quantity=D("1"))


def test_lines_change_only_on_an_open_order(order):
    line = new_line(order, type="item", item=factories.ItemFactory(), quantity=D("1"))
    services.sales_order_release(order=order)
    line.quantity = D("2")
    with pytest.raises(ValidationError, match=f"Sales order {order.no} is released; reopen it to change its lines"):
        services.sales_line_save(line=line)
    with pytest.raises(ValidationError, match="is released"):
        new_line(order, type="comment", description="late")
    with pytest.raises(ValidationError, match="is released"):
        services.sales_line_delete(line=line)
    services.sales_order_reopen(order=order)
    assert services.sales_line_save(line=line).quantity == D("2")


def test_sales_line_save_refuses_moving_a_line_to_another_order(order):
    line = new_line(order, type="item", item=factories.ItemFactory(), quantity=D("1"))
    line.order = factories.SalesHeaderFactory()
    with pytest.raises(ValidationError, match="cannot move to another order"):
        services.sales_line_save(line=line)


def test_a_shipped_line_keeps_its_item_and_at_least_its_shipped_quantity(order):
    factories.ItemLedgerEntryFactory()
    line = new_line(order, type="item", item=factories.ItemFactory(), quantity=D("3"))
    services.sales_order_post_shipment(order=order, posting_date=JAN_5)
    services.sales_order_reopen(order=order)
    line.refresh_from_db()
    line.item = factories.ItemFactory()
    with pytest.raises(ValidationError, match="The line has been shipped"):
        services.sales_line_save(line=line)
    line.refresh_from_db()
    line.quantity = D("2")
    with pytest.raises(ValidationError) as error:
        services.sales_line_save(line=line)
    assert "The quantity cannot be less than the quantity shipped (3.00000)." in error.value.message_dict["quantity"]
    line.refresh_from_db()
    line.quantity_shipped = D("0")  # a caller cannot reset what was shipped
    line.quantity = D("5")
    assert services.sales_line_save(line=line).quantity_shipped == D("3")
    with pytest.raises(ValidationError, match="has been shipped and cannot be deleted"):
        services.sales_line_delete(line=line)
    with pytest.raises(ValidationError, match="has shipped lines and cannot be deleted"):
        services.record_delete(instance=order)


def test_sales_line_delete_and_record_delete_remove_a_line(order):
    first = new_line(order, type="comment", description="one")
    second = new_line(order, type="comment", description="two")
    services.sales_line_delete(line=first)
    services.record_delete(instance=second)
    assert not order.lines.exists()


def test_record_save_routes_a_line_through_sales_line_save(order):
    line = services.record_save(
        instance=SalesLine(order=order, type="item", item=factories.ItemFactory(), quantity=D("1"))
    )
    assert (line.line_no, line.line_amount) == (10000, D("100.00"))


# --- release / reopen ---------------------------------------------------------------------------


def test_release_needs_a_line_with_a_quantity(order):
    new_line(order, type="comment", description="just a note")
    new_line(order, type="item", item=factories.ItemFactory(), quantity=D("0"))
    with pytest.raises(ValidationError, match=f"There is nothing to release for sales order {order.no}"):
        services.sales_order_release(order=order)
    order.refresh_from_db()
    assert order.status == "open"


def test_release_and_reopen_switch_the_status_and_bump_modified_at(order):
    new_line(order, type="resource", resource=factories.ResourceFactory(), quantity=D("1"))
    before = SalesHeader.objects.get(pk=order.pk).modified_at
    released = services.sales_order_release(order=order)
    assert SalesHeader.objects.get(pk=order.pk).status == "released"
    assert released.modified_at > before
    assert services.sales_order_release(order=released).status == "released"  # releasing twice is harmless
    assert services.sales_order_reopen(order=released).status == "open"
    assert SalesHeader.objects.get(pk=order.pk).status == "open"


def test_release_refuses_a_customer_blocked_for_all(order):
    new_line(order, type="item", item=factories.ItemFactory(), quantity=D("1"))
    order.sell_to_customer.blocked = "all"
    order.sell_to_customer.save()
    with pytest.raises(ValidationError, match="blocked for all transactions"):
        services.sales_order_release(order=order)


# --- post shipment ------------------------------------------------------------------------------


def test_post_shipment_writes_sale_entries_and_raises_quantity_shipped(order):
    item = factories.ItemFactory()
    factories.ItemLedgerEntryFactory(item=item, quantity=D("10"))
    box = factories.ItemUnitOfMeasureFactory(item=item, qty_per_unit=D("2")).unit_of_measure
    item_line = new_line(order, type="item", item=item, quantity=D("3"))
    box_line = new_line(order, type="item", item=item, quantity=D("1"), unit_of_measure=box)
    resource_line = new_line(order, type="resource", resource=factories.ResourceFactory(), quantity=D("2"))
    new_line(order, type="comment", description="note")
    before = SalesLine.objects.get(pk=item_line.pk).modified_at

    entries = services.sales_order_post_shipment(order=order, posting_date=JAN_5)

    assert sorted(e.quantity for e in entries) == [D("-3"), D("-2")]
    assert {(e.entry_type, e.document_no, e.posting_date) for e in entries} == {("sale", order.no, JAN_5)}
    assert {e.sales_line_id for e in entries} == {item_line.pk, box_line.pk}
    assert selectors.item_inventory(item=item) == D("5")
    for line in (item_line, box_line, resource_line):
        line.refresh_from_db()
        assert line.quantity_shipped == line.quantity
    assert item_line.modified_at > before
    order.refresh_from_db()
    assert order.status == "released"


def test_post_shipment_ships_only_what_is_outstanding(order):
    item = factories.ItemFactory()
    line = new_line(order, type="item", item=item, quantity=D("2"))
    services.sales_order_post_shipment(order=order)
    with pytest.raises(ValidationError, match=f"There is nothing to ship on sales order {order.no}"):
        services.sales_order_post_shipment(order=order)
    services.sales_order_reopen(order=order)
    line.refresh_from_db()
    line.quantity = D("5")
    services.sales_line_save(line=line)
    entries = services.sales_order_post_shipment(order=order)
    assert [e.quantity for e in entries] == [D("-3")]
    assert selectors.item_inventory(item=item) == D("-5")  # NAV allows negative inventory by default


@pytest.mark.parametrize("blocked", ["ship", "all"])
def test_post_shipment_refuses_a_customer_blocked_for_shipping(order, blocked):
    new_line(order, type="item", item=factories.ItemFactory(), quantity=D("1"))
    order.sell_to_customer.blocked = blocked
    order.sell_to_customer.save()
    with pytest.raises(ValidationError, match="is blocked for shipping"):
        services.sales_order_post_shipment(order=order)
    assert not ItemLedgerEntry.objects.exists()


def test_post_shipment_is_all_or_nothing(order):
    first = new_line(order, type="item", item=factories.ItemFactory(), quantity=D("1"))
    blocked_item = factories.ItemFactory()
    new_line(order, type="item", item=blocked_item, quantity=D("1"))
    blocked_item.blocked = True
    blocked_item.save()
    with pytest.raises(ValidationError, match=f"Item {blocked_item.no} on line 20000 is blocked"):
        services.sales_order_post_shipment(order=order)
    assert not ItemLedgerEntry.objects.exists()
    first.refresh_from_db()
    assert first.quantity_shipped == 0
    order.refresh_from_db()
    assert order.status == "open"


# --- item ledger --------------------------------------------------------------------------------


def test_item_ledger_post_adds_and_removes_stock():
    item = factories.ItemFactory()
    services.item_ledger_post(item=item, entry_type="purchase", quantity=D("7"), posting_date=JAN_5, document_no="P1")
    services.item_ledger_post(item=item, entry_type="negative_adjmt", quantity=D("-2"), posting_date=JAN_5)
    assert selectors.item_inventory(item=item) == D("5")


@pytest.mark.parametrize(
    ("entry_type", "quantity", "message"),
    [
        ("purchase", D("-1"), "A Purchase entry adds stock."),
        ("sale", D("1"), "A Sale entry removes stock."),
        ("positive_adjmt", D("0"), "An entry moves a quantity other than zero."),
    ],
)
def test_item_ledger_post_refuses_a_quantity_against_the_entry_type(entry_type, quantity, message):
    with pytest.raises(ValidationError) as error:
        services.item_ledger_post(
            item=factories.ItemFactory(), entry_type=entry_type, quantity=quantity, posting_date=JAN_5
        )
    assert error.value.message_dict["quantity"] == [message]


def test_item_ledger_post_refuses_a_blocked_item_and_an_unknown_entry_type():
    with pytest.raises(ValidationError, match="is blocked"):
        services.item_ledger_post(
            item=factories.ItemFactory(blocked=True), entry_type="purchase", quantity=D("1"), posting_date=JAN_5
        )
    with pytest.raises(ValidationError) as error:
        services.item_ledger_post(item=factories.ItemFactory(), entry_type="gift", quantity=D("1"), posting_date=JAN_5)
    assert "entry_type" in error.value.message_dict

"""Posting sales invoices: the posted invoice, the customer ledger entry, quantities invoiced, closed orders."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from erp import selectors, services
from erp.models import CustLedgerEntry, NoSeries, SalesHeader, SalesInvoiceHeader, SalesLine
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal
JAN_5 = datetime.date(2026, 1, 5)
FEB_1 = datetime.date(2026, 2, 1)


@pytest.fixture(autouse=True)
def series():
    factories.NoSeriesFactory(code="SO", prefix="SO", width=5)
    # Migration erp 0008 creates S-INV; a transactional test before this one may have flushed it.
    NoSeries.objects.get_or_create(code="S-INV", defaults={"prefix": "S-INV", "width": 6})


@pytest.fixture
def order():
    customer = factories.CustomerFactory(
        payment_terms=factories.PaymentTermsFactory(due_date_days=14),
        currency=factories.CurrencyFactory(code="EUR"),
        salesperson=factories.SalespersonFactory(),
    )
    return services.sales_order_create(
        sell_to_customer=customer, order_date=JAN_5, your_reference="PO-778", external_document_no="ORD-01001"
    )


def new_line(order, **fields):
    if fields.get("type") != "comment":
        fields.setdefault("unit_price", D("10.00"))  # in the order's currency (EUR has no exchange rate here)
    return services.sales_line_save(line=SalesLine(order=order, **fields))


def stocked_item():
    item = factories.ItemFactory()
    factories.ItemLedgerEntryFactory(item=item, quantity=D("100"))
    return item


def test_an_invoice_of_a_shipped_order_carries_the_order_over_and_leaves_an_open_ledger_entry(order):
    item_line = new_line(order, type="item", item=stocked_item(), quantity=D("3"), unit_price=D("10.00"))
    resource_line = new_line(
        order, type="resource", resource=factories.ResourceFactory(), quantity=D("2"), unit_price=D("80.00")
    )
    new_line(order, type="comment", description="Deliver to the back door")
    services.sales_order_post_shipment(order=order, posting_date=JAN_5)

    invoice = services.sales_order_post_invoice(order=order, posting_date=FEB_1)

    assert invoice.no == "S-INV000010"
    assert (invoice.order, invoice.order_no, invoice.sell_to_customer) == (order, order.no, order.sell_to_customer)
    assert (invoice.your_reference, invoice.external_document_no) == ("PO-778", "ORD-01001")
    assert (invoice.currency, invoice.salesperson) == (order.currency, order.salesperson)
    assert (invoice.posting_date, invoice.document_date, invoice.due_date) == (FEB_1, FEB_1, datetime.date(2026, 2, 15))
    assert invoice.amount == D("190.00")
    lines = list(invoice.lines.order_by("line_no"))
    assert [(line.order_line_no, line.type, line.quantity, line.line_amount) for line in lines] == [
        (item_line.line_no, "item", D("3"), D("30.00")),
        (resource_line.line_no, "resource", D("2"), D("160.00")),
    ]
    entry = CustLedgerEntry.objects.get(sales_invoice=invoice)
    assert (entry.customer, entry.document_type, entry.document_no) == (order.sell_to_customer, "invoice", invoice.no)
    assert (entry.amount, entry.remaining_amount, entry.open, entry.due_date) == (
        D("190.00"),
        D("190.00"),
        True,
        datetime.date(2026, 2, 15),
    )
    assert entry.currency == order.currency
    for line in (item_line, resource_line):
        line.refresh_from_db()
        assert line.quantity_invoiced == line.quantity
    order.refresh_from_db()
    assert order.status == SalesHeader.Status.CLOSED


def test_only_what_was_shipped_and_not_invoiced_is_invoiced_and_the_order_stays_open_until_all_is(order):
    new_line(order, type="item", item=stocked_item(), quantity=D("5"), unit_price=D("9.99"))
    services.sales_order_post_shipment(order=order)
    services.sales_order_reopen(order=order)
    new_line(order, type="item", item=stocked_item(), quantity=D("3"), unit_price=D("9.99"))  # ordered later

    first = services.sales_order_post_invoice(order=order)

    assert [(row.quantity, row.line_amount) for row in first.lines.all()] == [(D("5"), D("49.95"))]
    order.refresh_from_db()
    assert order.status != SalesHeader.Status.CLOSED
    with pytest.raises(ValidationError, match=f"There is nothing to invoice on sales order {order.no}"):
        services.sales_order_post_invoice(order=order)

    services.sales_order_post_shipment(order=order)
    second = services.sales_order_post_invoice(order=order)

    assert [(row.quantity, row.line_amount) for row in second.lines.all()] == [(D("3"), D("29.97"))]
    order.refresh_from_db()
    assert order.status == SalesHeader.Status.CLOSED


def test_partial_quantities_add_up_to_the_line_amount_to_the_cent(order):
    line = new_line(
        order, type="item", item=stocked_item(), quantity=D("3"), unit_price=D("3.33"), line_discount_pct=D("10")
    )
    assert (line.line_discount_amount, line.line_amount) == (D("1.00"), D("8.99"))
    services.sales_order_post_shipment(order=order)

    invoices = [services.sales_order_post_invoice(order=order, quantities={line.line_no: D("1")}) for _ in range(3)]

    amounts = [invoice.lines.get().line_amount for invoice in invoices]
    discounts = [invoice.lines.get().line_discount_amount for invoice in invoices]
    assert sum(amounts) == line.line_amount and sum(discounts) == line.line_discount_amount
    assert amounts[:2] == [D("3.00"), D("3.00")]
    line.refresh_from_db()
    assert line.quantity_invoiced == D("3")


@pytest.mark.parametrize(
    ("quantities", "message"),
    [
        ({990000: D("1")}, "has no line 990000 to invoice"),
        ({10000: D("-1")}, "Line 10000: a quantity to invoice cannot be negative."),
        ({10000: D("3")}, "Line 10000: 3 to invoice, but only 2 shipped and not yet invoiced."),
        ({10000: D("0")}, "There is nothing to invoice"),
    ],
)
def test_quantities_that_were_not_shipped_are_refused_and_nothing_is_posted(order, quantities, message):
    new_line(order, type="item", item=stocked_item(), quantity=D("2"))
    services.sales_order_post_shipment(order=order)

    with pytest.raises(ValidationError, match=message):
        services.sales_order_post_invoice(order=order, quantities=quantities)

    assert not SalesInvoiceHeader.objects.exists() and not CustLedgerEntry.objects.exists()


@pytest.mark.parametrize("blocked", ["invoice", "all"])
def test_a_customer_blocked_for_invoicing_cannot_be_invoiced(order, blocked):
    new_line(order, type="item", item=stocked_item(), quantity=D("1"))
    services.sales_order_post_shipment(order=order)
    order.sell_to_customer.blocked = blocked
    order.sell_to_customer.save()

    with pytest.raises(ValidationError, match="is blocked for invoicing"):
        services.sales_order_post_invoice(order=order)


def test_a_closed_order_cannot_be_reopened_released_changed_or_invoiced_again(order):
    line = new_line(order, type="item", item=stocked_item(), quantity=D("1"))
    services.sales_order_post_shipment(order=order)
    services.sales_order_post_invoice(order=order)
    order.refresh_from_db()

    for act in (
        lambda: services.sales_order_reopen(order=order),
        lambda: services.sales_order_release(order=order),
        lambda: services.sales_order_post_invoice(order=order),
        lambda: services.sales_line_save(line=SalesLine.objects.get(pk=line.pk)),
    ):
        with pytest.raises(ValidationError, match="fully invoiced and closed"):
            act()
    order.your_reference = "changed"
    with pytest.raises(ValidationError, match="fully invoiced and closed"):
        services.record_save(instance=order)


def test_invoice_numbers_come_from_the_series_the_sales_setup_names(order):
    factories.NoSeriesFactory(code="INV-2026", prefix="26-", width=4, increment_by=1)
    setup = selectors.sales_setup()
    setup.posted_invoice_nos = "INV-2026"
    setup.save()
    new_line(order, type="item", item=stocked_item(), quantity=D("1"))
    services.sales_order_post_shipment(order=order)

    assert services.sales_order_post_invoice(order=order).no == "26-0001"


def test_an_invoice_fails_clearly_when_its_number_series_is_missing(order):
    NoSeries.objects.filter(code="S-INV").delete()
    new_line(order, type="item", item=stocked_item(), quantity=D("1"))
    services.sales_order_post_shipment(order=order)

    with pytest.raises(ValidationError, match="There is no number series S-INV"):
        services.sales_order_post_invoice(order=order)

    line = order.lines.get()
    assert line.quantity_invoiced == 0

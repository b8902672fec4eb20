"""REST API: posting an order's invoice, posted sales invoices and the customer ledger (read-only)."""

import datetime
from decimal import Decimal

import pytest

from erp import models, services
from tests import factories
from tests.erp.api_support import API, token_client

pytestmark = pytest.mark.django_db

D = Decimal
INVOICE_PERMS = ["erp.view_salesheader", "erp.add_salesinvoiceheader", "erp.view_salesinvoiceheader"]


@pytest.fixture
def shipped_order():
    """Order SO1 of customer C10 (14 days' payment terms): 2 × 1000 at 50.00 and 1 × 2000 at 20.00, shipped."""
    models.NoSeries.objects.get_or_create(code="S-INV", defaults={"prefix": "S-INV", "width": 6})
    customer = factories.CustomerFactory(no="C10", payment_terms=factories.PaymentTermsFactory(due_date_days=14))
    order = factories.SalesHeaderFactory(
        no="SO1", sell_to_customer=customer, your_reference="PO-9", external_document_no="CRM-ORD-1"
    )
    for no, quantity, price in (("1000", "2", "50.00"), ("2000", "1", "20.00")):
        item = factories.ItemFactory(no=no)
        factories.ItemLedgerEntryFactory(item=item, quantity=D("10"))
        services.sales_line_save(
            line=models.SalesLine(order=order, type="item", item=item, quantity=D(quantity), unit_price=D(price))
        )
    services.sales_order_post_shipment(order=order)
    return order


def test_post_invoice_answers_the_invoice_and_the_closed_order(shipped_order):
    client = token_client(*INVOICE_PERMS)

    response = client.post(f"{API}/sales-orders/SO1/post-invoice/", {"posting_date": "2026-03-02"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    invoice = body["invoice"]
    assert (invoice["no"], invoice["order_no"], invoice["sell_to_customer"]) == ("S-INV000010", "SO1", "C10")
    assert (invoice["posting_date"], invoice["due_date"], invoice["amount"]) == ("2026-03-02", "2026-03-16", "120.00")
    assert (invoice["your_reference"], invoice["external_document_no"]) == ("PO-9", "CRM-ORD-1")
    assert [(line["item"], line["quantity"], line["line_amount"]) for line in invoice["lines"]] == [
        ("1000", "2.00000", "100.00"),
        ("2000", "1.00000", "20.00"),
    ]
    assert body["order"]["status"] == "closed"
    assert [line["quantity_invoiced"] for line in body["order"]["lines"]] == ["2.00000", "1.00000"]


def test_post_invoice_of_given_quantities_keeps_the_order_open(shipped_order):
    first_line = shipped_order.lines.order_by("line_no").first()
    client = token_client(*INVOICE_PERMS)

    response = client.post(
        f"{API}/sales-orders/SO1/post-invoice/", {"quantities": {str(first_line.line_no): "1"}}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert [line["quantity"] for line in response.json()["invoice"]["lines"]] == ["1.00000"]
    assert response.json()["order"]["status"] == "released"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"quantities": {"10000": "5"}}, "quantities", "Line 10000: 5 to invoice, but only 2 shipped"),
        ({"quantities": {"first": "1"}}, "quantities", "Use line numbers as keys"),
        ({"posting_date": "not a date"}, "posting_date", "Date has wrong format"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_posts_nothing(shipped_order, body, field, message):
    response = token_client(*INVOICE_PERMS).post(f"{API}/sales-orders/SO1/post-invoice/", body, format="json")

    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert not models.SalesInvoiceHeader.objects.exists()


def test_nothing_to_invoice_is_a_400_with_the_reason(shipped_order):
    client = token_client(*INVOICE_PERMS)
    assert client.post(f"{API}/sales-orders/SO1/post-invoice/", {}, format="json").status_code == 201

    again = client.post(f"{API}/sales-orders/SO1/post-invoice/", {}, format="json")

    assert again.status_code == 400
    assert "fully invoiced and closed" in str(again.json())


def test_posting_needs_its_permission(shipped_order):
    response = token_client("erp.view_salesheader").post(f"{API}/sales-orders/SO1/post-invoice/", {}, format="json")
    assert response.status_code == 403
    assert not models.SalesInvoiceHeader.objects.exists()


def test_posted_invoices_and_ledger_entries_are_read_only_resources(shipped_order):
    invoice = services.sales_order_post_invoice(order=shipped_order, posting_date=datetime.date(2026, 3, 2))
    client = token_client("erp.view_salesinvoiceheader", "erp.view_custledgerentry")

    listed = client.get(f"{API}/sales-invoices/", {"sell_to_customer": "C10"})
    detail = client.get(f"{API}/sales-invoices/{invoice.no}/")
    ledger = client.get(f"{API}/customer-ledger-entries/", {"customer": "C10", "open": "true"})

    assert listed.status_code == 200 and [row["no"] for row in listed.json()["results"]] == [invoice.no]
    assert detail.json()["amount"] == "120.00"
    (entry,) = ledger.json()["results"]
    assert (entry["document_no"], entry["amount"], entry["remaining_amount"], entry["due_date"]) == (
        invoice.no,
        "120.00",
        "120.00",
        "2026-03-16",
    )
    # Even a user who may change and delete invoices cannot: posted documents never change.
    editor = token_client(
        "erp.view_salesinvoiceheader", "erp.change_salesinvoiceheader", "erp.delete_salesinvoiceheader"
    )
    assert editor.delete(f"{API}/sales-invoices/{invoice.no}/").status_code == 405
    assert editor.patch(f"{API}/sales-invoices/{invoice.no}/", {"amount": "1"}, format="json").status_code == 405
    assert models.SalesInvoiceHeader.objects.get(no=invoice.no).amount == D("120.00")
    assert token_client("erp.view_salesheader").get(f"{API}/sales-invoices/").status_code == 403

"""Invoicing pages: posted sales invoices, the customer ledger, "Post invoice" and closed orders on the
order page, the sales setup. Orders, shipments and invoices are made through erp.services."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from erp import selectors, services
from erp.models import CustLedgerEntry, SalesHeader, SalesInvoiceHeader, SalesSetup
from tests.erp.pages_support import (
    client_with,
    client_with_all_but,
    messages_of,
    number_series,
    posted_invoice,
    shipped_order,
)
from tests.factories import (
    CurrencyFactory,
    NoSeriesFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
INVOICES = reverse("erp:salesinvoice_list")
LEDGER = reverse("erp:custledgerentry_list")
SETUP = reverse("erp:salessetup")
FEB_1 = datetime.date(2026, 2, 1)


@pytest.fixture(autouse=True)
def series():
    number_series()


def sales_client() -> Client:
    """A member of the Sales role, as the data migrations set it up."""
    client = Client()
    client.force_login(UserFactory(groups=["Sales"]))
    return client


def listed(response) -> list[str]:
    return [str(row.record) for row in response.context["table"].paginated_rows]


# --- posted sales invoices ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["list", "detail"])
def test_invoice_pages_need_the_view_permission(page):
    invoice = posted_invoice()
    url = INVOICES if page == "list" else invoice.get_absolute_url()
    assert Client().get(url)["Location"] == f"{reverse('login')}?next={url}"
    assert client_with_all_but("erp.view_salesinvoiceheader").get(url).status_code == 403
    assert client_with("erp.view_salesinvoiceheader").get(url).status_code == 200


def test_posted_invoices_have_no_create_edit_or_delete_pages():
    for page in ("create", "edit", "delete"):
        with pytest.raises(NoReverseMatch):
            reverse(f"erp:salesinvoice_{page}", args=[] if page == "create" else [1])
    response = client_with("erp.view_salesinvoiceheader").get(INVOICES)
    assert response.context["create_url"] is None and response.context["bulk_actions"] == []


def test_invoice_list_shows_the_invoice_values():
    invoice = posted_invoice(your_reference="PO-778", external_document_no="EXT-1")
    response = client_with("erp.view_salesinvoiceheader").get(INVOICES)
    assert [row.record for row in response.context["table"].paginated_rows] == [invoice]
    assert [str(column.header) for column in response.context["table"].columns] == [
        "No.",
        "Posting date",
        "Customer",
        "Order no.",
        "Your reference",
        "Currency",
        "Amount",
        "Due date",
    ]
    page = response.content.decode()
    assert f'href="{invoice.get_absolute_url()}"' in page
    assert f'href="{invoice.order.get_absolute_url()}"' in page  # the order number links to the order
    assert "PO-778" in page and ">27.00<" in page and ">LCY<" in page
    row = response.context["table"].paginated_rows[0]
    assert (row.get_cell("posting_date"), row.get_cell("due_date")) == ("02/01/2026", "02/15/2026")


def test_invoice_list_searches_and_filters():
    first = posted_invoice(your_reference="PO-778")
    second = posted_invoice(external_document_no="EXT-99")
    third = services.sales_order_post_invoice(
        order=shipped_order(your_reference="LATER"), posting_date=datetime.date(2026, 3, 10)
    )
    client = client_with("erp.view_salesinvoiceheader")
    assert listed(client.get(INVOICES, {"q": "po-778"})) == [first.no]
    assert listed(client.get(INVOICES, {"q": "ext-99"})) == [second.no]
    assert listed(client.get(INVOICES, {"q": second.order_no})) == [second.no]
    assert listed(client.get(INVOICES, {"q": first.sell_to_customer.no})) == [first.no]
    assert listed(client.get(INVOICES, {"q": third.sell_to_customer.name})) == [third.no]
    assert listed(client.get(INVOICES, {"sell_to_customer": second.sell_to_customer.pk})) == [second.no]
    assert listed(client.get(INVOICES, {"posting_date_from": "2026-03-01"})) == [third.no]
    assert sorted(listed(client.get(INVOICES, {"posting_date_to": "2026-02-28"}))) == sorted([first.no, second.no])


def test_invoice_detail_shows_header_lines_totals_and_links_the_order():
    currency = CurrencyFactory()
    invoice = posted_invoice(your_reference="PO-778", external_document_no="EXT-1", currency=currency)
    client = client_with("erp.view_salesinvoiceheader", "erp.view_custledgerentry")
    response = client.get(invoice.get_absolute_url())
    page = response.content.decode()
    assert response.context["title"] == f"Posted sales invoice {invoice.no}"
    rows = dict(response.context["field_rows"])
    assert rows["Customer"] != "—" and invoice.sell_to_customer.no in str(rows["Customer"])
    assert f'<a href="{invoice.order.get_absolute_url()}">{invoice.order_no}</a>' == str(rows["Order no."])
    assert (rows["Posting date"], rows["Due date"]) == (FEB_1, datetime.date(2026, 2, 15))
    assert (rows["Your reference"], rows["External document no."]) == ("PO-778", "EXT-1")
    assert currency.code in str(rows["Currency"])
    line = invoice.lines.get()
    assert [str(column.header) for column in response.context["lines_table"].columns] == [
        "No.",
        "Description",
        "Quantity",
        "Unit",
        "Unit price",
        "Line discount %",
        "Line amount",
    ]
    assert line.item.no in page and line.description in page
    assert ">10.00<" in page and ">10<" in page  # unit price, discount %
    assert 'data-testid="total-amount">27.00<' in page
    assert 'data-testid="total-discount">3.00<' in page
    assert f"Total {currency.code}" in page
    assert "Customer ledger entry" in page  # the entry the invoice left open
    assert "Edit" not in page and "Delete" not in page


def test_invoice_detail_of_a_deleted_order_shows_its_number_without_a_link():
    invoice = posted_invoice()
    SalesInvoiceHeader.objects.filter(pk=invoice.pk).update(order=None)  # as SET_NULL leaves it
    response = client_with("erp.view_salesinvoiceheader").get(invoice.get_absolute_url())
    rows = dict(response.context["field_rows"])
    assert rows["Order no."] == invoice.order_no
    assert rows["Currency"] == "LCY"
    assert "Customer ledger entry" not in response.content.decode()  # no permission on the ledger


# --- customer ledger entries ----------------------------------------------------------------------


def test_customer_ledger_list_needs_its_permission_and_filters_by_customer_open_and_due_date():
    first = posted_invoice()
    second = services.sales_order_post_invoice(order=shipped_order(), posting_date=datetime.date(2026, 3, 1))
    CustLedgerEntry.objects.filter(sales_invoice=second).update(open=False, remaining_amount=0)
    assert client_with_all_but("erp.view_custledgerentry").get(LEDGER).status_code == 403
    client = client_with("erp.view_custledgerentry")

    def documents(**query):
        return sorted(row.record.document_no for row in client.get(LEDGER, query).context["table"].paginated_rows)

    assert documents() == sorted([first.no, second.no])
    assert documents(customer=first.sell_to_customer.pk) == [first.no]
    assert documents(open="true") == [first.no]
    assert documents(open="false") == [second.no]
    assert documents(due_date_from="2026-03-01") == [second.no]
    assert documents(due_date_to="2026-02-20") == [first.no]
    assert documents(q=second.sell_to_customer.name) == [second.no]
    page = client.get(LEDGER).content.decode()
    assert f'href="{first.get_absolute_url()}"' in page  # the document number opens the invoice
    assert ">27.00<" in page


def test_customer_page_lists_its_invoices_and_ledger_entries_for_users_who_may_see_them():
    invoice = posted_invoice()
    customer_url = invoice.sell_to_customer.get_absolute_url()
    allowed = client_with("erp.view_customer", "erp.view_salesinvoiceheader", "erp.view_custledgerentry")
    titles = [related.title for related in allowed.get(customer_url).context["related_lists"]]
    assert {"Posted sales invoices", "Customer ledger entries"} <= set(titles)
    page = allowed.get(customer_url).content.decode()
    assert f'href="{invoice.get_absolute_url()}"' in page
    assert f"{LEDGER}?customer={invoice.sell_to_customer.pk}" in page

    titles = [related.title for related in client_with("erp.view_customer").get(customer_url).context["related_lists"]]
    assert {"Posted sales invoices", "Customer ledger entries"}.isdisjoint(titles)


def test_the_menu_links_the_new_pages_for_the_sales_role():
    page = sales_client().get(reverse("home")).content.decode()
    for url in (INVOICES, LEDGER, SETUP):
        assert f'href="{url}"' in page
    page = client_with("erp.view_customer").get(reverse("home")).content.decode()
    for url in (INVOICES, LEDGER, SETUP):
        assert f'href="{url}"' not in page


# --- the order page: Post invoice ---------------------------------------------------------------


def test_post_invoice_from_the_order_page_creates_the_invoice_and_shows_shipped_and_invoiced():
    order = shipped_order(quantity=D("3"))
    client = sales_client()
    page = client.get(order.get_absolute_url()).content.decode()
    assert "Post invoice" in page
    assert f'value="{timezone.localdate().isoformat()}"' in page  # the posting date starts as today

    response = client.post(
        reverse("erp:salesorder_post_invoice", args=[order.pk]), {"posting_date": "2026-02-01"}, follow=True
    )

    invoice = SalesInvoiceHeader.objects.get(order=order)
    assert (invoice.posting_date, invoice.amount) == (FEB_1, D("27.00"))
    assert response.redirect_chain[-1][0] == order.get_absolute_url()
    [message] = messages_of(response)
    assert f'Sales invoice <a href="{invoice.get_absolute_url()}">{invoice.no}</a> posted' in message
    assert "27.00 LCY" in message
    page = response.content.decode()
    assert f'Sales invoice <a href="{invoice.get_absolute_url()}">' in page  # the message's link is not escaped
    assert 'data-testid="shipped">3<' in page and 'data-testid="invoiced">3<' in page
    assert 'data-testid="post-invoice"' not in page  # nothing left to invoice
    assert 'id="order-invoices"' in page and f'href="{invoice.get_absolute_url()}"' in page


def test_a_partly_invoiced_order_shows_what_was_shipped_and_invoiced_per_line():
    order = shipped_order(quantity=D("3"))
    line = order.lines.get()
    services.sales_order_post_invoice(order=order, quantities={line.line_no: D("1")})
    page = sales_client().get(order.get_absolute_url()).content.decode()
    assert 'data-testid="shipped">3<' in page and 'data-testid="invoiced">1<' in page
    assert 'data-testid="post-invoice"' in page  # two are shipped and not invoiced yet


def test_post_invoice_is_offered_only_with_the_permission_and_something_shipped_to_invoice():
    shipped = shipped_order()
    not_shipped = shipped_order(ship=False)
    assert 'data-testid="post-invoice"' not in sales_client().get(not_shipped.get_absolute_url()).content.decode()
    viewer = client_with("erp.view_salesheader", "erp.change_salesheader")
    assert 'data-testid="post-invoice"' not in viewer.get(shipped.get_absolute_url()).content.decode()
    response = viewer.post(reverse("erp:salesorder_post_invoice", args=[shipped.pk]))
    assert response.status_code == 403
    assert not SalesInvoiceHeader.objects.exists()


def test_post_invoice_with_nothing_shipped_shows_the_services_message():
    order = shipped_order(ship=False)
    response = sales_client().post(reverse("erp:salesorder_post_invoice", args=[order.pk]), follow=True)
    assert response.status_code == 200
    assert f"There is nothing to invoice on sales order {order.no}: post a shipment of its lines first." in (
        messages_of(response)
    )
    assert not SalesInvoiceHeader.objects.exists()


def test_post_invoice_refusals_and_bad_dates_are_messages():
    order = shipped_order()
    client = sales_client()
    url = reverse("erp:salesorder_post_invoice", args=[order.pk])
    assert any("Posting date" in m for m in messages_of(client.post(url, {"posting_date": "31/31"}, follow=True)))
    order.sell_to_customer.blocked = "invoice"
    order.sell_to_customer.save()
    assert any("blocked for invoicing" in m for m in messages_of(client.post(url, follow=True)))
    assert not SalesInvoiceHeader.objects.exists()


def test_post_invoice_needs_the_csrf_token():
    order = shipped_order()
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(groups=["Sales"]))
    assert client.post(reverse("erp:salesorder_post_invoice", args=[order.pk])).status_code == 403
    assert not SalesInvoiceHeader.objects.exists()


def test_a_closed_order_shows_its_status_its_invoices_and_no_actions():
    invoice = posted_invoice()
    order = invoice.order
    order.refresh_from_db()
    assert order.status == SalesHeader.Status.CLOSED
    user = UserFactory(groups=["Sales"], perms=["erp.delete_salesheader", "erp.delete_salesline"])
    client = Client()
    client.force_login(user)
    response = client.get(order.get_absolute_url())
    page = response.content.decode()
    assert 'data-testid="order-status">Closed (archived)<' in page
    for action in ("release", "reopen", "post_shipment", "post_invoice", "edit", "delete"):
        assert reverse(f"erp:salesorder_{action}", args=[order.pk]) not in page
    line = order.lines.get()
    assert reverse("erp:salesorder_line_delete", args=[order.pk, line.pk]) not in page
    assert "edit_line=" not in page and "Add a line" not in page
    assert "fully invoiced and closed" in page
    assert f'href="{invoice.get_absolute_url()}"' in page


def test_the_order_list_filters_by_status_closed_included():
    closed = posted_invoice().order
    still_open = shipped_order(ship=False)
    client = client_with("erp.view_salesheader")
    url = reverse("erp:salesorder_list")
    assert listed(client.get(url, {"status": "closed"})) == [closed.no]
    assert listed(client.get(url, {"status": "open"})) == [still_open.no]
    assert "Closed (archived)" in client.get(url).content.decode()


# --- sales setup ---------------------------------------------------------------------------------


def setup_data(**fields) -> dict:
    return {"posted_invoice_nos": "S-INV", **fields}


def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_superuser=True))
    return client


def test_setup_page_needs_view_to_see_and_change_to_save():
    assert Client().get(SETUP)["Location"] == f"{reverse('login')}?next={SETUP}"
    assert client_with_all_but("erp.view_salessetup").get(SETUP).status_code == 403
    viewer = sales_client()  # Sales sees the setup, but no role may change it
    response = viewer.get(SETUP)
    assert response.status_code == 200
    assert response.context["form"].fields["posted_invoice_nos"].disabled
    assert "You can see the sales setup but not change it." in response.content.decode()
    assert viewer.post(SETUP, setup_data(posted_invoice_nos="CHANGED")).status_code == 403
    assert selectors.sales_setup().posted_invoice_nos == "S-INV"


def test_setup_form_saves():
    NoSeriesFactory(code="INV-2026", prefix="26-")
    client = superuser_client()
    assert client.get(SETUP).context["form"].initial["posted_invoice_nos"] == "S-INV"
    response = client.post(SETUP, setup_data(posted_invoice_nos="INV-2026"), follow=True)
    assert "Sales setup saved." in messages_of(response)
    assert SalesSetup.objects.get(pk=1).posted_invoice_nos == "INV-2026"


def test_setup_form_refuses_an_unknown_number_series():
    response = superuser_client().post(SETUP, setup_data(posted_invoice_nos="NOPE"))
    assert response.status_code == 200
    assert response.context["form"].errors["posted_invoice_nos"] == ["There is no number series NOPE."]
    assert selectors.sales_setup().posted_invoice_nos == "S-INV"


def test_setup_page_is_protected_by_csrf():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(is_superuser=True))
    NoSeriesFactory(code="INV-2026", prefix="26-")
    assert client.post(SETUP, setup_data(posted_invoice_nos="INV-2026")).status_code == 403
    assert selectors.sales_setup().posted_invoice_nos == "S-INV"


def test_a_new_invoice_takes_its_number_from_the_series_chosen_on_the_setup_page():
    NoSeriesFactory(code="INV-2026", prefix="26-", width=4, increment_by=1)
    superuser_client().post(SETUP, setup_data(posted_invoice_nos="INV-2026"))
    order = shipped_order()
    sales_client().post(reverse("erp:salesorder_post_invoice", args=[order.pk]))
    assert SalesInvoiceHeader.objects.get(order=order).no == "26-0001"

"""Helpers shared by the page tests (tests/erp/test_pages*.py)."""

import datetime
from decimal import Decimal

from django.contrib.auth.models import Permission
from django.test import Client

from erp import services
from erp.models import NoSeries, SalesHeader, SalesInvoiceHeader, SalesLine
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    ItemLedgerEntryFactory,
    NoSeriesFactory,
    PaymentTermsFactory,
    UserFactory,
)


def erp_permissions(*, excluding: str | None = None) -> list[Permission]:
    permissions = Permission.objects.filter(content_type__app_label="erp")
    if excluding:
        permissions = permissions.exclude(codename=excluding.split(".", 1)[1])
    return list(permissions)


def client_with(*perms: str, client: Client | None = None) -> Client:
    """A client logged in as a new user holding exactly ``perms``."""
    client = client or Client()
    client.force_login(UserFactory(perms=list(perms)))
    return client


def client_with_all_but(permission: str) -> Client:
    """A client logged in as a user with every ERP permission except ``permission``."""
    user = UserFactory()
    user.user_permissions.set(erp_permissions(excluding=permission))
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def row_texts(response) -> list[str]:
    """The first text column (number/code) of each row of a list page's table."""
    table = response.context["table"]
    return [str(row.record) for row in table.paginated_rows]


def number_series() -> None:
    """The series orders and posted invoices are numbered from.

    Migration erp 0008 creates S-INV; a transactional test run before may have flushed it.
    """
    NoSeriesFactory(code="SO", prefix="SO", width=5)
    NoSeries.objects.get_or_create(code="S-INV", defaults={"prefix": "S-INV", "width": 6})


def shipped_order(*, quantity: Decimal = Decimal("3"), ship: bool = True, **order_fields) -> SalesHeader:
    """An order made through the services (amounts as the ERP computes them): one item line of ``quantity``
    at 10.00 with 10 % discount, shipped unless ``ship=False``. The customer pays in 14 days."""
    number_series()
    customer = CustomerFactory(payment_terms=PaymentTermsFactory(due_date_days=14))
    order = services.sales_order_create(sell_to_customer=customer, order_date=datetime.date(2026, 1, 5), **order_fields)
    item = ItemFactory()
    ItemLedgerEntryFactory(item=item, quantity=Decimal("100"))
    line = SalesLine(order=order, type="item", item=item, quantity=quantity, unit_price=Decimal("10.00"))
    line.line_discount_pct = Decimal("10")
    services.sales_line_save(line=line)
    if ship:
        services.sales_order_post_shipment(order=order, posting_date=datetime.date(2026, 1, 6))
    order.refresh_from_db()
    return order


def posted_invoice(**order_fields) -> SalesInvoiceHeader:
    """The invoice of a shipped order (3 × 10.00 − 10 % = 27.00), posted on 2026-02-01."""
    order = shipped_order(**order_fields)
    return services.sales_order_post_invoice(order=order, posting_date=datetime.date(2026, 2, 1))

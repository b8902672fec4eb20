"""erp_seed: the demo company once, volume data in bulk."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Q

from erp import selectors
from erp.models import (
    Contact,
    Currency,
    Customer,
    GeneralSetup,
    Item,
    ItemLedgerEntry,
    NoSeries,
    Resource,
    SalesHeader,
    SalesLine,
    Salesperson,
    SalesPrice,
    UnitOfMeasure,
)

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("erp_seed", stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict:
    models = [Customer, Contact, Item, Resource, SalesHeader, SalesLine, SalesPrice, ItemLedgerEntry, Currency]
    return {
        "counts": {model.__name__: model.objects.count() for model in models},
        "series": dict(NoSeries.objects.values_list("code", "last_number")),
        "modified": Customer.objects.aggregate(latest=Max("modified_at"))["latest"],
    }


def test_demo_load_creates_a_believable_company():
    assert "Demo company loaded" in seed()

    setup = GeneralSetup.objects.get(pk=1)
    assert setup.local_currency.code == "USD"
    for code in ["EUR", "GBP"]:
        assert selectors.currency_exchange_rate(currency=Currency.objects.get(code=code)) > 1
    assert UnitOfMeasure.objects.count() >= 10
    assert {"PCS", "BOX", "KG", "HOUR"} <= set(UnitOfMeasure.objects.values_list("code", flat=True))
    assert Salesperson.objects.count() == 5
    assert set(NoSeries.objects.values_list("code", flat=True)) >= {"CUST", "CONT", "ITEM", "RES", "SO"}

    assert Customer.objects.count() == 50
    for customer in Customer.objects.select_related("primary_contact__company"):
        assert re.fullmatch(r"C\d{7}", customer.no)
        assert customer.company_contacts.count() == 1
        assert customer.primary_contact.type == "person"
        assert customer.primary_contact.company.customer_id == customer.pk
        customer.full_clean()
    assert Customer.objects.filter(currency__code__in=["EUR", "GBP"]).exists()
    assert Customer.objects.exclude(blocked="").exists()
    assert Contact.objects.filter(type="company", customer__isnull=True).exists()  # prospects

    assert Item.objects.count() == 100
    stocked = selectors.items_with_availability(queryset=Item.objects.filter(type="inventory"))
    assert all(item.inventory > 0 for item in stocked)
    assert not Item.objects.annotate(units=Count("units_of_measure")).filter(units=0).exists()
    assert Resource.objects.count() == 10
    assert set(SalesPrice.objects.values_list("sales_type", flat=True)) == {
        "customer",
        "customer_price_group",
        "all_customers",
    }

    assert SalesHeader.objects.count() == 20
    assert not SalesHeader.objects.annotate(n=Count("lines")).filter(n=0).exists()
    assert SalesHeader.objects.filter(status="open").exists()
    shipped = SalesHeader.objects.filter(lines__quantity_shipped__gt=0).distinct()
    assert shipped.exists()
    assert SalesHeader.objects.filter(status="released").exclude(pk__in=shipped).exists()
    assert ItemLedgerEntry.objects.filter(entry_type="sale", document_no__in=shipped.values("no")).exists()


def test_demo_load_runs_once():
    seed()
    before = snapshot()
    assert seed() == "The demo company is already loaded; nothing changed.\n"
    assert snapshot() == before


def test_volume_load_adds_customers_items_and_orders_in_bulk():
    out = seed(customers=500, items=30, orders=40)
    assert "Added 500 customers" in out

    assert Customer.objects.count() == 550
    assert NoSeries.objects.get(code="CUST").last_number == 5500  # one number per customer, none skipped
    numbers = list(Customer.objects.values_list("no", flat=True))
    assert len(set(numbers)) == 550
    assert all(re.fullmatch(r"C\d{7}", no) for no in numbers)
    volume = Customer.objects.filter(no__gt="C0000500").select_related("primary_contact__company")
    assert volume.count() == 500
    for customer in volume:
        assert customer.primary_contact.company.customer_id == customer.pk
    assert not Customer.objects.filter(company_contacts__isnull=True).exists()
    contact_numbers = list(Contact.objects.values_list("no", flat=True))
    assert len(set(contact_numbers)) == len(contact_numbers) == NoSeries.objects.get(code="CONT").last_number // 10
    sample = Customer.objects.get(no="C0005500")
    sample.full_clean()
    sample.primary_contact.full_clean()
    assert sample.system_id and sample.modified_at

    assert Item.objects.count() == 130
    assert all(item.inventory > 0 for item in selectors.items_with_availability().filter(type="inventory"))
    assert SalesHeader.objects.count() == 60
    assert not SalesHeader.objects.annotate(n=Count("lines")).filter(n=0).exists()
    line = SalesLine.objects.filter(order__no__gt="SO0000200").first()
    assert line.line_amount == line.quantity * line.unit_price


def test_volume_load_twice_adds_new_records():
    seed(customers=20)
    first = set(Customer.objects.values_list("name", flat=True))
    seed(customers=20)
    assert Customer.objects.count() == 90
    assert Customer.objects.filter(~Q(name__in=first)).exists()


def test_seed_refuses_negative_counts():
    with pytest.raises(CommandError, match="must not be negative"):
        seed(customers=-1)
    assert not Customer.objects.exists()

"""Selectors: inventory, availability by date, best sales price, totals, exchange rates."""

import datetime
from decimal import Decimal

import pytest

from erp import selectors
from erp.models import Item
from tests import factories

pytestmark = pytest.mark.django_db

D = Decimal
JAN_1, JAN_10, JAN_20 = datetime.date(2026, 1, 1), datetime.date(2026, 1, 10), datetime.date(2026, 1, 20)


def test_item_inventory_sums_the_ledger_up_to_a_date():
    item = factories.ItemFactory()
    assert selectors.item_inventory(item=item) == D("0")
    factories.ItemLedgerEntryFactory(item=item, quantity=D("10"), posting_date=JAN_1)
    factories.ItemLedgerEntryFactory(item=item, quantity=D("0.5"), posting_date=JAN_20)
    factories.ItemLedgerEntryFactory(item=item, entry_type="sale", quantity=D("-3"), posting_date=JAN_10)
    factories.ItemLedgerEntryFactory(quantity=D("99"))  # another item
    assert selectors.item_inventory(item=item) == D("7.5")
    assert selectors.item_inventory(item=item, as_of=JAN_10) == D("7")


def test_items_with_availability_counts_outstanding_demand_by_shipment_date():
    item = factories.ItemFactory()
    factories.ItemLedgerEntryFactory(item=item, quantity=D("20"), posting_date=JAN_1)
    early = factories.SalesHeaderFactory(order_date=JAN_1)
    late = factories.SalesHeaderFactory(order_date=JAN_1, requested_delivery_date=JAN_20)
    factories.SalesLineFactory(order=early, item=item, quantity=D("4"), quantity_shipped=D("1"))
    factories.SalesLineFactory(order=early, item=item, quantity=D("2"), qty_per_unit_of_measure=D("6"))
    factories.SalesLineFactory(order=late, item=item, quantity=D("5"))
    factories.SalesLineFactory(order=late, item=item, quantity=D("3"), quantity_shipped=D("3"))  # done
    untouched = factories.ItemFactory()

    rows = {row.pk: row for row in selectors.items_with_availability(as_of=JAN_10)}
    assert (rows[item.pk].inventory, rows[item.pk].outstanding_sales_qty, rows[item.pk].available_qty) == (
        D("20"),
        D("15"),  # 3 + 2 × 6; the late order ships after Jan 10
        D("5"),
    )
    assert (rows[untouched.pk].inventory, rows[untouched.pk].available_qty) == (D("0"), D("0"))

    everything = selectors.items_with_availability(queryset=Item.objects.filter(pk=item.pk)).get()
    assert (everything.outstanding_sales_qty, everything.available_qty) == (D("20"), D("0"))


def test_items_with_availability_counts_inventory_posted_by_the_date():
    item = factories.ItemFactory()
    factories.ItemLedgerEntryFactory(item=item, quantity=D("8"), posting_date=JAN_20)
    assert selectors.items_with_availability(as_of=JAN_10).get(pk=item.pk).inventory == D("0")
    assert selectors.items_with_availability(as_of=JAN_20).get(pk=item.pk).inventory == D("8")


def test_items_with_availability_filters_and_orders_in_the_database():
    short, plenty = factories.ItemFactory(), factories.ItemFactory()
    factories.ItemLedgerEntryFactory(item=short, quantity=D("1"))
    factories.ItemLedgerEntryFactory(item=plenty, quantity=D("50"))
    available = selectors.items_with_availability().filter(available_qty__gte=10)
    assert list(available) == [plenty]


@pytest.fixture
def priced():
    group = factories.CustomerPriceGroupFactory(code="RETAIL")
    customer = factories.CustomerFactory(customer_price_group=group)
    item = factories.ItemFactory(unit_price=D("100.00"))
    return customer, item


def test_sales_price_best_is_none_without_a_sales_price(priced):
    customer, item = priced
    assert selectors.sales_price_best(item=item, customer=customer) is None


def test_sales_price_best_takes_the_lowest_of_customer_group_and_all_customers(priced):
    customer, item = priced
    factories.SalesPriceFactory(item=item, unit_price=D("95.00"))
    assert selectors.sales_price_best(item=item, customer=customer) == D("95.00")
    factories.SalesPriceFactory(item=item, sales_type="customer_price_group", sales_code="RETAIL", unit_price=D("90"))
    assert selectors.sales_price_best(item=item, customer=customer) == D("90.00")
    factories.SalesPriceFactory(item=item, sales_type="customer", sales_code=customer.no, unit_price=D("92"))
    assert selectors.sales_price_best(item=item, customer=customer) == D("90.00")  # lowest wins, not the most specific
    factories.SalesPriceFactory(item=item, sales_type="customer", sales_code=customer.no, unit_price=D("85"))
    assert selectors.sales_price_best(item=item, customer=customer) == D("85.00")
    assert selectors.sales_price_best(item=item) == D("95.00")  # no customer: all customers only


def test_sales_price_best_ignores_other_customers_and_groups(priced):
    customer, item = priced
    other = factories.CustomerFactory(customer_price_group=factories.CustomerPriceGroupFactory(code="VIP"))
    factories.SalesPriceFactory(item=item, sales_type="customer", sales_code=other.no, unit_price=D("10"))
    factories.SalesPriceFactory(item=item, sales_type="customer_price_group", sales_code="VIP", unit_price=D("20"))
    factories.SalesPriceFactory(item=factories.ItemFactory(), unit_price=D("30"))
    assert selectors.sales_price_best(item=item, customer=customer) is None
    assert selectors.sales_price_best(item=item, customer=other) == D("10.00")


def test_sales_price_best_matches_the_currency(priced):
    customer, item = priced
    eur, usd = factories.CurrencyFactory(code="EUR"), factories.CurrencyFactory(code="USD")
    factories.GeneralSetupFactory(local_currency=usd)
    factories.SalesPriceFactory(item=item, currency=eur, unit_price=D("70"))
    factories.SalesPriceFactory(item=item, currency=None, unit_price=D("90"))
    factories.SalesPriceFactory(item=item, currency=usd, unit_price=D("89"))
    assert selectors.sales_price_best(item=item, customer=customer, currency=eur) == D("70.00")
    assert selectors.sales_price_best(item=item, customer=customer) == D("89.00")  # LCY: blank or the LCY code
    assert selectors.sales_price_best(item=item, customer=customer, currency=usd) == D("89.00")
    assert selectors.sales_price_best(item=item, currency=factories.CurrencyFactory(code="GBP")) is None


def test_sales_price_best_respects_starting_and_ending_dates(priced):
    customer, item = priced
    factories.SalesPriceFactory(item=item, unit_price=D("80"), starting_date=JAN_10, ending_date=JAN_20)
    factories.SalesPriceFactory(item=item, unit_price=D("99"))
    assert selectors.sales_price_best(item=item, on_date=JAN_1) == D("99.00")
    assert selectors.sales_price_best(item=item, on_date=JAN_10) == D("80.00")
    assert selectors.sales_price_best(item=item, on_date=JAN_20) == D("80.00")
    assert selectors.sales_price_best(item=item, on_date=JAN_20 + datetime.timedelta(days=1)) == D("99.00")


def test_sales_price_best_needs_the_minimum_quantity(priced):
    customer, item = priced
    factories.SalesPriceFactory(item=item, unit_price=D("99"))
    factories.SalesPriceFactory(item=item, unit_price=D("75"), minimum_quantity=D("10"))
    assert selectors.sales_price_best(item=item, quantity=D("9.99")) == D("99.00")
    assert selectors.sales_price_best(item=item, quantity=D("10")) == D("75.00")


def test_sales_price_best_per_unit_of_measure(priced):
    customer, item = priced
    box = factories.ItemUnitOfMeasureFactory(item=item, qty_per_unit=D("12")).unit_of_measure
    factories.SalesPriceFactory(item=item, unit_price=D("9.50"))  # per base unit
    assert selectors.sales_price_best(item=item, unit_of_measure=box) == D("114.00")
    factories.SalesPriceFactory(item=item, unit_of_measure=box, unit_price=D("100"))
    assert selectors.sales_price_best(item=item, unit_of_measure=box) == D("100.00")
    assert selectors.sales_price_best(item=item) == D("9.50")  # the box price is not a base-unit price
    assert selectors.sales_price_best(item=item, unit_of_measure=factories.UnitOfMeasureFactory()) is None


def test_sales_order_totals_sums_the_lines():
    order = factories.SalesHeaderFactory()
    assert selectors.sales_order_totals(order=order) == {
        "amount": D("0"),
        "line_discount_amount": D("0"),
        "lines": 0,
    }
    factories.SalesLineFactory(order=order, quantity=D("2"), unit_price=D("10.00"), line_discount_pct=D("10"))
    factories.SalesLineFactory(order=order, quantity=D("1"), unit_price=D("5.55"))
    factories.SalesLineFactory(order=order, type="comment", item=None, quantity=D("0"), description="note")
    assert selectors.sales_order_totals(order=order) == {
        "amount": D("23.55"),
        "line_discount_amount": D("2.00"),
        "lines": 3,
    }


def test_currency_exchange_rate_takes_the_latest_rate_not_after_the_date():
    eur = factories.CurrencyFactory(code="EUR")
    factories.CurrencyExchangeRateFactory(currency=eur, starting_date=JAN_1, exchange_rate=D("1.10"))
    factories.CurrencyExchangeRateFactory(currency=eur, starting_date=JAN_20, exchange_rate=D("1.20"))
    assert selectors.currency_exchange_rate(currency=eur, on_date=JAN_1 - datetime.timedelta(days=1)) is None
    assert selectors.currency_exchange_rate(currency=eur, on_date=JAN_10) == D("1.10")
    assert selectors.currency_exchange_rate(currency=eur, on_date=JAN_20) == D("1.20")
    assert selectors.currency_exchange_rate(currency=eur) == D("1.20")


def test_currency_exchange_rate_of_the_local_currency_is_one():
    usd = factories.CurrencyFactory(code="USD")
    factories.GeneralSetupFactory(local_currency=usd)
    assert selectors.currency_exchange_rate(currency=usd) == D("1")
    assert selectors.currency_exchange_rate(currency=None) == D("1")

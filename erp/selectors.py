"""Reads from the ERP that are more than a filter."""

import datetime
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from erp.models import (
    ZERO,
    Currency,
    CurrencyExchangeRate,
    Customer,
    GeneralSetup,
    Item,
    ItemLedgerEntry,
    SalesHeader,
    SalesLine,
    SalesPrice,
    SalesSetup,
    UnitOfMeasure,
)

QUANTITY = DecimalField(max_digits=18, decimal_places=5)


def general_setup() -> GeneralSetup:
    setup, _ = GeneralSetup.objects.get_or_create(pk=1)
    return setup


def sales_setup() -> SalesSetup:
    setup, _ = SalesSetup.objects.get_or_create(pk=1)
    return setup


def currency_is_local(*, currency: Currency | None) -> bool:
    """True for no currency (NAV's blank = LCY) and for the currency the setup names as LCY."""
    if currency is None:
        return True
    return GeneralSetup.objects.filter(pk=1, local_currency=currency).exists()


def currency_exchange_rate(*, currency: Currency | None, on_date: datetime.date | None = None) -> Decimal | None:
    """LCY per unit of ``currency`` on the date: the rate with the latest starting date not after it.

    1 for the local currency; None when the currency has no rate yet on that date.
    """
    if currency_is_local(currency=currency):
        return Decimal(1)
    on_date = on_date or timezone.localdate()
    rate = (
        CurrencyExchangeRate.objects.filter(currency=currency, starting_date__lte=on_date)
        .order_by("-starting_date")
        .values_list("exchange_rate", flat=True)
        .first()
    )
    return rate


def item_inventory(*, item: Item, as_of: datetime.date | None = None) -> Decimal:
    entries = ItemLedgerEntry.objects.filter(item=item)
    if as_of:
        entries = entries.filter(posting_date__lte=as_of)
    return entries.aggregate(total=Coalesce(Sum("quantity"), Value(ZERO), output_field=QUANTITY))["total"]


def item_qty_per_unit(*, item: Item, unit_of_measure: UnitOfMeasure | None) -> Decimal | None:
    """Base units in one ``unit_of_measure`` of the item; None if the unit is not one of the item's."""
    if unit_of_measure is None or unit_of_measure.pk == item.base_unit_of_measure_id:
        return Decimal(1)
    return item.units_of_measure.filter(unit_of_measure=unit_of_measure).values_list("qty_per_unit", flat=True).first()


def items_with_availability(*, queryset: QuerySet | None = None, as_of: datetime.date | None = None) -> QuerySet:
    """Items annotated with ``inventory``, ``outstanding_sales_qty`` and ``available_qty`` (base units).

    With ``as_of``: inventory posted up to that date, and demand of order lines still to ship
    whose order ships (requested delivery date, else order date) on or before it — NAV's
    availability by date. Without it: all inventory and all outstanding demand.
    """
    queryset = Item.objects.all() if queryset is None else queryset
    entries = ItemLedgerEntry.objects.filter(item=OuterRef("pk"))
    lines = SalesLine.objects.filter(
        item=OuterRef("pk"), type=SalesLine.Type.ITEM, quantity__gt=F("quantity_shipped")
    ).annotate(shipment_date=Coalesce("order__requested_delivery_date", "order__order_date"))
    if as_of:
        entries = entries.filter(posting_date__lte=as_of)
        lines = lines.filter(shipment_date__lte=as_of)
    inventory = entries.order_by().values("item").annotate(total=Sum("quantity")).values("total")
    outstanding = (
        lines.order_by()
        .values("item")
        .annotate(
            total=Sum(
                ExpressionWrapper(
                    (F("quantity") - F("quantity_shipped")) * F("qty_per_unit_of_measure"), output_field=QUANTITY
                )
            )
        )
        .values("total")
    )
    return queryset.annotate(
        inventory=Coalesce(Subquery(inventory, output_field=QUANTITY), Value(ZERO), output_field=QUANTITY),
        outstanding_sales_qty=Coalesce(
            Subquery(outstanding, output_field=QUANTITY), Value(ZERO), output_field=QUANTITY
        ),
        available_qty=ExpressionWrapper(F("inventory") - F("outstanding_sales_qty"), output_field=QUANTITY),
    )


def sales_price_best(
    *,
    item: Item,
    customer: Customer | None = None,
    currency: Currency | None = None,
    quantity: Decimal = Decimal(1),
    on_date: datetime.date | None = None,
    unit_of_measure: UnitOfMeasure | None = None,
) -> Decimal | None:
    """The lowest applicable sales price per ``unit_of_measure`` (default: the base unit), or None.

    NAV's rules: prices for the customer, for the customer's price group and for all
    customers compete; only those in the same currency (none = LCY), valid on the date
    (starting/ending dates inclusive, empty = open), whose minimum quantity the quantity
    reaches, and for the same unit or for no unit (a per-base-unit price, converted).
    """
    on_date = on_date or timezone.localdate()
    unit_of_measure = unit_of_measure or item.base_unit_of_measure
    qty_per_unit = item_qty_per_unit(item=item, unit_of_measure=unit_of_measure)
    if qty_per_unit is None:
        return None
    audiences = Q(sales_type=SalesPrice.SalesType.ALL_CUSTOMERS)
    if customer is not None:
        audiences |= Q(sales_type=SalesPrice.SalesType.CUSTOMER, sales_code=customer.no)
        if customer.customer_price_group_id:
            audiences |= Q(
                sales_type=SalesPrice.SalesType.CUSTOMER_PRICE_GROUP, sales_code=customer.customer_price_group.code
            )
    if currency_is_local(currency=currency):
        currency_match = Q(currency__isnull=True)
        local_currency_id = GeneralSetup.objects.filter(pk=1).values_list("local_currency_id", flat=True).first()
        if local_currency_id:
            currency_match |= Q(currency_id=local_currency_id)
    else:
        currency_match = Q(currency=currency)
    prices = SalesPrice.objects.filter(
        audiences,
        currency_match,
        Q(starting_date__isnull=True) | Q(starting_date__lte=on_date),
        Q(ending_date__isnull=True) | Q(ending_date__gte=on_date),
        Q(unit_of_measure__isnull=True) | Q(unit_of_measure=unit_of_measure),
        item=item,
        minimum_quantity__lte=quantity,
    ).values_list("unit_price", "unit_of_measure_id")
    candidates = [
        price if price_unit_id == unit_of_measure.pk else (price * qty_per_unit).quantize(Decimal("0.01"))
        for price, price_unit_id in prices
    ]
    return min(candidates, default=None)


def sales_order_totals(*, order: SalesHeader) -> dict:
    totals = order.lines.aggregate(
        amount=Coalesce(Sum("line_amount"), Value(ZERO), output_field=DecimalField(max_digits=18, decimal_places=2)),
        line_discount_amount=Coalesce(
            Sum("line_discount_amount"), Value(ZERO), output_field=DecimalField(max_digits=18, decimal_places=2)
        ),
    )
    totals["lines"] = order.lines.count()
    return totals

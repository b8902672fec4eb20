"""The ERP's list tables (django-tables2). The first column selects rows for bulk actions; a table's
``default_columns`` fit a 1,366 px screen, the others are in the list's "Columns" dialog."""

import django_tables2 as tables
from django.template.defaultfilters import floatformat

from erp.models import (
    Contact,
    Currency,
    CurrencyExchangeRate,
    CustLedgerEntry,
    Customer,
    CustomerPriceGroup,
    Item,
    ItemLedgerEntry,
    ItemUnitOfMeasure,
    Resource,
    SalesHeader,
    SalesInvoiceHeader,
    SalesInvoiceLine,
    Salesperson,
    SalesPrice,
    UnitOfMeasure,
)
from nav_crm.templatetags.nav_crm_ui import money, quantity
from nav_crm.ui.tables import ObjectTable

NUMBER = {"th": {"class": "number"}, "td": {"class": "number"}}


class NumberColumn(tables.Column):
    """An amount, right-aligned with two decimals (sums may come back from the database without them)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUMBER)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return money(value)


class QuantityColumn(NumberColumn):
    def render(self, value):
        return quantity(value)


class CustomerTable(ObjectTable):
    no = tables.Column(linkify=True)
    name = tables.Column(linkify=True)
    salesperson = tables.Column(linkify=True, order_by=("salesperson__code",))
    customer_price_group = tables.Column(
        verbose_name="Price group", linkify=True, order_by=("customer_price_group__code",)
    )

    default_columns = ("no", "name", "city", "salesperson", "currency", "customer_price_group", "blocked")

    class Meta(ObjectTable.Meta):
        model = Customer
        fields = (
            "pk",
            "no",
            "name",
            "city",
            "phone",
            "salesperson",
            "currency",
            "customer_price_group",
            "blocked",
        )


class ContactTable(ObjectTable):
    no = tables.Column(linkify=True)
    name = tables.Column(accessor="display_name", order_by=("name",), linkify=True)
    company = tables.Column(linkify=True, order_by=("company__name",))
    customer = tables.Column(linkify=True, order_by=("customer__no",))

    default_columns = ("no", "name", "type", "company", "city")

    class Meta(ObjectTable.Meta):
        model = Contact
        fields = ("pk", "no", "name", "type", "company", "customer", "job_title", "email", "phone", "city")


class SalespersonTable(ObjectTable):
    code = tables.Column(linkify=True)
    name = tables.Column(linkify=True)

    class Meta(ObjectTable.Meta):
        model = Salesperson
        fields = ("pk", "code", "name", "email", "phone")


class ItemTable(ObjectTable):
    no = tables.Column(linkify=True)
    description = tables.Column(linkify=True)
    base_unit_of_measure = tables.Column(verbose_name="Base unit", order_by=("base_unit_of_measure__code",))
    unit_price = NumberColumn()
    unit_cost = NumberColumn()
    blocked = tables.BooleanColumn()

    class Meta(ObjectTable.Meta):
        model = Item
        fields = ("pk", "no", "description", "type", "base_unit_of_measure", "unit_price", "unit_cost", "blocked")


class ItemAvailabilityTable(ObjectTable):
    no = tables.Column(linkify=True)
    description = tables.Column()
    base_unit_of_measure = tables.Column(verbose_name="Unit", order_by=("base_unit_of_measure__code",))
    inventory = QuantityColumn()
    outstanding_sales_qty = QuantityColumn(verbose_name="Outstanding sales")
    available_qty = QuantityColumn(verbose_name="Available")

    class Meta(ObjectTable.Meta):
        model = Item
        fields = ("pk", "no", "description", "type", "base_unit_of_measure")
        row_attrs = {"class": lambda record: "table-warning" if record.available_qty < 0 else ""}


class ResourceTable(ObjectTable):
    no = tables.Column(linkify=True)
    name = tables.Column(linkify=True)
    base_unit_of_measure = tables.Column(verbose_name="Base unit", order_by=("base_unit_of_measure__code",))
    unit_price = NumberColumn()
    capacity = QuantityColumn()
    blocked = tables.BooleanColumn()

    class Meta(ObjectTable.Meta):
        model = Resource
        fields = ("pk", "no", "name", "base_unit_of_measure", "unit_price", "capacity", "blocked")


class UnitOfMeasureTable(ObjectTable):
    code = tables.Column(linkify=True)

    class Meta(ObjectTable.Meta):
        model = UnitOfMeasure
        fields = ("pk", "code", "description")


class CurrencyTable(ObjectTable):
    code = tables.Column(linkify=True)

    class Meta(ObjectTable.Meta):
        model = Currency
        fields = ("pk", "code", "description", "symbol")


class CurrencyExchangeRateTable(tables.Table):
    exchange_rate = NumberColumn()

    class Meta:
        model = CurrencyExchangeRate
        fields = ("starting_date", "exchange_rate")
        attrs = {"class": "table table-sm align-middle"}


class CustomerPriceGroupTable(ObjectTable):
    code = tables.Column(linkify=True)

    class Meta(ObjectTable.Meta):
        model = CustomerPriceGroup
        fields = ("pk", "code", "description")


class SalesPriceTable(ObjectTable):
    item = tables.Column(linkify=lambda record: record.get_absolute_url(), order_by=("item__no",))
    currency = tables.Column(default="LCY")
    unit_of_measure = tables.Column(verbose_name="Unit", default="base", order_by=("unit_of_measure__code",))
    minimum_quantity = QuantityColumn(verbose_name="Min. qty")
    unit_price = NumberColumn()

    default_columns = ("item", "sales_type", "sales_code", "currency", "minimum_quantity", "unit_price")

    class Meta(ObjectTable.Meta):
        model = SalesPrice
        fields = (
            "pk",
            "item",
            "sales_type",
            "sales_code",
            "currency",
            "unit_of_measure",
            "minimum_quantity",
            "starting_date",
            "ending_date",
            "unit_price",
        )


class SalesOrderTable(ObjectTable):
    no = tables.Column(linkify=True)
    sell_to_customer = tables.Column(verbose_name="Customer", linkify=True, order_by=("sell_to_customer__no",))
    salesperson = tables.Column(order_by=("salesperson__code",))
    currency = tables.Column(default="LCY")
    amount = NumberColumn(verbose_name="Amount")

    default_columns = ("no", "sell_to_customer", "order_date", "salesperson", "currency", "amount", "status")

    class Meta(ObjectTable.Meta):
        model = SalesHeader
        fields = (
            "pk",
            "no",
            "sell_to_customer",
            "order_date",
            "requested_delivery_date",
            "salesperson",
            "your_reference",
            "currency",
            "amount",
            "status",
        )


class ItemUnitOfMeasureTable(tables.Table):
    qty_per_unit = QuantityColumn()

    class Meta:
        model = ItemUnitOfMeasure
        fields = ("unit_of_measure", "qty_per_unit")
        attrs = {"class": "table table-sm align-middle"}


class ItemLedgerEntryTable(tables.Table):
    quantity = QuantityColumn()

    class Meta:
        model = ItemLedgerEntry
        fields = ("posting_date", "entry_type", "document_no", "description", "quantity")
        attrs = {"class": "table table-sm align-middle"}


class SalesInvoiceTable(ObjectTable):
    no = tables.Column(linkify=True)
    sell_to_customer = tables.Column(verbose_name="Customer", linkify=True, order_by=("sell_to_customer__no",))
    # The order may have been deleted since; the invoice keeps its number.
    order_no = tables.Column(linkify=lambda record: record.order.get_absolute_url() if record.order_id else None)
    currency = tables.Column(default="LCY", order_by=("currency__code",))
    amount = NumberColumn()

    class Meta(ObjectTable.Meta):
        model = SalesInvoiceHeader
        fields = (
            "pk",
            "no",
            "posting_date",
            "sell_to_customer",
            "order_no",
            "your_reference",
            "currency",
            "amount",
            "due_date",
        )


class SalesInvoiceLineTable(tables.Table):
    no = tables.Column(
        verbose_name="No.",
        accessor="no",
        orderable=False,
        linkify=lambda record: record.item.get_absolute_url() if record.item_id else None,
    )
    quantity = QuantityColumn()
    unit_of_measure = tables.Column(verbose_name="Unit", default="")
    unit_price = NumberColumn()
    line_discount_pct = tables.Column(verbose_name="Line discount %", attrs=NUMBER)
    line_amount = NumberColumn()

    class Meta:
        model = SalesInvoiceLine
        fields = ("no", "description", "quantity", "unit_of_measure", "unit_price", "line_discount_pct", "line_amount")
        orderable = False  # a posted document: its lines in their order
        attrs = {"class": "table table-sm align-middle mb-0"}

    def render_line_discount_pct(self, value):
        return floatformat(value, "-2")  # as on the order page: 10, 12.5


class CustLedgerEntryTable(ObjectTable):
    customer = tables.Column(linkify=True, order_by=("customer__no",))
    document_no = tables.Column(
        linkify=lambda record: record.sales_invoice.get_absolute_url() if record.sales_invoice_id else None
    )
    currency = tables.Column(default="LCY", order_by=("currency__code",))
    amount = NumberColumn()
    remaining_amount = NumberColumn()
    open = tables.BooleanColumn()

    class Meta(ObjectTable.Meta):
        model = CustLedgerEntry
        fields = (
            "pk",
            "posting_date",
            "document_type",
            "document_no",
            "customer",
            "description",
            "currency",
            "amount",
            "remaining_amount",
            "due_date",
            "open",
        )

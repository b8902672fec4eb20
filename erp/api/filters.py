"""Query filters for the ERP endpoints. References filter by business key: ``?currency=EUR``."""

import django_filters as filters

from erp import models


def code_filter(field_name: str, label: str) -> filters.CharFilter:
    return filters.CharFilter(field_name=field_name, lookup_expr="iexact", label=label)


class CustomerFilter(filters.FilterSet):
    salesperson = code_filter("salesperson__code", "Salesperson code")
    currency = code_filter("currency__code", "Currency code")
    customer_price_group = code_filter("customer_price_group__code", "Customer price group code")
    payment_terms = code_filter("payment_terms__code", "Payment terms code")
    modified_since = filters.IsoDateTimeFilter(field_name="modified_at", lookup_expr="gte")

    class Meta:
        model = models.Customer
        fields = ("blocked", "city", "country")


class ContactFilter(filters.FilterSet):
    company = code_filter("company__no", "Company contact no.")
    customer = code_filter("customer__no", "Customer no.")
    modified_since = filters.IsoDateTimeFilter(field_name="modified_at", lookup_expr="gte")

    class Meta:
        model = models.Contact
        fields = ("type", "city", "country")


class ItemFilter(filters.FilterSet):
    base_unit_of_measure = code_filter("base_unit_of_measure__code", "Base unit of measure code")
    modified_since = filters.IsoDateTimeFilter(field_name="modified_at", lookup_expr="gte")

    class Meta:
        model = models.Item
        fields = ("type", "blocked")


class ResourceFilter(filters.FilterSet):
    base_unit_of_measure = code_filter("base_unit_of_measure__code", "Base unit of measure code")

    class Meta:
        model = models.Resource
        fields = ("blocked",)


class SalesPriceFilter(filters.FilterSet):
    item = code_filter("item__no", "Item no.")
    currency = code_filter("currency__code", "Currency code")
    sales_code = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = models.SalesPrice
        fields = ("sales_type",)


class SalesOrderFilter(filters.FilterSet):
    sell_to_customer = code_filter("sell_to_customer__no", "Customer no.")
    salesperson = code_filter("salesperson__code", "Salesperson code")
    order_date = filters.DateFromToRangeFilter()
    modified_since = filters.IsoDateTimeFilter(field_name="modified_at", lookup_expr="gte")

    class Meta:
        model = models.SalesHeader
        fields = ("status",)


class SalesLineFilter(filters.FilterSet):
    item = code_filter("item__no", "Item no.")
    resource = code_filter("resource__no", "Resource no.")

    class Meta:
        model = models.SalesLine
        fields = ("type",)


class ExchangeRateFilter(filters.FilterSet):
    starting_date = filters.DateFromToRangeFilter()

    class Meta:
        model = models.CurrencyExchangeRate
        fields = ()


class ItemLedgerEntryFilter(filters.FilterSet):
    item = code_filter("item__no", "Item no.")
    posting_date = filters.DateFromToRangeFilter()
    document_no = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = models.ItemLedgerEntry
        fields = ("entry_type",)


class SalesInvoiceFilter(filters.FilterSet):
    sell_to_customer = code_filter("sell_to_customer__no", "Customer no.")
    order_no = filters.CharFilter(lookup_expr="iexact")
    posting_date = filters.DateFromToRangeFilter()

    class Meta:
        model = models.SalesInvoiceHeader
        fields = ()


class CustLedgerEntryFilter(filters.FilterSet):
    customer = code_filter("customer__no", "Customer no.")
    posting_date = filters.DateFromToRangeFilter()
    due_date = filters.DateFromToRangeFilter()
    document_no = filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = models.CustLedgerEntry
        fields = ("open", "document_type")


class ItemAvailabilityFilter(filters.FilterSet):
    class Meta:
        model = models.Item
        fields = ("type", "blocked")

"""Filters of the ERP's list pages (django-filter). Free-text search is the views' ``search_fields``."""

import django_filters
from django import forms
from django.db.models import Q

from erp.models import (
    Contact,
    Currency,
    CustLedgerEntry,
    Customer,
    CustomerPriceGroup,
    Item,
    Resource,
    SalesHeader,
    SalesInvoiceHeader,
    Salesperson,
    SalesPrice,
    UnitOfMeasure,
)
from nav_crm.ui.filters import yes_no_any

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NOT_BLOCKED = "none"


def lcy_filter(label: str = "Currency") -> django_filters.ModelChoiceFilter:
    return django_filters.ModelChoiceFilter(
        queryset=Currency.objects.all(), null_label="LCY (local currency)", label=label
    )


class CustomerFilterSet(django_filters.FilterSet):
    salesperson = django_filters.ModelChoiceFilter(queryset=Salesperson.objects.all())
    currency = lcy_filter()
    customer_price_group = django_filters.ModelChoiceFilter(
        queryset=CustomerPriceGroup.objects.all(), label="Price group"
    )
    blocked = django_filters.ChoiceFilter(
        choices=[(NOT_BLOCKED, "Not blocked"), *[c for c in Customer.Blocked.choices if c[0]]],
        method="filter_blocked",
    )
    country = django_filters.CharFilter(lookup_expr="icontains", label="Country/region")
    city = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Customer
        fields = ["salesperson", "currency", "customer_price_group", "blocked", "country", "city"]

    def filter_blocked(self, queryset, name, value):
        return queryset.filter(blocked=Customer.Blocked.NONE if value == NOT_BLOCKED else value)


class ContactFilterSet(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Contact.Type.choices)
    company = django_filters.ModelChoiceFilter(queryset=Contact.objects.filter(type=Contact.Type.COMPANY))
    customer = django_filters.ModelChoiceFilter(
        queryset=Customer.objects.all(), method="filter_customer", label="Customer (company or its people)"
    )
    city = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Contact
        fields = ["type", "company", "customer", "city"]

    def filter_customer(self, queryset, name, value):
        return queryset.filter(Q(customer=value) | Q(company__customer=value))


class ItemFilterSet(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=Item.Type.choices)
    blocked = django_filters.BooleanFilter(widget=yes_no_any())
    base_unit_of_measure = django_filters.ModelChoiceFilter(queryset=UnitOfMeasure.objects.all(), label="Base unit")
    unit_price__gte = django_filters.NumberFilter(field_name="unit_price", lookup_expr="gte", label="Unit price from")
    unit_price__lte = django_filters.NumberFilter(field_name="unit_price", lookup_expr="lte", label="Unit price to")

    class Meta:
        model = Item
        fields = ["type", "blocked", "base_unit_of_measure"]


class ItemAvailabilityFilterSet(django_filters.FilterSet):
    """Filters on the availability annotations (``items_with_availability``)."""

    type = django_filters.ChoiceFilter(choices=Item.Type.choices)
    blocked = django_filters.BooleanFilter(widget=yes_no_any())
    shortage = django_filters.BooleanFilter(
        method="filter_shortage", label="Short (available below zero)", widget=yes_no_any()
    )

    class Meta:
        model = Item
        fields = ["type", "blocked"]

    def filter_shortage(self, queryset, name, value):
        return queryset.filter(available_qty__lt=0) if value else queryset.filter(available_qty__gte=0)


class ResourceFilterSet(django_filters.FilterSet):
    blocked = django_filters.BooleanFilter(widget=yes_no_any())
    base_unit_of_measure = django_filters.ModelChoiceFilter(queryset=UnitOfMeasure.objects.all(), label="Base unit")

    class Meta:
        model = Resource
        fields = ["blocked", "base_unit_of_measure"]


class SalesPriceFilterSet(django_filters.FilterSet):
    item = django_filters.ModelChoiceFilter(queryset=Item.objects.all())
    sales_type = django_filters.ChoiceFilter(choices=SalesPrice.SalesType.choices)
    sales_code = django_filters.CharFilter(lookup_expr="iexact")
    currency = lcy_filter()
    valid_on = django_filters.DateFilter(method="filter_valid_on", label="Valid on", widget=DATE_INPUT)

    class Meta:
        model = SalesPrice
        fields = ["item", "sales_type", "sales_code", "currency"]

    def filter_valid_on(self, queryset, name, value):
        return queryset.filter(
            Q(starting_date__isnull=True) | Q(starting_date__lte=value),
            Q(ending_date__isnull=True) | Q(ending_date__gte=value),
        )


class SalesOrderFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SalesHeader.Status.choices)
    sell_to_customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), label="Customer")
    salesperson = django_filters.ModelChoiceFilter(queryset=Salesperson.objects.all())
    currency = lcy_filter()
    order_date_from = django_filters.DateFilter(
        field_name="order_date", lookup_expr="gte", label="Order date from", widget=DATE_INPUT
    )
    order_date_to = django_filters.DateFilter(
        field_name="order_date", lookup_expr="lte", label="Order date to", widget=DATE_INPUT
    )

    class Meta:
        model = SalesHeader
        fields = ["status", "sell_to_customer", "salesperson", "currency"]


class SalesInvoiceFilterSet(django_filters.FilterSet):
    sell_to_customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), label="Customer")
    posting_date_from = django_filters.DateFilter(
        field_name="posting_date", lookup_expr="gte", label="Posting date from", widget=DATE_INPUT
    )
    posting_date_to = django_filters.DateFilter(
        field_name="posting_date", lookup_expr="lte", label="Posting date to", widget=DATE_INPUT
    )
    currency = lcy_filter()

    class Meta:
        model = SalesInvoiceHeader
        fields = ["sell_to_customer", "currency"]


class CustLedgerEntryFilterSet(django_filters.FilterSet):
    customer = django_filters.ModelChoiceFilter(queryset=Customer.objects.all())
    open = django_filters.BooleanFilter(widget=yes_no_any())
    due_date_from = django_filters.DateFilter(
        field_name="due_date", lookup_expr="gte", label="Due date from", widget=DATE_INPUT
    )
    due_date_to = django_filters.DateFilter(
        field_name="due_date", lookup_expr="lte", label="Due date to", widget=DATE_INPUT
    )
    document_type = django_filters.ChoiceFilter(choices=CustLedgerEntry.DocumentType.choices)

    class Meta:
        model = CustLedgerEntry
        fields = ["customer", "open", "document_type"]

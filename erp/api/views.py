"""REST endpoints for the ERP (``/api/v1/``).

Records are looked up by their business key: ``code`` for code tables and currencies, ``no`` for
customers, contacts, items, resources and sales orders, ``system_id`` for sales prices (they have
no key of their own), the entry no. for item ledger entries. Exchange rates, item units of measure
and sales lines live under their parent: ``/currencies/EUR/exchange-rates/2026-01-01/``,
``/items/1000/units-of-measure/BOX/``, ``/sales-orders/SO00010/lines/10000/``.
"""

import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from erp import models, selectors, services
from erp.api import filters, serializers
from nav_crm.api.exceptions import Conflict, validation_error_detail
from nav_crm.api.permissions import permissions_required

# Codes may contain dots and spaces (see ``erp.models.code_validator``); only "/" cannot be addressed.
KEY_REGEX = r"[^/]+"


class UrlKeysMixin:
    """A key in the URL that no record can have answers 404 before it reaches the database.

    PostgreSQL refuses a NUL character in a query parameter outright (a 500 otherwise).
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if any("\x00" in str(value) for value in self.kwargs.values()):
            raise exceptions.NotFound()


class ServiceModelViewSet(UrlKeysMixin, viewsets.ModelViewSet):
    """CRUD whose writes go through ``erp.services``; a refused delete answers 409 with the reason."""

    lookup_value_regex = KEY_REGEX
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_destroy(self, instance):
        try:
            with transaction.atomic():
                self.delete_instance(instance)
        except DjangoValidationError as error:
            raise Conflict(_join_messages(error)) from error

    def delete_instance(self, instance):
        services.record_delete(instance=instance)


def _join_messages(error: DjangoValidationError) -> str:
    detail = validation_error_detail(error)
    return " ".join(message for messages in detail.values() for message in messages)


class CodeTableViewSet(ServiceModelViewSet):
    lookup_field = "code"
    search_fields = ("code", "description")
    ordering_fields = ("code", "description", "modified_at")


class CurrencyViewSet(CodeTableViewSet):
    queryset = models.Currency.objects.all()
    serializer_class = serializers.CurrencySerializer


class UnitOfMeasureViewSet(CodeTableViewSet):
    queryset = models.UnitOfMeasure.objects.all()
    serializer_class = serializers.UnitOfMeasureSerializer


class SalespersonViewSet(CodeTableViewSet):
    queryset = models.Salesperson.objects.all()
    serializer_class = serializers.SalespersonSerializer
    search_fields = ("code", "name", "email")
    ordering_fields = ("code", "name", "modified_at")


class PaymentTermsViewSet(CodeTableViewSet):
    queryset = models.PaymentTerms.objects.all()
    serializer_class = serializers.PaymentTermsSerializer


class ShipmentMethodViewSet(CodeTableViewSet):
    queryset = models.ShipmentMethod.objects.all()
    serializer_class = serializers.ShipmentMethodSerializer


class ShippingAgentViewSet(CodeTableViewSet):
    queryset = models.ShippingAgent.objects.all()
    serializer_class = serializers.ShippingAgentSerializer


class CustomerPriceGroupViewSet(CodeTableViewSet):
    queryset = models.CustomerPriceGroup.objects.all()
    serializer_class = serializers.CustomerPriceGroupSerializer


class CustomerViewSet(ServiceModelViewSet):
    queryset = models.Customer.objects.select_related(
        "salesperson",
        "currency",
        "customer_price_group",
        "payment_terms",
        "shipment_method",
        "shipping_agent",
        "primary_contact",
    )
    serializer_class = serializers.CustomerSerializer
    lookup_field = "no"
    filterset_class = filters.CustomerFilter
    search_fields = ("no", "name", "city", "email", "phone")
    ordering_fields = ("no", "name", "city", "credit_limit_lcy", "modified_at")


class ContactViewSet(ServiceModelViewSet):
    queryset = models.Contact.objects.select_related("company", "customer")
    serializer_class = serializers.ContactSerializer
    lookup_field = "no"
    filterset_class = filters.ContactFilter
    search_fields = ("no", "name", "first_name", "last_name", "email", "city")
    ordering_fields = ("no", "name", "last_name", "city", "modified_at")


class ItemViewSet(ServiceModelViewSet):
    queryset = models.Item.objects.select_related("base_unit_of_measure").prefetch_related(
        Prefetch(
            "units_of_measure",
            queryset=models.ItemUnitOfMeasure.objects.select_related("item", "unit_of_measure"),
        )
    )
    serializer_class = serializers.ItemSerializer
    lookup_field = "no"
    filterset_class = filters.ItemFilter
    search_fields = ("no", "description")
    ordering_fields = ("no", "description", "unit_price", "modified_at")


class ResourceViewSet(ServiceModelViewSet):
    queryset = models.Resource.objects.select_related("base_unit_of_measure")
    serializer_class = serializers.ResourceSerializer
    lookup_field = "no"
    filterset_class = filters.ResourceFilter
    search_fields = ("no", "name")
    ordering_fields = ("no", "name", "unit_price", "modified_at")


class SalesPriceViewSet(ServiceModelViewSet):
    queryset = models.SalesPrice.objects.select_related("item", "currency", "unit_of_measure")
    serializer_class = serializers.SalesPriceSerializer
    lookup_field = "system_id"
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"
    filterset_class = filters.SalesPriceFilter
    search_fields = ("item__no", "item__description", "sales_code")
    ordering_fields = ("item__no", "sales_type", "sales_code", "starting_date", "unit_price", "modified_at")


def _order_queryset():
    line_queryset = models.SalesLine.objects.select_related("order", "item", "resource", "unit_of_measure")
    return models.SalesHeader.objects.select_related("sell_to_customer", "currency", "salesperson").prefetch_related(
        Prefetch("lines", queryset=line_queryset)
    )


class SalesOrderViewSet(ServiceModelViewSet):
    queryset = _order_queryset()
    serializer_class = serializers.SalesOrderSerializer
    lookup_field = "no"
    filterset_class = filters.SalesOrderFilter
    search_fields = ("no", "sell_to_customer__no", "sell_to_customer__name", "your_reference", "external_document_no")
    ordering_fields = ("no", "order_date", "requested_delivery_date", "modified_at")

    def _refreshed(self, order) -> Response:
        order = _order_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data)

    @extend_schema(request=None, responses=serializers.SalesOrderSerializer)
    @action(detail=True, methods=["post"], permission_classes=[permissions_required("erp.change_salesheader")])
    def release(self, request, no=None):
        """Release the order: its lines can no longer change until it is reopened."""
        with transaction.atomic():
            order = services.sales_order_release(order=self.get_object())
        return self._refreshed(order)

    @extend_schema(request=None, responses=serializers.SalesOrderSerializer)
    @action(detail=True, methods=["post"], permission_classes=[permissions_required("erp.change_salesheader")])
    def reopen(self, request, no=None):
        """Reopen a released order so that its lines can change again."""
        with transaction.atomic():
            order = services.sales_order_reopen(order=self.get_object())
        return self._refreshed(order)

    @extend_schema(request=serializers.ShipmentRequestSerializer, responses=serializers.ShipmentResultSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="post-shipment",
        permission_classes=[permissions_required("erp.change_salesheader", "erp.add_itemledgerentry")],
    )
    def post_shipment(self, request, no=None):
        """Ship everything outstanding; item lines write sale entries to the item ledger."""
        order = self.get_object()
        params = serializers.ShipmentRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            entries = services.sales_order_post_shipment(order=order, **params.validated_data)
        entries = models.ItemLedgerEntry.objects.filter(pk__in=[entry.pk for entry in entries]).select_related(
            "item", "sales_line__order"
        )
        order = _order_queryset().get(pk=order.pk)
        result = serializers.ShipmentResultSerializer(
            {"order": order, "item_ledger_entries": list(entries)}, context=self.get_serializer_context()
        )
        return Response(result.data)

    @extend_schema(request=serializers.InvoiceRequestSerializer, responses=serializers.InvoiceResultSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="post-invoice",
        permission_classes=[permissions_required("erp.add_salesinvoiceheader")],
    )
    def post_invoice(self, request, no=None):
        """Invoice what was shipped and not yet invoiced (or the quantities given per line no.): a posted sales
        invoice and its open customer ledger entry; a fully shipped and invoiced order is closed."""
        order = self.get_object()
        params = serializers.InvoiceRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with transaction.atomic():
            invoice = services.sales_order_post_invoice(order=order, **params.validated_data)
        result = serializers.InvoiceResultSerializer(
            {"order": _order_queryset().get(pk=order.pk), "invoice": _invoice_queryset().get(pk=invoice.pk)},
            context=self.get_serializer_context(),
        )
        return Response(result.data, status=201)


def _invoice_queryset():
    return models.SalesInvoiceHeader.objects.select_related(
        "sell_to_customer", "currency", "salesperson"
    ).prefetch_related(
        Prefetch(
            "lines", queryset=models.SalesInvoiceLine.objects.select_related("item", "resource", "unit_of_measure")
        )
    )


class SalesInvoiceViewSet(UrlKeysMixin, viewsets.ReadOnlyModelViewSet):
    """Posted sales invoices: written by posting an order's invoice, never changed."""

    queryset = _invoice_queryset()
    serializer_class = serializers.SalesInvoiceSerializer
    lookup_field = "no"
    lookup_value_regex = KEY_REGEX
    filterset_class = filters.SalesInvoiceFilter
    search_fields = ("no", "order_no", "sell_to_customer__no", "your_reference", "external_document_no")
    ordering_fields = ("no", "posting_date", "due_date", "amount")


class CustLedgerEntryViewSet(UrlKeysMixin, viewsets.ReadOnlyModelViewSet):
    """The customer ledger: what each customer owes, entry by entry."""

    queryset = models.CustLedgerEntry.objects.select_related("customer", "currency")
    serializer_class = serializers.CustLedgerEntrySerializer
    lookup_field = "pk"
    lookup_url_kwarg = "entry_no"
    lookup_value_regex = r"\d+"
    filterset_class = filters.CustLedgerEntryFilter
    search_fields = ("customer__no", "document_no", "description")
    ordering_fields = ("id", "posting_date", "due_date", "amount", "remaining_amount")


def nested_schema(parent: OpenApiParameter, key: OpenApiParameter):
    """Typed path parameters for a nested viewset (drf-spectacular cannot infer the parent's)."""
    collection = extend_schema(parameters=[parent])
    record = extend_schema(parameters=[parent, key])
    return extend_schema_view(
        list=collection,
        create=collection,
        retrieve=record,
        update=record,
        partial_update=record,
        destroy=record,
    )


def path_parameter(name: str, type_: OpenApiTypes, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, type_, OpenApiParameter.PATH, description=description)


class NestedViewSet(ServiceModelViewSet):
    """Records that belong to a parent addressed in the URL; a missing parent answers 404."""

    parent_model = None
    parent_lookup_field = ""
    parent_url_kwarg = ""
    parent_field = ""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Only after the permission check, so that a user without permission learns nothing.
        self.parent = get_object_or_404(self.parent_model, **{self.parent_lookup_field: self._parent_key()})

    def _parent_key(self) -> str:
        return self.kwargs.get(self.parent_url_kwarg, "")

    def get_queryset(self):
        lookup = f"{self.parent_field}__{self.parent_lookup_field}"
        return super().get_queryset().filter(**{lookup: self._parent_key()})

    def perform_create(self, serializer):
        serializer.save(**{self.parent_field: self.parent})


@nested_schema(
    path_parameter("currency_code", OpenApiTypes.STR, "The currency's code, e.g. EUR."),
    path_parameter("starting_date", OpenApiTypes.DATE, "The date the rate applies from."),
)
class CurrencyExchangeRateViewSet(NestedViewSet):
    queryset = models.CurrencyExchangeRate.objects.select_related("currency")
    serializer_class = serializers.CurrencyExchangeRateSerializer
    parent_model = models.Currency
    parent_lookup_field = "code"
    parent_url_kwarg = "currency_code"
    parent_field = "currency"
    lookup_field = "starting_date"
    lookup_value_regex = r"\d{4}-\d{2}-\d{2}"
    filterset_class = filters.ExchangeRateFilter
    ordering_fields = ("starting_date", "exchange_rate")

    def get_object(self):
        try:
            datetime.date.fromisoformat(self.kwargs["starting_date"])
        except ValueError as error:
            raise exceptions.NotFound("No exchange rate starts on that date.") from error
        return super().get_object()


@nested_schema(
    path_parameter("item_no", OpenApiTypes.STR, "The item's no."),
    path_parameter("unit_of_measure", OpenApiTypes.STR, "The unit of measure's code, e.g. BOX."),
)
class ItemUnitOfMeasureViewSet(NestedViewSet):
    queryset = models.ItemUnitOfMeasure.objects.select_related("item", "unit_of_measure")
    serializer_class = serializers.ItemUnitOfMeasureSerializer
    parent_model = models.Item
    parent_lookup_field = "no"
    parent_url_kwarg = "item_no"
    parent_field = "item"
    lookup_field = "unit_of_measure__code"
    lookup_url_kwarg = "unit_of_measure"
    ordering_fields = ("unit_of_measure__code", "qty_per_unit")


@nested_schema(
    path_parameter("order_no", OpenApiTypes.STR, "The sales order's no."),
    path_parameter("line_no", OpenApiTypes.INT, "The line's no., e.g. 10000."),
)
class SalesLineViewSet(NestedViewSet):
    queryset = models.SalesLine.objects.select_related("order", "item", "resource", "unit_of_measure")
    serializer_class = serializers.SalesLineSerializer
    parent_model = models.SalesHeader
    parent_lookup_field = "no"
    parent_url_kwarg = "order_no"
    parent_field = "order"
    lookup_field = "line_no"
    lookup_value_regex = r"\d+"
    filterset_class = filters.SalesLineFilter
    search_fields = ("description", "item__no", "resource__no")
    ordering_fields = ("line_no", "line_amount")

    def delete_instance(self, instance):
        services.sales_line_delete(line=instance)


@extend_schema_view(
    retrieve=extend_schema(parameters=[path_parameter("entry_no", OpenApiTypes.INT, "The entry's no.")])
)
class ItemLedgerEntryViewSet(UrlKeysMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The item ledger: entries are posted, never changed or deleted."""

    queryset = models.ItemLedgerEntry.objects.select_related("item", "sales_line__order")
    serializer_class = serializers.ItemLedgerEntrySerializer
    lookup_field = "pk"
    lookup_url_kwarg = "entry_no"
    lookup_value_regex = r"\d+"
    filterset_class = filters.ItemLedgerEntryFilter
    search_fields = ("item__no", "document_no", "description")
    ordering_fields = ("id", "posting_date", "quantity")


AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    OpenApiParameter.QUERY,
    description="Count open sales lines due by this date (YYYY-MM-DD); default: all of them.",
)


@extend_schema_view(
    list=extend_schema(parameters=[AS_OF_PARAMETER]), retrieve=extend_schema(parameters=[AS_OF_PARAMETER])
)
class ItemAvailabilityViewSet(UrlKeysMixin, viewsets.ReadOnlyModelViewSet):
    """Inventory, outstanding sales and what is left to promise, per item."""

    queryset = models.Item.objects.all()
    serializer_class = serializers.ItemAvailabilitySerializer
    lookup_field = "no"
    lookup_value_regex = KEY_REGEX
    filterset_class = filters.ItemAvailabilityFilter
    extra_query_params = ("as_of",)
    search_fields = ("no", "description")
    ordering_fields = ("no", "description", "inventory", "available_qty")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.as_of = self._parse_as_of(request.query_params.get("as_of", ""))

    def get_queryset(self):
        return selectors.items_with_availability(
            queryset=super().get_queryset().select_related("base_unit_of_measure"), as_of=getattr(self, "as_of", None)
        )

    @staticmethod
    def _parse_as_of(raw: str) -> datetime.date | None:
        if not raw:
            return None
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError as error:
            raise exceptions.ValidationError({"as_of": [f"“{raw}” is not a date; use YYYY-MM-DD."]}) from error

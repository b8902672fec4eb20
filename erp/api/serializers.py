"""REST serializers for the ERP.

Records are addressed by their business key (``no`` or ``code``) and refer to each other by it
(``"currency": "EUR"``); the internal primary key never appears. ``system_id`` is the stable id
the CRM integration couples on. Serializers check input types only: every write goes through
``erp.services``, where the business rules and ``full_clean()`` live.
"""

from decimal import Decimal

from django.db import transaction
from rest_framework import serializers

from erp import models, services


class BusinessKeyField(serializers.SlugRelatedField):
    """A reference to another record by its business key, with an error message that names it."""

    def __init__(self, slug_field: str, queryset, *, what: str = "", **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(slug_field=slug_field, queryset=queryset, **kwargs)
        what = what or queryset.model._meta.verbose_name
        self.error_messages["does_not_exist"] = f"There is no {what} with {slug_field} “{{value}}”."


def code_ref(model, **kwargs) -> BusinessKeyField:
    return BusinessKeyField("code", model.objects.all(), **kwargs)


def no_ref(queryset, **kwargs) -> BusinessKeyField:
    return BusinessKeyField("no", queryset, **kwargs)


class UpperCaseCharField(serializers.CharField):
    """Codes are upper case; accept "eur" for "EUR" before the format check runs."""

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


class ServiceModelSerializer(serializers.ModelSerializer):
    """Creates and updates through ``services.record_save``; subclasses swap in a specific service."""

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if isinstance(model_field, models.CodeField) or (self.Meta.model is models.Currency and field_name == "code"):
            field_class = UpperCaseCharField
        return field_class, field_kwargs

    def create(self, validated_data):
        instance = self.Meta.model(**validated_data)
        return self.save_instance(instance)

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self.save_instance(instance)

    def save_instance(self, instance):
        with transaction.atomic():
            return services.record_save(instance=instance)


SYNCED_READ_ONLY = ("system_id", "created_at", "modified_at")
NUMBERED_KWARGS = {"no": {"required": False, "allow_blank": True, "help_text": "Empty: the next number of the series."}}


class CurrencyExchangeRateSerializer(ServiceModelSerializer):
    currency = serializers.CharField(source="currency.code", read_only=True)

    class Meta:
        model = models.CurrencyExchangeRate
        fields = ("currency", "starting_date", "exchange_rate")


class CurrencySerializer(ServiceModelSerializer):
    class Meta:
        model = models.Currency
        fields = ("code", "description", "symbol", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY


class UnitOfMeasureSerializer(ServiceModelSerializer):
    class Meta:
        model = models.UnitOfMeasure
        fields = ("code", "description", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY


class SalespersonSerializer(ServiceModelSerializer):
    class Meta:
        model = models.Salesperson
        fields = ("code", "name", "email", "phone", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY


class PaymentTermsSerializer(ServiceModelSerializer):
    class Meta:
        model = models.PaymentTerms
        fields = ("code", "description", "due_date_days", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY


class ShipmentMethodSerializer(ServiceModelSerializer):
    class Meta:
        model = models.ShipmentMethod
        fields = ("code", "description", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY


class ShippingAgentSerializer(ServiceModelSerializer):
    class Meta:
        model = models.ShippingAgent
        fields = ("code", "description", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY


class CustomerPriceGroupSerializer(ServiceModelSerializer):
    class Meta:
        model = models.CustomerPriceGroup
        fields = ("code", "description", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY


class CustomerSerializer(ServiceModelSerializer):
    salesperson = code_ref(models.Salesperson)
    currency = code_ref(models.Currency, help_text="Empty means the local currency (LCY).")
    customer_price_group = code_ref(models.CustomerPriceGroup)
    payment_terms = code_ref(models.PaymentTerms)
    shipment_method = code_ref(models.ShipmentMethod)
    shipping_agent = code_ref(models.ShippingAgent)
    primary_contact = no_ref(models.Contact.objects.all())

    class Meta:
        model = models.Customer
        fields = (
            "no",
            "name",
            "address",
            "address_2",
            "post_code",
            "city",
            "county",
            "country",
            "phone",
            "email",
            "home_page",
            "salesperson",
            "currency",
            "customer_price_group",
            "payment_terms",
            "shipment_method",
            "shipping_agent",
            "credit_limit_lcy",
            "blocked",
            "primary_contact",
            *SYNCED_READ_ONLY,
        )
        read_only_fields = SYNCED_READ_ONLY
        extra_kwargs = NUMBERED_KWARGS


class ContactSerializer(ServiceModelSerializer):
    company = no_ref(
        models.Contact.objects.filter(type=models.Contact.Type.COMPANY),
        what="company contact",
        help_text="For a person: the company contact they work for.",
    )
    customer = no_ref(models.Customer.objects.all(), help_text="For a company contact: the customer it is.")
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = models.Contact
        fields = (
            "no",
            "type",
            "company",
            "customer",
            "name",
            "display_name",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile_phone",
            "job_title",
            "address",
            "post_code",
            "city",
            "country",
            *SYNCED_READ_ONLY,
        )
        read_only_fields = SYNCED_READ_ONLY
        extra_kwargs = NUMBERED_KWARGS


class ItemUnitOfMeasureSerializer(ServiceModelSerializer):
    item = serializers.CharField(source="item.no", read_only=True)
    unit_of_measure = code_ref(models.UnitOfMeasure, required=True, allow_null=False)

    class Meta:
        model = models.ItemUnitOfMeasure
        fields = ("item", "unit_of_measure", "qty_per_unit")


class ItemSerializer(ServiceModelSerializer):
    base_unit_of_measure = code_ref(models.UnitOfMeasure, required=True, allow_null=False)
    units_of_measure = ItemUnitOfMeasureSerializer(many=True, read_only=True)

    class Meta:
        model = models.Item
        fields = (
            "no",
            "description",
            "type",
            "base_unit_of_measure",
            "unit_price",
            "unit_cost",
            "blocked",
            "units_of_measure",
            *SYNCED_READ_ONLY,
        )
        read_only_fields = SYNCED_READ_ONLY
        extra_kwargs = NUMBERED_KWARGS


class ResourceSerializer(ServiceModelSerializer):
    base_unit_of_measure = code_ref(models.UnitOfMeasure, required=True, allow_null=False)

    class Meta:
        model = models.Resource
        fields = ("no", "name", "base_unit_of_measure", "unit_price", "capacity", "blocked", *SYNCED_READ_ONLY)
        read_only_fields = SYNCED_READ_ONLY
        extra_kwargs = NUMBERED_KWARGS


class SalesPriceSerializer(ServiceModelSerializer):
    item = no_ref(models.Item.objects.all(), required=True, allow_null=False)
    currency = code_ref(models.Currency, help_text="Empty means the local currency (LCY).")
    unit_of_measure = code_ref(models.UnitOfMeasure)

    class Meta:
        model = models.SalesPrice
        fields = (
            "system_id",
            "item",
            "sales_type",
            "sales_code",
            "currency",
            "starting_date",
            "ending_date",
            "minimum_quantity",
            "unit_of_measure",
            "unit_price",
            "created_at",
            "modified_at",
        )
        read_only_fields = SYNCED_READ_ONLY


class SalesLineSerializer(ServiceModelSerializer):
    order = serializers.CharField(source="order.no", read_only=True)
    item = no_ref(models.Item.objects.all())
    resource = no_ref(models.Resource.objects.all())
    unit_of_measure = code_ref(models.UnitOfMeasure)
    outstanding_quantity = serializers.DecimalField(max_digits=18, decimal_places=5, read_only=True)

    class Meta:
        model = models.SalesLine
        fields = (
            "order",
            "line_no",
            "type",
            "item",
            "resource",
            "description",
            "quantity",
            "unit_of_measure",
            "qty_per_unit_of_measure",
            "unit_price",
            "line_discount_pct",
            "line_discount_amount",
            "line_amount",
            "quantity_shipped",
            "quantity_invoiced",
            "outstanding_quantity",
            *SYNCED_READ_ONLY,
        )
        read_only_fields = (
            "line_no",
            "qty_per_unit_of_measure",
            "line_discount_amount",
            "line_amount",
            "quantity_shipped",
            "quantity_invoiced",
            *SYNCED_READ_ONLY,
        )

    def save_instance(self, instance):
        with transaction.atomic():
            return services.sales_line_save(line=instance)


class OrderAmountField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=18, decimal_places=2, source="*", read_only=True, **kwargs)

    def get_attribute(self, order) -> Decimal:
        # Summed from the prefetched lines: no query per order in a list.
        return sum((line.line_amount for line in order.lines.all()), Decimal("0.00"))


class SalesOrderSerializer(ServiceModelSerializer):
    sell_to_customer = no_ref(models.Customer.objects.all(), required=True, allow_null=False)
    currency = code_ref(
        models.Currency, help_text="Empty means the local currency (LCY). Defaults to the customer's currency."
    )
    salesperson = code_ref(models.Salesperson, help_text="Defaults to the customer's salesperson.")
    payment_terms = code_ref(models.PaymentTerms, help_text="Defaults to the customer's payment terms.")
    shipment_method = code_ref(models.ShipmentMethod, help_text="Defaults to the customer's shipment method.")
    shipping_agent = code_ref(models.ShippingAgent, help_text="Defaults to the customer's shipping agent.")
    lines = SalesLineSerializer(many=True, read_only=True)
    amount = OrderAmountField(help_text="The sum of the line amounts.")

    class Meta:
        model = models.SalesHeader
        fields = (
            "no",
            "sell_to_customer",
            "order_date",
            "requested_delivery_date",
            "currency",
            "salesperson",
            "your_reference",
            "external_document_no",
            "payment_terms",
            "shipment_method",
            "shipping_agent",
            "ship_to_name",
            "ship_to_address",
            "ship_to_post_code",
            "ship_to_city",
            "ship_to_country",
            "work_description",
            "status",
            "amount",
            "lines",
            *SYNCED_READ_ONLY,
        )
        read_only_fields = ("status", *SYNCED_READ_ONLY)
        extra_kwargs = {**NUMBERED_KWARGS, "order_date": {"required": False}}

    def create(self, validated_data):
        with transaction.atomic():
            return services.sales_order_create(**validated_data)


class ShipmentRequestSerializer(serializers.Serializer):
    posting_date = serializers.DateField(required=False, help_text="Defaults to today.")


class ItemLedgerEntrySerializer(serializers.ModelSerializer):
    entry_no = serializers.IntegerField(source="pk", read_only=True)
    item = no_ref(models.Item.objects.all(), required=True, allow_null=False)
    sales_order = serializers.CharField(source="sales_line.order.no", read_only=True, allow_null=True, default=None)
    sales_line_no = serializers.IntegerField(source="sales_line.line_no", read_only=True, allow_null=True, default=None)

    class Meta:
        model = models.ItemLedgerEntry
        fields = (
            "entry_no",
            "item",
            "posting_date",
            "entry_type",
            "document_no",
            "description",
            "quantity",
            "sales_order",
            "sales_line_no",
            "created_at",
        )
        read_only_fields = ("created_at",)

    def create(self, validated_data):
        with transaction.atomic():
            return services.item_ledger_post(**validated_data)


class ShipmentResultSerializer(serializers.Serializer):
    order = SalesOrderSerializer()
    item_ledger_entries = ItemLedgerEntrySerializer(many=True)


class InvoiceRequestSerializer(serializers.Serializer):
    posting_date = serializers.DateField(required=False, help_text="Defaults to today.")
    quantities = serializers.DictField(
        child=serializers.DecimalField(max_digits=18, decimal_places=5),
        required=False,
        help_text='Quantity to invoice by line no. (e.g. {"10000": 2}); default: everything shipped and not '
        "yet invoiced.",
    )

    def validate_quantities(self, value: dict) -> dict[int, Decimal]:
        try:
            return {int(line_no): quantity for line_no, quantity in value.items()}
        except ValueError:
            raise serializers.ValidationError('Use line numbers as keys, e.g. {"10000": 2}.') from None


class SalesInvoiceLineSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.no", read_only=True, allow_null=True, default=None)
    resource = serializers.CharField(source="resource.no", read_only=True, allow_null=True, default=None)
    unit_of_measure = serializers.CharField(
        source="unit_of_measure.code", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = models.SalesInvoiceLine
        fields = (
            "line_no",
            "order_line_no",
            "type",
            "item",
            "resource",
            "description",
            "quantity",
            "unit_of_measure",
            "unit_price",
            "line_discount_pct",
            "line_discount_amount",
            "line_amount",
        )
        read_only_fields = fields


class SalesInvoiceSerializer(serializers.ModelSerializer):
    sell_to_customer = serializers.CharField(source="sell_to_customer.no", read_only=True)
    currency = serializers.CharField(
        source="currency.code", read_only=True, allow_null=True, default=None, help_text="Empty: the local currency."
    )
    salesperson = serializers.CharField(source="salesperson.code", read_only=True, allow_null=True, default=None)
    lines = SalesInvoiceLineSerializer(many=True, read_only=True)

    class Meta:
        model = models.SalesInvoiceHeader
        fields = (
            "no",
            "order_no",
            "sell_to_customer",
            "posting_date",
            "document_date",
            "due_date",
            "currency",
            "salesperson",
            "your_reference",
            "external_document_no",
            "line_discount_amount",
            "amount",
            "lines",
            "system_id",
            "created_at",
        )
        read_only_fields = fields


class CustLedgerEntrySerializer(serializers.ModelSerializer):
    entry_no = serializers.IntegerField(source="pk", read_only=True)
    customer = serializers.CharField(source="customer.no", read_only=True)
    currency = serializers.CharField(source="currency.code", read_only=True, allow_null=True, default=None)

    class Meta:
        model = models.CustLedgerEntry
        fields = (
            "entry_no",
            "customer",
            "posting_date",
            "document_type",
            "document_no",
            "description",
            "currency",
            "amount",
            "remaining_amount",
            "due_date",
            "open",
            "created_at",
        )
        read_only_fields = fields


class InvoiceResultSerializer(serializers.Serializer):
    order = SalesOrderSerializer()
    invoice = SalesInvoiceSerializer()


class ItemAvailabilitySerializer(serializers.ModelSerializer):
    base_unit_of_measure = serializers.CharField(source="base_unit_of_measure.code", read_only=True)
    inventory = serializers.DecimalField(max_digits=18, decimal_places=5, read_only=True)
    outstanding_sales_qty = serializers.DecimalField(
        max_digits=18, decimal_places=5, read_only=True, help_text="Open sales lines due by the as-of date."
    )
    available_qty = serializers.DecimalField(
        max_digits=18, decimal_places=5, read_only=True, help_text="Inventory minus outstanding sales."
    )

    class Meta:
        model = models.Item
        fields = (
            "no",
            "description",
            "type",
            "base_unit_of_measure",
            "blocked",
            "inventory",
            "outstanding_sales_qty",
            "available_qty",
            "system_id",
        )
        read_only_fields = fields

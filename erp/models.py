"""The ERP domain, modelled on Dynamics NAV.

Models hold fields, constraints, ``clean()`` and cheap properties. Writes go through
``erp.services``; reads that are more than a filter live in ``erp.selectors``.

Every record that the CRM integration synchronizes derives from :class:`SyncedModel`: a
UUID ``system_id`` used for coupling (never shown as the business key) and an indexed
``modified_at`` kept by the server. ``auto_now`` covers ``save()``; services that write with
``QuerySet.update()`` or ``bulk_update()`` set ``modified_at`` themselves.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

ZERO = Decimal("0")

code_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_\-./ ]*$",
    "Use upper-case letters, digits, spaces and - _ . / only, starting with a letter or digit.",
)
iso_currency_validator = RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 currency code is three letters, e.g. EUR.")
non_negative = MinValueValidator(ZERO, "Must not be negative.")
# A required name of spaces only is no name: forms strip it, but values from the CRM or the API come as they are.
not_only_spaces = RegexValidator(r"\S", "Must not be blank (spaces only).")


def money_field(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=18, decimal_places=2, default=ZERO, **kwargs)


def quantity_field(verbose_name: str, **kwargs) -> models.DecimalField:
    kwargs.setdefault("validators", [non_negative])
    return models.DecimalField(verbose_name, max_digits=18, decimal_places=5, default=ZERO, **kwargs)


class CodeField(models.CharField):
    """A NAV-style code: upper case, trimmed, short."""

    def __init__(self, *args, max_length: int = 10, **kwargs):
        kwargs.setdefault("validators", [code_validator])
        super().__init__(*args, max_length=max_length, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().upper() if isinstance(value, str) else value


class SyncedModel(models.Model):
    system_id = models.UUIDField("system id", default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        abstract = True


class NoSeries(models.Model):
    """A number series (NAV "No. Series"): prefix + zero-padded counter, e.g. C00010."""

    code = CodeField("code", max_length=20, unique=True)
    description = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=10, blank=True)
    width = models.PositiveSmallIntegerField(default=5, validators=[MinValueValidator(1)])
    last_number = models.PositiveIntegerField(default=0)
    increment_by = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = "number series"
        verbose_name_plural = "number series"
        ordering = ["code"]

    def __str__(self):
        return self.code

    def format(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.width}d}"


class Currency(SyncedModel):
    code = models.CharField("code", max_length=3, unique=True, validators=[iso_currency_validator])
    description = models.CharField(max_length=100)
    symbol = models.CharField(max_length=10, blank=True)

    class Meta:
        verbose_name_plural = "currencies"
        ordering = ["code"]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("erp:currency_detail", args=[self.pk])

    def clean(self):
        if self.code:
            self.code = self.code.strip().upper()


class CurrencyExchangeRate(models.Model):
    """LCY per one unit of the currency, valid from ``starting_date`` on."""

    currency = models.ForeignKey(Currency, on_delete=models.CASCADE, related_name="exchange_rates")
    starting_date = models.DateField()
    exchange_rate = models.DecimalField(
        "LCY per unit", max_digits=18, decimal_places=6, validators=[MinValueValidator(Decimal("0.000001"))]
    )

    class Meta:
        ordering = ["currency", "-starting_date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "starting_date"], name="erp_exch_rate_unique_date"),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="erp_exch_rate_positive"),
        ]

    def __str__(self):
        return f"{self.currency} {self.starting_date}: {self.exchange_rate}"


class GeneralSetup(models.Model):
    """The company's setup (a singleton, pk=1): its name and local currency (LCY)."""

    company_name = models.CharField(max_length=100, default="CRONUS")
    local_currency = models.ForeignKey(Currency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "general setup"
        verbose_name_plural = "general setup"

    def __str__(self):
        return self.company_name


class UnitOfMeasure(SyncedModel):
    code = CodeField(unique=True)
    description = models.CharField(max_length=50, blank=True)

    class Meta:
        verbose_name = "unit of measure"
        verbose_name_plural = "units of measure"
        ordering = ["code"]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("erp:unitofmeasure_detail", args=[self.pk])


class Salesperson(SyncedModel):
    code = CodeField(max_length=20, unique=True)
    name = models.CharField(max_length=100, validators=[not_only_spaces])
    email = models.EmailField("e-mail", max_length=80, blank=True)
    phone = models.CharField(max_length=30, blank=True)

    class Meta:
        verbose_name = "salesperson"
        verbose_name_plural = "salespeople"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_absolute_url(self):
        return reverse("erp:salesperson_detail", args=[self.pk])


class CodeTable(SyncedModel):
    """A small code table that the CRM holds as an option set on account."""

    code = CodeField(unique=True)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self):
        return self.code


class PaymentTerms(CodeTable):
    due_date_days = models.PositiveIntegerField("due in days", default=0)

    class Meta(CodeTable.Meta):
        verbose_name = "payment terms"
        verbose_name_plural = "payment terms"


class ShipmentMethod(CodeTable):
    class Meta(CodeTable.Meta):
        verbose_name = "shipment method"


class ShippingAgent(CodeTable):
    class Meta(CodeTable.Meta):
        verbose_name = "shipping agent"


class CustomerPriceGroup(SyncedModel):
    code = CodeField(unique=True)
    description = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "customer price group"
        ordering = ["code"]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("erp:customerpricegroup_detail", args=[self.pk])


class Customer(SyncedModel):
    class Blocked(models.TextChoices):
        NONE = "", "Not blocked"
        SHIP = "ship", "Ship"
        INVOICE = "invoice", "Invoice"
        ALL = "all", "All"

    no = models.CharField("no.", max_length=20, unique=True)
    name = models.CharField(max_length=100, validators=[not_only_spaces])
    address = models.CharField(max_length=100, blank=True)
    address_2 = models.CharField("address 2", max_length=50, blank=True)
    post_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=30, blank=True)
    county = models.CharField(max_length=30, blank=True)
    country = models.CharField("country/region", max_length=50, blank=True)
    phone = models.CharField("phone no.", max_length=30, blank=True)
    email = models.EmailField("e-mail", max_length=80, blank=True)
    home_page = models.URLField(max_length=80, blank=True)
    salesperson = models.ForeignKey(
        Salesperson, null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    currency = models.ForeignKey(
        Currency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="customers",
        help_text="Empty means the local currency (LCY).",
    )
    customer_price_group = models.ForeignKey(
        CustomerPriceGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="customers"
    )
    payment_terms = models.ForeignKey(PaymentTerms, null=True, blank=True, on_delete=models.PROTECT)
    shipment_method = models.ForeignKey(ShipmentMethod, null=True, blank=True, on_delete=models.PROTECT)
    shipping_agent = models.ForeignKey(ShippingAgent, null=True, blank=True, on_delete=models.PROTECT)
    credit_limit_lcy = money_field("credit limit (LCY)", validators=[non_negative])
    blocked = models.CharField(max_length=10, choices=Blocked.choices, default=Blocked.NONE, blank=True)
    primary_contact = models.ForeignKey(
        "Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="primary_for_customers"
    )

    class Meta:
        ordering = ["no"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return f"{self.no} {self.name}"

    def get_absolute_url(self):
        return reverse("erp:customer_detail", args=[self.pk])

    def clean(self):
        # A new customer (pk None) cannot take a contact that already belongs to a customer.
        if self.primary_contact_id:
            contact = self.primary_contact
            if contact.related_customer_id not in (None, self.pk):
                raise ValidationError({"primary_contact": "The primary contact belongs to another customer."})


class Contact(SyncedModel):
    class Type(models.TextChoices):
        COMPANY = "company", "Company"
        PERSON = "person", "Person"

    no = models.CharField("no.", max_length=20, unique=True)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.PERSON)
    company = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="persons",
        limit_choices_to={"type": "company"},
        help_text="The company contact a person works for.",
    )
    # NAV's "business relation": a company contact that is a customer.
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="company_contacts",
        help_text="For a company contact: the customer it is.",
    )
    name = models.CharField(max_length=100, blank=True, help_text="Company name; for a person, the full name.")
    first_name = models.CharField(max_length=30, blank=True)
    last_name = models.CharField(max_length=30, blank=True)
    email = models.EmailField("e-mail", max_length=80, blank=True)
    phone = models.CharField("phone no.", max_length=30, blank=True)
    mobile_phone = models.CharField("mobile phone no.", max_length=30, blank=True)
    job_title = models.CharField(max_length=30, blank=True)
    address = models.CharField(max_length=100, blank=True)
    post_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=30, blank=True)
    country = models.CharField("country/region", max_length=50, blank=True)

    class Meta:
        ordering = ["no"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self):
        return f"{self.no} {self.display_name}"

    def get_absolute_url(self):
        return reverse("erp:contact_detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        if self.type == self.Type.PERSON:
            full = " ".join(part for part in (self.first_name, self.last_name) if part)
            return full or self.name
        return self.name

    @property
    def related_customer_id(self):
        if self.type == self.Type.COMPANY:
            return self.customer_id
        return self.company.customer_id if self.company_id else None

    def clean(self):
        errors = {}
        if self.type == self.Type.PERSON:
            if not (self.first_name or self.last_name or self.name):
                errors["last_name"] = "A person needs a first or last name."
            if self.customer_id:
                errors["customer"] = "Only a company contact can be a customer; link the person to its company."
            if not self.name:
                self.name = " ".join(p for p in (self.first_name, self.last_name) if p)
        else:
            if not self.name:
                errors["name"] = "A company contact needs a name."
            if self.company_id:
                errors["company"] = "A company contact cannot belong to another company."
        if self.company_id and self.company.type != self.Type.COMPANY:
            errors["company"] = "The company must be a contact of type Company."
        if errors:
            raise ValidationError(errors)


class Item(SyncedModel):
    class Type(models.TextChoices):
        INVENTORY = "inventory", "Inventory"
        SERVICE = "service", "Service"

    no = models.CharField("no.", max_length=20, unique=True)
    description = models.CharField(max_length=100, validators=[not_only_spaces])
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.INVENTORY)
    base_unit_of_measure = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    unit_price = money_field("unit price", validators=[non_negative])
    unit_cost = money_field("unit cost", validators=[non_negative])
    blocked = models.BooleanField(default=False)

    class Meta:
        ordering = ["no"]
        indexes = [models.Index(fields=["description"])]

    def __str__(self):
        return f"{self.no} {self.description}"

    def get_absolute_url(self):
        return reverse("erp:item_detail", args=[self.pk])


class ItemUnitOfMeasure(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="units_of_measure")
    unit_of_measure = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    qty_per_unit = models.DecimalField(
        "quantity per unit of measure",
        max_digits=18,
        decimal_places=5,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.00001"))],
    )

    class Meta:
        verbose_name = "item unit of measure"
        ordering = ["item", "unit_of_measure"]
        constraints = [
            models.UniqueConstraint(fields=["item", "unit_of_measure"], name="erp_item_uom_unique"),
            models.CheckConstraint(condition=Q(qty_per_unit__gt=0), name="erp_item_uom_qty_positive"),
        ]

    def __str__(self):
        return f"{self.item.no} {self.unit_of_measure.code} × {self.qty_per_unit}"


class Resource(SyncedModel):
    no = models.CharField("no.", max_length=20, unique=True)
    name = models.CharField(max_length=100, validators=[not_only_spaces])
    base_unit_of_measure = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    unit_price = money_field("unit price", validators=[non_negative])
    capacity = quantity_field("capacity")
    blocked = models.BooleanField(default=False)

    class Meta:
        ordering = ["no"]

    def __str__(self):
        return f"{self.no} {self.name}"

    def get_absolute_url(self):
        return reverse("erp:resource_detail", args=[self.pk])


class SalesPrice(SyncedModel):
    class SalesType(models.TextChoices):
        CUSTOMER_PRICE_GROUP = "customer_price_group", "Customer Price Group"
        CUSTOMER = "customer", "Customer"
        ALL_CUSTOMERS = "all_customers", "All Customers"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="sales_prices")
    sales_type = models.CharField(max_length=25, choices=SalesType.choices, default=SalesType.CUSTOMER_PRICE_GROUP)
    sales_code = models.CharField(
        max_length=20,
        blank=True,
        help_text="The customer price group code or customer no.; empty for All Customers.",
    )
    currency = models.ForeignKey(
        Currency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales_prices",
        help_text="Empty means the local currency (LCY).",
    )
    starting_date = models.DateField(null=True, blank=True)
    ending_date = models.DateField(null=True, blank=True)
    minimum_quantity = quantity_field("minimum quantity")
    unit_of_measure = models.ForeignKey(
        UnitOfMeasure, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit_price = money_field("unit price", validators=[non_negative])

    class Meta:
        ordering = ["item", "sales_type", "sales_code", "starting_date"]
        indexes = [models.Index(fields=["sales_type", "sales_code"])]

    def __str__(self):
        return f"{self.item.no} {self.get_sales_type_display()} {self.sales_code} {self.unit_price}"

    def get_absolute_url(self):
        return reverse("erp:salesprice_detail", args=[self.pk])

    def clean(self):
        errors = {}
        self.sales_code = (self.sales_code or "").strip().upper()
        if self.sales_type == self.SalesType.ALL_CUSTOMERS:
            if self.sales_code:
                errors["sales_code"] = "Leave the sales code empty for All Customers."
        elif not self.sales_code:
            errors["sales_code"] = f"Enter the {self.get_sales_type_display().lower()} this price is for."
        elif self.sales_type == self.SalesType.CUSTOMER_PRICE_GROUP:
            if not CustomerPriceGroup.objects.filter(code=self.sales_code).exists():
                errors["sales_code"] = f"There is no customer price group {self.sales_code}."
        elif not Customer.objects.filter(no=self.sales_code).exists():
            errors["sales_code"] = f"There is no customer {self.sales_code}."
        if self.starting_date and self.ending_date and self.ending_date < self.starting_date:
            errors["ending_date"] = "The ending date is before the starting date."
        if errors:
            raise ValidationError(errors)


class SalesHeader(SyncedModel):
    """A sales order (NAV Sales Header with Document Type = Order)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RELEASED = "released", "Released"
        # Fully shipped and invoiced: kept, read-only, as Business Central keeps an archived order.
        CLOSED = "closed", "Closed (archived)"

    no = models.CharField("no.", max_length=20, unique=True)
    sell_to_customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sales_orders")
    order_date = models.DateField()
    requested_delivery_date = models.DateField(null=True, blank=True)
    currency = models.ForeignKey(
        Currency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sales_orders",
        help_text="Empty means the local currency (LCY).",
    )
    salesperson = models.ForeignKey(Salesperson, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    your_reference = models.CharField(max_length=35, blank=True)
    external_document_no = models.CharField("external document no.", max_length=35, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    payment_terms = models.ForeignKey(
        PaymentTerms,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Default: the customer's.",
    )
    shipment_method = models.ForeignKey(
        ShipmentMethod,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Default: the customer's.",
    )
    shipping_agent = models.ForeignKey(
        ShippingAgent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Default: the customer's.",
    )
    ship_to_name = models.CharField("ship-to name", max_length=100, blank=True)
    ship_to_address = models.CharField("ship-to address", max_length=100, blank=True)
    ship_to_post_code = models.CharField("ship-to post code", max_length=20, blank=True)
    ship_to_city = models.CharField("ship-to city", max_length=30, blank=True)
    ship_to_country = models.CharField("ship-to country/region", max_length=50, blank=True)
    work_description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        verbose_name = "sales order"
        ordering = ["-no"]
        indexes = [models.Index(fields=["order_date"])]

    def __str__(self):
        return self.no

    def get_absolute_url(self):
        return reverse("erp:salesorder_detail", args=[self.pk])

    @property
    def shipment_date(self):
        return self.requested_delivery_date or self.order_date

    def clean(self):
        if self.requested_delivery_date and self.order_date and self.requested_delivery_date < self.order_date:
            raise ValidationError({"requested_delivery_date": "The requested delivery date is before the order date."})


class SalesOrderNote(models.Model):
    """A note on a sales order (BC's record link of type Note); those from Dynamics 365 keep their row's id."""

    order = models.ForeignKey(SalesHeader, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
    crm_annotation_id = models.UUIDField("Dynamics 365 note id", null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "created_at", "pk"]

    def __str__(self):
        return f"{self.order.no}: {self.text[:40]}"


class SalesLine(SyncedModel):
    class Type(models.TextChoices):
        COMMENT = "comment", "Comment"
        ITEM = "item", "Item"
        RESOURCE = "resource", "Resource"

    order = models.ForeignKey(SalesHeader, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField("line no.")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.ITEM)
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="sales_lines")
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="sales_lines")
    description = models.CharField(max_length=100, blank=True)
    quantity = quantity_field("quantity")
    unit_of_measure = models.ForeignKey(
        UnitOfMeasure, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # NAV's "Qty. per Unit of Measure": base units in one line unit, so that availability and
    # ledger entries count in the item's base unit.
    qty_per_unit_of_measure = models.DecimalField(
        "quantity per unit of measure",
        max_digits=18,
        decimal_places=5,
        default=Decimal("1"),
        editable=False,
        validators=[MinValueValidator(Decimal("0.00001"))],
    )
    unit_price = money_field("unit price", validators=[non_negative])
    line_discount_pct = models.DecimalField(
        "line discount %",
        max_digits=5,
        decimal_places=2,
        default=ZERO,
        validators=[non_negative, MaxValueValidator(Decimal("100"), "The line discount cannot exceed 100%%.")],
    )
    line_discount_amount = money_field("line discount amount")
    line_amount = money_field("line amount")
    quantity_shipped = quantity_field("quantity shipped")
    quantity_invoiced = quantity_field("quantity invoiced")

    class Meta:
        ordering = ["order", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_no"], name="erp_sales_line_unique_no"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="erp_sales_line_qty_non_negative"),
            models.CheckConstraint(
                condition=Q(quantity_shipped__lte=models.F("quantity")), name="erp_sales_line_shipped_le_qty"
            ),
        ]

    def __str__(self):
        return f"{self.order.no} {self.line_no}"

    @property
    def outstanding_quantity(self) -> Decimal:
        return self.quantity - self.quantity_shipped

    @property
    def outstanding_quantity_base(self) -> Decimal:
        return (self.outstanding_quantity * self.qty_per_unit_of_measure).quantize(Decimal("0.00001"))

    @property
    def no(self) -> str:
        if self.type == self.Type.ITEM and self.item_id:
            return self.item.no
        if self.type == self.Type.RESOURCE and self.resource_id:
            return self.resource.no
        return ""

    def clean(self):
        errors = {}
        if self.type == self.Type.ITEM:
            if not self.item_id:
                errors["item"] = "An item line needs an item."
            if self.resource_id:
                errors["resource"] = "An item line has no resource."
        elif self.type == self.Type.RESOURCE:
            if not self.resource_id:
                errors["resource"] = "A resource line needs a resource."
            if self.item_id:
                errors["item"] = "A resource line has no item."
        else:
            if self.item_id or self.resource_id:
                errors["type"] = "A comment line has no item or resource."
            if self.quantity or self.unit_price:
                errors["quantity"] = "A comment line has no quantity or price."
        if self.line_discount_pct is not None and self.line_discount_pct > 100:
            errors["line_discount_pct"] = "The line discount cannot exceed 100%."
        if self.quantity is not None and self.quantity_shipped is not None and self.quantity < self.quantity_shipped:
            errors["quantity"] = f"The quantity cannot be less than the quantity shipped ({self.quantity_shipped})."
        if errors:
            raise ValidationError(errors)


class ItemLedgerEntry(models.Model):
    """One inventory movement. Inventory is the sum of the entries' quantities."""

    class EntryType(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        SALE = "sale", "Sale"
        POSITIVE_ADJMT = "positive_adjmt", "Positive Adjmt."
        NEGATIVE_ADJMT = "negative_adjmt", "Negative Adjmt."

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="ledger_entries")
    posting_date = models.DateField()
    entry_type = models.CharField(max_length=20, choices=EntryType.choices)
    document_no = models.CharField("document no.", max_length=20, blank=True)
    description = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=5, help_text="Positive in, negative out.")
    sales_line = models.ForeignKey(SalesLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "item ledger entry"
        verbose_name_plural = "item ledger entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["item", "posting_date"])]

    def __str__(self):
        return f"{self.item.no} {self.posting_date} {self.quantity}"

    def clean(self):
        inbound = {self.EntryType.PURCHASE, self.EntryType.POSITIVE_ADJMT}
        if self.quantity is not None:
            if self.quantity == 0:
                raise ValidationError({"quantity": "An entry moves a quantity other than zero."})
            if self.entry_type in inbound and self.quantity < 0:
                raise ValidationError({"quantity": f"A {self.get_entry_type_display()} entry adds stock."})
            if self.entry_type not in inbound and self.quantity > 0:
                raise ValidationError({"quantity": f"A {self.get_entry_type_display()} entry removes stock."})


class SalesSetup(models.Model):
    """Sales & receivables setup (a singleton, pk=1): how posted sales invoices are numbered, and the items
    that take the lines of an order from Dynamics 365 which name no product (BC's write-in product and
    freight account)."""

    posted_invoice_nos = models.CharField(
        "posted invoice nos.", max_length=20, default="S-INV", help_text="The number series of posted sales invoices."
    )
    write_in_item = models.ForeignKey(
        "Item",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Takes the lines of a Dynamics 365 order whose product is written in (the text becomes its "
        "description).",
    )
    freight_item = models.ForeignKey(
        "Item",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Takes the freight amount of a Dynamics 365 order, as a line of its own.",
    )

    class Meta:
        verbose_name = "sales setup"
        verbose_name_plural = "sales setup"

    def __str__(self):
        return "Sales setup"


class SalesInvoiceHeader(models.Model):
    """A posted sales invoice (NAV Sales Invoice Header): what was invoiced of an order, never changed."""

    no = models.CharField("no.", max_length=20, unique=True)
    order = models.ForeignKey(
        SalesHeader, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices", editable=False
    )
    order_no = models.CharField("order no.", max_length=20, db_index=True)
    sell_to_customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sales_invoices")
    posting_date = models.DateField()
    document_date = models.DateField()
    due_date = models.DateField()
    currency = models.ForeignKey(
        Currency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty means the local currency (LCY).",
    )
    salesperson = models.ForeignKey(Salesperson, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    your_reference = models.CharField(max_length=35, blank=True)
    external_document_no = models.CharField("external document no.", max_length=35, blank=True)
    line_discount_amount = money_field("line discount amount")
    amount = money_field("amount")
    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "posted sales invoice"
        ordering = ["-no"]
        indexes = [models.Index(fields=["posting_date"])]

    def __str__(self):
        return self.no

    def get_absolute_url(self):
        return reverse("erp:salesinvoice_detail", args=[self.pk])


class SalesInvoiceLine(models.Model):
    invoice = models.ForeignKey(SalesInvoiceHeader, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField("line no.")
    order_line_no = models.PositiveIntegerField("order line no.")
    type = models.CharField(max_length=10, choices=SalesLine.Type.choices)
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=100, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=5, default=ZERO)
    unit_of_measure = models.ForeignKey(
        UnitOfMeasure, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit_price = money_field("unit price")
    line_discount_pct = models.DecimalField("line discount %", max_digits=5, decimal_places=2, default=ZERO)
    line_discount_amount = money_field("line discount amount")
    line_amount = money_field("line amount")

    class Meta:
        ordering = ["invoice", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "line_no"], name="erp_sales_invoice_line_unique_no"),
        ]

    def __str__(self):
        return f"{self.invoice.no} {self.line_no}"

    @property
    def no(self) -> str:
        if self.item_id:
            return self.item.no
        if self.resource_id:
            return self.resource.no
        return ""


class CustLedgerEntry(models.Model):
    """One open or settled amount of a customer (NAV Cust. Ledger Entry): a posted invoice writes one."""

    class DocumentType(models.TextChoices):
        INVOICE = "invoice", "Invoice"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ledger_entries")
    posting_date = models.DateField()
    document_type = models.CharField(max_length=20, choices=DocumentType.choices)
    document_no = models.CharField("document no.", max_length=20)
    description = models.CharField(max_length=100, blank=True)
    currency = models.ForeignKey(
        Currency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty means the local currency (LCY).",
    )
    amount = money_field("amount")
    remaining_amount = money_field("remaining amount")
    due_date = models.DateField()
    open = models.BooleanField(default=True)
    sales_invoice = models.OneToOneField(
        SalesInvoiceHeader, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entry"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "customer ledger entry"
        verbose_name_plural = "customer ledger entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "open", "due_date"])]

    def __str__(self):
        return f"{self.customer.no} {self.document_no} {self.amount}"

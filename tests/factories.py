"""factory-boy factories for every ERP model and for users.

Codes and numbers come from sequences with prefixes that the demo number series never produce
(``F…``), so factories and ``record_save`` can be mixed in one test without clashes.
Factories write straight to the database (like fixtures); tests of business rules call the
services instead.
"""

import datetime
import importlib
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from factory.django import DjangoModelFactory

from erp import models

TEST_PASSWORD = "correct-horse-battery-staple"


def _letters(n: int, width: int) -> str:
    """0 → 'AA…A', 1 → 'AA…B': a letters-only sequence for codes that must be alphabetic."""
    chars = []
    for _ in range(width):
        n, rest = divmod(n, 26)
        chars.append(chr(ord("A") + rest))
    return "".join(reversed(chars))


class NoSeriesFactory(DjangoModelFactory):
    class Meta:
        model = models.NoSeries
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"FNS{n}")
    description = factory.LazyAttribute(lambda o: f"{o.code} numbers")
    prefix = factory.Sequence(lambda n: f"N{n}-")
    width = 5
    last_number = 0
    increment_by = 10


class CurrencyFactory(DjangoModelFactory):
    class Meta:
        model = models.Currency
        django_get_or_create = ("code",)

    # X.. codes are reserved by ISO 4217 for non-currencies, so they never clash with EUR/USD.
    code = factory.Sequence(lambda n: "X" + _letters(n, 2))
    description = factory.LazyAttribute(lambda o: f"Test currency {o.code}")
    symbol = ""


class CurrencyExchangeRateFactory(DjangoModelFactory):
    class Meta:
        model = models.CurrencyExchangeRate

    currency = factory.SubFactory(CurrencyFactory)
    starting_date = factory.Sequence(lambda n: datetime.date(2020, 1, 1) + datetime.timedelta(days=n))
    exchange_rate = Decimal("1.100000")


class GeneralSetupFactory(DjangoModelFactory):
    class Meta:
        model = models.GeneralSetup
        django_get_or_create = ("pk",)

    pk = 1
    company_name = "CRONUS Test"
    local_currency = None


class UnitOfMeasureFactory(DjangoModelFactory):
    class Meta:
        model = models.UnitOfMeasure
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"FU{n}")
    description = factory.LazyAttribute(lambda o: f"Unit {o.code}")


class SalespersonFactory(DjangoModelFactory):
    class Meta:
        model = models.Salesperson

    code = factory.Sequence(lambda n: f"FSP{n}")
    name = factory.Faker("name")
    email = factory.Faker("email")
    phone = factory.Faker("numerify", text="+1 555 ### ####")


class PaymentTermsFactory(DjangoModelFactory):
    class Meta:
        model = models.PaymentTerms

    code = factory.Sequence(lambda n: f"FPT{n}")
    description = factory.LazyAttribute(lambda o: f"Net {o.due_date_days} days")
    due_date_days = 30


class ShipmentMethodFactory(DjangoModelFactory):
    class Meta:
        model = models.ShipmentMethod

    code = factory.Sequence(lambda n: f"FSM{n}")
    description = factory.LazyAttribute(lambda o: f"Shipment method {o.code}")


class ShippingAgentFactory(DjangoModelFactory):
    class Meta:
        model = models.ShippingAgent

    code = factory.Sequence(lambda n: f"FSA{n}")
    description = factory.LazyAttribute(lambda o: f"Shipping agent {o.code}")


class CustomerPriceGroupFactory(DjangoModelFactory):
    class Meta:
        model = models.CustomerPriceGroup

    code = factory.Sequence(lambda n: f"FPG{n}")
    description = factory.LazyAttribute(lambda o: f"Price group {o.code}")


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = models.Customer

    no = factory.Sequence(lambda n: f"FC{n:06d}")
    name = factory.Faker("company")
    address = factory.Faker("street_address")
    post_code = factory.Faker("postcode")
    city = factory.Faker("city")
    country = "US"
    phone = factory.Faker("numerify", text="+1 555 ### ####")
    email = factory.Faker("company_email")
    salesperson = None
    currency = None
    customer_price_group = None
    credit_limit_lcy = Decimal("10000.00")
    blocked = models.Customer.Blocked.NONE


class CompanyContactFactory(DjangoModelFactory):
    """A company contact; pass ``customer=`` to make it the customer's business relation."""

    class Meta:
        model = models.Contact

    no = factory.Sequence(lambda n: f"FCT{n:06d}")
    type = models.Contact.Type.COMPANY
    name = factory.LazyAttribute(lambda o: o.customer.name if o.customer else "Company " + o.no)
    customer = None
    company = None
    email = factory.Faker("company_email")
    phone = factory.Faker("numerify", text="+1 555 ### ####")
    address = factory.Faker("street_address")
    city = factory.Faker("city")
    country = "US"


class ContactFactory(DjangoModelFactory):
    """A person contact; pass ``company=`` (a company contact) to make them work for it."""

    class Meta:
        model = models.Contact

    no = factory.Sequence(lambda n: f"FCP{n:06d}")
    type = models.Contact.Type.PERSON
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    name = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name}".strip())
    company = None
    customer = None
    email = factory.LazyAttribute(lambda o: f"{o.first_name}.{o.last_name}@example.com".lower())
    job_title = "Purchaser"


class ItemFactory(DjangoModelFactory):
    class Meta:
        model = models.Item
        skip_postgeneration_save = True

    no = factory.Sequence(lambda n: f"FI{n:06d}")
    description = factory.Sequence(lambda n: f"Test item {n}")
    type = models.Item.Type.INVENTORY
    base_unit_of_measure = factory.SubFactory(UnitOfMeasureFactory)
    unit_price = Decimal("100.00")
    unit_cost = Decimal("60.00")
    blocked = False

    @factory.post_generation
    def base_unit(self, create, extracted, **kwargs):
        """NAV keeps the base unit among the item's units with quantity 1."""
        if create:
            models.ItemUnitOfMeasure.objects.get_or_create(
                item=self, unit_of_measure=self.base_unit_of_measure, defaults={"qty_per_unit": Decimal("1")}
            )


class ItemUnitOfMeasureFactory(DjangoModelFactory):
    class Meta:
        model = models.ItemUnitOfMeasure

    item = factory.SubFactory(ItemFactory)
    unit_of_measure = factory.SubFactory(UnitOfMeasureFactory)
    qty_per_unit = Decimal("12")


class ResourceFactory(DjangoModelFactory):
    class Meta:
        model = models.Resource

    no = factory.Sequence(lambda n: f"FR{n:06d}")
    name = factory.Faker("name")
    base_unit_of_measure = factory.SubFactory(UnitOfMeasureFactory, code="HOUR")
    unit_price = Decimal("80.00")
    capacity = Decimal("160")
    blocked = False


class SalesPriceFactory(DjangoModelFactory):
    """An All Customers price in LCY by default; set sales_type/sales_code for the others."""

    class Meta:
        model = models.SalesPrice

    item = factory.SubFactory(ItemFactory)
    sales_type = models.SalesPrice.SalesType.ALL_CUSTOMERS
    sales_code = ""
    currency = None
    starting_date = None
    ending_date = None
    minimum_quantity = Decimal("0")
    unit_of_measure = None
    unit_price = Decimal("90.00")


class SalesHeaderFactory(DjangoModelFactory):
    class Meta:
        model = models.SalesHeader

    no = factory.Sequence(lambda n: f"FSO{n:06d}")
    sell_to_customer = factory.SubFactory(CustomerFactory)
    order_date = factory.LazyFunction(timezone.localdate)
    requested_delivery_date = None
    currency = factory.LazyAttribute(lambda o: o.sell_to_customer.currency)
    salesperson = factory.LazyAttribute(lambda o: o.sell_to_customer.salesperson)
    status = models.SalesHeader.Status.OPEN


class SalesLineFactory(DjangoModelFactory):
    """An item line with consistent amounts; pass type/resource for a resource line."""

    class Meta:
        model = models.SalesLine

    order = factory.SubFactory(SalesHeaderFactory)
    line_no = factory.Sequence(lambda n: (n + 1) * 10000)
    type = models.SalesLine.Type.ITEM
    item = factory.Maybe(
        factory.LazyAttribute(lambda o: o.type == models.SalesLine.Type.ITEM),
        yes_declaration=factory.SubFactory(ItemFactory),
        no_declaration=None,
    )
    resource = None
    description = factory.LazyAttribute(
        lambda o: o.item.description if o.item else (o.resource.name if o.resource else "")
    )
    quantity = Decimal("2")
    unit_of_measure = factory.LazyAttribute(
        lambda o: o.item.base_unit_of_measure if o.item else (o.resource.base_unit_of_measure if o.resource else None)
    )
    unit_price = factory.LazyAttribute(
        lambda o: o.item.unit_price if o.item else (o.resource.unit_price if o.resource else Decimal("0"))
    )
    line_discount_pct = Decimal("0")
    line_discount_amount = factory.LazyAttribute(
        lambda o: (o.quantity * o.unit_price * o.line_discount_pct / 100).quantize(Decimal("0.01"))
    )
    line_amount = factory.LazyAttribute(
        lambda o: (o.quantity * o.unit_price).quantize(Decimal("0.01")) - o.line_discount_amount
    )
    quantity_shipped = Decimal("0")
    quantity_invoiced = Decimal("0")


class ItemLedgerEntryFactory(DjangoModelFactory):
    """A positive adjustment of 10 by default: stock to sell."""

    class Meta:
        model = models.ItemLedgerEntry

    item = factory.SubFactory(ItemFactory)
    posting_date = factory.LazyFunction(timezone.localdate)
    entry_type = models.ItemLedgerEntry.EntryType.POSITIVE_ADJMT
    document_no = factory.Sequence(lambda n: f"FADJ{n:05d}")
    description = "Opening stock"
    quantity = Decimal("10")
    sales_line = None


def _ensure_groups():
    """Recreate the role groups after a transactional test flushed the data migration's rows."""
    from django.apps import apps

    importlib.import_module("erp.migrations.0002_groups").create_groups(apps, None)
    importlib.import_module("erp.migrations.0008_sales_invoicing_permissions_and_series").grant(apps, None)


class UserFactory(DjangoModelFactory):
    """A user with password TEST_PASSWORD.

    ``UserFactory(perms=["erp.view_customer"], groups=["Sales"])`` grants permissions
    ("app_label.codename") and role groups by name; an unknown name raises, so a typo cannot
    leave a test silently unauthorised.
    """

    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(TEST_PASSWORD)
    is_active = True
    is_staff = False
    is_superuser = False

    @factory.post_generation
    def perms(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for perm in extracted:
            app_label, codename = perm.split(".", 1)
            self.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        missing = set(extracted) - set(Group.objects.filter(name__in=extracted).values_list("name", flat=True))
        if missing:
            _ensure_groups()
        for name in extracted:
            self.groups.add(Group.objects.get(name=name))

"""Edit forms of the ERP pages. Views save them through ``erp.services``, never ``form.save()``."""

from django import forms

from erp.models import (
    Contact,
    Currency,
    Customer,
    CustomerPriceGroup,
    Item,
    NoSeries,
    Resource,
    SalesHeader,
    SalesLine,
    Salesperson,
    SalesPrice,
    SalesSetup,
    UnitOfMeasure,
)
from nav_crm.templatetags.nav_crm_ui import quantity

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NumberedForm(forms.ModelForm):
    """A record numbered from a number series: on create the number may be left empty."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["no"].required = False
            self.fields["no"].help_text = "Leave empty to take the next number from the number series."


class CustomerForm(NumberedForm):
    home_page = forms.URLField(max_length=80, required=False, assume_scheme="https")

    class Meta:
        model = Customer
        fields = [
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
        ]


class ContactForm(NumberedForm):
    class Meta:
        model = Contact
        fields = [
            "no",
            "type",
            "company",
            "customer",
            "name",
            "first_name",
            "last_name",
            "job_title",
            "email",
            "phone",
            "mobile_phone",
            "address",
            "post_code",
            "city",
            "country",
        ]


class SalespersonForm(forms.ModelForm):
    class Meta:
        model = Salesperson
        fields = ["code", "name", "email", "phone"]


class ItemForm(NumberedForm):
    class Meta:
        model = Item
        fields = ["no", "description", "type", "base_unit_of_measure", "unit_price", "unit_cost", "blocked"]


class ResourceForm(NumberedForm):
    class Meta:
        model = Resource
        fields = ["no", "name", "base_unit_of_measure", "unit_price", "capacity", "blocked"]


class UnitOfMeasureForm(forms.ModelForm):
    class Meta:
        model = UnitOfMeasure
        fields = ["code", "description"]


class CurrencyForm(forms.ModelForm):
    class Meta:
        model = Currency
        fields = ["code", "description", "symbol"]


class CustomerPriceGroupForm(forms.ModelForm):
    class Meta:
        model = CustomerPriceGroup
        fields = ["code", "description"]


class SalesPriceForm(forms.ModelForm):
    class Meta:
        model = SalesPrice
        fields = [
            "item",
            "sales_type",
            "sales_code",
            "currency",
            "unit_of_measure",
            "minimum_quantity",
            "starting_date",
            "ending_date",
            "unit_price",
        ]
        widgets = {"starting_date": DATE_INPUT, "ending_date": DATE_INPUT}


class SalesOrderForm(NumberedForm):
    class Meta:
        model = SalesHeader
        fields = [
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
        ]
        widgets = {
            "order_date": DATE_INPUT,
            "requested_delivery_date": DATE_INPUT,
            "work_description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["currency"].help_text = "Empty: the customer's currency."
            self.fields["salesperson"].help_text = "Empty: the customer's salesperson."


class SalesLineForm(forms.ModelForm):
    class Meta:
        model = SalesLine
        fields = [
            "type",
            "item",
            "resource",
            "description",
            "quantity",
            "unit_of_measure",
            "unit_price",
            "line_discount_pct",
        ]
        labels = {"line_discount_pct": "Discount %", "unit_of_measure": "Unit"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_price"].required = False
        self.fields["unit_price"].help_text = "Empty or 0: the best sales price."
        self.fields["quantity"].required = False
        self.fields["line_discount_pct"].required = False
        if self.instance.pk:
            self.initial["quantity"] = quantity(self.instance.quantity)

    def clean(self):
        cleaned = super().clean()
        for name in ("quantity", "unit_price", "line_discount_pct"):
            if cleaned.get(name) is None and name not in self.errors:
                cleaned[name] = SalesLine._meta.get_field(name).default
        return cleaned


class PostShipmentForm(forms.Form):
    posting_date = forms.DateField(required=False, widget=DATE_INPUT, help_text="Empty: today.")


class PostInvoiceForm(PostShipmentForm):
    """The posting date of an invoice; the page fills in today, and empty still means today."""


class NoSeriesChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: NoSeries) -> str:
        return f"{obj.code} – {obj.description}" if obj.description else obj.code


class SalesSetupForm(forms.ModelForm):
    # A choice of the existing series (by code, which is what the setup stores): a typo cannot
    # leave the next invoice without a number.
    posted_invoice_nos = NoSeriesChoiceField(
        queryset=NoSeries.objects.all(),
        to_field_name="code",
        label="Posted invoice nos.",
        help_text=SalesSetup._meta.get_field("posted_invoice_nos").help_text,
        error_messages={"invalid_choice": "There is no number series %(value)s."},
    )

    class Meta:
        model = SalesSetup
        fields = ["posted_invoice_nos", "write_in_item", "freight_item"]

    def clean_posted_invoice_nos(self) -> str:
        return self.cleaned_data["posted_invoice_nos"].code


class AvailabilityDateForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of", widget=DATE_INPUT)

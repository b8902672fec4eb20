"""The Django admin for superusers: a plain window onto the ERP tables.

Saves and deletes go through the services, so the admin keeps the same rules as the pages and
the API (number series, order status, ledger immutability). Sales lines and ledger entries
are shown read-only: they change through sales order actions and postings.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models as db_models
from django.http import HttpResponseRedirect

from erp import models, services


class ServiceAdmin(admin.ModelAdmin):
    # A web address typed without a scheme is taken as https:// (Django 6's default).
    formfield_overrides = {db_models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A rule the model form cannot see (e.g. a released order) is refused by the service:
        # show its message instead of an error page; the admin's transaction rolls back.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "no" in form.base_fields and self.model in services.NUMBER_SERIES_BY_MODEL:
            form.base_fields["no"].required = False
            form.base_fields["no"].help_text = "Leave empty to take the next number of the series."
        return form

    def save_model(self, request, obj, form, change):
        services.record_save(instance=obj)

    def delete_model(self, request, obj):
        try:
            services.record_delete(instance=obj)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.NoSeries)
class NoSeriesAdmin(admin.ModelAdmin):
    list_display = ["code", "description", "prefix", "width", "last_number", "increment_by"]
    search_fields = ["code", "description"]


class CurrencyExchangeRateInline(admin.TabularInline):
    model = models.CurrencyExchangeRate
    extra = 0


@admin.register(models.Currency)
class CurrencyAdmin(ServiceAdmin):
    list_display = ["code", "description", "symbol", "modified_at"]
    search_fields = ["code", "description"]
    inlines = [CurrencyExchangeRateInline]


@admin.register(models.GeneralSetup)
class GeneralSetupAdmin(admin.ModelAdmin):
    list_display = ["company_name", "local_currency"]

    def has_add_permission(self, request):
        return not models.GeneralSetup.objects.exists()


@admin.register(models.UnitOfMeasure, models.CustomerPriceGroup)
class CodeDescriptionAdmin(ServiceAdmin):
    list_display = ["code", "description", "modified_at"]
    search_fields = ["code", "description"]


@admin.register(models.PaymentTerms)
class PaymentTermsAdmin(ServiceAdmin):
    list_display = ["code", "description", "due_date_days"]
    search_fields = ["code", "description"]


@admin.register(models.ShipmentMethod, models.ShippingAgent)
class CodeTableAdmin(ServiceAdmin):
    list_display = ["code", "description"]
    search_fields = ["code", "description"]


@admin.register(models.Salesperson)
class SalespersonAdmin(ServiceAdmin):
    list_display = ["code", "name", "email", "phone"]
    search_fields = ["code", "name", "email"]


@admin.register(models.Customer)
class CustomerAdmin(ServiceAdmin):
    list_display = ["no", "name", "city", "country", "salesperson", "currency", "blocked", "modified_at"]
    list_filter = ["blocked", "currency", "customer_price_group", "salesperson"]
    search_fields = ["no", "name", "city", "email"]
    raw_id_fields = ["primary_contact"]
    list_select_related = ["salesperson", "currency"]


@admin.register(models.Contact)
class ContactAdmin(ServiceAdmin):
    list_display = ["no", "type", "name", "company", "customer", "email", "modified_at"]
    list_filter = ["type"]
    search_fields = ["no", "name", "first_name", "last_name", "email"]
    raw_id_fields = ["company", "customer"]
    list_select_related = ["company", "customer"]


class ItemUnitOfMeasureInline(admin.TabularInline):
    model = models.ItemUnitOfMeasure
    extra = 0


class ItemLedgerEntryInline(ReadOnlyInline):
    model = models.ItemLedgerEntry
    fields = ["posting_date", "entry_type", "document_no", "quantity"]
    readonly_fields = fields
    ordering = ["-posting_date", "-id"]


@admin.register(models.Item)
class ItemAdmin(ServiceAdmin):
    list_display = ["no", "description", "type", "base_unit_of_measure", "unit_price", "blocked", "modified_at"]
    list_filter = ["type", "blocked"]
    search_fields = ["no", "description"]
    inlines = [ItemUnitOfMeasureInline, ItemLedgerEntryInline]


@admin.register(models.Resource)
class ResourceAdmin(ServiceAdmin):
    list_display = ["no", "name", "base_unit_of_measure", "unit_price", "blocked"]
    list_filter = ["blocked"]
    search_fields = ["no", "name"]


@admin.register(models.SalesPrice)
class SalesPriceAdmin(ServiceAdmin):
    list_display = ["item", "sales_type", "sales_code", "currency", "starting_date", "ending_date", "unit_price"]
    list_filter = ["sales_type", "currency"]
    search_fields = ["item__no", "sales_code"]
    raw_id_fields = ["item"]


class SalesLineInline(ReadOnlyInline):
    model = models.SalesLine
    fields = ["line_no", "type", "item", "resource", "description", "quantity", "unit_price", "line_amount"]
    readonly_fields = fields + ["quantity_shipped"]


@admin.register(models.SalesHeader)
class SalesHeaderAdmin(ServiceAdmin):
    list_display = ["no", "sell_to_customer", "order_date", "status", "currency", "salesperson"]
    list_filter = ["status", "currency"]
    search_fields = ["no", "sell_to_customer__no", "sell_to_customer__name", "external_document_no"]
    raw_id_fields = ["sell_to_customer"]
    readonly_fields = ["status"]
    inlines = [SalesLineInline]
    actions = ["release", "reopen"]

    @admin.action(description="Release selected orders")
    def release(self, request, queryset):
        self._run(request, queryset, services.sales_order_release)

    @admin.action(description="Reopen selected orders")
    def reopen(self, request, queryset):
        self._run(request, queryset, services.sales_order_reopen)

    def _run(self, request, queryset, action):
        for order in queryset:
            try:
                action(order=order)
            except ValidationError as error:
                self.message_user(request, f"{order.no}: {' '.join(error.messages)}", messages.ERROR)


class PostedAdmin(admin.ModelAdmin):
    """Posted documents and ledger entries: written by postings, never added, changed or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.ItemLedgerEntry)
class ItemLedgerEntryAdmin(PostedAdmin):
    list_display = ["id", "item", "posting_date", "entry_type", "document_no", "quantity"]
    list_filter = ["entry_type"]
    search_fields = ["item__no", "document_no"]
    list_select_related = ["item"]


class SalesInvoiceLineInline(ReadOnlyInline):
    model = models.SalesInvoiceLine
    fields = ["line_no", "type", "item", "resource", "description", "quantity", "unit_price", "line_amount"]
    readonly_fields = fields


@admin.register(models.SalesInvoiceHeader)
class SalesInvoiceHeaderAdmin(PostedAdmin):
    list_display = ["no", "sell_to_customer", "order_no", "posting_date", "due_date", "currency", "amount"]
    list_filter = ["currency"]
    search_fields = ["no", "order_no", "sell_to_customer__no", "your_reference", "external_document_no"]
    list_select_related = ["sell_to_customer", "currency"]
    inlines = [SalesInvoiceLineInline]


@admin.register(models.CustLedgerEntry)
class CustLedgerEntryAdmin(PostedAdmin):
    list_display = ["id", "customer", "posting_date", "document_type", "document_no", "amount", "remaining_amount"]
    list_filter = ["document_type", "open"]
    search_fields = ["customer__no", "document_no"]
    list_select_related = ["customer"]


@admin.register(models.SalesSetup)
class SalesSetupAdmin(admin.ModelAdmin):
    list_display = ["__str__", "posted_invoice_nos"]

    def has_add_permission(self, request):
        return not models.SalesSetup.objects.exists()  # a singleton

    def has_delete_permission(self, request, obj=None):
        return False

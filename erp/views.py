"""The ERP's pages: declarative list/detail/edit pages, the sales order page, item availability,
posted sales invoices, the customer ledger and the sales setup.

Views only read (models, ``erp.selectors``) and write through ``erp.services``.
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views import View

from erp import bulk_actions, filters, forms, selectors, services, tables
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
    SalesLine,
    Salesperson,
    SalesPrice,
    SalesSetup,
    UnitOfMeasure,
)
from nav_crm.templatetags.nav_crm_ui import money
from nav_crm.ui.views import (
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ObjectListView,
    RelatedList,
    apply_validation_error,
    permission_name,
)


class ErpEditView(ObjectEditView):
    def save_object(self, form):
        return services.record_save(instance=form.instance)


class ErpDeleteView(ObjectDeleteView):
    def delete_object(self, instance):
        services.record_delete(instance=instance)


def list_url(url_name: str, **query) -> str:
    return f"{reverse(url_name)}?{urlencode(query)}"


# --- Customers ---------------------------------------------------------------------------------


class CustomerListView(ObjectListView):
    model = Customer
    url_base = "erp:customer"
    table_class = tables.CustomerTable
    filterset_class = filters.CustomerFilterSet
    search_fields = ("no", "name", "city", "post_code", "email", "phone")
    bulk_actions = (
        bulk_actions.delete_selected(Customer),
        bulk_actions.CUSTOMER_BLOCK,
        bulk_actions.CUSTOMER_UNBLOCK,
    )

    def get_queryset(self):
        return Customer.objects.select_related("salesperson", "currency", "customer_price_group")


class CustomerDetailView(ObjectDetailView):
    model = Customer
    url_base = "erp:customer"
    template_name = "erp/customer_detail.html"

    def get_related_lists(self, instance):
        contacts = Contact.objects.filter(Q(customer=instance) | Q(company__customer=instance)).select_related(
            "company", "customer"
        )
        orders = instance.sales_orders.select_related("sell_to_customer", "salesperson", "currency").annotate(
            amount=order_amount()
        )
        return [
            RelatedList(
                "Contacts",
                self.related_table(tables.ContactTable, contacts, "contacts"),
                list_url("erp:contact_list", customer=instance.pk),
            ),
            RelatedList(
                "Sales orders",
                self.related_table(tables.SalesOrderTable, orders, "orders"),
                list_url("erp:salesorder_list", sell_to_customer=instance.pk),
            ),
            *self.posted_lists(instance),
        ]

    def posted_lists(self, instance: Customer) -> list[RelatedList]:
        """The customer's posted invoices and ledger entries, for users who may see them."""
        user = self.request.user
        related = []
        if user.has_perm(permission_name(SalesInvoiceHeader, "view")):
            invoices = instance.sales_invoices.select_related("sell_to_customer", "order", "currency")
            related.append(
                RelatedList(
                    "Posted sales invoices",
                    self.related_table(tables.SalesInvoiceTable, invoices, "invoices"),
                    list_url("erp:salesinvoice_list", sell_to_customer=instance.pk),
                )
            )
        if user.has_perm(permission_name(CustLedgerEntry, "view")):
            entries = instance.ledger_entries.select_related("customer", "currency", "sales_invoice")
            related.append(
                RelatedList(
                    "Customer ledger entries",
                    self.related_table(tables.CustLedgerEntryTable, entries, "ledger"),
                    list_url("erp:custledgerentry_list", customer=instance.pk),
                )
            )
        return related

    def get_extra_context(self, instance):
        can_order = self.request.user.has_perm(permission_name(SalesHeader, "add"))
        return {"new_order_url": list_url("erp:salesorder_create", sell_to_customer=instance.pk) if can_order else None}


# --- Contacts ----------------------------------------------------------------------------------


class ContactListView(ObjectListView):
    model = Contact
    url_base = "erp:contact"
    table_class = tables.ContactTable
    filterset_class = filters.ContactFilterSet
    search_fields = ("no", "name", "first_name", "last_name", "email", "phone", "mobile_phone", "city")
    bulk_actions = (bulk_actions.delete_selected(Contact),)

    def get_queryset(self):
        return Contact.objects.select_related("company", "customer")


class ContactDetailView(ObjectDetailView):
    model = Contact
    url_base = "erp:contact"

    def get_related_lists(self, instance):
        if instance.type != Contact.Type.COMPANY:
            return []
        people = instance.persons.select_related("company", "customer")
        return [
            RelatedList(
                "People",
                self.related_table(tables.ContactTable, people, "people"),
                list_url("erp:contact_list", company=instance.pk),
            )
        ]


# --- Salespeople -------------------------------------------------------------------------------


class SalespersonListView(ObjectListView):
    model = Salesperson
    url_base = "erp:salesperson"
    table_class = tables.SalespersonTable
    search_fields = ("code", "name", "email", "phone")
    bulk_actions = (bulk_actions.delete_selected(Salesperson),)


class SalespersonDetailView(ObjectDetailView):
    model = Salesperson
    url_base = "erp:salesperson"
    fields = ("code", "name", "email", "phone", "created_at", "modified_at")

    def get_related_lists(self, instance):
        customers = instance.customers.select_related("salesperson", "currency", "customer_price_group")
        return [
            RelatedList(
                "Customers",
                self.related_table(tables.CustomerTable, customers, "customers"),
                list_url("erp:customer_list", salesperson=instance.pk),
            )
        ]


# --- Items -------------------------------------------------------------------------------------


class ItemListView(ObjectListView):
    model = Item
    url_base = "erp:item"
    table_class = tables.ItemTable
    filterset_class = filters.ItemFilterSet
    search_fields = ("no", "description")
    bulk_actions = (
        bulk_actions.delete_selected(Item),
        bulk_actions.block_selected(Item),
        bulk_actions.unblock_selected(Item),
    )

    def get_queryset(self):
        return Item.objects.select_related("base_unit_of_measure")


class ItemDetailView(ObjectDetailView):
    model = Item
    url_base = "erp:item"
    template_name = "erp/item_detail.html"

    def get_related_lists(self, instance):
        prices = instance.sales_prices.select_related("item", "currency", "unit_of_measure")
        return [
            RelatedList(
                "Units of measure",
                self.related_table(
                    tables.ItemUnitOfMeasureTable, instance.units_of_measure.select_related("unit_of_measure"), "uom"
                ),
            ),
            RelatedList(
                "Sales prices",
                self.related_table(tables.SalesPriceTable, prices, "prices"),
                list_url("erp:salesprice_list", item=instance.pk),
            ),
            RelatedList(
                "Item ledger entries",
                self.related_table(tables.ItemLedgerEntryTable, instance.ledger_entries.all(), "ledger"),
            ),
        ]

    def get_extra_context(self, instance):
        availability = selectors.items_with_availability(queryset=Item.objects.filter(pk=instance.pk)).get()
        return {"availability": availability}


class ItemAvailabilityView(ObjectListView):
    """Items with inventory, outstanding sales quantity and available quantity as of a date."""

    model = Item
    url_base = "erp:item"
    title = "Item availability"
    table_class = tables.ItemAvailabilityTable
    filterset_class = filters.ItemAvailabilityFilterSet
    search_fields = ("no", "description")
    template_name = "erp/item_availability.html"
    # A report, not the item list: other apps' item actions and columns stay on the item list.
    extensible = False

    def date_form(self) -> forms.AvailabilityDateForm:
        return forms.AvailabilityDateForm(self.request.GET)

    def as_of(self):
        form = self.date_form()
        if form.is_valid():
            return form.cleaned_data["as_of"] or timezone.localdate()
        return timezone.localdate()

    def get_queryset(self):
        return selectors.items_with_availability(
            queryset=Item.objects.select_related("base_unit_of_measure"), as_of=self.as_of()
        )

    def get_extra_context(self):
        return {"date_form": self.date_form(), "as_of": self.as_of(), "create_url": None}


# --- Resources ---------------------------------------------------------------------------------


class ResourceListView(ObjectListView):
    model = Resource
    url_base = "erp:resource"
    table_class = tables.ResourceTable
    filterset_class = filters.ResourceFilterSet
    search_fields = ("no", "name")
    bulk_actions = (
        bulk_actions.delete_selected(Resource),
        bulk_actions.block_selected(Resource),
        bulk_actions.unblock_selected(Resource),
    )

    def get_queryset(self):
        return Resource.objects.select_related("base_unit_of_measure")


class ResourceDetailView(ObjectDetailView):
    model = Resource
    url_base = "erp:resource"


# --- Units of measure, currencies, customer price groups ---------------------------------------


class UnitOfMeasureListView(ObjectListView):
    model = UnitOfMeasure
    url_base = "erp:unitofmeasure"
    table_class = tables.UnitOfMeasureTable
    search_fields = ("code", "description")
    bulk_actions = (bulk_actions.delete_selected(UnitOfMeasure),)


class UnitOfMeasureDetailView(ObjectDetailView):
    model = UnitOfMeasure
    url_base = "erp:unitofmeasure"


class CurrencyListView(ObjectListView):
    model = Currency
    url_base = "erp:currency"
    table_class = tables.CurrencyTable
    search_fields = ("code", "description")
    bulk_actions = (bulk_actions.delete_selected(Currency),)


class CurrencyDetailView(ObjectDetailView):
    model = Currency
    url_base = "erp:currency"

    def get_related_lists(self, instance):
        return [
            RelatedList(
                "Exchange rates",
                self.related_table(tables.CurrencyExchangeRateTable, instance.exchange_rates.all(), "rates"),
            )
        ]


class CustomerPriceGroupListView(ObjectListView):
    model = CustomerPriceGroup
    url_base = "erp:customerpricegroup"
    table_class = tables.CustomerPriceGroupTable
    search_fields = ("code", "description")
    bulk_actions = (bulk_actions.delete_selected(CustomerPriceGroup),)


class CustomerPriceGroupDetailView(ObjectDetailView):
    model = CustomerPriceGroup
    url_base = "erp:customerpricegroup"

    def get_related_lists(self, instance):
        customers = instance.customers.select_related("salesperson", "currency", "customer_price_group")
        prices = SalesPrice.objects.filter(
            sales_type=SalesPrice.SalesType.CUSTOMER_PRICE_GROUP, sales_code=instance.code
        ).select_related("item", "currency", "unit_of_measure")
        return [
            RelatedList(
                "Customers",
                self.related_table(tables.CustomerTable, customers, "customers"),
                list_url("erp:customer_list", customer_price_group=instance.pk),
            ),
            RelatedList(
                "Sales prices",
                self.related_table(tables.SalesPriceTable, prices, "prices"),
                list_url(
                    "erp:salesprice_list",
                    sales_type=SalesPrice.SalesType.CUSTOMER_PRICE_GROUP,
                    sales_code=instance.code,
                ),
            ),
        ]


# --- Sales prices ------------------------------------------------------------------------------


class SalesPriceListView(ObjectListView):
    model = SalesPrice
    url_base = "erp:salesprice"
    table_class = tables.SalesPriceTable
    filterset_class = filters.SalesPriceFilterSet
    search_fields = ("item__no", "item__description", "sales_code")
    bulk_actions = (bulk_actions.delete_selected(SalesPrice),)

    def get_queryset(self):
        return SalesPrice.objects.select_related("item", "currency", "unit_of_measure")


class SalesPriceDetailView(ObjectDetailView):
    model = SalesPrice
    url_base = "erp:salesprice"


# --- Sales orders ------------------------------------------------------------------------------


def order_amount():
    return Coalesce(Sum("lines__line_amount"), Value(0), output_field=DecimalField(max_digits=18, decimal_places=2))


class SalesOrderListView(ObjectListView):
    model = SalesHeader
    url_base = "erp:salesorder"
    table_class = tables.SalesOrderTable
    filterset_class = filters.SalesOrderFilterSet
    search_fields = ("no", "sell_to_customer__no", "sell_to_customer__name", "your_reference", "external_document_no")
    bulk_actions = (
        bulk_actions.delete_selected(SalesHeader),
        bulk_actions.SALES_ORDER_RELEASE,
        bulk_actions.SALES_ORDER_REOPEN,
    )

    def get_queryset(self):
        return SalesHeader.objects.select_related("sell_to_customer", "salesperson", "currency").annotate(
            amount=order_amount()
        )


class SalesOrderEditView(ErpEditView):
    model = SalesHeader
    url_base = "erp:salesorder"
    form_class = forms.SalesOrderForm

    def save_object(self, form):
        if form.instance.pk:
            return services.record_save(instance=form.instance)
        data = dict(form.cleaned_data)
        customer = data.pop("sell_to_customer")
        order_date = data.pop("order_date")
        # Empty fields are left out so that the service fills them in (number, customer's currency, …).
        given = {name: value for name, value in data.items() if value not in (None, "")}
        return services.sales_order_create(sell_to_customer=customer, order_date=order_date, **given)


class SalesOrderMixin(PermissionRequiredMixin):
    """Pages and actions of one sales order (``pk`` in the URL)."""

    permission_required = permission_name(SalesHeader, "view")

    def get_order(self) -> SalesHeader:
        return get_object_or_404(
            SalesHeader.objects.select_related("sell_to_customer", "currency", "salesperson"), pk=self.kwargs["pk"]
        )

    def order_context(self, order: SalesHeader, *, line_form=None, editing_line=None) -> dict:
        user = self.request.user
        is_open = order.status == SalesHeader.Status.OPEN
        is_closed = order.status == SalesHeader.Status.CLOSED
        lines = order.lines.select_related("item", "resource", "unit_of_measure")
        if editing_line is None and line_form is None:
            editing_id = self.request.GET.get("edit_line", "")
            editing_line = lines.filter(pk=editing_id).first() if editing_id.isdigit() else None
        may_add = is_open and user.has_perm(permission_name(SalesLine, "add"))
        may_change = is_open and user.has_perm(permission_name(SalesLine, "change"))
        if line_form is None and ((editing_line and may_change) or (not editing_line and may_add)):
            line_form = forms.SalesLineForm(instance=editing_line or SalesLine(order=order))
        return {
            "object": order,
            "order": order,
            "title": f"Sales order {order.no}",
            "lines": lines,
            "totals": selectors.sales_order_totals(order=order),
            "line_form": line_form,
            "editing_line": editing_line,
            "may_add_lines": may_add,
            "may_change_lines": may_change,
            "may_delete_lines": is_open and user.has_perm(permission_name(SalesLine, "delete")),
            # A closed order is archived: nothing on it changes any more (the services refuse it too).
            "may_change_order": not is_closed and user.has_perm(permission_name(SalesHeader, "change")),
            "may_delete_order": not is_closed and user.has_perm(permission_name(SalesHeader, "delete")),
            "may_post_invoice": (
                not is_closed
                and user.has_perm(permission_name(SalesInvoiceHeader, "add"))
                and lines.filter(quantity_shipped__gt=F("quantity_invoiced")).exists()
            ),
            "post_shipment_form": forms.PostShipmentForm(),
            "post_invoice_form": forms.PostInvoiceForm(initial={"posting_date": timezone.localdate()}),
            "invoices_table": self.invoices_table(order),
        }

    def invoices_table(self, order: SalesHeader) -> tables.SalesInvoiceTable | None:
        """The order's posted invoices (links), for users who may see posted invoices."""
        if not self.request.user.has_perm(permission_name(SalesInvoiceHeader, "view")):
            return None
        invoices = order.invoices.select_related("sell_to_customer", "order", "currency")
        return tables.SalesInvoiceTable(
            invoices, exclude=("pk", "sell_to_customer", "order_no"), orderable=False, empty_text="None posted yet."
        )

    def render_order(self, order: SalesHeader, **kwargs) -> HttpResponse:
        context = self.order_context(order, **kwargs)
        template = "erp/partials/salesorder_lines.html" if self.request.htmx else "erp/salesorder_detail.html"
        return render(self.request, template, context)


class SalesOrderDetailView(SalesOrderMixin, View):
    """The sales order page: header, lines editor, totals and the order's actions."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_order(self.get_order())


class SalesLineSaveView(SalesOrderMixin, View):
    """Add a line (no ``line_pk``) or change one, through ``sales_line_save``."""

    def get_permission_required(self):
        action = "change" if "line_pk" in self.kwargs else "add"
        return (permission_name(SalesLine, action),)

    def post(self, request: HttpRequest, pk: int, line_pk: int | None = None) -> HttpResponse:
        order = self.get_order()
        line = get_object_or_404(order.lines, pk=line_pk) if line_pk else SalesLine(order=order)
        form = forms.SalesLineForm(request.POST, instance=line)
        if form.is_valid():
            try:
                saved = services.sales_line_save(line=form.instance)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, f"Line {saved.line_no} {'saved' if line_pk else 'added'}.")
                if request.htmx:
                    return self.render_order(self.get_order())
                return redirect(order.get_absolute_url())
        return self.render_order(order, line_form=form, editing_line=line if line_pk else None)


class SalesLineDeleteView(SalesOrderMixin, View):
    permission_required = permission_name(SalesLine, "delete")

    def post(self, request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
        order = self.get_order()
        line = get_object_or_404(order.lines, pk=line_pk)
        try:
            services.sales_line_delete(line=line)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Line {line.line_no} deleted.")
        if request.htmx:
            return self.render_order(self.get_order())
        return redirect(order.get_absolute_url())


class SalesOrderActionView(SalesOrderMixin, View):
    """Release, reopen, post the shipment or post an invoice of one order (POST only)."""

    permission_required = permission_name(SalesHeader, "change")
    action = ""

    def get_permission_required(self):
        if self.action == "post_invoice":
            # Invoicing writes a posted invoice (the Sales role's permission), not the order's fields.
            return (permission_name(SalesInvoiceHeader, "add"),)
        return super().get_permission_required()

    def posting_date(self, form_class):
        form = form_class(self.request.POST)
        if not form.is_valid():
            raise ValidationError([f"Posting date: {message}" for message in form.errors["posting_date"]])
        return form.cleaned_data["posting_date"]

    def run(self, order: SalesHeader) -> str:
        if self.action == "release":
            services.sales_order_release(order=order)
            return f"Sales order {order.no} released."
        if self.action == "reopen":
            services.sales_order_reopen(order=order)
            return f"Sales order {order.no} reopened."
        if self.action == "post_invoice":
            posting_date = self.posting_date(forms.PostInvoiceForm)
            invoice = services.sales_order_post_invoice(order=order, posting_date=posting_date)
            return format_html(
                'Sales invoice <a href="{}">{}</a> posted for sales order {}: {} {}.',
                invoice.get_absolute_url(),
                invoice.no,
                order.no,
                money(invoice.amount),
                invoice.currency or "LCY",
            )
        posting_date = self.posting_date(forms.PostShipmentForm)
        entries = services.sales_order_post_shipment(order=order, posting_date=posting_date)
        return f"Shipment of sales order {order.no} posted ({len(entries)} item ledger entries)."

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        order = self.get_order()
        try:
            done = self.run(order)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done)
        return redirect(order.get_absolute_url())


# --- Posted sales invoices, customer ledger ----------------------------------------------------


class SalesInvoiceListView(ObjectListView):
    """Posted invoices: read only (posted documents never change), so no bulk actions and no "New"."""

    model = SalesInvoiceHeader
    url_base = "erp:salesinvoice"
    table_class = tables.SalesInvoiceTable
    filterset_class = filters.SalesInvoiceFilterSet
    search_fields = (
        "no",
        "order_no",
        "sell_to_customer__no",
        "sell_to_customer__name",
        "your_reference",
        "external_document_no",
    )

    def get_queryset(self):
        return SalesInvoiceHeader.objects.select_related("sell_to_customer", "order", "currency")


class SalesInvoiceDetailView(ObjectDetailView):
    model = SalesInvoiceHeader
    url_base = "erp:salesinvoice"
    template_name = "erp/salesinvoice_detail.html"
    fields = (
        "sell_to_customer",
        "order_no",
        "posting_date",
        "document_date",
        "due_date",
        "currency",
        "salesperson",
        "your_reference",
        "external_document_no",
    )

    def get_queryset(self):
        return SalesInvoiceHeader.objects.select_related("sell_to_customer", "order", "currency", "salesperson")

    def field_rows(self, instance: SalesInvoiceHeader) -> list[tuple[str, object]]:
        rows = dict(zip(self.fields, super().field_rows(instance), strict=True))
        rows["sell_to_customer"] = ("Customer", rows["sell_to_customer"][1])
        if instance.order_id:  # the order may have been deleted since; its number stays
            rows["order_no"] = (
                "Order no.",
                format_html('<a href="{}">{}</a>', instance.order.get_absolute_url(), instance.order_no),
            )
        if instance.currency_id is None:
            rows["currency"] = ("Currency", "LCY")
        return list(rows.values())

    def get_related_lists(self, instance: SalesInvoiceHeader) -> list[RelatedList]:
        if not self.request.user.has_perm(permission_name(CustLedgerEntry, "view")):
            return []
        entries = CustLedgerEntry.objects.filter(sales_invoice=instance).select_related(
            "customer", "currency", "sales_invoice"
        )
        return [
            RelatedList(
                "Customer ledger entry",
                self.related_table(tables.CustLedgerEntryTable, entries, "ledger"),
                list_url("erp:custledgerentry_list", q=instance.no),
            )
        ]

    def get_extra_context(self, instance: SalesInvoiceHeader) -> dict:
        lines = instance.lines.select_related("item", "resource", "unit_of_measure")
        return {
            "title": f"Posted sales invoice {instance.no}",
            "invoice": instance,
            "lines_table": tables.SalesInvoiceLineTable(lines),
        }


class CustLedgerEntryListView(ObjectListView):
    model = CustLedgerEntry
    url_base = "erp:custledgerentry"
    table_class = tables.CustLedgerEntryTable
    filterset_class = filters.CustLedgerEntryFilterSet
    search_fields = ("document_no", "customer__no", "customer__name", "description")

    def get_queryset(self):
        return CustLedgerEntry.objects.select_related("customer", "currency", "sales_invoice")


# --- Sales setup -------------------------------------------------------------------------------


class SalesSetupView(PermissionRequiredMixin, View):
    """The sales setup (one record): seen with the view permission, saved with the change permission."""

    template_name = "erp/salessetup.html"

    def get_permission_required(self):
        action = "change" if self.request.method == "POST" else "view"
        return (permission_name(SalesSetup, action),)

    def render_form(self, form: forms.SalesSetupForm) -> HttpResponse:
        may_change = self.request.user.has_perm(permission_name(SalesSetup, "change"))
        if not may_change:
            for field in form.fields.values():
                field.disabled = True
        return render(
            self.request, self.template_name, {"title": "Sales setup", "form": form, "may_change": may_change}
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_form(forms.SalesSetupForm(instance=selectors.sales_setup()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.SalesSetupForm(request.POST, instance=selectors.sales_setup())
        if form.is_valid():
            try:
                services.record_save(instance=form.instance)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, "Sales setup saved.")
                return redirect("erp:salessetup")
        return self.render_form(form)

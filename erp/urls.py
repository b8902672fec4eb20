from django.urls import path

from erp import forms, views
from erp.models import (
    Contact,
    Currency,
    Customer,
    CustomerPriceGroup,
    Item,
    Resource,
    SalesHeader,
    Salesperson,
    SalesPrice,
    UnitOfMeasure,
)

app_name = "erp"


def object_pages(prefix: str, name: str, model, list_view, detail_view, form_class, edit_view=views.ErpEditView):
    """The five pages of one model: list, new, detail, edit, delete (``erp:<name>_<page>``)."""
    url_base = f"{app_name}:{name}"
    edit = edit_view.as_view(model=model, url_base=url_base, form_class=form_class)
    return [
        path(f"{prefix}/", list_view.as_view(), name=f"{name}_list"),
        path(f"{prefix}/new/", edit, name=f"{name}_create"),
        path(f"{prefix}/<int:pk>/", detail_view.as_view(), name=f"{name}_detail"),
        path(f"{prefix}/<int:pk>/edit/", edit, name=f"{name}_edit"),
        path(
            f"{prefix}/<int:pk>/delete/",
            views.ErpDeleteView.as_view(model=model, url_base=url_base),
            name=f"{name}_delete",
        ),
    ]


urlpatterns = [
    *object_pages(
        "customers", "customer", Customer, views.CustomerListView, views.CustomerDetailView, forms.CustomerForm
    ),
    *object_pages("contacts", "contact", Contact, views.ContactListView, views.ContactDetailView, forms.ContactForm),
    *object_pages(
        "salespeople",
        "salesperson",
        Salesperson,
        views.SalespersonListView,
        views.SalespersonDetailView,
        forms.SalespersonForm,
    ),
    path("items/availability/", views.ItemAvailabilityView.as_view(), name="item_availability"),
    *object_pages("items", "item", Item, views.ItemListView, views.ItemDetailView, forms.ItemForm),
    *object_pages(
        "resources", "resource", Resource, views.ResourceListView, views.ResourceDetailView, forms.ResourceForm
    ),
    *object_pages(
        "units-of-measure",
        "unitofmeasure",
        UnitOfMeasure,
        views.UnitOfMeasureListView,
        views.UnitOfMeasureDetailView,
        forms.UnitOfMeasureForm,
    ),
    *object_pages(
        "currencies", "currency", Currency, views.CurrencyListView, views.CurrencyDetailView, forms.CurrencyForm
    ),
    *object_pages(
        "customer-price-groups",
        "customerpricegroup",
        CustomerPriceGroup,
        views.CustomerPriceGroupListView,
        views.CustomerPriceGroupDetailView,
        forms.CustomerPriceGroupForm,
    ),
    *object_pages(
        "sales-prices",
        "salesprice",
        SalesPrice,
        views.SalesPriceListView,
        views.SalesPriceDetailView,
        forms.SalesPriceForm,
    ),
    *object_pages(
        "sales-orders",
        "salesorder",
        SalesHeader,
        views.SalesOrderListView,
        views.SalesOrderDetailView,
        forms.SalesOrderForm,
        edit_view=views.SalesOrderEditView,
    ),
    path("sales-orders/<int:pk>/lines/", views.SalesLineSaveView.as_view(), name="salesorder_line_create"),
    path("sales-orders/<int:pk>/lines/<int:line_pk>/", views.SalesLineSaveView.as_view(), name="salesorder_line_edit"),
    path(
        "sales-orders/<int:pk>/lines/<int:line_pk>/delete/",
        views.SalesLineDeleteView.as_view(),
        name="salesorder_line_delete",
    ),
    path(
        "sales-orders/<int:pk>/release/",
        views.SalesOrderActionView.as_view(action="release"),
        name="salesorder_release",
    ),
    path(
        "sales-orders/<int:pk>/reopen/", views.SalesOrderActionView.as_view(action="reopen"), name="salesorder_reopen"
    ),
    path(
        "sales-orders/<int:pk>/post-shipment/",
        views.SalesOrderActionView.as_view(action="post_shipment"),
        name="salesorder_post_shipment",
    ),
    path(
        "sales-orders/<int:pk>/post-invoice/",
        views.SalesOrderActionView.as_view(action="post_invoice"),
        name="salesorder_post_invoice",
    ),
    # Posted documents and ledger entries are read only: a list and a detail page, no edit pages.
    path("sales/invoices/", views.SalesInvoiceListView.as_view(), name="salesinvoice_list"),
    path("sales/invoices/<int:pk>/", views.SalesInvoiceDetailView.as_view(), name="salesinvoice_detail"),
    path("sales/customer-ledger-entries/", views.CustLedgerEntryListView.as_view(), name="custledgerentry_list"),
    path("sales/setup/", views.SalesSetupView.as_view(), name="salessetup"),
]

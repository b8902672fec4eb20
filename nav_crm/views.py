from django.shortcuts import render
from django.urls import reverse

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

# (menu section, title, model, list URL name) of the home page's tiles, in menu order.
HOME_TILES = [
    ("Sales", "Sales orders", SalesHeader, "erp:salesorder_list"),
    ("Sales", "Posted sales invoices", SalesInvoiceHeader, "erp:salesinvoice_list"),
    ("Sales", "Customer ledger entries", CustLedgerEntry, "erp:custledgerentry_list"),
    ("Sales", "Customers", Customer, "erp:customer_list"),
    ("Sales", "Contacts", Contact, "erp:contact_list"),
    ("Sales", "Salespeople", Salesperson, "erp:salesperson_list"),
    ("Sales", "Sales prices", SalesPrice, "erp:salesprice_list"),
    ("Sales", "Customer price groups", CustomerPriceGroup, "erp:customerpricegroup_list"),
    ("Inventory", "Items", Item, "erp:item_list"),
    ("Inventory", "Resources", Resource, "erp:resource_list"),
    ("Setup", "Units of measure", UnitOfMeasure, "erp:unitofmeasure_list"),
    ("Setup", "Currencies", Currency, "erp:currency_list"),
]
RECENT_ORDERS = 10


def home(request):
    """The dashboard: a tile per list the user may see, with its count, and the latest orders."""
    user = request.user
    sections: dict[str, list[dict]] = {}
    for section, title, model, url_name in HOME_TILES:
        if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
            tile = {"title": title, "count": model.objects.count(), "url": reverse(url_name)}
            sections.setdefault(section, []).append(tile)
    recent_orders = None
    if user.has_perm("erp.view_salesheader"):
        recent_orders = SalesHeader.objects.select_related("sell_to_customer").order_by("-created_at", "-pk")[
            :RECENT_ORDERS
        ]
    context = {
        "sections": sections,
        "recent_orders": recent_orders,
        "may_see_availability": user.has_perm("erp.view_item"),
        "health": _integration_health(user),
    }
    return render(request, "home.html", context)


def _integration_health(user) -> dict | None:
    """The integration's health, for those who follow the synchronization, once a connection is saved."""
    from syncjobs import permissions
    from syncjobs.connection import selectors as connection_selectors
    from syncjobs.runs import health

    if not user.has_perm(permissions.VIEW_JOBS) or not connection_selectors.crm_connection_get().is_saved:
        return None
    return health.home_context()

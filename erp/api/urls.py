from rest_framework import permissions, routers

from erp.api import views

app_name = "erp-api"


class APIRootView(routers.APIRootView):
    """The ERP resources. Each needs its model's view permission; this index only a login."""

    permission_classes = [permissions.IsAuthenticated]


router = routers.DefaultRouter()
router.APIRootView = APIRootView
# Keys may contain dots ("1.5L"), so no ".json"-style format suffixes.
router.include_format_suffixes = False
router.register("currencies", views.CurrencyViewSet, basename="currency")
router.register(
    r"currencies/(?P<currency_code>[^/]+)/exchange-rates", views.CurrencyExchangeRateViewSet, basename="exchange-rate"
)
router.register("units-of-measure", views.UnitOfMeasureViewSet, basename="unit-of-measure")
router.register("salespeople", views.SalespersonViewSet, basename="salesperson")
router.register("payment-terms", views.PaymentTermsViewSet, basename="payment-terms")
router.register("shipment-methods", views.ShipmentMethodViewSet, basename="shipment-method")
router.register("shipping-agents", views.ShippingAgentViewSet, basename="shipping-agent")
router.register("customer-price-groups", views.CustomerPriceGroupViewSet, basename="customer-price-group")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("items", views.ItemViewSet, basename="item")
router.register(
    r"items/(?P<item_no>[^/]+)/units-of-measure", views.ItemUnitOfMeasureViewSet, basename="item-unit-of-measure"
)
router.register("resources", views.ResourceViewSet, basename="resource")
router.register("sales-prices", views.SalesPriceViewSet, basename="sales-price")
router.register("sales-orders", views.SalesOrderViewSet, basename="sales-order")
router.register(r"sales-orders/(?P<order_no>[^/]+)/lines", views.SalesLineViewSet, basename="sales-line")
router.register("sales-invoices", views.SalesInvoiceViewSet, basename="sales-invoice")
router.register("customer-ledger-entries", views.CustLedgerEntryViewSet, basename="customer-ledger-entry")
router.register("item-ledger-entries", views.ItemLedgerEntryViewSet, basename="item-ledger-entry")
router.register("item-availability", views.ItemAvailabilityViewSet, basename="item-availability")

urlpatterns = router.urls

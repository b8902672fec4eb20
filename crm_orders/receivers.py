"""An order that came from Dynamics 365 reports its release, shipments and invoices back (crm_orders.progress)."""

from django.dispatch import receiver

from coupling import selectors as coupling_selectors
from crm_orders.models import OrderProgress
from erp import signals


def _remember(order, change: str, invoice=None) -> None:
    coupling = coupling_selectors.coupling_for_record(record=order)
    if coupling is None or coupling.crm_entity != "salesorder":
        return  # an order of the ERP's own
    OrderProgress.objects.create(order=order, change=change, invoice=invoice, crm_order_id=coupling.crm_id)


@receiver(signals.sales_order_released, dispatch_uid="crm_orders_released")
def order_released(sender, order, **kwargs):
    _remember(order, OrderProgress.Change.RELEASED)


@receiver(signals.sales_shipment_posted, dispatch_uid="crm_orders_shipped")
def shipment_posted(sender, order, **kwargs):
    _remember(order, OrderProgress.Change.SHIPPED)


@receiver(signals.sales_invoice_posted, dispatch_uid="crm_orders_invoiced")
def invoice_posted(sender, order, invoice, **kwargs):
    _remember(order, OrderProgress.Change.INVOICED, invoice)

"""What happens to a sales order, for whoever follows it (the Dynamics 365 order integration).

Sent inside the posting transaction, so that a receiver's writes (an outbox row) commit or roll back
with the posting itself: nothing is announced that did not happen, nothing that happened is missed.
"""

from django.dispatch import Signal

# sender=SalesHeader; order=the order as just released.
sales_order_released = Signal()
# sender=SalesHeader; order=the order whose outstanding lines were just shipped.
sales_shipment_posted = Signal()
# sender=SalesHeader; order=the order invoiced; invoice=the posted SalesInvoiceHeader.
sales_invoice_posted = Signal()

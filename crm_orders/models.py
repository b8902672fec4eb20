"""What the ERP still has to tell Dynamics 365 about the orders that came from it (BC's "CRM Post Buffer").

A row is written in the same transaction as the release, shipment or invoice it reports (crm_orders.receivers),
and sent by the next progress job, which writes a post on the order's wall, its processing status and state,
and the posted invoice. Sent rows are kept a while as the order's history in the ERP.
"""

from django.db import models

from erp.models import SalesHeader, SalesInvoiceHeader


class OrderProgress(models.Model):
    class Change(models.TextChoices):
        RELEASED = "released", "The order status has changed to Released."
        SHIPPED = "shipped", "A shipment has been created for the order."
        INVOICED = "invoiced", "An invoice has been created for the order."

    order = models.ForeignKey(SalesHeader, on_delete=models.CASCADE, related_name="crm_progress")
    change = models.CharField(max_length=10, choices=Change.choices)
    invoice = models.ForeignKey(SalesInvoiceHeader, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    crm_order_id = models.UUIDField("Dynamics 365 order id")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "sales order progress to Dynamics 365"
        verbose_name_plural = "sales order progress to Dynamics 365"
        ordering = ["pk"]
        permissions = [("process_crm_orders", "Can create ERP sales orders from Dynamics 365 orders")]

    def __str__(self):
        return f"{self.order} {self.get_change_display()}"

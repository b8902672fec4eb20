"""Which values of a Dynamics 365 order the ERP takes over (what BC users asked of its order mappings): every one
by default; a sync administrator may leave some out on the "Dynamics 365 sales orders" page. A value left out is
the ERP's own (the customer's terms, the ERP's price, …)."""

from __future__ import annotations

from syncjobs.models import CrmConnection

# key → what the user reads: ERP field ← Dynamics 365 column.
ORDER_FIELDS = {
    "requested_delivery_date": "Requested delivery date ← Requested delivery by",
    "your_reference": "Your reference ← Order number",
    "external_document_no": "External document no. ← Name",
    "work_description": "Work description ← Description",
    "payment_terms": "Payment terms ← Payment terms",
    "shipment_method": "Shipment method ← Freight terms",
    "shipping_agent": "Shipping agent ← Shipping method",
    "ship_to": "Ship-to address ← Ship to",
    "notes": "Notes ← Notes (without files)",
    "order_discount": "Line discounts ← the order's discount, spread over its lines",
    "freight": "A freight line ← Freight amount",
}
LINE_FIELDS = {
    "unit_price": "Unit price ← Price per unit (left out: the ERP's price)",
    "line_discount": "Line discount ← Manual discount and volume discount",
    "unit_of_measure": "Unit of measure ← Unit (left out: the item's base unit)",
}
ALL_FIELDS = {**ORDER_FIELDS, **LINE_FIELDS}


def copied(connection: CrmConnection | None = None) -> frozenset[str]:
    """The keys of the values taken over."""
    left_out = set(connection.sales_order_fields_left_out) if connection is not None else set()
    return frozenset(ALL_FIELDS) - left_out

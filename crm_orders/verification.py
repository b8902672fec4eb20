"""``crm_verify`` for sales orders: every ERP order that came from Dynamics 365 against its CRM order and lines.

The result is a ``syncjobs.engine.verification.MappingVerification`` under the name SALES ORDERS, so that the command
reports it like the mappings. Compared per coupled order: the ERP order number the CRM holds, the customer (the
account coupled to the ERP customer), the processing status and state the ERP's progress implies (once sent),
and the lines in sequence: product, quantity and unit price (the freight line against the freight amount).
Submitted orders not taken over yet are listed as uncoupled, expected (the next intake takes them).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType

import dataverse
from coupling.models import Coupling
from coupling.selectors import crm_ids_for
from crm_orders import intake, progress
from crm_orders.models import OrderProgress
from erp import selectors as erp_selectors
from erp.models import Customer, Item, Resource, SalesHeader
from syncjobs.engine.verification import DEFAULT_LIMIT, MappingVerification
from syncjobs.models import Direction, IntegrationTableMapping

NAME = "SALES ORDERS"
ORDER_SELECT = [
    "salesorderid",
    "ordernumber",
    "name",
    "_customerid_value",
    "nav_erpordernumber",
    "nav_processingstatus",
    "statecode",
    "freightamount",
]
PER_REQUEST = 100


def orders_mapping() -> IntegrationTableMapping:
    """Not saved: what the report names and how it judges uncoupled rows (taken by the next intake)."""
    return IntegrationTableMapping(
        name=NAME, crm_entity="salesorder", direction=Direction.FROM_CRM, sync_only_coupled=True
    )


def _pair(order: SalesHeader | None, coupling: Coupling) -> dict:
    return {
        "mapping": NAME,
        "erp_record": f"sales order {order.no}" if order else "sales order (deleted)",
        "erp_system_id": str(coupling.erp_system_id),
        "crm_entity": "salesorder",
        "crm_id": str(coupling.crm_id),
    }


def _difference(result: MappingVerification, order, coupling, field: str, erp_value, crm_value, attribute: str):
    result.differences.add(
        {
            **_pair(order, coupling),
            "field": field,
            "erp_field": field,
            "crm_attribute": attribute,
            "constant": None,
            "erp_value": erp_value,
            "crm_value": crm_value,
        }
    )


def _line_values(order: SalesHeader, products: dict[uuid.UUID, uuid.UUID], freight_item_id) -> list[tuple]:
    lines = []
    for line in order.lines.all():
        if line.item_id and line.item_id == freight_item_id:
            continue
        target = line.item or line.resource
        product = products.get(target.system_id) if target is not None else None
        lines.append((str(product) if product else None, line.quantity.normalize(), line.unit_price.normalize()))
    return lines


def _crm_line_values(row: dict) -> list[tuple]:
    return [
        (
            line.get("_productid_value"),
            Decimal(str(line.get("quantity") or 0)).normalize(),
            Decimal(str(line.get("priceperunit") or 0)).quantize(Decimal("0.01")).normalize(),
        )
        for line in sorted(row.get("order_details") or [], key=intake._sequence)
    ]


def _compare(result, order, coupling, row, products, freight_item_id, customers, unsent) -> None:
    result.checked += 1
    before = result.differences.count
    if row.get("nav_erpordernumber") != order.no:
        _difference(result, order, coupling, "no.", order.no, row.get("nav_erpordernumber"), "nav_erpordernumber")
    account = customers.get(order.sell_to_customer.system_id)
    crm_customer = row.get("_customerid_value")
    if row.get("customerid_contact"):
        crm_customer = row["customerid_contact"].get("_parentcustomerid_value")
    if account is None or str(account) != crm_customer:
        _difference(
            result, order, coupling, "sell-to customer", str(account) if account else None, crm_customer, "customerid"
        )
    if order.pk not in unsent:
        status = progress.processing_status(order)
        expected = progress.PROCESSING_STATUS[status] if status else None
        if expected is not None and row.get("nav_processingstatus") != expected:
            _difference(
                result,
                order,
                coupling,
                "processing status",
                expected,
                row.get("nav_processingstatus"),
                "nav_processingstatus",
            )
    erp_lines, crm_lines = _line_values(order, products, freight_item_id), _crm_line_values(row)
    if erp_lines != crm_lines:
        _difference(
            result,
            order,
            coupling,
            "lines",
            [list(map(str, v)) for v in erp_lines],
            [list(map(str, v)) for v in crm_lines],
            "order_details",
        )
    if result.differences.count > before:
        result.differing += 1
    else:
        result.same += 1


def orders_verify(*, client: dataverse.Client, limit: int = DEFAULT_LIMIT) -> MappingVerification:
    result = MappingVerification(mapping=orders_mapping(), limit=limit)
    couplings = list(
        Coupling.objects.filter(erp_model=ContentType.objects.get_for_model(SalesHeader), crm_entity="salesorder")
    )
    freight_item_id = erp_selectors.sales_setup().freight_item_id
    unsent = set(OrderProgress.objects.filter(sent_at__isnull=True).values_list("order_id", flat=True))
    for start in range(0, len(couplings), PER_REQUEST):
        chunk = couplings[start : start + PER_REQUEST]
        orders = {
            o.system_id: o
            for o in SalesHeader.objects.filter(system_id__in=[c.erp_system_id for c in chunk])
            .select_related("sell_to_customer")
            .prefetch_related("lines__item", "lines__resource")
        }
        rows = {
            uuid.UUID(row["salesorderid"]): row
            for row in client.query(
                "salesorders",
                select=ORDER_SELECT,
                filter=dataverse.F.in_("salesorderid", [c.crm_id for c in chunk]),
                expand={
                    "order_details": {"select": intake.LINE_SELECT},
                    "customerid_contact": {"select": ["_parentcustomerid_value"]},
                },
            )
        }
        lines = [line for order in orders.values() for line in order.lines.all()]
        products = {
            **crm_ids_for(model=Item, system_ids={line.item.system_id for line in lines if line.item_id}),
            **crm_ids_for(model=Resource, system_ids={line.resource.system_id for line in lines if line.resource_id}),
        }
        customers = crm_ids_for(
            model=Customer, system_ids={order.sell_to_customer.system_id for order in orders.values()}
        )
        for coupling in chunk:
            order, row = orders.get(coupling.erp_system_id), rows.get(coupling.crm_id)
            if order is None or row is None:
                what = "sales order" if order is None else "Dynamics 365 order"
                result.dangling.add({**_pair(order, coupling), "message": f"The {what} no longer exists."})
                continue
            _compare(result, order, coupling, row, products, freight_item_id, customers, unsent)
    for rows in client.query(
        "salesorders", select=["salesorderid", "name"], filter=intake.submitted_filter(), page_size=500
    ).pages():
        for row in rows:
            result.uncoupled_crm.add(
                {
                    "mapping": NAME,
                    "crm_entity": "salesorder",
                    "crm_id": row["salesorderid"],
                    "crm_name": row.get("name"),
                }
            )
    return result

"""The entity the CRM reads: ProductItemAvailability (NAV's page 5390 "Product Item Availability").

The key is ItemNo: every item has one, it never changes and it is what a person types. ProductId
(the coupled CRM product) cannot be the key, since an item that is not coupled has none; a CRM
asks for its product with ``$filter=ProductId eq <guid>`` (or ``in (...)`` for several).
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "NAV"
ENTITY_SET = "ProductItemAvailability"
ENTITY_TYPE = "ProductItemAvailability"
KEY = "ItemNo"
AS_OF_OPTION = "asOfDate"

SET_DESCRIPTION = (
    "Inventory and available quantity per item, in the item's base unit of measure, with the coupled "
    "CRM product id. Without the custom query option asOfDate: all posted inventory minus the quantity "
    "still to ship on all open sales order lines (AvailabilityDate is null). With asOfDate=YYYY-MM-DD: "
    "inventory posted up to that date minus what order lines still have to ship by then (requested "
    "delivery date, else order date), e.g. ProductItemAvailability?asOfDate=2026-12-01. "
    "$filter takes eq and in on ProductId and ItemNo, joined by and/or; $select, $top, $skip and "
    "$count are supported; pages hold at most 1000 items (Prefer: odata.maxpagesize for fewer) and "
    "continue at @odata.nextLink."
)


@dataclass(frozen=True)
class Property:
    name: str
    edm_type: str
    # The value's name in the selector's rows (None: not read from the database).
    source: str | None
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    description: str = ""


PROPERTIES: tuple[Property, ...] = (
    Property("ItemNo", "Edm.String", "no", nullable=False, max_length=20, description="The item's number (the key)."),
    Property(
        "ProductId",
        "Edm.Guid",
        "crm_id",
        description="The CRM product the item is coupled to; null when the item is not coupled.",
    ),
    Property("Description", "Edm.String", "description", nullable=False, max_length=100),
    Property(
        "UnitOfMeasure",
        "Edm.String",
        "base_unit_of_measure__code",
        nullable=False,
        max_length=10,
        description="The item's base unit of measure code; quantities are in this unit.",
    ),
    Property(
        "Inventory",
        "Edm.Decimal",
        "inventory",
        nullable=False,
        precision=18,
        scale=5,
        description="Sum of the item ledger entries (up to AvailabilityDate when given).",
    ),
    Property(
        "AvailableQuantity",
        "Edm.Decimal",
        "available_qty",
        nullable=False,
        precision=18,
        scale=5,
        description="Inventory minus the quantity open sales order lines still have to ship.",
    ),
    Property(
        "AvailabilityDate",
        "Edm.Date",
        None,
        description="The asOfDate the figures are for; null when the request gave none (no date limit).",
    ),
)
BY_NAME = {prop.name: prop for prop in PROPERTIES}

"""What the integration solution declares: its publisher, the connection entity, two columns on the
order (salesorder) and the two security roles.

The connection entity and its attribute names are Business Central's (CRM entity `nav_connection`):
the CRM reads the ERP's item availability OData service with the URL, user name and web service
access key kept in its one row. The order's columns show the ERP's order number and processing
status in Dynamics 365 Sales.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncjobs import constants

PUBLISHER_UNIQUE_NAME = "navcrm"
PUBLISHER_NAME = "nav_crm"
CUSTOMIZATION_PREFIX = "nav"
# Option values of the publisher's choices start here (Dataverse asks for 10000-99999).
OPTION_VALUE_PREFIX = 10000
SOLUTION_FRIENDLY_NAME = "nav_crm Integration"
SOLUTION_DESCRIPTION = "Connects Dynamics 365 Sales to the nav_crm ERP: item availability and the integration roles."

CONNECTION_ENTITY = "nav_connection"
CONNECTION_ENTITY_SET = "nav_connections"
CONNECTION_NAME = "nav_name"
CONNECTION_ODATA_URL = "nav_dynamicsnavodataurl"
CONNECTION_ODATA_USERNAME = "nav_dynamicsnavodatausername"
CONNECTION_ODATA_ACCESS_KEY = "nav_dynamicsnavodataaccesskey"
CONNECTION_NAME_KEY = "nav_name_key"
# The ERP writes one row, found again by this name (the alternate key on nav_name).
CONNECTION_ROW_NAME = "nav_crm"


@dataclass(frozen=True)
class Attribute:
    logical_name: str
    type: str  # customizations.xml <Type>: primarykey, nvarchar, picklist, ...
    display_name: str
    description: str = ""
    max_length: int | None = None
    required_level: str = "none"
    primary_name: bool = False
    options: tuple[tuple[int, str], ...] = ()  # picklist: (value, label)


@dataclass(frozen=True)
class Entity:
    logical_name: str
    entity_set: str
    display_name: str
    display_collection_name: str
    description: str
    attributes: tuple[Attribute, ...]
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ownership: str = "OrganizationOwned"


@dataclass(frozen=True)
class SystemEntity:
    """A system entity the solution adds columns to: only those columns go into the package (as real
    solution files carry a system entity that is not customized otherwise)."""

    logical_name: str
    schema_name: str
    display_name: str
    attributes: tuple[Attribute, ...]


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    description: str
    privileges: tuple[tuple[str, str], ...]  # (privilege name, depth)


CONNECTION = Entity(
    logical_name=CONNECTION_ENTITY,
    entity_set=CONNECTION_ENTITY_SET,
    display_name="ERP connection",
    display_collection_name="ERP connections",
    description="Where the CRM reads the ERP's item availability, and with which credentials.",
    attributes=(
        Attribute(f"{CONNECTION_ENTITY}id", "primarykey", "ERP connection", required_level="systemrequired"),
        Attribute(
            CONNECTION_NAME,
            "nvarchar",
            "Name",
            "The ERP's name.",
            max_length=100,
            required_level="required",
            primary_name=True,
        ),
        Attribute(
            CONNECTION_ODATA_URL,
            "nvarchar",
            "Dynamics NAV OData URL",
            "The root of the ERP's OData service, e.g. https://erp.example.com/odata/v4/.",
            max_length=400,
        ),
        Attribute(
            CONNECTION_ODATA_USERNAME,
            "nvarchar",
            "Dynamics NAV OData user name",
            "The ERP user whose web service access key the CRM uses.",
            max_length=250,
        ),
        Attribute(
            CONNECTION_ODATA_ACCESS_KEY,
            "nvarchar",
            "Dynamics NAV OData access key",
            "That user's web service access key.",
            max_length=250,
        ),
    ),
    keys=((CONNECTION_NAME_KEY, (CONNECTION_NAME,)),),
)

ENTITIES = (CONNECTION,)

# The ERP's order number and processing status, on Dynamics 365's order (written by the ERP).
SALESORDER_ERP_ORDER_NUMBER = "nav_erpordernumber"
SALESORDER_PROCESSING_STATUS = "nav_processingstatus"
# The publisher's option values: OPTION_VALUE_PREFIX * 10000 onwards.
_FIRST_OPTION_VALUE = OPTION_VALUE_PREFIX * 10000
PROCESSING_STATUS_RELEASED = _FIRST_OPTION_VALUE
PROCESSING_STATUS_PARTIALLY_SHIPPED = _FIRST_OPTION_VALUE + 1
PROCESSING_STATUS_SHIPPED = _FIRST_OPTION_VALUE + 2
PROCESSING_STATUS_PARTIALLY_INVOICED = _FIRST_OPTION_VALUE + 3
PROCESSING_STATUS_INVOICED = _FIRST_OPTION_VALUE + 4
PROCESSING_STATUS_CANCELED = _FIRST_OPTION_VALUE + 5
PROCESSING_STATUSES = (
    (PROCESSING_STATUS_RELEASED, "Released"),
    (PROCESSING_STATUS_PARTIALLY_SHIPPED, "Partially shipped"),
    (PROCESSING_STATUS_SHIPPED, "Shipped"),
    (PROCESSING_STATUS_PARTIALLY_INVOICED, "Partially invoiced"),
    (PROCESSING_STATUS_INVOICED, "Invoiced"),
    (PROCESSING_STATUS_CANCELED, "Canceled"),
)

SALES_ORDER = SystemEntity(
    logical_name="salesorder",
    schema_name="SalesOrder",
    display_name="Order",
    attributes=(
        Attribute(
            SALESORDER_ERP_ORDER_NUMBER,
            "nvarchar",
            "ERP order number",
            "The number of the ERP's sales order made from this order.",
            max_length=20,
        ),
        Attribute(
            SALESORDER_PROCESSING_STATUS,
            "picklist",
            "Processing status",
            "Where the ERP is with the order: released, shipped, invoiced or canceled.",
            options=PROCESSING_STATUSES,
        ),
    ),
)

SYSTEM_ENTITIES = (SALES_ORDER,)

_ALL_RIGHTS = ("Create", "Read", "Write", "Delete", "Append", "AppendTo")
# What the integration user synchronizes (read and write) and what it only reads.
_SYNCHRONIZED = (
    "account",
    "contact",
    "product",
    "pricelevel",
    "productpricelevel",
    "uom",
    "uomschedule",
    "salesorder",
    "salesorderdetail",
    "invoice",
    "invoicedetail",
    "annotation",
    "post",
)
_READ_ONLY = ("systemuser", "team", "businessunit", "transactioncurrency", "organization", "solution")


def _privileges(entities, rights, depth="Global") -> tuple[tuple[str, str], ...]:
    return tuple((f"prv{right}{entity}", depth) for entity in entities for right in rights)


ROLES = (
    Role(
        id="5c3f6f0e-8a4e-5b1d-9c8e-2f0b7a1d4e01",
        name=constants.INTEGRATION_ADMINISTRATOR_ROLE,
        description="Maintains the ERP connection record (item availability) and reads the integration's setup.",
        privileges=_privileges((CONNECTION_ENTITY,), _ALL_RIGHTS) + _privileges(_READ_ONLY, ("Read",)),
    ),
    Role(
        id="5c3f6f0e-8a4e-5b1d-9c8e-2f0b7a1d4e02",
        name=constants.INTEGRATION_USER_ROLE,
        description="Synchronizes accounts, contacts, products, prices, sales orders and invoices with the ERP.",
        privileges=_privileges(_SYNCHRONIZED, _ALL_RIGHTS)
        + _privileges(_READ_ONLY, ("Read",))
        + _privileges((CONNECTION_ENTITY,), ("Read",)),
    ),
)

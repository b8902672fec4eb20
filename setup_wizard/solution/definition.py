"""What the integration solution declares: its publisher, the connection entity and the two security roles.

The connection entity and its attribute names are Business Central's (CRM entity `nav_connection`):
the CRM reads the ERP's item availability OData service with the URL, user name and web service
access key kept in its one row.
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
    type: str  # customizations.xml <Type>: primarykey, nvarchar, ...
    display_name: str
    description: str = ""
    max_length: int | None = None
    required_level: str = "none"
    primary_name: bool = False


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
        description="Synchronizes accounts, contacts, products, prices and sales orders with the ERP.",
        privileges=_privileges(_SYNCHRONIZED, _ALL_RIGHTS)
        + _privileges(_READ_ONLY, ("Read",))
        + _privileges((CONNECTION_ENTITY,), ("Read",)),
    ),
)

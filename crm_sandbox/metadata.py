"""The sandbox's entity model, as Dataverse describes it.

One declaration per entity drives everything: the database tables (models.py), validation and
serialization (store.py), ``EntityDefinitions`` and the root page. Names, types, maximum lengths,
required levels and option sets follow the Dataverse table reference for D365 Sales.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

STRING_TYPES = {"String", "Memo"}
LOOKUP_TYPES = {"Lookup", "Customer", "Owner"}
OPTION_TYPES = {"Picklist", "State", "Status"}
NUMBER_TYPES = {"Integer", "BigInt", "Decimal", "Money", "Double"}

# Required levels, as AttributeMetadata.RequiredLevel names them. Only SystemRequired is enforced
# by the platform; ApplicationRequired is a form-level hint that the Web API does not check.
NONE = "None"
SYSTEM_REQUIRED = "SystemRequired"
APPLICATION_REQUIRED = "ApplicationRequired"


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    max_length: int | None = None
    required: str = NONE
    # Lookups: navigation property name -> target entity logical name.
    navigations: dict[str, str] = field(default_factory=dict)
    # Picklists: value -> label.
    options: dict[int, str] = field(default_factory=dict)
    valid_for_create: bool = True
    valid_for_update: bool = True
    precision: int = 2
    min_value: float | None = None
    max_value: float | None = None
    # The platform's default value for a new row when the create body leaves it out.
    default: object = None

    @property
    def is_lookup(self) -> bool:
        return self.type in LOOKUP_TYPES

    @property
    def value_property(self) -> str:
        """The property name a Web API client reads: ``_x_value`` for lookups."""
        return f"_{self.name}_value" if self.is_lookup else self.name

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.navigations.values()))

    @property
    def is_polymorphic(self) -> bool:
        return len(self.targets) > 1

    @property
    def type_column(self) -> str:
        """Column holding the target logical name of a polymorphic lookup (e.g. parentcustomeridtype)."""
        return f"{self.name}type"


@dataclass(frozen=True)
class State:
    value: int
    label: str
    default_status: int
    statuses: dict[int, str]


@dataclass(frozen=True)
class OneToMany:
    """A collection-valued navigation property: rows of ``entity`` whose ``attribute`` points here."""

    name: str
    entity: str
    attribute: str


@dataclass(frozen=True)
class ManyToMany:
    name: str
    entity: str
    intersect: str


@dataclass(frozen=True)
class Entity:
    logical_name: str
    set_name: str
    primary_id: str
    primary_name: str
    attributes: tuple[Attribute, ...]
    states: tuple[State, ...] = ()
    alternate_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    one_to_many: tuple[OneToMany, ...] = ()
    many_to_many: tuple[ManyToMany, ...] = ()
    change_tracking: bool = True
    display_name: str = ""
    object_type_code: int = 0
    is_custom: bool = False

    @cached_property
    def attribute_map(self) -> dict[str, Attribute]:
        return {attribute.name: attribute for attribute in self.attributes}

    @cached_property
    def navigation_map(self) -> dict[str, tuple[Attribute, str]]:
        """Single-valued navigation property -> (lookup attribute, target entity)."""
        return {nav: (a, target) for a in self.attributes for nav, target in a.navigations.items()}

    @cached_property
    def collection_map(self) -> dict[str, OneToMany | ManyToMany]:
        return {rel.name: rel for rel in (*self.one_to_many, *self.many_to_many)}

    @cached_property
    def value_property_map(self) -> dict[str, Attribute]:
        """Every readable property name (``_x_value`` for lookups) -> attribute."""
        return {a.value_property: a for a in self.attributes}

    @property
    def type_name(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"

    @cached_property
    def state_map(self) -> dict[int, State]:
        return {state.value: state for state in self.states}

    @cached_property
    def status_to_state(self) -> dict[int, int]:
        return {status: state.value for state in self.states for status in state.statuses}

    @property
    def title(self) -> str:
        return self.display_name or self.logical_name.title()


def _string(name, max_length, required=NONE, **kwargs):
    return Attribute(name, "String", max_length=max_length, required=required, **kwargs)


def _memo(name, max_length=2000, **kwargs):
    return Attribute(name, "Memo", max_length=max_length, **kwargs)


def _lookup(name, navigations, required=NONE, kind="Lookup", **kwargs):
    return Attribute(name, kind, navigations=navigations, required=required, **kwargs)


def _money(name, **kwargs):
    return Attribute(name, "Money", precision=4, min_value=-922337203685477, max_value=922337203685477, **kwargs)


def _decimal(name, precision=2, **kwargs):
    return Attribute(name, "Decimal", precision=precision, min_value=-100000000000, max_value=100000000000, **kwargs)


def _picklist(name, options, **kwargs):
    return Attribute(name, "Picklist", options=options, **kwargs)


def _system_attributes(*, owned: bool = True) -> tuple[Attribute, ...]:
    """The attributes every table has, kept by the server."""
    readonly = {"valid_for_create": False, "valid_for_update": False}
    attributes = [
        Attribute("createdon", "DateTime", **readonly),
        Attribute("modifiedon", "DateTime", **readonly),
        _lookup("createdby", {"createdby": "systemuser"}, **readonly),
        _lookup("modifiedby", {"modifiedby": "systemuser"}, **readonly),
        Attribute("versionnumber", "BigInt", **readonly),
        Attribute("overriddencreatedon", "DateTime", valid_for_update=False),
    ]
    if owned:
        attributes += [
            _lookup("ownerid", {"ownerid": "systemuser"}, kind="Owner", required=SYSTEM_REQUIRED),
            _lookup("owningbusinessunit", {"owningbusinessunit": "businessunit"}, **readonly),
            _lookup("owninguser", {"owninguser": "systemuser"}, **readonly),
        ]
    return tuple(attributes)


def _state_attributes(states: tuple[State, ...]) -> tuple[Attribute, ...]:
    return (
        Attribute("statecode", "State", options={s.value: s.label for s in states}, required=SYSTEM_REQUIRED),
        Attribute("statuscode", "Status", options={k: v for s in states for k, v in s.statuses.items()}, required=NONE),
    )


def _address(prefix: str = "address1") -> tuple[Attribute, ...]:
    return (
        _string(f"{prefix}_line1", 250),
        _string(f"{prefix}_line2", 250),
        _string(f"{prefix}_line3", 250),
        _string(f"{prefix}_city", 80),
        _string(f"{prefix}_stateorprovince", 50),
        _string(f"{prefix}_postalcode", 20),
        _string(f"{prefix}_country", 80),
        _string(f"{prefix}_telephone1", 50),
    )


ACTIVE_INACTIVE = (State(0, "Active", 1, {1: "Active"}), State(1, "Inactive", 2, {2: "Inactive"}))
CURRENCY = {"transactioncurrencyid": "transactioncurrency"}
CUSTOMER = {"customerid_account": "account", "customerid_contact": "contact"}
PAYMENT_TERMS = {1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}

ORGANIZATION = Entity(
    "organization",
    "organizations",
    "organizationid",
    "name",
    (
        Attribute("organizationid", "Uniqueidentifier"),
        _string("name", 160, SYSTEM_REQUIRED),
        _lookup("basecurrencyid", {"basecurrencyid": "transactioncurrency"}),
        Attribute("expirechangetrackingindays", "Integer"),
        # Sales order processing integration: submitted orders become read-only to everyone but
        # integration users, and the CRM's price calculation is skipped for them.
        Attribute("issopintegrationenabled", "Boolean", default=False),
        *_system_attributes(owned=False),
    ),
    display_name="Organization",
    object_type_code=1019,
    change_tracking=False,
)

BUSINESSUNIT = Entity(
    "businessunit",
    "businessunits",
    "businessunitid",
    "name",
    (
        Attribute("businessunitid", "Uniqueidentifier"),
        _string("name", 160, SYSTEM_REQUIRED),
        _lookup("parentbusinessunitid", {"parentbusinessunitid": "businessunit"}),
        _lookup("organizationid", {"organizationid": "organization"}, valid_for_update=False),
        Attribute("isdisabled", "Boolean"),
        *_system_attributes(owned=False),
    ),
    display_name="Business Unit",
    object_type_code=10,
)

SYSTEMUSER = Entity(
    "systemuser",
    "systemusers",
    "systemuserid",
    "fullname",
    (
        Attribute("systemuserid", "Uniqueidentifier"),
        _string("fullname", 200, valid_for_create=False, valid_for_update=False),
        _string("firstname", 256),
        _string("lastname", 256, SYSTEM_REQUIRED),
        _string("domainname", 1024, SYSTEM_REQUIRED),
        _string("internalemailaddress", 100),
        _string("mobilephone", 64),
        _lookup("businessunitid", {"businessunitid": "businessunit"}, SYSTEM_REQUIRED),
        Attribute("isdisabled", "Boolean", valid_for_create=False, valid_for_update=False, default=False),
        Attribute("applicationid", "Uniqueidentifier"),
        Attribute("azureactivedirectoryobjectid", "Uniqueidentifier"),
        _picklist(
            "accessmode",
            {
                0: "Read-Write",
                1: "Administrative",
                2: "Read",
                3: "Support User",
                4: "Non-interactive",
                5: "Delegated Admin",
            },
            default=0,
        ),
        # "Integration user mode": the user may change submitted orders (sales order processing).
        Attribute("isintegrationuser", "Boolean", default=False),
        *_system_attributes(owned=False),
    ),
    many_to_many=(ManyToMany("systemuserroles_association", "role", "systemuserroles"),),
    display_name="User",
    object_type_code=8,
)

ROLE = Entity(
    "role",
    "roles",
    "roleid",
    "name",
    (
        Attribute("roleid", "Uniqueidentifier"),
        _string("name", 100, SYSTEM_REQUIRED),
        _lookup("businessunitid", {"businessunitid": "businessunit"}, SYSTEM_REQUIRED),
        *_system_attributes(owned=False),
    ),
    many_to_many=(ManyToMany("systemuserroles_association", "systemuser", "systemuserroles"),),
    display_name="Security Role",
    object_type_code=1036,
)

TRANSACTIONCURRENCY = Entity(
    "transactioncurrency",
    "transactioncurrencies",
    "transactioncurrencyid",
    "currencyname",
    (
        Attribute("transactioncurrencyid", "Uniqueidentifier"),
        _string("currencyname", 100, SYSTEM_REQUIRED),
        _string("isocurrencycode", 5, SYSTEM_REQUIRED),
        _string("currencysymbol", 10, SYSTEM_REQUIRED),
        Attribute("exchangerate", "Decimal", precision=10, required=SYSTEM_REQUIRED, min_value=0.0000000001),
        Attribute("currencyprecision", "Integer", min_value=0, max_value=4),
        *_state_attributes(ACTIVE_INACTIVE),
        *_system_attributes(owned=False),
    ),
    states=ACTIVE_INACTIVE,
    alternate_keys={"isocurrencycode": ("isocurrencycode",)},
    display_name="Currency",
    object_type_code=9105,
)

UOMSCHEDULE = Entity(
    "uomschedule",
    "uomschedules",
    "uomscheduleid",
    "name",
    (
        Attribute("uomscheduleid", "Uniqueidentifier"),
        _string("name", 200, SYSTEM_REQUIRED),
        _string("baseuomname", 100, SYSTEM_REQUIRED, valid_for_update=False),
        _memo("description"),
        *_state_attributes(ACTIVE_INACTIVE),
        *_system_attributes(owned=False),
    ),
    states=ACTIVE_INACTIVE,
    alternate_keys={"name": ("name",)},
    one_to_many=(OneToMany("unit_of_measurement_schedule_conversions", "uom", "uomscheduleid"),),
    display_name="Unit Group",
    object_type_code=1056,
)

UOM = Entity(
    "uom",
    "uoms",
    "uomid",
    "name",
    (
        Attribute("uomid", "Uniqueidentifier"),
        _string("name", 100, SYSTEM_REQUIRED),
        _lookup("uomscheduleid", {"uomscheduleid": "uomschedule"}, SYSTEM_REQUIRED, valid_for_update=False),
        _lookup("baseuom", {"baseuom": "uom"}, SYSTEM_REQUIRED),
        _decimal("quantity", precision=5, required=SYSTEM_REQUIRED),
        Attribute("isschedulebaseuom", "Boolean", valid_for_create=False, valid_for_update=False),
        *_system_attributes(owned=False),
    ),
    display_name="Unit",
    object_type_code=1055,
)

PRICELEVEL = Entity(
    "pricelevel",
    "pricelevels",
    "pricelevelid",
    "name",
    (
        Attribute("pricelevelid", "Uniqueidentifier"),
        _string("name", 100, SYSTEM_REQUIRED),
        _lookup("transactioncurrencyid", CURRENCY, SYSTEM_REQUIRED),
        Attribute("begindate", "DateTime"),
        Attribute("enddate", "DateTime"),
        _memo("description"),
        *_state_attributes(
            (State(0, "Active", 100001, {100001: "Active"}), State(1, "Inactive", 100002, {100002: "Inactive"}))
        ),
        *_system_attributes(owned=False),
    ),
    states=(State(0, "Active", 100001, {100001: "Active"}), State(1, "Inactive", 100002, {100002: "Inactive"})),
    alternate_keys={"name": ("name",)},
    one_to_many=(OneToMany("price_level_product_price_levels", "productpricelevel", "pricelevelid"),),
    display_name="Price List",
    object_type_code=1022,
)

PRODUCT_STATES = (
    State(0, "Active", 1, {1: "Active"}),
    State(1, "Retired", 2, {2: "Retired"}),
    State(2, "Draft", 0, {0: "Draft"}),
    State(3, "Under Revision", 3, {3: "Under Revision"}),
)

PRODUCT = Entity(
    "product",
    "products",
    "productid",
    "name",
    (
        Attribute("productid", "Uniqueidentifier"),
        _string("name", 100, SYSTEM_REQUIRED),
        _string("productnumber", 100, SYSTEM_REQUIRED),
        _memo("description"),
        _lookup("defaultuomscheduleid", {"defaultuomscheduleid": "uomschedule"}, APPLICATION_REQUIRED),
        _lookup("defaultuomid", {"defaultuomid": "uom"}, APPLICATION_REQUIRED),
        _lookup("pricelevelid", {"pricelevelid": "pricelevel"}),
        _lookup("transactioncurrencyid", CURRENCY),
        _money("price"),
        _money("standardcost"),
        _money("currentcost"),
        Attribute("quantitydecimal", "Integer", min_value=0, max_value=5),
        _decimal("quantityonhand", precision=2),
        _picklist("productstructure", {1: "Product", 2: "Product Family", 3: "Product Bundle"}),
        _picklist("producttypecode", {1: "Sales Inventory", 2: "Miscellaneous Charges", 3: "Services", 4: "Flat Fees"}),
        _string("vendorname", 100),
        *_state_attributes(PRODUCT_STATES),
        *_system_attributes(owned=False),
    ),
    states=PRODUCT_STATES,
    alternate_keys={"productnumber": ("productnumber",)},
    one_to_many=(
        OneToMany("product_price_levels", "productpricelevel", "productid"),
        OneToMany("Product_Annotation", "annotation", "objectid"),
    ),
    display_name="Product",
    object_type_code=1024,
)

PRODUCTPRICELEVEL = Entity(
    "productpricelevel",
    "productpricelevels",
    "productpricelevelid",
    "productidname",
    (
        Attribute("productpricelevelid", "Uniqueidentifier"),
        _string("productidname", 100, valid_for_create=False, valid_for_update=False),
        _lookup("pricelevelid", {"pricelevelid": "pricelevel"}, SYSTEM_REQUIRED, valid_for_update=False),
        _lookup("productid", {"productid": "product"}, SYSTEM_REQUIRED),
        _lookup("uomid", {"uomid": "uom"}, SYSTEM_REQUIRED),
        _lookup("uomscheduleid", {"uomscheduleid": "uomschedule"}),
        _lookup("transactioncurrencyid", CURRENCY),
        _money("amount"),
        _picklist(
            "pricingmethodcode",
            {
                1: "Currency Amount",
                2: "Percent of List",
                3: "Percent Markup - Current Cost",
                4: "Percent Margin - Current Cost",
                5: "Percent Markup - Standard Cost",
                6: "Percent Margin - Standard Cost",
            },
        ),
        _picklist("quantitysellingcode", {1: "No Control", 2: "Whole", 3: "Whole and Fractional"}),
        *_system_attributes(owned=False),
    ),
    display_name="Price List Item",
    object_type_code=1026,
)

ACCOUNT = Entity(
    "account",
    "accounts",
    "accountid",
    "name",
    (
        Attribute("accountid", "Uniqueidentifier"),
        _string("name", 160, APPLICATION_REQUIRED),
        _string("accountnumber", 20),
        _string("telephone1", 50),
        _string("telephone2", 50),
        _string("fax", 50),
        _string("emailaddress1", 100),
        _string("websiteurl", 200),
        *_address(),
        _memo("description"),
        _money("revenue"),
        _money("creditlimit"),
        Attribute("creditonhold", "Boolean"),
        Attribute("numberofemployees", "Integer", min_value=0, max_value=1000000000),
        _lookup("primarycontactid", {"primarycontactid": "contact"}),
        _lookup("parentaccountid", {"parentaccountid": "account"}),
        _lookup("transactioncurrencyid", CURRENCY),
        _lookup("defaultpricelevelid", {"defaultpricelevelid": "pricelevel"}),
        _picklist("paymenttermscode", PAYMENT_TERMS),
        _picklist("address1_freighttermscode", {1: "FOB", 2: "No Charge"}),
        _picklist(
            "address1_shippingmethodcode",
            {1: "Airborne", 2: "DHL", 3: "FedEx", 4: "UPS", 5: "Postal Mail", 6: "Full Load", 7: "Will Call"},
        ),
        _picklist("accountcategorycode", {1: "Preferred Customer", 2: "Standard"}),
        _picklist(
            "customertypecode",
            {1: "Competitor", 2: "Consultant", 3: "Customer", 4: "Investor", 5: "Partner", 11: "Prospect"},
        ),
        *_state_attributes(ACTIVE_INACTIVE),
        *_system_attributes(),
    ),
    states=ACTIVE_INACTIVE,
    alternate_keys={"accountnumber": ("accountnumber",)},
    one_to_many=(
        OneToMany("contact_customer_accounts", "contact", "parentcustomerid"),
        OneToMany("account_parent_account", "account", "parentaccountid"),
        OneToMany("opportunity_customer_accounts", "opportunity", "customerid"),
        OneToMany("order_customer_accounts", "salesorder", "customerid"),
        OneToMany("invoice_customer_accounts", "invoice", "customerid"),
        OneToMany("Account_Annotation", "annotation", "objectid"),
    ),
    display_name="Account",
    object_type_code=1,
)

CONTACT = Entity(
    "contact",
    "contacts",
    "contactid",
    "fullname",
    (
        Attribute("contactid", "Uniqueidentifier"),
        _string("fullname", 160, valid_for_create=False, valid_for_update=False),
        _string("firstname", 50),
        _string("middlename", 50),
        _string("lastname", 50, APPLICATION_REQUIRED),
        _string("salutation", 100),
        _string("jobtitle", 100),
        _string("emailaddress1", 100),
        _string("telephone1", 50),
        _string("mobilephone", 50),
        _string("fax", 50),
        *_address(),
        _memo("description"),
        _lookup(
            "parentcustomerid",
            {"parentcustomerid_account": "account", "parentcustomerid_contact": "contact"},
            kind="Customer",
        ),
        _lookup("transactioncurrencyid", CURRENCY),
        *_state_attributes(ACTIVE_INACTIVE),
        *_system_attributes(),
    ),
    states=ACTIVE_INACTIVE,
    one_to_many=(
        OneToMany("account_primary_contact", "account", "primarycontactid"),
        OneToMany("Contact_Annotation", "annotation", "objectid"),
    ),
    display_name="Contact",
    object_type_code=2,
)

OPPORTUNITY_STATES = (
    State(0, "Open", 1, {1: "In Progress", 2: "On Hold"}),
    State(1, "Won", 3, {3: "Won"}),
    State(2, "Lost", 4, {4: "Canceled", 5: "Out-Sold"}),
)

OPPORTUNITY = Entity(
    "opportunity",
    "opportunities",
    "opportunityid",
    "name",
    (
        Attribute("opportunityid", "Uniqueidentifier"),
        _string("name", 300, SYSTEM_REQUIRED),
        _lookup("customerid", CUSTOMER, kind="Customer"),
        _lookup("parentaccountid", {"parentaccountid": "account"}),
        _lookup("parentcontactid", {"parentcontactid": "contact"}),
        _lookup("pricelevelid", {"pricelevelid": "pricelevel"}),
        _lookup("transactioncurrencyid", CURRENCY),
        _money("estimatedvalue"),
        Attribute("estimatedclosedate", "DateTime"),
        Attribute("closeprobability", "Integer", min_value=0, max_value=100),
        _memo("description"),
        *_state_attributes(OPPORTUNITY_STATES),
        *_system_attributes(),
    ),
    states=OPPORTUNITY_STATES,
    display_name="Opportunity",
    object_type_code=3,
)

SALESORDER_STATES = (
    State(0, "Active", 1, {1: "New", 2: "Pending"}),
    State(1, "Submitted", 3, {3: "In Progress"}),
    State(2, "Canceled", 4, {4: "No Money"}),
    State(3, "Fulfilled", 100001, {100001: "Complete", 100002: "Partial"}),
    State(4, "Invoiced", 100003, {100003: "Invoiced"}),
)
SHIPPING_METHODS = {1: "Airborne", 2: "DHL", 3: "FedEx", 4: "UPS", 5: "Postal Mail", 6: "Full Load", 7: "Will Call"}
FREIGHT_TERMS = {1: "FOB", 2: "No Charge"}


def _bill_to() -> tuple[Attribute, ...]:
    return (
        _string("billto_name", 200),
        _string("billto_line1", 250),
        _string("billto_line2", 250),
        _string("billto_line3", 250),
        _string("billto_city", 80),
        _string("billto_stateorprovince", 50),
        _string("billto_postalcode", 20),
        _string("billto_country", 80),
        _string("billto_telephone", 50),
    )


def _document_totals() -> tuple[Attribute, ...]:
    """The amounts an order or invoice adds up from its lines (store.py computes them). Valid for create
    and update as in Dataverse; the computed values win unless the price calculation is skipped (sales
    order processing integration: an integration user writes them itself)."""
    return (
        _money("totalamount"),
        _money("totallineitemamount"),
        _money("totalamountlessfreight"),
        _money("totaldiscountamount", valid_for_create=False, valid_for_update=False),
        _money("totallineitemdiscountamount", valid_for_create=False, valid_for_update=False),
        _money("totaltax"),
        _money("discountamount"),
        Attribute("discountpercentage", "Decimal", precision=2, min_value=0, max_value=100),
        _money("freightamount"),
    )


def _document_line() -> tuple[Attribute, ...]:
    """The columns an order line and an invoice line share (amounts computed in store.py)."""
    return (
        _lookup("productid", {"productid": "product"}),
        _lookup("uomid", {"uomid": "uom"}),
        _lookup("transactioncurrencyid", CURRENCY),
        _string("productdescription", 500),
        Attribute("isproductoverridden", "Boolean", valid_for_update=False),
        _decimal("quantity", precision=5),
        _money("priceperunit"),
        Attribute("ispriceoverridden", "Boolean"),
        _money("manualdiscountamount"),
        _money("volumediscountamount"),
        _money("tax"),
        _money("baseamount"),
        _money("extendedamount"),
        Attribute("lineitemnumber", "Integer", min_value=0),
        Attribute("sequencenumber", "Integer", min_value=0),
        _picklist(
            "producttypecode",
            {
                1: "Product",
                2: "Bundle",
                3: "Required Bundle Product",
                4: "Optional Bundle Product",
                5: "Project-based Service",
            },
            default=1,
        ),
    )


SALESORDER = Entity(
    "salesorder",
    "salesorders",
    "salesorderid",
    "name",
    (
        Attribute("salesorderid", "Uniqueidentifier"),
        _string("name", 300, SYSTEM_REQUIRED),
        _string("ordernumber", 100, valid_for_update=False),
        _lookup("customerid", CUSTOMER, kind="Customer", required=SYSTEM_REQUIRED),
        _lookup("pricelevelid", {"pricelevelid": "pricelevel"}),
        _lookup("transactioncurrencyid", CURRENCY),
        _lookup("opportunityid", {"opportunityid": "opportunity"}),
        *_document_totals(),
        Attribute("requestdeliveryby", "DateTime"),
        Attribute("datefulfilled", "DateTime"),
        Attribute("submitdate", "DateTime"),
        Attribute("lastbackofficesubmit", "DateTime"),
        _memo("description"),
        _picklist("paymenttermscode", PAYMENT_TERMS),
        _picklist("shippingmethodcode", SHIPPING_METHODS),
        _picklist("freighttermscode", FREIGHT_TERMS),
        _string("shipto_name", 200),
        *_address("shipto"),
        *_bill_to(),
        *_state_attributes(SALESORDER_STATES),
        *_system_attributes(),
    ),
    states=SALESORDER_STATES,
    alternate_keys={"ordernumber": ("ordernumber",)},
    one_to_many=(
        OneToMany("order_details", "salesorderdetail", "salesorderid"),
        OneToMany("order_invoices", "invoice", "salesorderid"),
        OneToMany("SalesOrder_Annotation", "annotation", "objectid"),
    ),
    display_name="Order",
    object_type_code=1088,
)

SALESORDERDETAIL = Entity(
    "salesorderdetail",
    "salesorderdetails",
    "salesorderdetailid",
    "salesorderdetailname",
    (
        Attribute("salesorderdetailid", "Uniqueidentifier"),
        _string("salesorderdetailname", 500, valid_for_create=False, valid_for_update=False),
        _lookup("salesorderid", {"salesorderid": "salesorder"}, SYSTEM_REQUIRED, valid_for_update=False),
        *_document_line(),
        _decimal("quantityshipped", precision=5),
        Attribute("requestdeliveryby", "DateTime"),
        *_system_attributes(owned=False),
    ),
    display_name="Order Product",
    object_type_code=1089,
)

INVOICE_STATES = (
    State(
        0,
        "Active",
        1,
        {
            1: "New",
            2: "Partially Shipped",
            4: "Billed",
            5: "Booked (applies to services)",
            6: "Installed (applies to services)",
        },
    ),
    # Deprecated in Dataverse, still declared.
    State(1, "Closed (deprecated)", 3, {3: "Canceled (deprecated)", 7: "Paid (deprecated)"}),
    State(2, "Paid", 100001, {100001: "Complete", 100002: "Partial"}),
    State(3, "Canceled", 100003, {100003: "Canceled"}),
)

INVOICE = Entity(
    "invoice",
    "invoices",
    "invoiceid",
    "name",
    (
        Attribute("invoiceid", "Uniqueidentifier"),
        _string("name", 300, SYSTEM_REQUIRED),
        _string("invoicenumber", 100, valid_for_update=False),
        _lookup("customerid", CUSTOMER, kind="Customer", required=SYSTEM_REQUIRED),
        _lookup("salesorderid", {"salesorderid": "salesorder"}),
        _lookup("pricelevelid", {"pricelevelid": "pricelevel"}),
        _lookup("transactioncurrencyid", CURRENCY),
        _lookup("opportunityid", {"opportunityid": "opportunity"}),
        *_document_totals(),
        Attribute("datedelivered", "DateTime"),
        Attribute("duedate", "DateTime"),
        _memo("description"),
        Attribute("ispricelocked", "Boolean"),
        _picklist("paymenttermscode", PAYMENT_TERMS),
        _picklist("shippingmethodcode", SHIPPING_METHODS),
        *_bill_to(),
        *_state_attributes(INVOICE_STATES),
        *_system_attributes(),
    ),
    states=INVOICE_STATES,
    alternate_keys={"invoicenumber": ("invoicenumber",)},
    one_to_many=(
        OneToMany("invoice_details", "invoicedetail", "invoiceid"),
        OneToMany("Invoice_Annotation", "annotation", "objectid"),
    ),
    display_name="Invoice",
    object_type_code=1090,
)

INVOICEDETAIL = Entity(
    "invoicedetail",
    "invoicedetails",
    "invoicedetailid",
    "invoicedetailname",
    (
        Attribute("invoicedetailid", "Uniqueidentifier"),
        _string("invoicedetailname", 500, valid_for_create=False, valid_for_update=False),
        _lookup("invoiceid", {"invoiceid": "invoice"}, SYSTEM_REQUIRED, valid_for_update=False),
        _lookup("salesorderdetailid", {"salesorderdetailid": "salesorderdetail"}),
        *_document_line(),
        _decimal("quantityshipped", precision=5),
        *_system_attributes(owned=False),
    ),
    display_name="Invoice Product",
    object_type_code=1091,
)

ANNOTATION = Entity(
    "annotation",
    "annotations",
    "annotationid",
    "subject",
    (
        Attribute("annotationid", "Uniqueidentifier"),
        _string("subject", 500),
        _memo("notetext", 100000),
        _lookup(
            "objectid",
            {
                "objectid_account": "account",
                "objectid_contact": "contact",
                "objectid_product": "product",
                "objectid_salesorder": "salesorder",
                "objectid_invoice": "invoice",
            },
        ),
        _string("filename", 255),
        _string("mimetype", 256),
        _memo("documentbody", 1073741823),
        Attribute("isdocument", "Boolean", valid_for_create=False, valid_for_update=False),
        Attribute("filesize", "Integer", valid_for_create=False, valid_for_update=False),
        *_system_attributes(),
    ),
    display_name="Note",
    object_type_code=5,
)

POST = Entity(
    "post",
    "posts",
    "postid",
    "text",
    (
        Attribute("postid", "Uniqueidentifier"),
        _memo("text", 1000, required=SYSTEM_REQUIRED),
        _picklist("source", {1: "Auto Post", 2: "Manual Post"}, default=2),
        _picklist(
            "type",
            {
                1: "Check-in",
                2: "Idea",
                3: "News",
                4: "Private Message",
                5: "Question",
                6: "Re-post",
                7: "Status",
            },
            default=7,
        ),
        _lookup(
            "regardingobjectid",
            {
                "regardingobjectid_account": "account",
                "regardingobjectid_contact": "contact",
                "regardingobjectid_salesorder": "salesorder",
                "regardingobjectid_invoice": "invoice",
            },
            SYSTEM_REQUIRED,
            valid_for_update=False,
        ),
        *_system_attributes(owned=False),
    ),
    display_name="Post",
    object_type_code=8000,
)

SOLUTION = Entity(
    "solution",
    "solutions",
    "solutionid",
    "friendlyname",
    (
        Attribute("solutionid", "Uniqueidentifier"),
        _string("uniquename", 65, SYSTEM_REQUIRED),
        _string("friendlyname", 256, SYSTEM_REQUIRED),
        _string("version", 256, SYSTEM_REQUIRED),
        _memo("description"),
        Attribute("ismanaged", "Boolean", valid_for_create=False, valid_for_update=False),
        Attribute("installedon", "DateTime", valid_for_create=False, valid_for_update=False),
        *_system_attributes(owned=False),
    ),
    alternate_keys={"uniquename": ("uniquename",)},
    display_name="Solution",
    object_type_code=7100,
    change_tracking=False,
)

ENTITIES: tuple[Entity, ...] = (
    ORGANIZATION,
    BUSINESSUNIT,
    SYSTEMUSER,
    ROLE,
    TRANSACTIONCURRENCY,
    UOMSCHEDULE,
    UOM,
    PRICELEVEL,
    PRODUCT,
    PRODUCTPRICELEVEL,
    ACCOUNT,
    CONTACT,
    OPPORTUNITY,
    SALESORDER,
    SALESORDERDETAIL,
    INVOICE,
    INVOICEDETAIL,
    ANNOTATION,
    POST,
    SOLUTION,
)
BY_LOGICAL_NAME: dict[str, Entity] = {entity.logical_name: entity for entity in ENTITIES}
BY_SET_NAME: dict[str, Entity] = {entity.set_name: entity for entity in ENTITIES}
# The built-in declarations, before any solution adds columns to them (customizations.py).
BUILTIN: dict[str, Entity] = dict(BY_LOGICAL_NAME)


def entity_by_logical_name(name: str) -> Entity:
    return BY_LOGICAL_NAME[name]

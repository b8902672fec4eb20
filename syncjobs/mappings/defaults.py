"""The default integration table mappings, as data (what BC's ResetConfiguration creates).

One ``TableDefault`` per mapping with its field mappings; ``mapping_reset_to_defaults`` writes them
and the initial data migration installs them. CRM names are Dataverse logical names. ERP fields that
do not exist here (fax, vendor, volume, weight) are left out, and so is the inventory → quantityonhand
field, which BC adds only with item availability. Lookups name the mapping whose couplings give
the CRM id. Option mappings write to Dynamics 365 only, and so do their fields (BC creates the
shipment method and shipping agent fields as "From" — not copied).

Items and resources ↔ products: Blocked ↔ statecode (BC's CRM Int. Table Subscriber: a blocked
record retires its product, an unblocked one activates it, a product in any state but Active blocks
its record). BC's filters (Blocked=No; for items also Active) would leave a coupled blocked record
and its retired product out, so the state would never synchronize: here the filters keep every
item and product of the type, and the engine creates nothing that is blocked or inactive (BC's
filters' effect on new records: a blocked item is not created as an active product).
"""

from dataclasses import dataclass, field

TO = "to_crm"
FROM = "from_crm"
BI = "bidirectional"

TRIM = "trim"
LOOKUP = "lookup"
SCHEDULE_BASE_UNIT = "schedule_base_unit"
OPTION = "option"
INACTIVE_STATE = "inactive_state"


@dataclass(frozen=True)
class FieldDefault:
    erp_field: str
    crm_attribute: str
    direction: str
    constant_value: str = ""
    transform: str = ""
    crm_navigation_property: str = ""
    lookup_mapping: str = ""
    lookup_erp_key: str = ""
    not_null: bool = False
    # BC's "Clear Value on Failed Sync": a lookup whose record is not coupled yet is left out instead
    # of failing the record (a customer's primary contact, whose own mapping runs after CUSTOMER).
    clear_value_on_failed_sync: bool = False
    use_for_match_based_coupling: bool = False
    match_priority: int = 0
    name: str = ""

    @property
    def key(self) -> str:
        """The field mapping's stable name: the CRM attribute, else the ERP field."""
        return self.name or self.crm_attribute or self.erp_field


@dataclass(frozen=True)
class TableDefault:
    name: str
    title: str
    erp_model: str  # "app_label.model"
    crm_entity: str
    crm_entity_set: str
    crm_primary_key: str
    direction: str
    priority: int
    fields: tuple[FieldDefault, ...]
    depends_on: tuple[str, ...] = ()
    erp_filter: dict = field(default_factory=dict)
    crm_filter: str = ""
    is_option_mapping: bool = False
    crm_option_attribute: str = ""
    # Set on the mappings that send ERP records: a full synchronization that couples by match first
    # (data on both sides) then creates what found no counterpart, instead of leaving it behind.
    create_new_if_no_match: bool = False
    inactivity_timeout_minutes: int = 720


def _blocked_state() -> FieldDefault:
    return FieldDefault("blocked", "statecode", BI, transform=INACTIVE_STATE)


def _lookup(erp_field, crm_attribute, direction, mapping, *, navigation="", **kwargs) -> FieldDefault:
    return FieldDefault(
        erp_field,
        crm_attribute,
        direction,
        transform=LOOKUP,
        crm_navigation_property=navigation or crm_attribute,
        lookup_mapping=mapping,
        **kwargs,
    )


def _text(erp_field, crm_attribute, direction, **kwargs) -> FieldDefault:
    return FieldDefault(erp_field, crm_attribute, direction, transform=TRIM, **kwargs)


def _constant(crm_attribute, value, *, erp_field="", direction=TO) -> FieldDefault:
    return FieldDefault(erp_field, "" if direction == FROM else crm_attribute, direction, constant_value=value)


def _option_mapping(name, title, erp_model, crm_option_attribute, priority) -> TableDefault:
    return TableDefault(
        name=name,
        title=title,
        erp_model=erp_model,
        crm_entity="account",
        crm_entity_set="accounts",
        crm_primary_key="",
        direction=TO,
        priority=priority,
        is_option_mapping=True,
        crm_option_attribute=crm_option_attribute,
        create_new_if_no_match=True,
        inactivity_timeout_minutes=1440,
        fields=(FieldDefault("code", "label", TO, use_for_match_based_coupling=True, match_priority=1),),
    )


DEFAULTS: tuple[TableDefault, ...] = (
    TableDefault(
        name="SALESPEOPLE",
        title="Salespeople ← Users",
        erp_model="erp.salesperson",
        crm_entity="systemuser",
        crm_entity_set="systemusers",
        crm_primary_key="systemuserid",
        direction=FROM,
        priority=10,
        # Enabled, licensed (read-write access) people, not application (integration) users.
        crm_filter="isdisabled eq false and accessmode eq 0 and applicationid eq null",
        inactivity_timeout_minutes=1440,
        fields=(
            _text("email", "internalemailaddress", FROM, use_for_match_based_coupling=True, match_priority=1),
            _text("name", "fullname", FROM),
            _text("phone", "mobilephone", FROM),
        ),
    ),
    TableDefault(
        name="CURRENCY",
        create_new_if_no_match=True,
        title="Currencies → Currencies",
        erp_model="erp.currency",
        crm_entity="transactioncurrency",
        crm_entity_set="transactioncurrencies",
        crm_primary_key="transactioncurrencyid",
        direction=TO,
        priority=20,
        fields=(
            FieldDefault("code", "isocurrencycode", TO, use_for_match_based_coupling=True, match_priority=1),
            _text("symbol", "currencysymbol", TO),
            _text("description", "currencyname", TO),
        ),
    ),
    TableDefault(
        name="UNIT OF MEASURE",
        create_new_if_no_match=True,
        title="Units of measure → Unit groups",
        erp_model="erp.unitofmeasure",
        crm_entity="uomschedule",
        crm_entity_set="uomschedules",
        crm_primary_key="uomscheduleid",
        direction=TO,
        priority=30,
        fields=(
            FieldDefault("code", "name", TO, use_for_match_based_coupling=True, match_priority=1),
            FieldDefault("code", "baseuomname", TO),
            _text("description", "description", TO),
        ),
    ),
    _option_mapping(
        "PAYMENT TERMS", "Payment terms → Account payment terms", "erp.paymentterms", "paymenttermscode", 35
    ),
    _option_mapping(
        "SHIPMENT METHOD",
        "Shipment methods → Account freight terms",
        "erp.shipmentmethod",
        "address1_freighttermscode",
        36,
    ),
    _option_mapping(
        "SHIPPING AGENT",
        "Shipping agents → Account shipping methods",
        "erp.shippingagent",
        "address1_shippingmethodcode",
        37,
    ),
    TableDefault(
        name="CUSTOMER",
        create_new_if_no_match=True,
        title="Customers ↔ Accounts",
        erp_model="erp.customer",
        crm_entity="account",
        crm_entity_set="accounts",
        crm_primary_key="accountid",
        direction=BI,
        priority=40,
        depends_on=("SALESPEOPLE", "CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD", "SHIPPING AGENT"),
        erp_filter={"blocked": ""},
        crm_filter="statecode eq 0 and customertypecode eq 3",
        fields=(
            _lookup("salesperson", "ownerid", TO, "SALESPEOPLE", not_null=True),
            _text("name", "name", BI, use_for_match_based_coupling=True, match_priority=1),
            _text("address", "address1_line1", BI),
            _text("address_2", "address1_line2", BI),
            _text("post_code", "address1_postalcode", BI),
            _text("city", "address1_city", BI),
            _text("county", "address1_stateorprovince", BI),
            _text("country", "address1_country", BI),
            _lookup("currency", "transactioncurrencyid", BI, "CURRENCY"),
            _text("email", "emailaddress1", BI),
            _text("home_page", "websiteurl", BI),
            _text("phone", "telephone1", BI),
            FieldDefault("shipment_method", "address1_freighttermscode", BI, transform=OPTION),
            FieldDefault("shipping_agent", "address1_shippingmethodcode", BI, transform=OPTION),
            FieldDefault("payment_terms", "paymenttermscode", BI, transform=OPTION),
            _lookup("primary_contact", "primarycontactid", BI, "CONTACT", clear_value_on_failed_sync=True),
            FieldDefault("credit_limit_lcy", "creditlimit", TO),
        ),
    ),
    TableDefault(
        name="CONTACT",
        create_new_if_no_match=True,
        title="Contacts ↔ Contacts",
        erp_model="erp.contact",
        crm_entity="contact",
        crm_entity_set="contacts",
        crm_primary_key="contactid",
        direction=BI,
        priority=50,
        depends_on=("CUSTOMER",),
        # Persons of a company that is a customer CUSTOMER synchronizes (not blocked): a contact of a
        # blocked customer, or of a company that is no customer, has no account to belong to, and
        # would otherwise fail every run (BC's known false "company does not exist" errors).
        erp_filter={"type": "person", "company__customer__blocked": ""},
        crm_filter="statecode eq 0 and _parentcustomerid_value ne null",
        fields=(
            _lookup(
                "company__customer",
                "parentcustomerid",
                TO,
                "CUSTOMER",
                navigation="parentcustomerid_account",
                not_null=True,
            ),
            _text("first_name", "firstname", BI),
            _text("last_name", "lastname", BI),
            _text("job_title", "jobtitle", BI),
            _text("email", "emailaddress1", BI, use_for_match_based_coupling=True, match_priority=1),
            _text("phone", "telephone1", BI),
            _text("mobile_phone", "mobilephone", BI),
            _text("address", "address1_line1", BI),
            _text("post_code", "address1_postalcode", BI),
            _text("city", "address1_city", BI),
            _text("country", "address1_country", BI),
            _constant("type", "person", erp_field="type", direction=FROM),
        ),
    ),
    TableDefault(
        name="ITEM-PRODUCT",
        create_new_if_no_match=True,
        title="Items ↔ Products",
        erp_model="erp.item",
        crm_entity="product",
        crm_entity_set="products",
        crm_primary_key="productid",
        direction=BI,
        priority=60,
        depends_on=("UNIT OF MEASURE",),
        crm_filter="producttypecode eq 1",
        inactivity_timeout_minutes=1440,
        fields=(
            FieldDefault("no", "productnumber", TO, use_for_match_based_coupling=True, match_priority=1),
            _text("description", "name", BI),
            FieldDefault("unit_price", "price", TO),
            FieldDefault("unit_cost", "standardcost", TO),
            FieldDefault("unit_cost", "currentcost", TO),
            _lookup("base_unit_of_measure", "defaultuomscheduleid", BI, "UNIT OF MEASURE"),
            FieldDefault(
                "base_unit_of_measure",
                "defaultuomid",
                TO,
                transform=SCHEDULE_BASE_UNIT,
                crm_navigation_property="defaultuomid",
                lookup_mapping="UNIT OF MEASURE",
            ),
            _constant("producttypecode", "1"),
            _blocked_state(),
        ),
    ),
    TableDefault(
        name="RESOURCE-PRODUCT",
        create_new_if_no_match=True,
        title="Resources ↔ Products",
        erp_model="erp.resource",
        crm_entity="product",
        crm_entity_set="products",
        crm_primary_key="productid",
        direction=BI,
        priority=70,
        depends_on=("UNIT OF MEASURE",),
        crm_filter="producttypecode eq 3",
        fields=(
            FieldDefault("no", "productnumber", TO, use_for_match_based_coupling=True, match_priority=1),
            _text("name", "name", BI),
            FieldDefault("unit_price", "price", TO),
            FieldDefault("capacity", "quantityonhand", TO),
            _lookup("base_unit_of_measure", "defaultuomscheduleid", BI, "UNIT OF MEASURE"),
            FieldDefault(
                "base_unit_of_measure",
                "defaultuomid",
                TO,
                transform=SCHEDULE_BASE_UNIT,
                crm_navigation_property="defaultuomid",
                lookup_mapping="UNIT OF MEASURE",
            ),
            _constant("producttypecode", "3"),
            _blocked_state(),
        ),
    ),
    TableDefault(
        name="CUSTPRCGRP-PRICE",
        create_new_if_no_match=True,
        title="Customer price groups → Price lists",
        erp_model="erp.customerpricegroup",
        crm_entity="pricelevel",
        crm_entity_set="pricelevels",
        crm_primary_key="pricelevelid",
        direction=TO,
        priority=80,
        depends_on=("CURRENCY", "ITEM-PRODUCT"),
        inactivity_timeout_minutes=1440,
        fields=(
            _text("code", "name", TO, use_for_match_based_coupling=True, match_priority=1),
            _text("description", "description", TO),
        ),
    ),
    TableDefault(
        name="SALESPRC-PRODPRICE",
        create_new_if_no_match=True,
        title="Sales prices → Price list items",
        erp_model="erp.salesprice",
        crm_entity="productpricelevel",
        crm_entity_set="productpricelevels",
        crm_primary_key="productpricelevelid",
        direction=TO,
        priority=90,
        depends_on=("CUSTPRCGRP-PRICE", "ITEM-PRODUCT"),
        erp_filter={"sales_type": "customer_price_group", "sales_code__gt": ""},
        inactivity_timeout_minutes=1440,
        fields=(
            # A price list item has no name: it is the same row when its price list and product are.
            _lookup(
                "sales_code",
                "pricelevelid",
                TO,
                "CUSTPRCGRP-PRICE",
                lookup_erp_key="code",
                use_for_match_based_coupling=True,
                match_priority=1,
            ),
            _lookup("item", "productid", TO, "ITEM-PRODUCT", use_for_match_based_coupling=True, match_priority=1),
            FieldDefault(
                "item__base_unit_of_measure",
                "uomid",
                TO,
                transform=SCHEDULE_BASE_UNIT,
                crm_navigation_property="uomid",
                lookup_mapping="UNIT OF MEASURE",
            ),
            _lookup("currency", "transactioncurrencyid", TO, "CURRENCY"),
            _constant("pricingmethodcode", "1"),
            FieldDefault("unit_price", "amount", TO),
        ),
    ),
)

BY_NAME: dict[str, TableDefault] = {default.name: default for default in DEFAULTS}

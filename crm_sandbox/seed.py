"""The sandbox's CRM organization: ``seed`` loads it (idempotently), ``reset`` empties it.

Ids are derived from names (uuid5), so running the seed twice changes nothing. Accounts and
products use the ERP demo's numbers (customers C00010…, items 1000…) so coupling has work to
do; edit ``ACCOUNTS``/``PRODUCTS`` to align with the ERP seed.
"""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

from django.core.management import call_command
from django.db import transaction

from crm_sandbox import auth, customizations, metadata, server, store
from crm_sandbox.models import (
    INTERSECT_MODELS,
    AccessToken,
    AppRegistration,
    ChangeLog,
    OptionValue,
    RolePrivilege,
    UserCredential,
    model_for,
)

NAMESPACE = uuid.UUID("1d3c2b8a-6f0e-4f7b-9d43-5a4d8f6c2e10")
ORGANIZATION_NAME = "nav_crm Sandbox"
ADMIN_USERNAME = "admin@sandbox.local"
INTEGRATION_USER_NAME = "# nav_crm Integration"

CURRENCIES = [
    ("USD", "US Dollar", "$", Decimal(1)),
    ("EUR", "Euro", "€", Decimal("0.92")),
    ("GBP", "Pound Sterling", "£", Decimal("0.79")),
]
ROLES = ["System Administrator", "System Customizer", "Salesperson", "Sales Manager", "Basic User"]
# The organization mirrors part of the ERP demo company (erp_seed), so that coupling by match has
# work to do: the same salespeople (by name and e-mail), the first ten customers (by number and
# name) with one contact each, and the first ten items as products; plus rows only the CRM has.
SALESPEOPLE = [
    ("Benjamin", "Chiu", "benjamin@cronus-demosite.com"),
    ("Helen", "Ray", "helen@cronus-demosite.com"),
    ("John", "Roberts", "john@cronus-demosite.com"),
    ("Otis", "Falls", "otis@cronus-demosite.com"),
    ("Peter", "Saddow", "peter@cronus-demosite.com"),
]
ACCOUNTS = [
    ("C0000010", "Litware Trading", "San Francisco", "US", "+1 415 561 8830"),
    ("C0000020", "Price Hotels Partners", "Portland", "US", "+1 503 705 9881"),
    ("C0000030", "Maple Retail", "Dallas", "US", "+1 214 948 7001"),
    ("C0000040", "Lakeside Hospitality", "San Francisco", "US", "+1 415 682 3763"),
    ("C0000050", "Consolidated Prairie Inc.", "Nashville", "US", "+1 615 786 6217"),
    ("C0000060", "Rivera Education Ltd.", "Tampa", "US", "+1 813 947 1518"),
    ("C0000070", "Margie Design", "Seattle", "US", "+1 206 993 7803"),
    ("C0000080", "Ross Education LLC", "New York", "US", "+1 212 341 5850"),
    ("C0000090", "Humongous Prairie Inc.", "Minneapolis", "US", "+1 612 638 3357"),
    ("C0000100", "Jimenez Furniture Inc.", "Dallas", "US", "+1 214 584 7813"),
    ("CRM-0001", "Northwind Traders (CRM only)", "Seattle", "US", "+1 206 555 0001"),
    ("CRM-0002", "Fabrikam Inc. (CRM only)", "Redmond", "US", "+1 425 555 0002"),
]
CONTACTS = [
    ("Nancy", "Chavez", "C0000010", "nancy.chavez@litware.example.com"),
    ("Sarah", "Nelson", "C0000020", "sarah.nelson@price.example.com"),
    ("Nicholas", "Cook", "C0000030", "nicholas.cook@maple.example.com"),
    ("Edward", "Ross", "C0000040", "edward.ross@lakeside.example.com"),
    ("Jennifer", "Thompson", "C0000060", "jennifer.thompson@rivera.example.com"),
    ("Lina", "Townsend", "CRM-0001", "lina.townsend@northwind.example.com"),
]
PRODUCTS = [
    ("I000010", "ATHENS Desk, green", Decimal("430.88")),
    ("I000020", "ATHENS Guest Chair, white", Decimal("261.60")),
    ("I000030", "ATHENS Swivel Chair, grey", Decimal("359.56")),
    ("I000040", "ATHENS Conference Table, blue", Decimal("1332.53")),
    ("I000050", "ATHENS Filing Cabinet, red", Decimal("248.09")),
    ("I000060", "ATHENS Bookcase, yellow", Decimal("121.73")),
    ("I000070", "ATHENS Storage Unit, grey", Decimal("271.44")),
    ("I000080", "ATHENS Whiteboard, blue", Decimal("174.70")),
    ("I000090", "ATHENS Desk Lamp, birch", Decimal("49.87")),
    ("I000100", "ATHENS Monitor Arm, blue", Decimal("120.51")),
    ("CRM-P-01", "Extended Warranty (CRM only)", Decimal("99.00")),
]
# Submitted orders (CRM order 1-3), then Active ones a salesperson can still edit and submit (4-5);
# every line is an ERP demo item, so the product can be coupled by number.
ORDERS = [
    ("C0000010", [("I000010", 2), ("I000090", 4)]),
    ("C0000030", [("I000020", 10), ("I000030", 10)]),
    ("C0000060", [("I000100", 25)]),
]
ACTIVE_ORDERS = [
    ("C0000020", [("I000040", 1), ("I000020", 6), ("I000090", 6)]),
    ("C0000040", [("I000050", 3), ("I000060", 2)]),
]


def _id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(parts))


def migrate() -> None:
    call_command("migrate", database=store.DB, verbosity=0, interactive=False)


def sandbox_reset() -> None:
    """Deletes every row of the sandbox (the data directory's certificates stay)."""
    customizations.load_installed()
    with transaction.atomic(using=store.DB):
        for entity in reversed(metadata.ENTITIES):
            model_for(entity).objects.using(store.DB).all().delete()
        for model in (
            *INTERSECT_MODELS.values(),
            ChangeLog,
            AppRegistration,
            UserCredential,
            AccessToken,
            RolePrivilege,
            OptionValue,
        ):
            model.objects.using(store.DB).all().delete()
    credentials = server.credentials_path()
    if credentials.exists():
        credentials.unlink()
    auth.mark_reset()


def _ensure(entity: metadata.Entity, record_id: uuid.UUID, data: dict, caller: store.Caller) -> dict:
    existing = store.record_find(entity=entity, key=store.RecordKey(id=record_id))
    if existing is not None:
        return existing
    return store.record_create(entity=entity, data=data, caller=caller, key=store.RecordKey(id=record_id))


def _bind(entity: metadata.Entity, record_id: uuid.UUID) -> str:
    return f"/{entity.set_name}({record_id})"


def sandbox_seed() -> dict:
    """Creates the organization if missing; returns the credentials (also kept in the data directory)."""
    migrate()
    credentials = server.load_credentials()
    credentials.setdefault("client_id", str(_id("app", "integration")))
    credentials.setdefault("client_secret", secrets.token_urlsafe(32))
    credentials.setdefault("admin_user", ADMIN_USERNAME)
    credentials.setdefault("admin_password", secrets.token_urlsafe(18))
    credentials["integration_user"] = INTEGRATION_USER_NAME
    with transaction.atomic(using=store.DB):
        _seed_rows(credentials)
    server.save_credentials(credentials)
    return credentials


def _seed_rows(credentials: dict) -> None:
    organization_id, root_bu, admin_id = _id("organization"), _id("businessunit", "root"), _id("user", "admin")
    caller = store.Caller(systemuserid=admin_id, businessunitid=root_bu)
    users = model_for(metadata.SYSTEMUSER).objects.using(store.DB)
    if not users.filter(systemuserid=admin_id).exists():
        # The first user and business unit reference each other; write them directly once.
        model_for(metadata.BUSINESSUNIT).objects.using(store.DB).get_or_create(
            businessunitid=root_bu, defaults={"name": ORGANIZATION_NAME}
        )
        users.create(
            systemuserid=admin_id,
            firstname="Sandbox",
            lastname="Administrator",
            fullname="Sandbox Administrator",
            domainname=ADMIN_USERNAME,
            businessunitid=root_bu,
            isdisabled=False,
            isintegrationuser=False,
            accessmode=0,
        )
        _touch(metadata.BUSINESSUNIT, root_bu, caller)
        _touch(metadata.SYSTEMUSER, admin_id, caller)
    currency_ids = {}
    for code, name, symbol, rate in CURRENCIES:
        currency_ids[code] = _id("currency", code)
        _ensure(
            metadata.TRANSACTIONCURRENCY,
            currency_ids[code],
            {
                "isocurrencycode": code,
                "currencyname": name,
                "currencysymbol": symbol,
                "exchangerate": str(rate),
                "currencyprecision": 2,
            },
            caller,
        )
    _ensure(
        metadata.ORGANIZATION,
        organization_id,
        {
            "name": ORGANIZATION_NAME,
            "basecurrencyid@odata.bind": _bind(metadata.TRANSACTIONCURRENCY, currency_ids["USD"]),
            "expirechangetrackingindays": 7,
        },
        caller,
    )
    model_for(metadata.BUSINESSUNIT).objects.using(store.DB).filter(businessunitid=root_bu).update(
        organizationid=organization_id
    )
    role_ids = {}
    for role in ROLES:
        role_ids[role] = _id("role", role)
        _ensure(
            metadata.ROLE,
            role_ids[role],
            {"name": role, "businessunitid@odata.bind": _bind(metadata.BUSINESSUNIT, root_bu)},
            caller,
        )
    _assign_roles(admin_id, [role_ids["System Administrator"], role_ids["System Customizer"]])
    auth.user_password_set(
        systemuserid=admin_id, username=credentials["admin_user"], password=credentials["admin_password"]
    )

    integration_id = _id("user", "integration")
    _ensure(
        metadata.SYSTEMUSER,
        integration_id,
        {
            "firstname": "#",
            "lastname": "nav_crm Integration",
            "domainname": "navcrm-integration@sandbox.local",
            "applicationid": credentials["client_id"],
            "accessmode": 4,
            "businessunitid@odata.bind": _bind(metadata.BUSINESSUNIT, root_bu),
        },
        caller,
    )
    model_for(metadata.SYSTEMUSER).objects.using(store.DB).filter(systemuserid=integration_id).update(
        fullname=INTEGRATION_USER_NAME
    )
    auth.app_registration_create(
        name="nav_crm integration",
        systemuserid=integration_id,
        client_id=uuid.UUID(credentials["client_id"]),
        secret=credentials["client_secret"],
    )
    salespeople = []
    for first, last, email in SALESPEOPLE:
        user_id = _id("user", first, last)
        salespeople.append(user_id)
        _ensure(
            metadata.SYSTEMUSER,
            user_id,
            {
                "firstname": first,
                "lastname": last,
                "domainname": email,
                "internalemailaddress": email,
                "businessunitid@odata.bind": _bind(metadata.BUSINESSUNIT, root_bu),
            },
            caller,
        )
        _assign_roles(user_id, [role_ids["Salesperson"]])

    schedule_id = _id("uomschedule", "Default Unit")
    _ensure(metadata.UOMSCHEDULE, schedule_id, {"name": "Default Unit", "baseuomname": "Primary Unit"}, caller)
    base_unit = model_for(metadata.UOM).objects.using(store.DB).get(uomscheduleid=schedule_id, isschedulebaseuom=True)
    price_list_id = _id("pricelevel", "Default")
    _ensure(
        metadata.PRICELEVEL,
        price_list_id,
        {
            "name": "Default Price List",
            "transactioncurrencyid@odata.bind": _bind(metadata.TRANSACTIONCURRENCY, currency_ids["USD"]),
        },
        caller,
    )
    product_ids = {}
    for number, name, price in PRODUCTS:
        product_ids[number] = _id("product", number)
        _ensure(
            metadata.PRODUCT,
            product_ids[number],
            {
                "productnumber": number,
                "name": name,
                "producttypecode": 1,  # Sales Inventory: the ERP's items
                "price": str(price),
                "quantitydecimal": 0,
                "defaultuomscheduleid@odata.bind": _bind(metadata.UOMSCHEDULE, schedule_id),
                "defaultuomid@odata.bind": _bind(metadata.UOM, base_unit.uomid),
                "pricelevelid@odata.bind": _bind(metadata.PRICELEVEL, price_list_id),
            },
            caller,
        )
        _ensure(
            metadata.PRODUCTPRICELEVEL,
            _id("productpricelevel", number),
            {
                "amount": str(price),
                "pricingmethodcode": 1,
                "pricelevelid@odata.bind": _bind(metadata.PRICELEVEL, price_list_id),
                "productid@odata.bind": _bind(metadata.PRODUCT, product_ids[number]),
                "uomid@odata.bind": _bind(metadata.UOM, base_unit.uomid),
            },
            caller,
        )
    account_ids = {}
    for index, (number, name, city, country, phone) in enumerate(ACCOUNTS):
        account_ids[number] = _id("account", number)
        owner = salespeople[index % len(salespeople)]
        _ensure(
            metadata.ACCOUNT,
            account_ids[number],
            {
                "accountnumber": number,
                "name": name,
                "customertypecode": 3,  # relationship type Customer, as the integration's filter expects
                "address1_city": city,
                "address1_country": country,
                "telephone1": phone,
                "ownerid@odata.bind": _bind(metadata.SYSTEMUSER, owner),
                "transactioncurrencyid@odata.bind": _bind(metadata.TRANSACTIONCURRENCY, currency_ids["USD"]),
            },
            caller,
        )
    for first, last, account_number, email in CONTACTS:
        _ensure(
            metadata.CONTACT,
            _id("contact", first, last),
            {
                "firstname": first,
                "lastname": last,
                "emailaddress1": email,
                "parentcustomerid_account@odata.bind": _bind(metadata.ACCOUNT, account_ids[account_number]),
            },
            caller,
        )
    orders = [(number, lines, True) for number, lines in ORDERS]
    orders += [(number, lines, False) for number, lines in ACTIVE_ORDERS]
    for index, (account_number, lines, submitted) in enumerate(orders, start=1):
        order_id = _id("salesorder", str(index))
        if store.record_find(entity=metadata.SALESORDER, key=store.RecordKey(id=order_id)):
            continue
        store.record_create(
            entity=metadata.SALESORDER,
            data={
                "name": f"CRM order {index}",
                "ordernumber": f"ORD-{1000 + index:05d}",
                "customerid_account@odata.bind": _bind(metadata.ACCOUNT, account_ids[account_number]),
                "pricelevelid@odata.bind": _bind(metadata.PRICELEVEL, price_list_id),
            },
            caller=caller,
            key=store.RecordKey(id=order_id),
        )
        for sequence, (product_number, quantity) in enumerate(lines, start=1):
            store.record_create(
                entity=metadata.SALESORDERDETAIL,
                data={
                    "quantity": quantity,
                    "sequencenumber": sequence,
                    "salesorderid@odata.bind": _bind(metadata.SALESORDER, order_id),
                    "productid@odata.bind": _bind(metadata.PRODUCT, product_ids[product_number]),
                    "uomid@odata.bind": _bind(metadata.UOM, base_unit.uomid),
                },
                caller=caller,
                key=store.RecordKey(id=_id("salesorderdetail", str(index), product_number)),
            )
        if not submitted:
            continue
        store.record_update(
            entity=metadata.SALESORDER,
            key=store.RecordKey(id=order_id),
            data={"statecode": 1, "statuscode": 3, "submitdate": store.now().strftime("%Y-%m-%dT%H:%M:%SZ")},
            caller=caller,
        )


def _touch(entity: metadata.Entity, record_id: uuid.UUID, caller: store.Caller) -> None:
    """Gives a directly written row its system attributes (version, timestamps, creator)."""
    version = store.next_versions(entity, [record_id])[0]
    stamp = store.now()
    model_for(entity).objects.using(store.DB).filter(**{entity.primary_id: record_id}).update(
        versionnumber=version,
        createdon=stamp,
        modifiedon=stamp,
        createdby=caller.systemuserid,
        modifiedby=caller.systemuserid,
    )


def _assign_roles(systemuserid: uuid.UUID, role_ids: list[uuid.UUID]) -> None:
    intersect = INTERSECT_MODELS["systemuserroles"].objects.using(store.DB)
    for role_id in role_ids:
        intersect.get_or_create(
            systemuserid=systemuserid,
            roleid=role_id,
            defaults={"systemuserroleid": _id("ur", str(systemuserid), str(role_id))},
        )

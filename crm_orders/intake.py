"""Orders submitted in Dynamics 365 become ERP sales orders (BC's "CRM Sales Order to Sales Order", codeunit 5343).

A job reads the submitted orders not yet taken over (``statecode`` Submitted, no ``lastbackofficesubmit``) a page
at a time, with their lines expanded, and looks up in one request per page what the lines name (products,
units). Each order is created on its own, in one transaction with its coupling: one bad order costs one error
row that says what to fix, never the others, and an order already coupled is never created twice. Then one
UpdateMultiple per page tells Dynamics 365 which orders were taken over (``lastbackofficesubmit`` and the ERP
order number): a run that stopped before that write finds those orders coupled and writes it then.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

import dataverse
from coupling import selectors as coupling_selectors
from coupling import services as coupling_services
from coupling.models import Coupling, OptionCoupling
from crm_orders import fields
from erp import selectors as erp_selectors
from erp import services as erp_services
from erp.models import (
    Currency,
    Customer,
    Item,
    PaymentTerms,
    Resource,
    SalesHeader,
    SalesLine,
    SalesOrderNote,
    ShipmentMethod,
    ShippingAgent,
    UnitOfMeasure,
)
from erp.services import round_amount
from syncjobs.models import IntegrationTableMapping, SyncJob
from syncjobs.runs.report import Report

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
ORDER_SELECT = [
    "salesorderid",
    "name",
    "ordernumber",
    "_customerid_value",
    "_transactioncurrencyid_value",
    "requestdeliveryby",
    "discountamount",
    "discountpercentage",
    "freightamount",
    "totalamount",
    "submitdate",
    "statecode",
    "description",
    "paymenttermscode",
    "freighttermscode",
    "shippingmethodcode",
    "shipto_name",
    "shipto_line1",
    "shipto_line2",
    "shipto_postalcode",
    "shipto_city",
    "shipto_country",
]
# The order's option sets → the ERP code tables, through the option mappings' couplings (kept on the
# account's option sets, whose values the order's share): (order attribute, ERP field, ERP model, account
# attribute, words, option mapping).
ORDER_OPTIONS = (
    ("paymenttermscode", "payment_terms", PaymentTerms, "paymenttermscode", "payment terms", "PAYMENT TERMS"),
    (
        "freighttermscode",
        "shipment_method",
        ShipmentMethod,
        "address1_freighttermscode",
        "freight terms",
        "SHIPMENT METHOD",
    ),
    (
        "shippingmethodcode",
        "shipping_agent",
        ShippingAgent,
        "address1_shippingmethodcode",
        "shipping method",
        "SHIPPING AGENT",
    ),
)
SHIP_TO = {
    "ship_to_name": ("shipto_name",),
    "ship_to_address": ("shipto_line1", "shipto_line2"),
    "ship_to_post_code": ("shipto_postalcode",),
    "ship_to_city": ("shipto_city",),
    "ship_to_country": ("shipto_country",),
}
LINE_SELECT = [
    "salesorderdetailid",
    "_productid_value",
    "_uomid_value",
    "productdescription",
    "quantity",
    "priceperunit",
    "manualdiscountamount",
    "volumediscountamount",
    "sequencenumber",
    "lineitemnumber",
]
SUBMITTED = 1
# Dataverse product types the ERP takes: Sales Inventory → item, Services → resource (BC's rule).
SALES_INVENTORY, SERVICES = 1, 3
PRODUCT_TYPES = {1: "Sales Inventory", 2: "Miscellaneous Charges", 3: "Services", 4: "Flat Fees"}


def submitted_filter(crm_ids: list[str] | None = None) -> dataverse.Filter:
    """Submitted and not yet taken over by the ERP (BC: LastBackofficeSubmit empty)."""
    condition = dataverse.F.eq("statecode", SUBMITTED) & dataverse.F.eq("lastbackofficesubmit", None)
    if crm_ids:
        condition = condition & dataverse.F.in_("salesorderid", [uuid.UUID(str(crm_id)) for crm_id in crm_ids])
    return condition


def submitted_orders_query(
    client: dataverse.Client,
    *,
    crm_ids: list[str] | None = None,
    condition: dataverse.Filter | None = None,
    select_also: tuple[str, ...] = (),
    page_size: int = PAGE_SIZE,
):
    """The orders to take over (by default the submitted ones not taken yet), their lines and notes expanded."""
    return client.query(
        "salesorders",
        select=[*ORDER_SELECT, *select_also],
        filter=condition if condition is not None else submitted_filter(crm_ids),
        expand={
            "order_details": {"select": LINE_SELECT},
            # Notes without a file, as BC copies them (attachments stay in Dynamics 365).
            "SalesOrder_Annotation": {
                "select": ["annotationid", "subject", "notetext"],
                "filter": dataverse.F.eq("isdocument", False),
            },
            "customerid_account": {"select": ["accountid", "name"]},
            "customerid_contact": {"select": ["contactid", "fullname", "_parentcustomerid_value"]},
            "transactioncurrencyid": {"select": ["isocurrencycode"]},
        },
        page_size=page_size,
        annotations="OData.Community.Display.V1.FormattedValue",
    )


class OrderRefused(Exception):
    """What stops one order from becoming an ERP order, said so that the user knows what to fix."""

    def __init__(self, message: str, *, fix_url: str = "", fix_label: str = ""):
        super().__init__(message)
        self.message, self.fix_url, self.fix_label = message, fix_url, fix_label


@dataclass
class Lookups:
    """What the orders of one page name, looked up at once: ERP records by CRM id, CRM products and units."""

    customers: dict[uuid.UUID, Customer] = field(default_factory=dict)
    items: dict[uuid.UUID, Item] = field(default_factory=dict)
    resources: dict[uuid.UUID, Resource] = field(default_factory=dict)
    currencies: dict[uuid.UUID, Currency] = field(default_factory=dict)
    units: dict[uuid.UUID, UnitOfMeasure] = field(default_factory=dict)
    units_by_code: dict[str, UnitOfMeasure] = field(default_factory=dict)  # upper-case code → unit
    products: dict[str, dict] = field(default_factory=dict)
    uoms: dict[str, dict] = field(default_factory=dict)
    orders: dict[uuid.UUID, SalesHeader] = field(default_factory=dict)
    # (account option set attribute, value) → the coupled payment terms, shipment method or shipping agent.
    options: dict[tuple[str, int], object] = field(default_factory=dict)


def _coupled_records(model, crm_ids) -> dict[uuid.UUID, object]:
    return coupling_selectors.records_for_crm_ids(model=model, crm_ids=crm_ids)


def _uuid(value) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def page_lookups(client: dataverse.Client, rows: list[dict]) -> Lookups:
    lines = [line for row in rows for line in row.get("order_details") or []]
    account_ids = {_uuid(row["_customerid_value"]) for row in rows if row.get("customerid_account")}
    account_ids |= {
        _uuid(row["customerid_contact"].get("_parentcustomerid_value"))
        for row in rows
        if row.get("customerid_contact") and row["customerid_contact"].get("_parentcustomerid_value")
    }
    product_ids = sorted({line["_productid_value"] for line in lines if line.get("_productid_value")})
    uom_ids = sorted({line["_uomid_value"] for line in lines if line.get("_uomid_value")})
    lookups = Lookups(
        customers=_coupled_records(Customer, account_ids - {None}),
        items=_coupled_records(Item, map(_uuid, product_ids)),
        resources=_coupled_records(Resource, map(_uuid, product_ids)),
        currencies=_coupled_records(
            Currency, {_uuid(row.get("_transactioncurrencyid_value")) for row in rows} - {None}
        ),
        orders=_coupled_records(SalesHeader, [_uuid(row["salesorderid"]) for row in rows]),
    )
    lookups.options = _coupled_options(rows)
    if product_ids:
        found = client.query(
            "products",
            select=["productid", "name", "productnumber", "producttypecode", "statecode"],
            filter=dataverse.F.in_("productid", [uuid.UUID(p) for p in product_ids]),
        )
        lookups.products = {row["productid"]: row for row in found}
    if uom_ids:
        found = client.query(
            "uoms",
            select=["uomid", "name", "_uomscheduleid_value", "isschedulebaseuom"],
            filter=dataverse.F.in_("uomid", [uuid.UUID(u) for u in uom_ids]),
        )
        lookups.uoms = {row["uomid"]: row for row in found}
        schedule_ids = {_uuid(row["_uomscheduleid_value"]) for row in lookups.uoms.values()} - {None}
        lookups.units = _coupled_records(UnitOfMeasure, schedule_ids)
        lookups.units_by_code = {unit.code.upper(): unit for unit in UnitOfMeasure.objects.all()}
    return lookups


def _order_label(row: dict) -> str:
    return f"Dynamics 365 order {row.get('ordernumber') or row['salesorderid']} ({row.get('name') or 'no name'})"


def customer_of(row: dict, lookups: Lookups) -> Customer:
    number = row.get("ordernumber") or row["salesorderid"]
    account = row.get("customerid_account")
    contact = row.get("customerid_contact")
    if account is None and contact is None:
        raise OrderRefused(f"There is no potential customer defined on the Dynamics 365 sales order {number}.")
    if account is None:
        parent = contact.get("_parentcustomerid_value")
        if not parent:
            raise OrderRefused(
                f"Sales order {number} is created for the contact {contact.get('fullname') or ''}, who doesn't "
                "belong to an account. Choose the account as the order's customer in Dynamics 365 (or give the "
                "contact a company) and submit the order again."
            )
        account_id, account_name = _uuid(parent), "of the contact " + (contact.get("fullname") or "")
    else:
        account_id, account_name = _uuid(account["accountid"]), account.get("name") or ""
    customer = lookups.customers.get(account_id)
    if customer is None:
        raise OrderRefused(
            f"There is no customer coupled to the account {account_name}. Couple the account with a customer "
            "(or create the customer from it) and try again.",
            fix_url=_uncoupled_rows_url("CUSTOMER"),
            fix_label="Couple accounts",
        )
    return customer


def _uncoupled_rows_url(mapping_name: str) -> str:
    """Where the rows of a mapping that no ERP record is coupled with are coupled (or created in the ERP)."""
    mapping = _mapping(mapping_name)
    return reverse("coupling:uncoupled", args=[mapping.pk]) if mapping is not None else ""


def _mapping(name: str) -> IntegrationTableMapping | None:
    return IntegrationTableMapping.objects.filter(name=name).only("pk").first()


def currency_of(row: dict, lookups: Lookups) -> Currency | None:
    currency_id = _uuid(row.get("_transactioncurrencyid_value"))
    if currency_id is None:
        return None
    currency = lookups.currencies.get(currency_id)
    if currency is None:
        code = (row.get("transactioncurrencyid") or {}).get("isocurrencycode") or currency_id
        raise OrderRefused(
            f"The currency {code} of the order is not coupled to an ERP currency. Synchronize the currencies "
            "and try again.",
            fix_url=_uncoupled_rows_url("CURRENCY"),
            fix_label="Couple currencies",
        )
    return None if erp_selectors.currency_is_local(currency=currency) else currency


def _coupled_options(rows: list[dict]) -> dict[tuple[str, int], object]:
    """The ERP records coupled to the option values the orders of a page use: one query per option set used."""
    found = {}
    for attribute, _erp_field, model, account_attribute, _words, _mapping in ORDER_OPTIONS:
        values = {row[attribute] for row in rows if row.get(attribute) is not None}
        if not values:
            continue
        couplings = dict(
            OptionCoupling.objects.filter(
                erp_model=ContentType.objects.get_for_model(model),
                crm_entity="account",
                crm_attribute=account_attribute,
                option_value__in=values,
            ).values_list("option_value", "erp_system_id")
        )
        records = model._default_manager.in_bulk(couplings.values(), field_name="system_id")
        found |= {(account_attribute, value): records.get(system_id) for value, system_id in couplings.items()}
    return found


def _options(row: dict, copied: frozenset[str], lookups: Lookups) -> dict:
    """payment_terms, shipment_method, shipping_agent of the order (absent when the order leaves one empty: the
    customer's is taken)."""
    chosen = {}
    for attribute, erp_field, _model, account_attribute, words, mapping_name in ORDER_OPTIONS:
        value = row.get(attribute)
        if value is None or erp_field not in copied:
            continue
        record = lookups.options.get((account_attribute, value))
        if record is None:
            label = row.get(f"{attribute}@OData.Community.Display.V1.FormattedValue") or value
            raise OrderRefused(
                f"The order's {words} “{label}” are not coupled to any in the ERP. Synchronize the {words} "
                "(or choose others on the order) and try again.",
                fix_url=mapping.get_absolute_url() if (mapping := _mapping(mapping_name)) else "",
                fix_label=f"Mapping {mapping_name}",
            )
        chosen[erp_field] = record
    return chosen


def _ship_to(row: dict) -> dict[str, str]:
    """Copied only when the order names a ship-to address at all (BC's rule): else the customer's address."""
    values = {name: ", ".join(filter(None, (row.get(a) for a in attributes))) for name, attributes in SHIP_TO.items()}
    return values if any(values.values()) else {}


def _note_text(note: dict) -> str:
    return "\n".join(part for part in (note.get("subject"), note.get("notetext")) if part)


def _crm_date(value) -> datetime.date | None:
    if not value:
        return None
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def _decimal(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


@dataclass
class LinePlan:
    line: SalesLine
    discount_amount: Decimal
    freight: bool = False
    crm_line_id: str | None = None  # the order line it comes from (None: the freight line)


def _line_target(line_row: dict, position: int, lookups: Lookups, setup) -> tuple[str, Item | Resource, str]:
    """(line type, item or resource, description) of one CRM order line."""
    product_id = line_row.get("_productid_value")
    if not product_id:
        if setup.write_in_item is None:
            raise OrderRefused(
                f"Line {position} is a write-in product (“{line_row.get('productdescription') or ''}”). Choose "
                "the write-in item in the sales setup, then try again.",
                fix_url=reverse("erp:salessetup"),
                fix_label="Sales setup",
            )
        return SalesLine.Type.ITEM, setup.write_in_item, line_row.get("productdescription") or ""
    product = lookups.products.get(product_id)
    name = (product or {}).get("name") or product_id
    if product is None:
        raise OrderRefused(f"The product on line {position} no longer exists in Dynamics 365.")
    if product.get("statecode") not in (0, None):
        raise OrderRefused(f"The product {name} on line {position} is not active in Dynamics 365.")
    kind = product.get("producttypecode")
    if kind == SALES_INVENTORY or (kind is None and _uuid(product_id) in lookups.items):
        item = lookups.items.get(_uuid(product_id))
        if item is None:
            raise OrderRefused(
                f"The product {name} on line {position} is not coupled to an item. Couple it (or create the item "
                "from it) and try again.",
                fix_url=_uncoupled_rows_url("ITEM-PRODUCT"),
                fix_label="Couple products",
            )
        return SalesLine.Type.ITEM, item, ""
    if kind == SERVICES:
        resource = lookups.resources.get(_uuid(product_id))
        if resource is None:
            raise OrderRefused(
                f"The product {name} on line {position} is not coupled to a resource. Couple it (or create the "
                "resource from it) and try again.",
                fix_url=_uncoupled_rows_url("RESOURCE-PRODUCT"),
                fix_label="Couple products",
            )
        return SalesLine.Type.RESOURCE, resource, ""
    raise OrderRefused(
        f"The product {name} on line {position} is of the type {PRODUCT_TYPES.get(kind, kind)}, which the ERP "
        "cannot take: the supported types are Sales Inventory (items) and Services (resources)."
    )


def _unit(line_row: dict, position: int, lookups: Lookups) -> UnitOfMeasure | None:
    uom_id = line_row.get("_uomid_value")
    if not uom_id:
        return None
    uom = lookups.uoms.get(uom_id) or {}
    unit = lookups.units.get(_uuid(uom.get("_uomscheduleid_value")))
    if unit is not None and uom.get("isschedulebaseuom"):
        return unit
    same_code = lookups.units_by_code.get((uom.get("name") or "").upper())
    if same_code is None and uom.get("isschedulebaseuom") and unit is None:
        # The base unit of a unit group the ERP does not know (Dataverse's "Default Unit" group, "Primary Unit"):
        # one of the product, i.e. the item's or resource's own base unit.
        return None
    if same_code is None:
        raise OrderRefused(
            f"The unit {uom.get('name') or uom_id} on line {position} is not coupled to a unit of measure.",
            fix_url=_uncoupled_rows_url("UNIT OF MEASURE"),
            fix_label="Couple units",
        )
    return same_code


def _sequence(line_row: dict) -> tuple:
    sequence = line_row.get("sequencenumber")
    return (sequence is None, sequence or 0, line_row.get("lineitemnumber") or 0)


def line_plans(row: dict, lookups: Lookups, setup, copied: frozenset[str]) -> list[LinePlan]:
    plans = []
    for position, line_row in enumerate(sorted(row.get("order_details") or [], key=_sequence), start=1):
        kind, target, description = _line_target(line_row, position, lookups, setup)
        quantity = _decimal(line_row.get("quantity"))
        line = SalesLine(
            type=kind,
            item=target if kind == SalesLine.Type.ITEM else None,
            resource=target if kind == SalesLine.Type.RESOURCE else None,
            description=description,
            quantity=quantity,
            unit_of_measure=_unit(line_row, position, lookups) if "unit_of_measure" in copied else None,
            unit_price=_decimal(line_row.get("priceperunit")) if "unit_price" in copied else Decimal(0),
        )
        discount = _decimal(line_row.get("manualdiscountamount")) + quantity * _decimal(
            line_row.get("volumediscountamount")
        )
        if "line_discount" not in copied:
            discount = Decimal(0)
        plans.append(LinePlan(line, discount, crm_line_id=line_row["salesorderdetailid"]))
    freight = _decimal(row.get("freightamount")) if "freight" in copied else Decimal(0)
    if freight:
        if setup.freight_item is None:
            raise OrderRefused(
                f"The order has a freight amount of {freight:.2f}. Choose the freight item in the sales setup, then "
                "try again.",
                fix_url=reverse("erp:salessetup"),
                fix_label="Sales setup",
            )
        freight_line = SalesLine(type=SalesLine.Type.ITEM, item=setup.freight_item, quantity=1, unit_price=freight)
        plans.append(LinePlan(freight_line, Decimal(0), freight=True))
    if not plans:
        raise OrderRefused("The order has no lines. Add its products in Dynamics 365 and submit it again.")
    return plans


def spread_order_discount(row: dict, plans: list[LinePlan], copied: frozenset[str]) -> None:
    """The order's own discount (an amount and/or a percentage of the lines' total) is spread over its product
    lines in proportion to their amounts, as BC spreads an invoice discount: the ERP order totals what the CRM
    order totals before freight. The last line takes the rounding."""
    if "order_discount" not in copied:
        return
    lines = [plan for plan in plans if not plan.freight]
    net = [
        round_amount(plan.line.quantity * plan.line.unit_price) - round_amount(plan.discount_amount) for plan in lines
    ]
    total = sum(net, Decimal(0))
    discount = _decimal(row.get("discountamount")) + round_amount(total * _decimal(row.get("discountpercentage")) / 100)
    if not discount:
        return
    if discount > total:
        raise OrderRefused(
            f"The order's discount {discount:.2f} is more than its lines' amount {total:.2f}. Correct the discount "
            "in Dynamics 365 and submit the order again."
        )
    left = round_amount(discount)
    for position, (plan, amount) in enumerate(zip(lines, net, strict=True), start=1):
        share = left if position == len(lines) else round_amount(discount * amount / total)
        plan.discount_amount += share
        left -= share


@dataclass
class Fitted:
    value: str
    cut: bool


def _fit(text: str, model, field_name: str) -> Fitted:
    limit = model._meta.get_field(field_name).max_length
    return Fitted(text[:limit], len(text) > limit)


@dataclass
class IntakeRun:
    job: SyncJob
    report: Report
    user: object
    setup: object
    both_ways: bool = False
    copied: frozenset[str] = fields.copied()
    taken_over: list[dict] = field(default_factory=list)

    @property
    def keeps_prices(self) -> bool:
        return "unit_price" in self.copied

    def warn(self, order: SalesHeader, row: dict, field_name: str, text: str) -> None:
        model_field = SalesHeader._meta.get_field(field_name)
        self.report.record_warning(
            record=order,
            field=model_field.verbose_name,
            message=f"“{text}” was shortened to fit the ERP's {model_field.max_length} characters.",
            crm_entity="salesorder",
            crm_id=row["salesorderid"],
        )


def header_values(row: dict, copied: frozenset[str], lookups: Lookups, *, warn=None) -> dict:
    """The ERP order's header fields from the CRM order's (the customer and currency apart), those ``copied``
    (crm_orders.fields); ``warn(field, text)`` is told of each value shortened to fit."""
    values = {
        "requested_delivery_date": _crm_date(row.get("requestdeliveryby")),
        "work_description": row.get("description") or "",
        **_options(row, copied, lookups),
    }
    texts = {"your_reference": row.get("ordernumber") or "", "external_document_no": row.get("name") or ""}
    if "ship_to" in copied:
        texts.update(_ship_to(row))
    for name, text in texts.items():
        fitted = _fit(text, SalesHeader, name)
        values[name] = fitted.value
        if fitted.cut and warn is not None:
            warn(name, text)
    return {name: value for name, value in values.items() if name in copied or name.startswith("ship_to")}


def order_create(run: IntakeRun, row: dict, lookups: Lookups) -> SalesHeader:
    """One CRM order → one open ERP order with its lines (released, both ways), coupled in the same transaction."""
    customer = customer_of(row, lookups)
    currency = currency_of(row, lookups)
    plans = line_plans(row, lookups, run.setup, run.copied)
    spread_order_discount(row, plans, run.copied)
    shortened: list[tuple[str, str]] = []
    header = header_values(row, run.copied, lookups, warn=lambda name, text: shortened.append((name, text)))
    with transaction.atomic():
        order = erp_services.sales_order_create(
            sell_to_customer=customer, currency=currency, created_by=run.user, **header
        )
        erp_services.sales_lines_create(
            order=order, lines=[(plan.line, plan.discount_amount) for plan in plans], keep_unit_price=run.keeps_prices
        )
        # In the order's transaction: a run that finds the coupling finds the whole order.
        coupling_services.coupling_create_for_new_record(
            record=order, crm_entity="salesorder", crm_id=row["salesorderid"], snapshot=lines_snapshot(plans)
        )
        if "notes" in run.copied:
            SalesOrderNote.objects.bulk_create(
                SalesOrderNote(order=order, text=_note_text(note), crm_annotation_id=note["annotationid"])
                for note in row.get("SalesOrder_Annotation") or []
                if _note_text(note)
            )
        for name, text in shortened:
            run.warn(order, row, name, text)
        if run.both_ways:
            # Both ways, a submitted CRM order is a released ERP order (BC's bidirectional sales orders).
            erp_services.sales_order_release(order=order)
    return order


def lines_snapshot(plans: list[LinePlan]) -> dict:
    """Which ERP line (system id: a line no. can be reused) each CRM order line became, kept on the order's
    coupling: both ways, a change on either side finds its counterpart by it."""
    return {
        "lines": {plan.crm_line_id: str(plan.line.system_id) for plan in plans if plan.crm_line_id},
        "freight_line": next((str(plan.line.system_id) for plan in plans if plan.freight), None),
    }


def refusal_from_validation(error: ValidationError) -> OrderRefused:
    return OrderRefused("The ERP refused the order: " + " ".join(error.messages))


def orders_page_take_over(run: IntakeRun, client: dataverse.Client, rows: list[dict]) -> None:
    lookups = page_lookups(client, rows)
    created = unchanged = 0
    for row in rows:
        crm_id = _uuid(row["salesorderid"])
        order = lookups.orders.get(crm_id)
        if order is not None:
            unchanged += 1  # taken over by an earlier run that stopped before telling Dynamics 365
        else:
            try:
                order = order_create(run, row, lookups)
            except OrderRefused as refusal:
                record_refusal(run.report, row, refusal)
                continue
            except ValidationError as error:
                record_refusal(run.report, row, refusal_from_validation(error))
                continue
            except IntegrityError:
                unchanged += 1  # another run coupled it meanwhile: it is created once
                continue
            created += 1
        run.taken_over.append({"salesorderid": row["salesorderid"], "nav_erpordernumber": order.no})
    run.report.progress(inserted=created, unchanged=unchanged)


def record_refusal(report: Report, row: dict, refusal: OrderRefused) -> None:
    report.record_error(
        mapping=None,
        message=refusal.message,
        erp_label=_order_label(row),
        crm_entity="salesorder",
        crm_id=row["salesorderid"],
        fix_url=refusal.fix_url,
        fix_label=refusal.fix_label,
    )


def taken_over_tell_crm(
    client: dataverse.Client, taken_over: list[dict], *, on: datetime.date, keep_versions: bool = False
) -> None:
    """One UpdateMultiple: the orders the ERP took over, with its order numbers (BC: LastBackofficeSubmit). Both
    ways, the versions this write leaves are kept (one more read), so that it is not taken for a change."""
    if not taken_over:
        return
    stamp = f"{on.isoformat()}T00:00:00Z"
    rows = [{**row, "lastbackofficesubmit": stamp} for row in taken_over]
    client.update_multiple("salesorders", rows, logical_name="salesorder")
    if keep_versions:
        order_versions_keep(client, [row["salesorderid"] for row in taken_over])


def order_versions_keep(client: dataverse.Client, crm_ids) -> None:
    """The version each CRM order is at after the ERP's writes, kept on its coupling (one read): both ways, the
    ERP's own writes are then not taken for changes in Dynamics 365."""
    ids = sorted({uuid.UUID(str(crm_id)) for crm_id in crm_ids})
    if not ids:
        return
    found = client.query(
        "salesorders", select=["salesorderid", "versionnumber"], filter=dataverse.F.in_("salesorderid", ids)
    )
    versions = {uuid.UUID(row["salesorderid"]): row["versionnumber"] for row in found}
    for coupling in Coupling.objects.filter(crm_entity="salesorder", crm_id__in=list(versions)):
        coupling_services.coupling_keep_snapshot(
            coupling=coupling, snapshot=coupling.snapshot, crm_version=versions[coupling.crm_id]
        )

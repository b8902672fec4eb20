"""Sales orders both ways (BC's bidirectional sales orders, 2022 wave 1): an order and its lines are kept the same
on both sides once the ERP has taken it over.

- Dynamics 365 → ERP (the intake job): a submitted order is created as a *released* ERP order (ERP released ↔ CRM
  submitted). A later change in Dynamics 365 (its version differs from the one last taken or written) reopens the
  ERP order, brings its header and lines over (lines matched through the coupling's snapshot: CRM line → ERP line
  no.; lines gone from the CRM are deleted, new ones added) and releases it again.
- ERP → Dynamics 365 (the progress job, on release, shipment and invoice): the ERP's lines go to the order with
  price override (quantities, prices, discounts as amounts, quantity shipped; lines added in the ERP are created,
  lines deleted there are deleted), the ERP number and freight; a completely shipped order becomes Fulfilled
  (FulfillSalesOrder) and, once fully invoiced, Invoiced. The ERP holds an order's discount on its lines (spread, as
  BC spreads an invoice discount): so does the CRM order once the ERP has written it back (its own discount fields
  are then zero), and both sides total the same.
Each write's resulting version is kept on the coupling, so that the ERP's own writes are not taken for changes.
"""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction

import dataverse
from coupling import services as coupling_services
from coupling.models import Coupling
from crm_orders import intake
from erp import services as erp_services
from erp.models import SalesHeader, SalesLine
from syncjobs.models import SyncJob

FULFILLED_STATE, COMPLETE = 3, 100001
IDS = uuid.UUID("5a0d7b9e-31c4-4f5e-8a61-2c9e7f3b4d10")
# The intake looks back this far before its last run's start: Dataverse's modifiedon has whole seconds, and the
# two clocks differ a little.
OVERLAP = datetime.timedelta(minutes=1)


# --- Dynamics 365 → ERP ---------------------------------------------------------------------------------------


def changes_since(job: SyncJob) -> datetime.datetime | None:
    """Where the previous intake run started (less the overlap); None the first time (every submitted order)."""
    last = (
        SyncJob.objects.filter(
            kind=SyncJob.Kind.ORDER_INTAKE, status__in=[SyncJob.Status.SUCCESS, SyncJob.Status.ERROR]
        )
        .exclude(pk=job.pk)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return last - OVERLAP if last else None


def _changed_query(client: dataverse.Client, since: datetime.datetime | None):
    condition = dataverse.F.eq("statecode", intake.SUBMITTED) & dataverse.F.ne("lastbackofficesubmit", None)
    if since is not None:
        condition = condition & dataverse.F.ge("modifiedon", since)
    return intake.submitted_orders_query(client, condition=condition, select_also=("versionnumber",))


def crm_changes_take(run: intake.IntakeRun, client: dataverse.Client, *, since: datetime.datetime | None) -> None:
    """Every taken-over order changed in Dynamics 365 since ``since``: the change goes into the ERP order."""
    for rows in _changed_query(client, since).pages():
        couplings = {
            coupling.crm_id: coupling
            for coupling in Coupling.objects.filter(
                crm_entity="salesorder", crm_id__in=[uuid.UUID(row["salesorderid"]) for row in rows]
            )
        }
        changed = [
            row
            for row in rows
            if (coupling := couplings.get(uuid.UUID(row["salesorderid"]))) is not None
            and coupling.crm_version != row.get("versionnumber")
        ]
        if not changed:
            continue
        lookups = intake.page_lookups(client, changed)
        modified = 0
        for row in changed:
            crm_id = uuid.UUID(row["salesorderid"])
            order = lookups.orders.get(crm_id)
            if order is None:
                continue  # the ERP order was deleted: crm_verify lists the coupling as dangling
            try:
                order_update_from_crm(run, order, couplings[crm_id], row, lookups)
            except intake.OrderRefused as refusal:
                intake.record_refusal(run.report, row, refusal)
                continue
            except ValidationError as error:
                intake.record_refusal(run.report, row, intake.refusal_from_validation(error))
                continue
            modified += 1
        run.report.progress(modified=modified)


def _check_unchangeable(order: SalesHeader, row: dict, lookups: intake.Lookups) -> None:
    if order.status == SalesHeader.Status.CLOSED:
        raise intake.OrderRefused(
            f"Sales order {order.no} is fully invoiced and closed in the ERP: the change made to it in Dynamics 365 "
            "cannot be taken."
        )
    if intake.customer_of(row, lookups) != order.sell_to_customer:
        raise intake.OrderRefused(
            f"The order's customer was changed in Dynamics 365; ERP sales order {order.no} keeps its customer. "
            "Cancel the order and submit a new one for the other customer."
        )
    if intake.currency_of(row, lookups) != order.currency:
        raise intake.OrderRefused(
            f"The order's currency was changed in Dynamics 365; ERP sales order {order.no} keeps its currency."
        )


def order_update_from_crm(run, order: SalesHeader, coupling: Coupling, row: dict, lookups: intake.Lookups) -> None:
    """Reopen, bring the CRM order's header and lines over, release again (BC: "a change in the CRM reopens the
    ERP order, re-synchronizes its lines and releases it again")."""
    _check_unchangeable(order, row, lookups)
    plans = intake.line_plans(row, lookups, run.setup, run.copied)
    intake.spread_order_discount(row, plans, run.copied)
    header = intake.header_values(row, run.copied, lookups, warn=lambda name, text: run.warn(order, row, name, text))
    snapshot = coupling.snapshot or {}
    known: dict[str, str] = snapshot.get("lines", {})  # CRM line id → ERP line system id
    with transaction.atomic():
        order = erp_services.sales_order_reopen(order=order)
        for name, value in header.items():
            setattr(order, name, value)
        erp_services.record_save(instance=order)
        stored = {str(line.system_id): line for line in order.lines.select_related("item", "resource")}
        kept, new = set(), []
        for plan in plans:
            system_id = known.get(plan.crm_line_id) if plan.crm_line_id else snapshot.get("freight_line")
            line = stored.get(system_id)
            if line is None:
                new.append(plan)
                continue
            kept.add(system_id)
            _carry_over(plan.line, line, prices=run.keeps_prices)
            erp_services.sales_line_save(
                line=line, discount_amount=plan.discount_amount, keep_unit_price=run.keeps_prices
            )
            plan.line = line
        gone = ({*known.values(), snapshot.get("freight_line")} - kept - {None}) & stored.keys()
        for system_id in sorted(gone):
            erp_services.sales_line_delete(line=stored[system_id])
        if new:
            erp_services.sales_lines_create(
                order=order, lines=[(plan.line, plan.discount_amount) for plan in new], keep_unit_price=run.keeps_prices
            )
        erp_services.sales_order_release(order=order)
        snapshot = {**snapshot, **intake.lines_snapshot(plans)}
        coupling_services.coupling_keep_snapshot(coupling=coupling, snapshot=snapshot, crm_version=row["versionnumber"])


def _carry_over(planned: SalesLine, line: SalesLine, *, prices: bool) -> None:
    line.type, line.item, line.resource = planned.type, planned.item, planned.resource
    if planned.description:
        line.description = planned.description
    line.quantity = planned.quantity
    if prices:
        line.unit_price = planned.unit_price
    if planned.unit_of_measure_id:
        line.unit_of_measure = planned.unit_of_measure


# --- ERP → Dynamics 365 ---------------------------------------------------------------------------------------


def _crm_line_id(line: SalesLine) -> str:
    return str(uuid.uuid5(IDS, f"orderline/{line.system_id}"))


def _line_values(line: SalesLine) -> dict:
    return {
        "quantity": str(line.quantity),
        "priceperunit": str(line.unit_price),
        "ispriceoverridden": True,
        "manualdiscountamount": str(line.line_discount_amount),
        "volumediscountamount": "0",
        "quantityshipped": str(line.quantity_shipped),
    }


def erp_orders_push(run, batch: list, lookups_for) -> dict[int, dict]:
    """The ERP's lines of each order in ``batch`` (progress rows) to its CRM order. Returns, per order, the header
    values the caller writes with the order's state."""
    latest = {progress.order_id: progress for progress in batch if progress.order_id not in run.failed_orders}
    couplings = {
        coupling.erp_system_id: coupling
        for coupling in Coupling.objects.filter(
            crm_entity="salesorder", erp_system_id__in=[progress.order.system_id for progress in latest.values()]
        )
    }
    lines = [line for progress in latest.values() for line in progress.order.lines.all()]
    lookups = lookups_for(run.client, lines)
    updates, creates, deletes, headers = [], [], [], {}
    for progress in latest.values():
        order, coupling = progress.order, couplings.get(progress.order.system_id)
        if coupling is None:
            continue
        snapshot = coupling.snapshot or {}
        by_line = {system_id: crm_id for crm_id, system_id in snapshot.get("lines", {}).items()}
        freight_line = snapshot.get("freight_line")
        present, freight = {}, 0
        for line in order.lines.all():
            if line.type == SalesLine.Type.COMMENT:
                continue
            if str(line.system_id) == freight_line:
                freight = line.line_amount
                continue
            crm_line_id = by_line.get(str(line.system_id))
            if crm_line_id is None:
                crm_line_id = _crm_line_id(line)
                creates.append(
                    (
                        progress,
                        {
                            "salesorderdetailid": crm_line_id,
                            "salesorderid@odata.bind": f"/salesorders({progress.crm_order_id})",
                            "sequencenumber": line.line_no,
                            **lookups.product_fields(line),
                            **_line_values(line),
                        },
                    )
                )
            else:
                product = {k: v for k, v in lookups.product_fields(line).items() if k.endswith("@odata.bind")}
                updates.append((progress, {"salesorderdetailid": crm_line_id, **product, **_line_values(line)}))
            present[crm_line_id] = str(line.system_id)
        deletes += [(progress, crm_id) for crm_id in by_line.values() if crm_id not in present]
        coupling.snapshot = {**snapshot, "lines": {**present}}
        headers[order.pk] = {
            "nav_erpordernumber": order.no,
            "freightamount": str(freight),
            "discountamount": "0",
            "discountpercentage": "0",
        }
    for progress, crm_line_id in deletes:
        try:
            run.client.delete("salesorderdetails", uuid.UUID(crm_line_id))
        except dataverse.NotFound:
            pass  # deleted there too
        except dataverse.DataverseError as error:
            run.fail(
                progress.order,
                progress.crm_order_id,
                f"A line of sales order {progress.order.no} could not be deleted in Dynamics 365: {error}",
            )
    run.each_or_all("salesorderdetails", "salesorderdetail", updates, "update")
    run.each_or_all("salesorderdetails", "salesorderdetail", creates, "create")
    for coupling in couplings.values():
        coupling_services.coupling_keep_snapshot(coupling=coupling, snapshot=coupling.snapshot)
    return headers


def fulfill_shipped(run, batch: list) -> None:
    """A completely shipped order, not yet invoiced, becomes Fulfilled in Dynamics 365 (FulfillSalesOrder)."""
    for progress in {p.order_id: p for p in batch}.values():
        order = progress.order
        lines = [line for line in order.lines.all() if line.type != SalesLine.Type.COMMENT and line.quantity]
        shipped = lines and all(line.quantity_shipped >= line.quantity for line in lines)
        if not shipped or order.status == SalesHeader.Status.CLOSED or order.pk in run.failed_orders:
            continue
        try:
            run.client.action(
                "FulfillSalesOrder",
                {
                    "OrderClose": {
                        "@odata.type": "Microsoft.Dynamics.CRM.orderclose",
                        "salesorderid@odata.bind": f"/salesorders({progress.crm_order_id})",
                        "subject": f"Shipped by the ERP (sales order {order.no})",
                    },
                    "Status": COMPLETE,
                },
            )
        except dataverse.ValidationFailed as error:
            if "Fulfilled" not in str(error):  # fulfilled by an earlier run
                run.fail(
                    order,
                    progress.crm_order_id,
                    f"Sales order {order.no} could not be fulfilled in Dynamics 365: {error}",
                )


def versions_keep(run, batch: list) -> None:
    """The version of each order as the ERP left it: its own writes are then not taken for changes."""
    intake.order_versions_keep(
        run.client, [progress.crm_order_id for progress in batch if progress.order_id not in run.failed_orders]
    )

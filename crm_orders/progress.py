"""The progress of orders that came from Dynamics 365 goes back to them (BC's "CRM Order Status Update Job" and
POSTEDSALESINV-INV, with a structured processing status that BC lacks and Dual-write has).

For the ``OrderProgress`` rows not sent yet, one job writes, in a few bulk requests per batch:
- a post on each order's wall ("The order status has changed to Released.", "A shipment has been created for
  the order.", "An invoice has been created for the order."), under ids derived from the rows, so that a run
  repeated after a crash finds the posts it wrote and does not write them twice;
- each order's processing status (Released, Partially shipped, Shipped, Partially invoiced, Invoiced) from the
  ERP order as it is now, and the state Invoiced once it is fully invoiced;
- each posted invoice as a Dynamics 365 invoice with its lines, linked to the order (ids derived from the
  invoice, coupled once written).
A failing bulk write is retried one order at a time, so that one order that cannot be written (deleted in
Dynamics 365, say) costs one error row and leaves the others sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.utils import timezone

import dataverse
from coupling import services as coupling_services
from coupling.selectors import crm_ids_for
from crm_orders.models import OrderProgress
from erp.models import Currency, Customer, Item, Resource, SalesHeader, SalesInvoiceHeader, SalesLine, UnitOfMeasure
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import SyncJob
from syncjobs.runs.report import Report

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
IDS = uuid.UUID("0b7f3c52-5d1e-4c8a-9f0e-6a2d4b1c9e77")
# nav_processingstatus, the integration solution's choice on salesorder.
PROCESSING_STATUS = {
    "released": 100000000,
    "partially_shipped": 100000001,
    "shipped": 100000002,
    "partially_invoiced": 100000003,
    "invoiced": 100000004,
    "canceled": 100000005,
}
INVOICED_STATE, INVOICED_STATUS = 4, 100003
AUTO_POST, STATUS_POST = 1, 7
INVOICE_ACTIVE, INVOICE_BILLED = 0, 4


def processing_status(order: SalesHeader) -> str | None:
    """Where the ERP order stands, in the words of the processing status; None while it is open."""
    if order.status == SalesHeader.Status.CLOSED:
        return "invoiced"
    lines = [line for line in order.lines.all() if line.type != SalesLine.Type.COMMENT and line.quantity]
    if any(line.quantity_invoiced for line in lines):
        return "partially_invoiced"
    if lines and all(line.quantity_shipped >= line.quantity for line in lines):
        return "shipped"
    if any(line.quantity_shipped for line in lines):
        return "partially_shipped"
    if order.status == SalesHeader.Status.RELEASED:
        return "released"
    return None


def _post_id(progress: OrderProgress) -> str:
    return str(uuid.uuid5(IDS, f"post/{progress.pk}"))


def invoice_crm_id(invoice: SalesInvoiceHeader) -> str:
    return str(uuid.uuid5(IDS, f"invoice/{invoice.system_id}"))


def _invoice_line_crm_id(invoice: SalesInvoiceHeader, line_no: int) -> str:
    return str(uuid.uuid5(IDS, f"invoice/{invoice.system_id}/{line_no}"))


class ProgressRun:
    def __init__(self, job: SyncJob, client: dataverse.Client, report: Report):
        self.job, self.client, self.report = job, client, report
        self.failed_orders: set[int] = set()

    def fail(self, order: SalesHeader, crm_order_id, message: str, details: str = "") -> None:
        """One error row per order and run: what failed first stops the rest of that order's progress."""
        if order.pk in self.failed_orders:
            return
        self.failed_orders.add(order.pk)
        self.report.record_error(
            mapping=None,
            message=message,
            details=details,
            record=order,
            crm_entity="salesorder",
            crm_id=crm_order_id,
        )

    def each_or_all(self, entity_set: str, logical_name: str, rows: list[tuple[OrderProgress, dict]], what: str):
        """CreateMultiple/UpdateMultiple for all rows; when that fails, row by row, each failure on its order."""
        rows = [(progress, row) for progress, row in rows if progress.order_id not in self.failed_orders]
        if not rows:
            return
        send: Callable = self.client.create_multiple if what == "create" else self.client.update_multiple
        try:
            send(entity_set, [row for _, row in rows], logical_name=logical_name)
            return
        except dataverse.DataverseError as error:
            if len(rows) == 1:  # its own failure already: not sent a second time
                self._refused(rows[0][0], error)
                return
        for progress, row in rows:
            try:
                send(entity_set, [row], logical_name=logical_name)
            except dataverse.DataverseError as error:
                self._refused(progress, error)

    def _refused(self, progress: OrderProgress, error: dataverse.DataverseError) -> None:
        no = progress.order.no
        if isinstance(error, dataverse.NotFound):
            message = (
                f"The Dynamics 365 order of sales order {no} no longer exists: its progress cannot be sent. Decouple "
                "the order if it was deleted in Dynamics 365 on purpose."
            )
        else:
            message = f"Dynamics 365 refused the progress of sales order {no}: {error}"
        self.fail(progress.order, progress.crm_order_id, message, details=str(error))

    def existing(self, entity_set: str, primary_key: str, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        found = self.client.query(
            entity_set, select=[primary_key], filter=dataverse.F.in_(primary_key, [uuid.UUID(i) for i in ids])
        )
        return {row[primary_key] for row in found}


def _posts(run: ProgressRun, batch: list[OrderProgress]) -> None:
    written = run.existing("posts", "postid", [_post_id(progress) for progress in batch])
    rows = [
        (
            progress,
            {
                "postid": _post_id(progress),
                "text": progress.get_change_display(),
                "source": AUTO_POST,
                "type": STATUS_POST,
                "regardingobjectid_salesorder@odata.bind": f"/salesorders({progress.crm_order_id})",
            },
        )
        for progress in batch
        if _post_id(progress) not in written
    ]
    run.each_or_all("posts", "post", rows, "create")


def _order_states(run: ProgressRun, batch: list[OrderProgress], headers: dict[int, dict]) -> None:
    """Each order's processing status and Invoiced state (with ``headers``: other values of the order, both ways)."""
    latest = {progress.order_id: progress for progress in batch}
    rows = []
    for progress in latest.values():
        status = processing_status(progress.order)
        if status is None and progress.order_id not in headers:
            continue
        row = {"salesorderid": str(progress.crm_order_id), **headers.get(progress.order_id, {})}
        if status is not None:
            row["nav_processingstatus"] = PROCESSING_STATUS[status]
        if status == "invoiced":
            row.update(statecode=INVOICED_STATE, statuscode=INVOICED_STATUS)
        rows.append((progress, row))
    run.each_or_all("salesorders", "salesorder", rows, "update")


class ProductLookups:
    """The products and base units a batch of ERP lines (invoice or order lines) binds to in Dynamics 365."""

    def __init__(self, client: dataverse.Client, lines: list):
        self.items = crm_ids_for(model=Item, system_ids={line.item.system_id for line in lines if line.item_id})
        self.resources = crm_ids_for(
            model=Resource, system_ids={line.resource.system_id for line in lines if line.resource_id}
        )
        units = {line.unit_of_measure.system_id for line in lines if line.unit_of_measure_id}
        schedules = crm_ids_for(model=UnitOfMeasure, system_ids=units)
        self.base_uoms: dict[uuid.UUID, str] = {}
        if schedules:
            found = client.query(
                "uoms",
                select=["uomid", "_uomscheduleid_value"],
                filter=dataverse.F.in_("_uomscheduleid_value", list(schedules.values()))
                & dataverse.F.eq("isschedulebaseuom", True),
            )
            by_schedule = {uuid.UUID(row["_uomscheduleid_value"]): row["uomid"] for row in found}
            self.base_uoms = {unit: by_schedule[s] for unit, s in schedules.items() if s in by_schedule}
        # A unit the CRM does not know: the product's own default unit (as the line of a salesperson would have).
        self.default_uoms: dict[uuid.UUID, str] = {}
        products = sorted({*self.items.values(), *self.resources.values()}, key=str)
        if products:
            found = client.query(
                "products", select=["productid", "_defaultuomid_value"], filter=dataverse.F.in_("productid", products)
            )
            self.default_uoms = {uuid.UUID(row["productid"]): row["_defaultuomid_value"] for row in found}

    def product(self, line) -> uuid.UUID | None:
        if line.item_id:
            return self.items.get(line.item.system_id)
        if line.resource_id:
            return self.resources.get(line.resource.system_id)
        return None

    def product_fields(self, line) -> dict:
        """The line's product and unit bindings, or the write-in of its number and description."""
        product_id = self.product(line)
        uom_id = self.base_uoms.get(line.unit_of_measure.system_id) if line.unit_of_measure_id else None
        uom_id = uom_id or self.default_uoms.get(product_id)
        if product_id is not None and uom_id is not None:
            return {"productid@odata.bind": f"/products({product_id})", "uomid@odata.bind": f"/uoms({uom_id})"}
        return {"isproductoverridden": True, "productdescription": f"{line.no} {line.description}".strip()}


class InvoiceLookups(ProductLookups):
    """What a batch of invoices binds to: accounts and currencies too."""

    def __init__(self, run: ProgressRun, invoices: list[SalesInvoiceHeader]):
        super().__init__(run.client, [line for invoice in invoices for line in invoice.lines.all()])
        self.accounts = crm_ids_for(
            model=Customer, system_ids={invoice.sell_to_customer.system_id for invoice in invoices}
        )
        self.currencies = crm_ids_for(
            model=Currency, system_ids={i.currency.system_id for i in invoices if i.currency_id}
        )


def _invoice_row(invoice: SalesInvoiceHeader, crm_order_id, account_id, lookups: InvoiceLookups) -> dict:
    row = {
        "invoiceid": invoice_crm_id(invoice),
        "name": f"Order {invoice.order_no}",
        "invoicenumber": invoice.no,
        "customerid_account@odata.bind": f"/accounts({account_id})",
        "salesorderid@odata.bind": f"/salesorders({crm_order_id})",
        "duedate": f"{invoice.due_date.isoformat()}T00:00:00Z",
        "totallineitemamount": str(invoice.amount + invoice.line_discount_amount),
        "totaldiscountamount": str(invoice.line_discount_amount),
        "totalamountlessfreight": str(invoice.amount),
        "totalamount": str(invoice.amount),
        "ispricelocked": True,
        "statecode": INVOICE_ACTIVE,
        "statuscode": INVOICE_BILLED,
    }
    if invoice.currency_id and invoice.currency.system_id in lookups.currencies:
        currency_id = lookups.currencies[invoice.currency.system_id]
        row["transactioncurrencyid@odata.bind"] = f"/transactioncurrencies({currency_id})"
    return row


def _invoice_line_rows(invoice: SalesInvoiceHeader, lookups: InvoiceLookups) -> list[dict]:
    rows = []
    for sequence, line in enumerate(invoice.lines.all(), start=1):
        row = {
            "invoicedetailid": _invoice_line_crm_id(invoice, line.line_no),
            "invoiceid@odata.bind": f"/invoices({invoice_crm_id(invoice)})",
            "quantity": str(line.quantity),
            "priceperunit": str(line.unit_price),
            "ispriceoverridden": True,
            "manualdiscountamount": str(line.line_discount_amount),
            "baseamount": str(line.line_amount + line.line_discount_amount),
            "extendedamount": str(line.line_amount),
            "sequencenumber": sequence,
        }
        row.update(lookups.product_fields(line))
        rows.append(row)
    return rows


def _invoices(run: ProgressRun, batch: list[OrderProgress]) -> None:
    wanted = [p for p in batch if p.invoice_id is not None and p.order_id not in run.failed_orders]
    coupled = crm_ids_for(model=SalesInvoiceHeader, system_ids=[p.invoice.system_id for p in wanted])
    wanted = [p for p in wanted if p.invoice.system_id not in coupled]
    if not wanted:
        return
    invoices = [p.invoice for p in wanted]
    lookups = InvoiceLookups(run, invoices)
    written = run.existing("invoices", "invoiceid", [invoice_crm_id(invoice) for invoice in invoices])
    headers, lines = [], []
    for progress in wanted:
        invoice = progress.invoice
        account_id = lookups.accounts.get(invoice.sell_to_customer.system_id)
        if account_id is None:
            run.fail(
                progress.order,
                progress.crm_order_id,
                f"Invoice {invoice.no} cannot go to Dynamics 365: customer {invoice.sell_to_customer.no} is not "
                "coupled to an account.",
            )
            continue
        if invoice_crm_id(invoice) not in written:
            headers.append((progress, _invoice_row(invoice, progress.crm_order_id, account_id, lookups)))
        lines += [(progress, row) for row in _invoice_line_rows(invoice, lookups)]
    run.each_or_all("invoices", "invoice", headers, "create")
    lines = [(progress, row) for progress, row in lines if progress.order_id not in run.failed_orders]
    present = run.existing("invoicedetails", "invoicedetailid", [row["invoicedetailid"] for _, row in lines])
    missing = [(progress, row) for progress, row in lines if row["invoicedetailid"] not in present]
    run.each_or_all("invoicedetails", "invoicedetail", missing, "create")
    for progress in wanted:
        if progress.order_id not in run.failed_orders:
            coupling_services.coupling_create(
                record=progress.invoice, crm_entity="invoice", crm_id=invoice_crm_id(progress.invoice)
            )


def _pending_batch(*, skipping_orders: set[int]) -> list[OrderProgress]:
    return list(
        OrderProgress.objects.filter(sent_at__isnull=True)
        .exclude(order_id__in=skipping_orders)
        .select_related("order", "invoice__sell_to_customer", "invoice__currency")
        .prefetch_related(
            "order__lines__item",
            "order__lines__resource",
            "order__lines__unit_of_measure",
            "invoice__lines__item",
            "invoice__lines__resource",
            "invoice__lines__unit_of_measure",
        )
        .order_by("pk")[:BATCH_SIZE]
    )


def pending_exists() -> bool:
    return OrderProgress.objects.filter(sent_at__isnull=True).exists()


def run_order_progress(*, job: SyncJob, report: Report) -> None:
    """The job handler: send every progress row not sent yet, a batch at a time. The rows of an order that
    failed stay unsent (its error row says why) and are sent by a later run."""
    from crm_orders import both_ways  # builds on this module

    both_ways_on = connection_selectors.crm_connection_get().sales_orders_both_ways
    failed_orders: set[int] = set()
    with clients.crm_client() as client:
        before = client.stats.total
        while batch := _pending_batch(skipping_orders=failed_orders):
            run = ProgressRun(job, client, report)
            _posts(run, batch)
            headers = {}
            if both_ways_on:
                headers = both_ways.erp_orders_push(run, batch, ProductLookups)
                both_ways.fulfill_shipped(run, batch)
            _order_states(run, batch, headers)
            _invoices(run, batch)
            if both_ways_on:
                both_ways.versions_keep(run, batch)
            sent = [progress.pk for progress in batch if progress.order_id not in run.failed_orders]
            OrderProgress.objects.filter(pk__in=sent).update(sent_at=timezone.now())
            failed_orders |= run.failed_orders
            orders = {progress.order_id for progress in batch} - run.failed_orders
            coupling_services.couplings_mark_synchronized(
                crm_entity="salesorder",
                erp_model=SalesHeader,
                erp_system_ids=[p.order.system_id for p in batch if p.order_id in orders],
            )
            report.progress(modified=len(orders), http_requests=client.stats.total - before)
            before = client.stats.total
    logger.info("Sales order progress to Dynamics 365: job %s done", job.pk)

"""Sales orders from Dynamics 365: the intake job versus the same work done one order and one request at a time.

Sets up a throwaway ERP database (the demo company), a CRM sandbox with a simulated round-trip latency, the
connection and the parents' couplings (bench/_support.py); imports the integration solution, couples the demo
customers to the sandbox's accounts (by number), turns sales order processing on, and has a salesperson (the
sandbox's administrator) submit ``--orders`` + ``--sample`` orders of ``--lines`` lines each (coupled products,
their base unit), created with CreateMultiple and submitted with UpdateMultiple. Then, in one run side by side,
each side on its own orders:

- baseline, "as Business Central does" (codeunit 5343), on ``--sample`` orders: for each order one GET of the
  order, one GET of its lines (their unit expanded), one GET per line's product, the ERP order created by
  ``crm_orders.intake.order_create`` (the same ERP-side code as the job: only the HTTP pattern differs), then one
  PATCH telling Dynamics 365 it was taken over (``lastbackofficesubmit``, ``nav_erpordernumber``);
- engine: an order intake job (``crm_orders.handlers.run_order_intake``) over the ``--orders`` orders still
  submitted: a page of orders with their lines expanded, one products query and one units query per page, each
  order created on its own, one UpdateMultiple per page.

Prints orders taken over, seconds, orders/s, HTTP requests and requests per order of each side, the ratio of
orders/s and the targets of issue 11 (at least 20× faster, at most 2 requests per order); with --json also one
JSON object on the last line. Exits non-zero when a target is missed (or an order was not written back). The
ERP side of an order (its header, lines and coupling) costs both sides the same, so it bounds the ratio: the
baseline's time per order is its requests' round trips plus that cost, the engine's little more than that cost.

    .venv/bin/python bench/order_intake.py                                  # 1,000 orders of 5 lines, 20 ms
    .venv/bin/python bench/order_intake.py --orders 50 --sample 20 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

TARGET_RATIO = 20
TARGET_REQUESTS_PER_ORDER = 2.0
BULK_ROWS = 500  # rows per CreateMultiple / UpdateMultiple of the setup
SUBMITTED, SUBMITTED_STATUS = 1, 3  # salesorder statecode Submitted, statuscode In Progress
ORDER_EXPAND = {
    "customerid_account": {"select": ["accountid", "name"]},
    "customerid_contact": {"select": ["contactid", "fullname", "_parentcustomerid_value"]},
    "transactioncurrencyid": {"select": ["isocurrencycode"]},
}
PRODUCT_SELECT = ["productid", "name", "productnumber", "producttypecode", "statecode"]
UOM_SELECT = ["uomid", "name", "_uomscheduleid_value", "isschedulebaseuom"]


# --- Setup ------------------------------------------------------------------------------------------------


def _chunks(rows: list, size: int = BULK_ROWS):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def couple_customers(sandbox) -> list[str]:
    """The demo customers to the sandbox's accounts of the same number; returns the coupled account ids."""
    from coupling.services import coupling_create
    from erp.models import Customer

    with _support.admin_client(sandbox) as admin:
        accounts = {
            row["accountnumber"]: row["accountid"]
            for row in admin.query("accounts", select=["accountnumber"])
            if row.get("accountnumber")
        }
    coupled = []
    for customer in Customer.objects.filter(no__in=accounts).order_by("no"):
        coupling_create(record=customer, crm_entity="account", crm_id=accounts[customer.no])
        coupled.append(accounts[customer.no])
    if not coupled:
        raise RuntimeError("No demo customer has the number of a sandbox account: nothing to order for.")
    return coupled


def product_units(sandbox) -> list[tuple[str, str]]:
    """(product id, uom id) of the products coupled to items: the base uom of the unit group coupled to the
    item's base unit, so that the intake finds the line's unit coupled."""
    from django.contrib.contenttypes.models import ContentType

    from coupling.models import Coupling
    from erp.models import Item, UnitOfMeasure

    def couplings(model) -> dict:
        rows = Coupling.objects.filter(
            erp_model=ContentType.objects.get_for_model(model), state=Coupling.State.COUPLED
        ).values_list("erp_system_id", "crm_id")
        return {system_id: str(crm_id) for system_id, crm_id in rows}

    products, schedules = couplings(Item), couplings(UnitOfMeasure)
    with _support.admin_client(sandbox) as admin:
        base_uoms = {
            row["_uomscheduleid_value"]: row["uomid"]
            for row in admin.query("uoms", select=UOM_SELECT)
            if row.get("isschedulebaseuom") and row.get("_uomscheduleid_value")
        }
    pairs = []
    for item in Item.objects.filter(system_id__in=products).select_related("base_unit_of_measure").order_by("no"):
        schedule = schedules.get(item.base_unit_of_measure.system_id)
        if schedule in base_uoms:
            pairs.append((products[item.system_id], base_uoms[schedule]))
    if not pairs:
        raise RuntimeError("No product is coupled to an item whose base unit is coupled: no lines to order.")
    return pairs


def import_solution(sandbox) -> None:
    """The integration solution, as the setup imports it: it adds the order's ERP number column."""
    from setup_wizard.solution import build_package

    with _support.admin_client(sandbox) as admin:
        admin.import_solution(build_package())


def delete_seeded_orders(sandbox) -> None:
    """The sandbox's demo orders (some submitted) go first: each side takes over its own orders only."""
    import dataverse

    with _support.admin_client(sandbox) as admin:
        ids = [row["salesorderid"] for row in admin.query("salesorders", select=["salesorderid"])]
        for chunk in _chunks(ids, 100):
            admin.batch([dataverse.Op.delete("salesorders", uuid.UUID(order_id)) for order_id in chunk])


def enable_sales_orders() -> None:
    from crm_orders import services as order_services
    from syncjobs.connection import clients
    from syncjobs.models import CrmConnection

    connection = CrmConnection.objects.get()
    connection.sales_order_integration_enabled = True
    connection.save()
    with clients.crm_client(connection=connection) as client:
        order_services.sales_order_processing_enable(client=client, connection=connection)


def submit_orders(sandbox, *, count: int, lines: int, accounts: list[str], products: list[tuple[str, str]]) -> list:
    """``count`` orders of ``lines`` lines each, as a salesperson enters them, then submitted; their ids."""
    order_ids = [str(uuid.uuid4()) for _ in range(count)]
    orders = [
        {
            "salesorderid": order_id,
            "name": f"Bench order {index + 1}",
            "customerid_account@odata.bind": f"/accounts({accounts[index % len(accounts)]})",
        }
        for index, order_id in enumerate(order_ids)
    ]
    details = []
    for index, order_id in enumerate(order_ids):
        for position in range(lines):
            product_id, uom_id = products[(index + position) % len(products)]
            details.append(
                {
                    "salesorderdetailid": str(uuid.uuid4()),
                    "salesorderid@odata.bind": f"/salesorders({order_id})",
                    "productid@odata.bind": f"/products({product_id})",
                    "uomid@odata.bind": f"/uoms({uom_id})",
                    "quantity": str(1 + position),
                    "priceperunit": "12.50",
                    "ispriceoverridden": True,
                    "sequencenumber": 10 * (position + 1),
                }
            )
    with _support.admin_client(sandbox) as admin:
        for chunk in _chunks(orders):
            admin.create_multiple("salesorders", chunk, logical_name="salesorder")
        for chunk in _chunks(details):
            admin.create_multiple("salesorderdetails", chunk, logical_name="salesorderdetail")
        submitted = [{"salesorderid": i, "statecode": SUBMITTED, "statuscode": SUBMITTED_STATUS} for i in order_ids]
        for chunk in _chunks(submitted):
            admin.update_multiple("salesorders", chunk, logical_name="salesorder")
    return order_ids


# --- The two sides ----------------------------------------------------------------------------------------


def baseline_lookups(row: dict, line_rows: list[dict], products: dict[str, dict]):
    """What ``page_lookups`` finds for a page, for one order whose rows were read one request at a time."""
    from coupling.selectors import records_for_crm_ids
    from crm_orders import intake
    from erp.models import Currency, Customer, Item, Resource, SalesHeader, UnitOfMeasure

    def coupled(model, crm_ids):
        return records_for_crm_ids(model=model, crm_ids=crm_ids)

    product_ids = {intake._uuid(line["_productid_value"]) for line in line_rows if line.get("_productid_value")}
    uoms = {line["uomid"]["uomid"]: line["uomid"] for line in line_rows if line.get("uomid")}
    account = row.get("customerid_account") or {}
    contact = row.get("customerid_contact") or {}
    account_ids = {intake._uuid(account.get("accountid")), intake._uuid(contact.get("_parentcustomerid_value"))}
    return intake.Lookups(
        customers=coupled(Customer, account_ids - {None}),
        items=coupled(Item, product_ids),
        resources=coupled(Resource, product_ids),
        currencies=coupled(Currency, {intake._uuid(row.get("_transactioncurrencyid_value"))} - {None}),
        units=coupled(UnitOfMeasure, {intake._uuid(uom.get("_uomscheduleid_value")) for uom in uoms.values()} - {None}),
        products=products,
        uoms=uoms,
        orders=coupled(SalesHeader, [intake._uuid(row["salesorderid"])]),
        options=intake._coupled_options([row]),
        units_by_code={unit.code.upper(): unit for unit in UnitOfMeasure.objects.all()},
    )


def run_baseline(order_ids: list[str]) -> tuple:
    """The sample's orders one at a time, one request at a time; returns (job, seconds)."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    import dataverse
    from crm_orders import intake
    from crm_orders import services as order_services
    from erp import selectors as erp_selectors
    from syncjobs.connection import clients
    from syncjobs.connection import selectors as connection_selectors
    from syncjobs.runs import jobs

    connection = connection_selectors.crm_connection_get()
    job = jobs.job_claim(job_id=order_services.order_intake_job_create(crm_ids=order_ids, enqueue=False).pk)
    report = jobs.JobReport(job)
    run = intake.IntakeRun(
        job=job, report=report, user=connection.sales_order_processing_user, setup=erp_selectors.sales_setup()
    )
    stamp = f"{timezone.localdate().isoformat()}T00:00:00Z"
    created = unchanged = 0
    started = time.perf_counter()
    with clients.crm_client(connection=connection) as client:
        before = client.stats.total
        for order_id in order_ids:
            key = uuid.UUID(order_id)
            row = client.retrieve("salesorders", key, select=intake.ORDER_SELECT, expand=ORDER_EXPAND)
            line_rows = list(
                client.query(
                    "salesorderdetails",
                    select=intake.LINE_SELECT,
                    filter=dataverse.F.eq("_salesorderid_value", key),
                    expand={"uomid": {"select": UOM_SELECT}},
                )
            )
            products = {}
            for line in line_rows:
                if line.get("_productid_value"):
                    product_id = line["_productid_value"]
                    products[product_id] = client.retrieve("products", uuid.UUID(product_id), select=PRODUCT_SELECT)
            row["order_details"] = line_rows
            lookups = baseline_lookups(row, line_rows, products)
            order = lookups.orders.get(key)
            if order is not None:
                unchanged += 1
            else:
                try:
                    order = intake.order_create(run, row, lookups)
                except intake.OrderRefused as refusal:
                    intake.record_refusal(report, row, refusal)
                    continue
                except ValidationError as error:
                    intake.record_refusal(report, row, intake.refusal_from_validation(error))
                    continue
                created += 1
            client.update("salesorders", key, {"lastbackofficesubmit": stamp, "nav_erpordernumber": order.no})
        requests = client.stats.total - before
    seconds = time.perf_counter() - started
    jobs.job_progress(job=job, done=None, inserted=created, unchanged=unchanged, http_requests=requests)
    return jobs.job_finish(job=job), seconds


def run_engine() -> tuple:
    from crm_orders import services as order_services
    from syncjobs.runs import jobs

    job = order_services.order_intake_job_create(enqueue=False)
    started = time.perf_counter()
    job = jobs.job_run(job_id=job.pk)
    return job, time.perf_counter() - started


def figures(job, seconds: float, expected: int) -> dict:
    _support.check(job)
    taken = job.inserted
    if taken != expected:
        raise RuntimeError(f"Job #{job.pk} took over {taken} orders, not {expected}: {job.message}")
    return {
        "orders": taken,
        "seconds": round(seconds, 2),
        "orders_per_second": round(taken / seconds, 1),
        "http_requests": job.http_requests,
        "requests_per_order": round(job.http_requests / taken, 3) if taken else None,
    }


def still_waiting(sandbox) -> int:
    """Submitted orders Dynamics 365 was not told about: none, when both sides wrote back every order."""
    from crm_orders import intake

    with _support.admin_client(sandbox) as admin:
        return len(list(admin.query("salesorders", select=["salesorderid"], filter=intake.submitted_filter())))


def measure(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-order-intake-") as root:
        root = Path(root)
        _support.bootstrap(root / "erp")
        setup_started = time.perf_counter()
        _support.seed()
        sandbox = _support.start_crm(root, latency_ms=args.latency_ms)
        try:
            _support.connect(sandbox)
            import_solution(sandbox)
            accounts = couple_customers(sandbox)
            products = product_units(sandbox)
            delete_seeded_orders(sandbox)
            enable_sales_orders()
            sample_ids = submit_orders(
                sandbox, count=args.sample, lines=args.lines, accounts=accounts, products=products
            )
            submit_orders(sandbox, count=args.orders, lines=args.lines, accounts=accounts, products=products)
            setup_seconds = time.perf_counter() - setup_started
            baseline_job, baseline_seconds = run_baseline(sample_ids)
            engine_job, engine_seconds = run_engine()
            waiting = still_waiting(sandbox)
        finally:
            sandbox.stop()
    baseline = figures(baseline_job, baseline_seconds, args.sample)
    engine = figures(engine_job, engine_seconds, args.orders)
    ratio = _support.ratio(engine["orders_per_second"], baseline["orders_per_second"])
    return {
        "latency_ms": args.latency_ms,
        "orders": args.orders,
        "lines": args.lines,
        "sample": args.sample,
        "customers": len(accounts),
        "products": len(products),
        "setup_seconds": round(setup_seconds, 1),
        "baseline": baseline,
        "engine": engine,
        "ratio": ratio,
        "submitted_left": waiting,
        "targets": {
            "ratio_at_least": TARGET_RATIO,
            "requests_per_order_at_most": TARGET_REQUESTS_PER_ORDER,
            "ratio_met": (ratio or 0) >= TARGET_RATIO,
            "requests_met": engine["requests_per_order"] <= TARGET_REQUESTS_PER_ORDER,
        },
    }


def print_table(summary: dict) -> None:
    print(
        f"Orders from Dynamics 365 at {summary['latency_ms']} ms latency ({summary['orders']} orders of "
        f"{summary['lines']} lines; baseline sample {summary['sample']}; {summary['customers']} customers, "
        f"{summary['products']} products; setup {summary['setup_seconds']} s)"
    )
    print(f"{'mode':<9} {'orders':>7} {'seconds':>8} {'orders/s':>9} {'requests':>9} {'req/order':>10}")
    for side in ("baseline", "engine"):
        r = summary[side]
        print(
            f"{side:<9} {r['orders']:>7} {r['seconds']:>8.2f} {r['orders_per_second']:>9.1f} "
            f"{r['http_requests']:>9} {r['requests_per_order'] or 0:>10.3f}"
        )
    print(f"{'ratio':<9} {'':>7} {'':>8} {str(summary['ratio']) + '×':>9}")
    if summary["submitted_left"]:
        print(f"Warning: {summary['submitted_left']} submitted orders were not written back to Dynamics 365")
    targets = summary["targets"]
    print(
        f"Targets: ratio ≥ {targets['ratio_at_least']}× {'PASS' if targets['ratio_met'] else 'FAIL'}; "
        f"≤ {targets['requests_per_order_at_most']} requests per order "
        f"{'PASS' if targets['requests_met'] else 'FAIL'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000, help="submitted orders the intake job takes over")
    parser.add_argument("--lines", type=int, default=5, help="lines per order")
    parser.add_argument("--sample", type=int, default=100, help="other submitted orders taken one request at a time")
    parser.add_argument("--latency-ms", type=int, default=20, help="the sandbox's simulated round-trip latency")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    args = parser.parse_args(argv)
    if min(args.orders, args.lines, args.sample) < 1 or args.latency_ms < 0:
        parser.error("--orders, --lines and --sample at least 1; latency not negative")
    summary = measure(args)
    print_table(summary)
    if args.json:
        print(json.dumps(summary))
    targets = summary["targets"]
    return 0 if targets["ratio_met"] and targets["requests_met"] and not summary["submitted_left"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Incremental synchronization: ten changes on each side among N coupled customers, for two sizes of N.

For each size, in its own process (a throwaway ERP database and CRM sandbox each, bench/_support.py):
seed N customers, couple them all with a full ERP → CRM run, read the CRM once (its watermark and
delta link) and settle both directions; then change 10 customers in the ERP (through its services)
and 10 others in the CRM (as a user, through the Web API), and time one incremental run each way
(CUSTOMER to Dynamics 365, then from Dynamics 365), counting its SQL queries (every statement on
the ERP's connection) and HTTP requests (the job's own count). The sizes are printed side by side
with the ratio large/small: the target is no growth with the table.

    .venv/bin/python bench/incremental.py                        # 10,000 vs 100,000 customers at 20 ms
    .venv/bin/python bench/incremental.py --sizes 1000 10000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

CHANGES = 10
DIRECTIONS = ("to_crm", "from_crm")
# "No growth": the large table's figure may differ from the small one's by noise, not by a factor.
GROWTH_TOLERANCE = 1.5


def measured_run(direction: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        job = _support.run_job("CUSTOMER", direction)
        seconds = time.perf_counter() - started
    _support.check(job)
    return {
        "seconds": round(seconds, 3),
        "sql_queries": len(queries.captured_queries),
        "http_requests": job.http_requests,
        "written": job.inserted + job.modified,
        "unchanged": job.unchanged,
    }


def change_both_sides(sandbox) -> None:
    from coupling.models import Coupling
    from erp import services
    from erp.models import Customer

    coupled = Coupling.objects.filter(crm_entity="account", state=Coupling.State.COUPLED).order_by("pk")
    picked = list(coupled.values_list("erp_system_id", "crm_id")[1000 : 1000 + 2 * CHANGES])
    for n, (system_id, _crm_id) in enumerate(picked[:CHANGES]):
        customer = Customer.objects.get(system_id=system_id)
        customer.phone = f"+1 206 555 {n:04d}"
        services.record_save(instance=customer)
    with _support.admin_client(sandbox) as admin:
        for n, (_system_id, crm_id) in enumerate(picked[CHANGES:]):
            admin.update("accounts", crm_id, {"address1_city": f"Changed City {n}"})


def worker(customers: int, latency_ms: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as root:
        root = Path(root)
        _support.bootstrap(root / "erp")
        _support.seed(customers=customers)
        sandbox = _support.start_crm(root, latency_ms=latency_ms)
        try:
            _support.connect(sandbox)
            started = time.perf_counter()
            _support.check(_support.run_job("CUSTOMER", "to_crm", full=True))
            for direction in ("from_crm", "to_crm", "from_crm"):
                _support.check(_support.run_job("CUSTOMER", direction))
            setup_seconds = time.perf_counter() - started
            from coupling.models import Coupling
            from syncjobs.engine.context import WATERMARK_OVERLAP

            coupled = Coupling.objects.filter(crm_entity="account", state=Coupling.State.COUPLED).count()
            # Past the engine's watermark overlap: only the changes below are new to the measured runs.
            time.sleep(WATERMARK_OVERLAP.total_seconds() + 0.5)
            change_both_sides(sandbox)
            runs = {direction: measured_run(direction) for direction in DIRECTIONS}
        finally:
            sandbox.stop()
    return {"customers": customers, "coupled": coupled, "setup_seconds": round(setup_seconds, 1), "runs": runs}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[10000, 100000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--latency-ms", type=int, default=20, help="the sandbox's simulated round-trip latency")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.latency_ms)))
        return {}
    if min(args.sizes) < 3 * CHANGES + 1000 or args.latency_ms < 0:
        parser.error(f"each size must be at least {3 * CHANGES + 1000}; the latency must not be negative")
    small, large = (
        _support.run_worker(Path(__file__), "--worker", str(size), "--latency-ms", str(args.latency_ms))
        for size in args.sizes
    )
    summary = {"latency_ms": args.latency_ms, "changes_each_side": CHANGES, "small": small, "large": large}
    ratios = {}
    print(
        f"Incremental CUSTOMER runs, {CHANGES} changes in the ERP and {CHANGES} in the CRM, "
        f"{args.latency_ms} ms latency"
    )
    print(f"{'direction':<10} {'figure':<14} {small['coupled']:>10} {large['coupled']:>10} {'ratio':>7}")
    for direction in DIRECTIONS:
        for figure in ("seconds", "sql_queries", "http_requests", "written"):
            a, b = small["runs"][direction][figure], large["runs"][direction][figure]
            ratios[f"{direction}.{figure}"] = _support.ratio(b, a)
            print(f"{direction:<10} {figure:<14} {a:>10} {b:>10} {str(ratios[f'{direction}.{figure}']):>7}")
    grew = [name for name, value in ratios.items() if value is not None and value > GROWTH_TOLERANCE]
    summary["ratios_large_over_small"] = ratios
    summary["target_met"] = not grew
    print(
        "Target (no growth with the table): "
        + ("MET" if not grew else f"MISSED — grew more than {GROWTH_TOLERANCE}×: {', '.join(grew)}")
    )
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

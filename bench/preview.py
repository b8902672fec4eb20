"""Dry run of a full synchronization (issue 13 §4): how long the preview of CUSTOMER takes on a large company.

Sets up a throwaway ERP database with volume customers (erp_seed), a CRM sandbox with a simulated round-trip
latency and the connection (bench/_support.py). Then, not timed: the first ``--coupled`` customers are
synchronized to Dynamics 365 (coupled), ``--changed`` of them changed in the ERP and as many others in Dynamics
365; the next ``--matchable`` customers get an account of the same name (match-based coupling finds them); the
rest exist only in the ERP (created new). Both sides hold data, so the full synchronization's review recommends
coupling CUSTOMER; timed: that review and the preview of CUSTOMER (syncjobs.engine.preview), as the full
synchronization page asks for them.

Prints the seconds, the HTTP requests and SQL queries, and the preview's counts; with --json also one JSON
object on the last line. The target: under a minute for 20,000 customers.

    .venv/bin/python bench/preview.py                                      # 20,000 customers at 20 ms
    .venv/bin/python bench/preview.py --customers 2000 --coupled 500 --matchable 500 --json
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

TARGET_SECONDS = 60.0
WRITE_CHUNK = 500


def customers_in_filter() -> list:
    from erp.models import Customer
    from syncjobs.models import IntegrationTableMapping

    mapping = IntegrationTableMapping.objects.get(name="CUSTOMER")
    return list(Customer.objects.filter(**mapping.erp_filter).order_by("pk").only("pk", "system_id", "name"))


def prepare(sandbox, *, coupled: int, changed: int, matchable: int) -> dict:
    """Coupled customers (some changed on one side), customers with a matching account, and new ones."""
    from coupling.models import Coupling
    from erp.models import Customer

    customers = customers_in_filter()
    to_couple, to_match = customers[:coupled], customers[coupled : coupled + matchable]
    for start in range(0, len(to_couple), 5000):
        ids = [str(c.system_id) for c in to_couple[start : start + 5000]]
        _support.check(_support.run_job("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": ids}))
    pairs = list(
        Coupling.objects.filter(erp_system_id__in=[c.system_id for c in to_couple]).values_list(
            "erp_system_id", "crm_id"
        )
    )
    # Changed in the ERP (as an import would: no change of the modification time matters to a run from scratch).
    Customer.objects.filter(system_id__in=[erp_id for erp_id, _ in pairs[:changed]]).update(city="Preview City")
    with _support.admin_client(sandbox) as admin:
        changed_in_crm = [
            {"accountid": str(crm_id), "telephone1": "+1 206 555 0100"} for _, crm_id in pairs[changed : 2 * changed]
        ]
        for start in range(0, len(changed_in_crm), WRITE_CHUNK):
            admin.update_multiple("accounts", changed_in_crm[start : start + WRITE_CHUNK], logical_name="account")
        accounts = [
            {"accountid": str(uuid.uuid4()), "name": customer.name, "customertypecode": 3} for customer in to_match
        ]
        for start in range(0, len(accounts), WRITE_CHUNK):
            admin.upsert_multiple("accounts", accounts[start : start + WRITE_CHUNK], logical_name="account")
    return {
        "customers": len(customers),
        "coupled": len(to_couple),
        "changed_each_side": changed,
        "matchable": len(to_match),
        "new": len(customers) - len(to_couple) - len(to_match),
    }


def timed_preview() -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from syncjobs.connection import clients
    from syncjobs.engine import preview
    from syncjobs.runs import full_sync

    with clients.crm_client() as client, CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        lines = {line.mapping.name: line for line in full_sync.full_sync_review(client=client)}
        review_seconds = time.perf_counter() - started
        line = lines["CUSTOMER"]
        found = preview.mapping_preview(
            client=client, mapping=line.mapping, mode=line.recommendation, problem=line.problem
        )
        seconds = time.perf_counter() - started
        writes = client.stats.total - client.stats.count("GET")
        return {
            "mode": found.mode,
            "problem": found.problem,
            "seconds": round(seconds, 2),
            "review_seconds": round(review_seconds, 2),
            "http_requests": client.stats.total,
            "http_writes": writes,
            "sql_queries": len(queries.captured_queries),
            "counts": found.counts(),
        }


def measure(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as root:
        root = Path(root)
        _support.bootstrap(root / "erp")
        seed_seconds = _support.seed(customers=args.customers)
        sandbox = _support.start_crm(root, latency_ms=args.latency_ms)
        try:
            _support.connect(sandbox)
            started = time.perf_counter()
            data = prepare(sandbox, coupled=args.coupled, changed=args.changed, matchable=args.matchable)
            setup_seconds = time.perf_counter() - started
            result = timed_preview()
        finally:
            sandbox.stop()
    return {
        "latency_ms": args.latency_ms,
        **data,
        "seed_seconds": round(seed_seconds, 1),
        "setup_seconds": round(setup_seconds, 1),
        "preview": result,
        "target_seconds": TARGET_SECONDS,
        "target_met": result["seconds"] < TARGET_SECONDS and not result["http_writes"],
    }


def print_summary(summary: dict) -> None:
    result = summary["preview"]
    print(
        f"Preview of CUSTOMER before a full synchronization at {summary['latency_ms']} ms latency: "
        f"{summary['customers']} customers ({summary['coupled']} coupled, {summary['changed_each_side']} of them "
        f"changed in each system; {summary['matchable']} with an account of the same name; {summary['new']} new)"
    )
    print(f"{'seconds':>8} {'review s':>9} {'requests':>9} {'writes':>7} {'sql':>7}  mode")
    print(
        f"{result['seconds']:>8.2f} {result['review_seconds']:>9.2f} {result['http_requests']:>9} "
        f"{result['http_writes']:>7} {result['sql_queries']:>7}  {result['mode']} {result['problem']}".rstrip()
    )
    print("Counts: " + ", ".join(f"{name} {count}" for name, count in result["counts"].items()))
    print(
        f"Target: under {summary['target_seconds']:.0f} s and no write: {'MET' if summary['target_met'] else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20000, help="volume customers added to the demo company")
    parser.add_argument("--coupled", type=int, default=5000, help="customers coupled (synchronized) beforehand")
    parser.add_argument("--changed", type=int, default=200, help="coupled customers changed in each system")
    parser.add_argument("--matchable", type=int, default=5000, help="customers with an account of the same name")
    parser.add_argument("--latency-ms", type=int, default=20, help="the sandbox's simulated round-trip latency")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    args = parser.parse_args(argv)
    if min(args.customers, args.coupled, args.changed, args.matchable, args.latency_ms) < 0:
        parser.error("counts and latency must not be negative")
    if args.coupled + args.matchable > args.customers or 2 * args.changed > args.coupled:
        parser.error("--coupled plus --matchable must not exceed --customers; --changed at most half of --coupled")
    summary = measure(args)
    print_summary(summary)
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

"""Full synchronization ERP → CRM: the engine versus the same engine forced to one request per record.

Sets up a throwaway ERP database with volume customers and items (erp_seed), a CRM sandbox with a
simulated round-trip latency, the connection and the parents' couplings (bench/_support.py). Then,
for CUSTOMER and ITEM-PRODUCT, in one run side by side:

- baseline: the first ``--sample`` records of the mapping, by explicit ids, with the job parameter
  ``one_request_per_record`` (each record its own PATCH, as the shipped product works);
- engine: a full run of the mapping (the sample's records are already coupled and unchanged: they
  cost the engine a read and are not counted as written).

Prints records written, seconds, records/s, HTTP requests and requests per 100 records, and the
ratio of records/s; with --json also one JSON object on the last line.

    .venv/bin/python bench/sync_throughput.py                                  # 20,000 customers, 5,000 items, 20 ms
    .venv/bin/python bench/sync_throughput.py --customers 2000 --items 500 --sample 200 --json
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

MAPPINGS = ("CUSTOMER", "ITEM-PRODUCT")
TARGET_RATIO = 50
TARGET_REQUESTS_PER_100 = 1.0


def sample_ids(mapping_name: str, size: int) -> list[str]:
    from syncjobs.models import IntegrationTableMapping

    mapping = IntegrationTableMapping.objects.select_related("erp_model").get(name=mapping_name)
    model = mapping.erp_model.model_class()
    records = model._default_manager.filter(**mapping.erp_filter).order_by("pk")
    return [str(system_id) for system_id in records.values_list("system_id", flat=True)[:size]]


def timed(mapping_name: str, **kwargs) -> tuple:
    started = time.perf_counter()
    job = _support.run_job(mapping_name, "to_crm", **kwargs)
    seconds = time.perf_counter() - started
    _support.check(job)
    return job, seconds


def figures(job, seconds: float) -> dict:
    written = job.inserted + job.modified
    return {
        "records": written,
        "seconds": round(seconds, 2),
        "records_per_second": round(written / seconds, 1),
        "http_requests": job.http_requests,
        "requests_per_100_records": round(100 * job.http_requests / written, 2) if written else None,
    }


def measure(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sync-throughput-") as root:
        root = Path(root)
        _support.bootstrap(root / "erp")
        seed_seconds = _support.seed(customers=args.customers, items=args.items)
        sandbox = _support.start_crm(root, latency_ms=args.latency_ms)
        try:
            _support.connect(sandbox)
            results = {}
            for mapping_name in MAPPINGS:
                ids = sample_ids(mapping_name, args.sample)
                # full: a run by explicit ids otherwise passes over records not coupled yet.
                baseline_job, baseline_seconds = timed(
                    mapping_name, full=True, parameters={"erp_system_ids": ids, "one_request_per_record": True}
                )
                engine_job, engine_seconds = timed(mapping_name, full=True)
                results[mapping_name] = {
                    "baseline": figures(baseline_job, baseline_seconds),
                    "engine": figures(engine_job, engine_seconds),
                }
        finally:
            sandbox.stop()
    for side in ("baseline", "engine"):
        runs = [results[name][side] for name in MAPPINGS]
        records = sum(r["records"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        requests = sum(r["http_requests"] for r in runs)
        results.setdefault("TOTAL", {})[side] = {
            "records": records,
            "seconds": round(seconds, 2),
            "records_per_second": round(records / seconds, 1),
            "http_requests": requests,
            "requests_per_100_records": round(100 * requests / records, 2),
        }
    for figures_of in results.values():
        figures_of["ratio"] = _support.ratio(
            figures_of["engine"]["records_per_second"], figures_of["baseline"]["records_per_second"]
        )
    total = results["TOTAL"]
    return {
        "latency_ms": args.latency_ms,
        "customers": args.customers,
        "items": args.items,
        "sample": args.sample,
        "seed_seconds": round(seed_seconds, 1),
        "mappings": results,
        "targets": {
            "ratio_at_least": TARGET_RATIO,
            "requests_per_100_records_at_most": TARGET_REQUESTS_PER_100,
            "ratio_met": (total["ratio"] or 0) >= TARGET_RATIO,
            "requests_met": total["engine"]["requests_per_100_records"] <= TARGET_REQUESTS_PER_100,
        },
    }


def print_table(summary: dict) -> None:
    print(
        f"ERP → CRM full sync at {summary['latency_ms']} ms latency "
        f"({summary['customers']} + demo customers, {summary['items']} + demo items; "
        f"baseline sample {summary['sample']})"
    )
    print(f"{'mapping':<13} {'mode':<9} {'records':>8} {'seconds':>8} {'records/s':>10} {'requests':>9} {'req/100':>8}")
    for name, result in summary["mappings"].items():
        for side in ("baseline", "engine"):
            r = result[side]
            print(
                f"{name:<13} {side:<9} {r['records']:>8} {r['seconds']:>8.2f} {r['records_per_second']:>10.1f} "
                f"{r['http_requests']:>9} {r['requests_per_100_records'] or 0:>8.2f}"
            )
        print(f"{name:<13} {'ratio':<9} {'':>8} {'':>8} {str(result['ratio']) + '×':>10}")
    targets = summary["targets"]
    print(
        f"Targets: ratio ≥ {targets['ratio_at_least']}× {'MET' if targets['ratio_met'] else 'MISSED'}; "
        f"≤ {targets['requests_per_100_records_at_most']} request per 100 records "
        f"{'MET' if targets['requests_met'] else 'MISSED'}"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20000, help="volume customers added to the demo company")
    parser.add_argument("--items", type=int, default=5000, help="volume items added to the demo company")
    parser.add_argument("--sample", type=int, default=1000, help="records per mapping sent one request each")
    parser.add_argument("--latency-ms", type=int, default=20, help="the sandbox's simulated round-trip latency")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    args = parser.parse_args(argv)
    if min(args.customers, args.items, args.latency_ms) < 0 or args.sample < 1:
        parser.error("counts and latency must not be negative; --sample at least 1")
    summary = measure(args)
    print_table(summary)
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

"""Peak memory of a full ERP → CRM synchronization of N customers, for two sizes of N side by side.

For each size, a worker process sets up a throwaway ERP database and CRM sandbox (bench/_support.py)
and seeds N customers; the synchronization itself (CUSTOMER, to Dynamics 365, full) then runs in a
fresh process of its own, which reports its resident set size after Django started and its peak
during the synchronization (VmHWM, reset just before it; getrusage ru_maxrss where the peak cannot
be reset), so that neither the seeding, the start-up nor the sandbox is counted. Target: flat.

    .venv/bin/python bench/sync_memory.py                        # 10,000 vs 100,000 customers, no latency
    .venv/bin/python bench/sync_memory.py --sizes 2000 20000 --json
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

# "Flat": the larger run's growth over the process's start may be this much larger, not tenfold.
GROWTH_TOLERANCE = 1.5


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets the peak (VmHWM) to the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib(*, since_reset: bool) -> float:
    if since_reset:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync_only(data_dir: Path) -> dict:
    # Migrated by the parent: starting Django is all this process does before the synchronization
    # (a migrate here would set the process's peak, and it grows with the database, not the sync).
    _support.bootstrap(data_dir, migrate=False)
    from syncjobs.models import IntegrationTableMapping

    IntegrationTableMapping.objects.get(name="CUSTOMER")  # models and connection warm, as in a worker
    # The peak of the synchronization itself, not of the start-up before it.
    since_reset = reset_peak_rss()
    start_mib = rss_mib()
    started = time.perf_counter()
    job = _support.run_job("CUSTOMER", "to_crm", full=True)
    seconds = time.perf_counter() - started
    _support.check(job)
    peak_mib = peak_rss_mib(since_reset=since_reset)
    return {
        "written": job.inserted + job.modified,
        "seconds": round(seconds, 1),
        "start_rss_mib": round(start_mib, 1),
        "peak_rss_mib": round(peak_mib, 1),
        "growth_mib": round(peak_mib - start_mib, 1),
    }


def worker(customers: int, latency_ms: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sync-memory-") as root:
        root = Path(root)
        _support.bootstrap(root / "erp")
        _support.seed(customers=customers)
        sandbox = _support.start_crm(root, latency_ms=latency_ms)
        try:
            _support.connect(sandbox)
            result = _support.run_worker(Path(__file__), "--sync-only", str(root / "erp"))
        finally:
            sandbox.stop()
    return {"customers": customers, **result}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[10000, 100000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--latency-ms", type=int, default=0, help="the sandbox's simulated round-trip latency")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sync-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sync_only is not None:
        print(json.dumps(sync_only(args.sync_only)))
        return {}
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.latency_ms)))
        return {}
    if min(args.sizes) < 1 or args.latency_ms < 0:
        parser.error("sizes must be positive; the latency must not be negative")
    small, large = (
        _support.run_worker(Path(__file__), "--worker", str(size), "--latency-ms", str(args.latency_ms))
        for size in args.sizes
    )
    growth_ratio = _support.ratio(large["growth_mib"], small["growth_mib"])
    summary = {
        "latency_ms": args.latency_ms,
        "small": small,
        "large": large,
        "peak_ratio": _support.ratio(large["peak_rss_mib"], small["peak_rss_mib"]),
        "growth_ratio": growth_ratio,
        "target_met": growth_ratio is not None and growth_ratio <= GROWTH_TOLERANCE,
    }
    print(f"Full ERP → CRM sync of CUSTOMER, peak RSS of the synchronizing process ({args.latency_ms} ms latency)")
    print(f"{'figure':<22} {small['customers']:>10} {large['customers']:>10} {'ratio':>7}")
    for figure in ("written", "seconds", "start_rss_mib", "peak_rss_mib", "growth_mib"):
        print(
            f"{figure:<22} {small[figure]:>10} {large[figure]:>10} "
            f"{str(_support.ratio(large[figure], small[figure])):>7}"
        )
    print(
        f"Target (flat: peak growth ratio ≤ {GROWTH_TOLERANCE}): "
        + ("MET" if summary["target_met"] else f"MISSED — the growth over the start is {growth_ratio}× larger")
    )
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

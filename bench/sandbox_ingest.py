"""How many rows per second the CRM sandbox takes through UpsertMultiple, $batch and single requests.

Starts its own sandbox servers (one per simulated latency) with crm_sandbox.testing, writes new
accounts by alternate key (accountnumber) through the project's dataverse client as the
integration application user, and prints a table; with --json also one JSON object on the last line.

    .venv/bin/python bench/sandbox_ingest.py                       # 2,000 rows per bulk mode, 200 single
    .venv/bin/python bench/sandbox_ingest.py --rows 5000 --latency-ms 0 20 50 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nav_crm.settings")

from crm_sandbox.testing import RunningSandbox, start_sandbox  # noqa: E402
from dataverse import Client, ClientSecretAuth, F, Op, UsernamePasswordAuth  # noqa: E402

MODES = ("upsert_multiple", "batch", "single")


def grant_integration_role(sandbox: RunningSandbox) -> None:
    """What an administrator does once for a new application user: give it a security role."""
    with Client(sandbox.url, auth=_integration_auth(sandbox), ca_bundle=sandbox.ca_bundle) as integration:
        user_id = integration.whoami().user_id
    admin_auth = UsernamePasswordAuth(sandbox.authority, sandbox.client_id, sandbox.admin_user, sandbox.admin_password)
    with Client(sandbox.url, auth=admin_auth, ca_bundle=sandbox.ca_bundle) as admin:
        (role,) = admin.query("roles", select=["name"], filter=F.eq("name", "System Administrator"))
        admin.associate("systemusers", user_id, "systemuserroles_association", "roles", role["roleid"])


def _integration_auth(sandbox: RunningSandbox) -> ClientSecretAuth:
    return ClientSecretAuth(sandbox.authority, sandbox.client_id, sandbox.client_secret)


def rows_for(mode: str, latency: int, count: int) -> list[tuple[dict, dict]]:
    """(alternate key, body) pairs of new accounts; account numbers stay within their 20 characters."""
    prefix = f"{mode[0].upper()}{latency}-"
    return [
        (
            {"accountnumber": f"{prefix}{n:07d}"},
            {"name": f"Bench {mode} {n}", "telephone1": f"+1 555 {n % 10000:04d}", "address1_city": "Seattle"},
        )
        for n in range(count)
    ]


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_mode(client: Client, mode: str, rows: list[tuple[dict, dict]], *, bulk_size: int, batch_size: int) -> float:
    started = time.perf_counter()
    if mode == "upsert_multiple":
        for chunk in chunks(rows, bulk_size):
            client.upsert_multiple(
                "accounts", [body for _key, body in chunk], logical_name="account", keys=[key for key, _ in chunk]
            )
    elif mode == "batch":
        for chunk in chunks(rows, batch_size):
            results = client.batch([Op.upsert("accounts", key, body) for key, body in chunk])
            if not all(result.ok for result in results):
                raise RuntimeError("a $batch upsert failed")
    else:
        for key, body in rows:
            client.upsert("accounts", key, body)
    return time.perf_counter() - started


def measure(latency: int, sizes: dict[str, int], *, bulk_size: int, batch_size: int, data_root: Path) -> dict:
    sandbox = start_sandbox(data_root / f"latency-{latency}", latency_ms=latency)
    try:
        grant_integration_role(sandbox)
        results = {}
        with Client(sandbox.url, auth=_integration_auth(sandbox), ca_bundle=sandbox.ca_bundle) as client:
            for mode in MODES:
                rows = rows_for(mode, latency, sizes[mode])
                client.stats.reset()
                seconds = run_mode(client, mode, rows, bulk_size=bulk_size, batch_size=batch_size)
                requests = client.stats.total
                written = client.query(
                    "accounts",
                    select=["accountid"],
                    filter=F.startswith("accountnumber", rows[0][0]["accountnumber"][:3]),
                )
                if sum(1 for _ in written) != len(rows):
                    raise RuntimeError(f"{mode}: not every row arrived")
                results[mode] = {
                    "rows": len(rows),
                    "seconds": round(seconds, 3),
                    "rows_per_second": round(len(rows) / seconds, 1),
                    "requests": requests,
                }
        return results
    finally:
        sandbox.stop()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000, help="rows per bulk mode (UpsertMultiple, $batch)")
    parser.add_argument("--single-rows", type=int, default=200, help="rows sent as single requests")
    parser.add_argument("--bulk-size", type=int, default=500, help="targets per UpsertMultiple request")
    parser.add_argument("--batch-size", type=int, default=100, help="operations per $batch request")
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 20], help="simulated latencies to measure")
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    args = parser.parse_args(argv)
    if min(args.rows, args.single_rows, args.bulk_size, args.batch_size) < 1 or not 1 <= args.batch_size <= 1000:
        parser.error("sizes must be positive and --batch-size at most 1000")
    sizes = {"upsert_multiple": args.rows, "batch": args.rows, "single": args.single_rows}
    results = {}
    with tempfile.TemporaryDirectory(prefix="sandbox-ingest-") as root:
        for latency in args.latency_ms:
            results[str(latency)] = measure(
                latency, sizes, bulk_size=args.bulk_size, batch_size=args.batch_size, data_root=Path(root)
            )
    print(f"{'latency':>8} {'mode':<16} {'rows':>6} {'requests':>9} {'seconds':>8} {'rows/s':>9}")
    for latency, modes in results.items():
        for mode, figures in modes.items():
            print(
                f"{latency + ' ms':>8} {mode:<16} {figures['rows']:>6} {figures['requests']:>9} "
                f"{figures['seconds']:>8.2f} {figures['rows_per_second']:>9.1f}"
            )
    summary = {
        "bulk_size": args.bulk_size,
        "batch_size": args.batch_size,
        "latency_ms": results,
    }
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

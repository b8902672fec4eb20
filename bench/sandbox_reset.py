"""How long a test waits for a clean CRM organization: a new seeded server, a copied one, or a restored snapshot.

The test suite used to start a sandbox server per test module or per test (seed, then serve); it now
starts one server per session and restores a snapshot before each test (crm_sandbox/snapshots.py).
This measures the three ways side by side in one run, each after the organization was changed (ten
accounts written), and prints a table; with --json also one JSON object on the last line.

    .venv/bin/python bench/sandbox_reset.py                 # 3 new servers of each kind, 50 restores
    .venv/bin/python bench/sandbox_reset.py --servers 5 --restores 200 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nav_crm.settings")

from crm_sandbox.testing import RunningSandbox, seed_template, start_sandbox  # noqa: E402


def change_the_organization(sandbox: RunningSandbox, session) -> None:
    for n in range(10):
        response = session.post(f"{sandbox.api_url}accounts", json={"name": f"Dirty {n}"})
        response.raise_for_status()


def new_servers(root: Path, count: int, *, template: Path | None) -> list[float]:
    """Seconds until a new server answers with a clean organization (seeded, or copied from the template)."""
    timings = []
    for n in range(count):
        started = time.perf_counter()
        sandbox = start_sandbox(root / f"{'copied' if template else 'seeded'}-{n}", template=template)
        timings.append(time.perf_counter() - started)
        sandbox.stop()
    return timings


def restores(root: Path, template: Path, count: int) -> list[float]:
    sandbox = start_sandbox(root / "restored", template=template, test_control=True)
    try:
        sandbox.snapshot("seeded")
        session = sandbox.session(sandbox.admin_token())
        timings = []
        for _ in range(count):
            change_the_organization(sandbox, session)
            started = time.perf_counter()
            sandbox.restore("seeded")
            timings.append(time.perf_counter() - started)
        return timings
    finally:
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=3, help="New servers started of each kind.")
    parser.add_argument("--restores", type=int, default=50, help="Snapshot restores.")
    parser.add_argument("--json", action="store_true", help="Also print one JSON object on the last line.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-reset-") as directory:
        root = Path(directory)
        template = seed_template(root / "template")
        seeded = new_servers(root, options.servers, template=None)
        copied = new_servers(root, options.servers, template=template)
        restored = restores(root, template, options.restores)
    results = {
        "new_seeded_server_s": round(statistics.median(seeded), 3),
        "new_copied_server_s": round(statistics.median(copied), 3),
        "snapshot_restore_s": round(statistics.median(restored), 4),
        "snapshot_restore_p95_s": round(sorted(restored)[int(len(restored) * 0.95) - 1], 4),
    }
    results["restore_vs_seeded_server"] = round(results["new_seeded_server_s"] / results["snapshot_restore_s"], 1)
    print(f"{'a clean organization by':<40} {'median':>10}")
    print(f"{'starting a new seeded server':<40} {results['new_seeded_server_s']:>9.3f}s")
    print(f"{'starting a server on a seeded copy':<40} {results['new_copied_server_s']:>9.3f}s")
    print(
        f"{'restoring a snapshot (p95 ' + format(results['snapshot_restore_p95_s'], '.4f') + ' s)':<40} "
        f"{results['snapshot_restore_s']:>9.4f}s"
    )
    print(f"restoring is {results['restore_vs_seeded_server']}× faster than a new seeded server")
    if options.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()

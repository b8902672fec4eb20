"""Synchronization under faults: nothing lost, nothing duplicated, both sides equal afterwards.

N volume customers (erp_seed: each with a company contact and its persons) go to a CRM sandbox in
three scenarios, each in its own process with a throwaway ERP database and sandbox (bench/_support.py):

- faults: the sandbox fails ``--fault-rate`` of the Web API requests (half a 503 before processing,
  half a connection dropped after processing: the write happened, the answer is lost). A full
  synchronization (``crm_sync run --all --full --wait``), then changes on both sides (customers'
  phones and contacts' job titles in the ERP, accounts' cities in the CRM) and an incremental run
  of CUSTOMER and CONTACT both ways;
- throttle: the sandbox's service protection at ``--throttle`` (N requests per SECONDS per user,
  429 with Retry-After beyond), the same full and incremental runs;
- kill: ``manage.py crm_sync run CUSTOMER --full --wait`` in a subprocess, killed (SIGKILL) once
  ``--kill-at`` of the customers exist as accounts in the CRM (and it has written some itself). Each
  time the reaper (``syncjobs.runs.jobs.job_reap_stale``, told the time is past STALE_AFTER instead of
  waiting) hands the job on, and a worker's task (``syncjobs.tasks.run_sync_job``, in a subprocess)
  runs it again, to be killed at the next point. After the third kill the reaper gives the job up
  (MAX_ATTEMPTS); ``crm_sync run CUSTOMER --full --wait`` is run again to its end, then CONTACT in
  full. Then verified, and verified once more after an incremental run (to tell apart what one more
  run settles).

After each scenario, the accounts and contacts in the mappings' CRM filters are read through the Web
API and compared with the ERP's customers and person contacts. Duplicates: CRM rows beyond what may
hold the same content (name; first name, last name and e-mail), i.e. beyond the ERP's records of it or
the rows the CRM held before (the sandbox's own demo rows); a row the synchronization created and left
uncoupled counts as one too. Lost: ERP records in the filter with no coupled CRM row that exists.
Differences: ``crm_verify CUSTOMER CONTACT --json``'s problems (fields differing, uncoupled records
the mapping would synchronize, dangling couplings, rows coupled twice). Per scenario it prints records
synchronized (inserted + modified), failed rows, retries and 429s seen by the sync's clients (in this
process: not counted for the killed subprocesses), duplicates, lost records and differences; with
--json also one JSON object on the last line. The exit status is 1 when anything was lost, duplicated
or differs.

    .venv/bin/python bench/faults.py                                   # 5,000 customers, fault rate 0.05
    .venv/bin/python bench/faults.py --customers 200 --scenarios faults throttle --json
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _support  # noqa: E402

SCENARIOS = ("faults", "throttle", "kill")
MAPPINGS = ("CUSTOMER", "CONTACT")
# Share of the customers changed in the ERP (and of the accounts changed in the CRM) before the incremental run.
CHANGED_SHARE = 0.02
DEFAULT_KILL_AT = (0.1, 0.5, 0.9)
POLL_SECONDS = 0.05


# --- What the two sides hold ------------------------------------------------------------------------------


def _norm(value) -> str:
    return (value or "").strip().lower()


def crm_rows(sandbox) -> dict[str, list[dict]]:
    """The accounts and contacts in the CUSTOMER and CONTACT mappings' CRM filters, read as the admin."""
    with _support.admin_client(sandbox) as admin:
        accounts = [
            row
            for row in admin.query("accounts", select=["name", "statecode", "customertypecode"], page_size=5000)
            if row.get("statecode") == 0 and row.get("customertypecode") == 3
        ]
        contacts = [
            row
            for row in admin.query(
                "contacts",
                select=["firstname", "lastname", "emailaddress1", "statecode", "_parentcustomerid_value"],
                page_size=5000,
            )
            if row.get("statecode") == 0 and row.get("_parentcustomerid_value")
        ]
    return {"CUSTOMER": accounts, "CONTACT": contacts}


def erp_records(mapping_name: str) -> list:
    from syncjobs.models import IntegrationTableMapping

    mapping = IntegrationTableMapping.objects.select_related("erp_model").get(name=mapping_name)
    model = mapping.erp_model.model_class()
    return list(model._default_manager.filter(**mapping.erp_filter))


def _content_key(mapping_name: str, record=None, row=None) -> tuple:
    if mapping_name == "CUSTOMER":
        return (_norm(record.name),) if record is not None else (_norm(row.get("name")),)
    if record is not None:
        return (_norm(record.first_name), _norm(record.last_name), _norm(record.email))
    return (_norm(row.get("firstname")), _norm(row.get("lastname")), _norm(row.get("emailaddress1")))


def compare_sides(sandbox, baseline: dict[str, list[dict]]) -> dict:
    """Per mapping: ERP records, CRM rows, duplicates, lost (ERP records with no coupled CRM row in the filter),
    CRM rows coupled to nothing (those the sandbox held before, e.g. its own demo rows, apart).

    A duplicate is a CRM row beyond what may hold its content (name; first name, last name and e-mail):
    as many rows as the ERP has records of that content, or as the CRM held before the synchronization."""
    from coupling.models import Coupling

    rows_of = crm_rows(sandbox)
    result = {}
    for mapping_name in MAPPINGS:
        records = erp_records(mapping_name)
        rows = rows_of[mapping_name]
        primary = "accountid" if mapping_name == "CUSTOMER" else "contactid"
        crm_ids = {str(row[primary]).lower() for row in rows}
        couplings = Coupling.objects.filter(
            crm_entity="account" if mapping_name == "CUSTOMER" else "contact", state=Coupling.State.COUPLED
        )
        coupled_crm_of = {
            str(system_id): str(crm_id).lower()
            for system_id, crm_id in couplings.values_list("erp_system_id", "crm_id")
        }
        lost = [r for r in records if coupled_crm_of.get(str(r.system_id)) not in crm_ids]
        coupled_ids = set(coupled_crm_of.values())
        erp_contents = Counter(_content_key(mapping_name, record=r) for r in records)
        crm_contents = Counter(_content_key(mapping_name, row=row) for row in rows)
        before = Counter(_content_key(mapping_name, row=row) for row in baseline[mapping_name])
        allowed = {key: max(erp_contents.get(key, 0), before.get(key, 0)) for key in crm_contents}
        duplicates = sum(max(0, n - allowed[key]) for key, n in crm_contents.items())
        duplicate_examples = [" / ".join(key) for key, n in crm_contents.items() if n > allowed[key]][:5]
        new_ids = crm_ids - {str(row[primary]).lower() for row in baseline[mapping_name]}
        result[mapping_name] = {
            "erp_records": len(records),
            "crm_rows": len(rows),
            "duplicates": duplicates,
            "duplicate_examples": duplicate_examples,
            "lost": len(lost),
            "lost_examples": [getattr(r, "no", str(r.pk)) for r in lost[:5]],
            "crm_rows_before": len(baseline[mapping_name]),
            "crm_rows_not_coupled": len(crm_ids - coupled_ids),
            "new_crm_rows_not_coupled": len(new_ids - coupled_ids),
        }
    return result


def verify() -> dict:
    """``crm_verify CUSTOMER CONTACT --json``: its findings per mapping, counted."""
    from django.core.management import CommandError, call_command

    from syncjobs.management.commands.crm_verify import finding_line

    out = io.StringIO()
    with contextlib.suppress(CommandError):  # exit status 1: the sides differ; the JSON says how
        call_command("crm_verify", *MAPPINGS, "--json", "--limit", "5", stdout=out)
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    findings = {}
    for mapping in report["mappings"]:
        counts = mapping["counts"]
        problems = {"differing": counts["differing"]} if counts["differing"] else {}
        problems.update({kind: counts[kind] for kind in ("dangling", "coupled_twice") if counts[kind]})
        for kind in ("uncoupled_erp", "uncoupled_crm"):
            if counts[kind] and not mapping[f"{kind}_expected"]:
                problems[kind] = counts[kind]
        kinds = {"differing": "differences"}
        examples = [
            finding_line(kinds.get(kind, kind), item)[:300]
            for kind in problems
            for item in mapping[kinds.get(kind, kind)][:3]
        ]
        findings[mapping["mapping"]] = {"problems": problems, "checked": counts["checked"], "examples": examples}
    return {"ok": report["ok"], "mappings": findings}


# --- Runs --------------------------------------------------------------------------------------------------


def jobs_since(first_job_id: int) -> list:
    from syncjobs.models import SyncJob

    return list(SyncJob.objects.filter(pk__gt=first_job_id, mapping_name__in=MAPPINGS).order_by("pk"))


def last_job_id() -> int:
    from syncjobs.models import SyncJob

    return SyncJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def job_figures(jobs: list) -> dict:
    return {
        "synchronized": sum(job.inserted + job.modified for job in jobs),
        "coupled": sum(job.coupled for job in jobs),
        "failed": sum(job.failed for job in jobs),
        "jobs": [
            f"#{job.pk} {job.mapping_name} {job.direction}{' full' if job.full else ''}: {job.status} "
            f"+{job.inserted} ~{job.modified} failed {job.failed}" + (f" ({job.message[:120]})" if job.message else "")
            for job in jobs
        ],
        "errors": sorted(
            {message[:200] for job in jobs for message in job.errors.values_list("message", flat=True)[:20]}
        )[:8],
    }


def full_synchronization() -> str:
    """``crm_sync run --all --full --wait``; its output (exit status 1 when records failed is not fatal here)."""
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    try:
        call_command("crm_sync", "run", "--all", "--full", "--wait", stdout=out)
    except CommandError as error:
        out.write(f"\n{error}")
    return out.getvalue()


def change_both_sides(sandbox) -> dict:
    """Some customers' phones and contacts' job titles in the ERP, other accounts' cities in the CRM."""
    from coupling.models import Coupling
    from erp import services
    from erp.models import Contact, Customer
    from syncjobs.engine.context import WATERMARK_OVERLAP

    # Past the engine's watermark overlap: the changes below are new to the incremental runs.
    time.sleep(WATERMARK_OVERLAP.total_seconds() + 0.5)
    coupled = list(
        Coupling.objects.filter(crm_entity="account", state=Coupling.State.COUPLED)
        .order_by("pk")
        .values_list("erp_system_id", "crm_id")
    )
    count = max(1, int(len(coupled) * CHANGED_SHARE))
    erp_side, crm_side = coupled[0::2][:count], coupled[1::2][:count]
    for n, (system_id, _crm_id) in enumerate(erp_side):
        customer = Customer.objects.filter(system_id=system_id).first()
        if customer is None:
            continue
        customer.phone = f"+1 206 555 {n:04d}"
        services.record_save(instance=customer)
        contact = Contact.objects.filter(company__customer=customer, type="person").order_by("pk").first()
        if contact is not None:
            contact.job_title = f"Changed title {n}"
            services.record_save(instance=contact)
    with _support.admin_client(sandbox) as admin:
        for n, (_system_id, crm_id) in enumerate(crm_side):
            admin.update("accounts", str(crm_id), {"address1_city": f"Changed City {n}"})
    return {"erp_changed": len(erp_side), "crm_changed": len(crm_side)}


def incremental() -> None:
    for mapping_name in MAPPINGS:
        _support.run_job(mapping_name, "both")


def settle(sandbox, baseline) -> dict:
    """What the two sides hold after a scenario, and the verification."""
    return {"sides": compare_sides(sandbox, baseline), "verify": verify()}


# --- Scenarios (each in its own process) ----------------------------------------------------------------


def start(root: Path, args):
    """The ERP seeded and connected to a fresh sandbox (no simulated conditions while connecting)."""
    from crm_sandbox.testing import start_sandbox

    _support.bootstrap(root / "erp")
    _support.seed(customers=args.customers)
    sandbox = start_sandbox(root / "crm_sandbox", latency_ms=args.latency_ms, test_control=True)
    try:
        _support.connect(sandbox)
        sandbox.snapshot("connected")
        baseline = crm_rows(sandbox)
    except Exception:
        sandbox.stop()
        raise
    return sandbox, baseline


def scenario_conditions(sandbox, args, **conditions) -> None:
    """The sandbox as it was connected, now with the scenario's simulated conditions."""
    sandbox.restore("connected", latency_ms=args.latency_ms, **conditions)


def run_faults_or_throttle(args, **conditions) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as root:
        sandbox, baseline = start(Path(root), args)
        try:
            scenario_conditions(sandbox, args, **conditions)
            first = last_job_id()
            started = time.perf_counter()
            with _support.client_stats() as stats:
                output = full_synchronization()
                full_jobs = jobs_since(first)
                full_stats = stats()
            after_full = last_job_id()
            changes = change_both_sides(sandbox)
            with _support.client_stats() as stats:
                incremental()
                incremental_stats = stats()
            seconds = time.perf_counter() - started
            incremental_jobs = jobs_since(after_full)
            outcome = settle(sandbox, baseline)
        finally:
            sandbox.stop()
    return {
        "conditions": conditions,
        "seconds": round(seconds, 1),
        "full": {**job_figures(full_jobs), **full_stats},
        "incremental": {**job_figures(incremental_jobs), **incremental_stats, **changes},
        "full_sync_output_tail": output.strip().splitlines()[-6:],
        **outcome,
    }


def crm_account_count(sandbox) -> int:
    """Accounts in the sandbox's own database (read-only, cheap enough to poll)."""
    path = sandbox.data_dir / "crm_sandbox.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT COUNT(*) FROM crm_account").fetchone()[0]


def _manage(*args: str, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(  # noqa: S603 — our own manage.py with our own arguments
            [sys.executable, str(_support.REPO_ROOT / "manage.py"), *args],
            cwd=_support.REPO_ROOT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def kill_when(process: subprocess.Popen, sandbox, *, accounts_at_least: int, timeout: float = 1800) -> dict:
    """SIGKILL ``process`` once the CRM holds ``accounts_at_least`` accounts and it has created some itself."""
    deadline = time.monotonic() + timeout
    at_start = crm_account_count(sandbox)
    while process.poll() is None and time.monotonic() < deadline:
        try:
            count = crm_account_count(sandbox)
        except sqlite3.OperationalError:
            count = -1  # the sandbox is writing; look again
        if count >= accounts_at_least and count > at_start:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return {
                "killed": True,
                "accounts_at_start": at_start,
                "accounts_when_killed": count,
                "accounts_after_kill": crm_account_count(sandbox),
            }
        time.sleep(POLL_SECONDS)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    return {
        "killed": False,
        "accounts_at_start": at_start,
        "returncode": process.returncode,
        "accounts_after_kill": crm_account_count(sandbox),
    }


def run_kill(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-faults-kill-") as root:
        root = Path(root)
        sandbox, baseline = start(root, args)
        from django.utils import timezone

        from syncjobs.models import SyncJob
        from syncjobs.runs import jobs, leases

        log = root / "subprocesses.log"
        try:
            scenario_conditions(sandbox, args)
            first = last_job_id()
            accounts_before = crm_account_count(sandbox)
            started = time.perf_counter()
            kills = []
            job_id = None
            for n, share in enumerate(args.kill_at):
                if job_id is None:
                    process = _manage("crm_sync", "run", "CUSTOMER", "--full", "--wait", log=log)
                else:
                    process = _manage(
                        "shell",
                        "-c",
                        f"from syncjobs.tasks import run_sync_job; print(run_sync_job({job_id}))",
                        log=log,
                    )
                kill = kill_when(process, sandbox, accounts_at_least=accounts_before + int(share * args.customers))
                if job_id is None:
                    job_id = SyncJob.objects.filter(pk__gt=first, mapping_name="CUSTOMER").order_by("pk").first().pk
                job = SyncJob.objects.get(pk=job_id)
                kill.update(
                    point=share,
                    job=job_id,
                    status_after_kill=job.status,
                    done=job.progress_done,
                    inserted=job.inserted,
                    checkpoint=job.checkpoint,
                )
                # The reaper, as if STALE_AFTER had passed since the last heartbeat.
                later = timezone.now() + leases.STALE_AFTER + datetime.timedelta(seconds=1)
                requeued, failed = jobs.job_reap_stale(now=later)
                job.refresh_from_db()
                kill.update(reaped_requeued=requeued, reaped_failed=failed, status_after_reap=job.status)
                kills.append(kill)
                print(f"kill {n + 1}: {kill}", file=sys.stderr)
                if job.status != SyncJob.Status.PENDING:
                    break  # given up (or finished before the kill): a new run is started below
            job = SyncJob.objects.get(pk=job_id)
            if job.status == SyncJob.Status.PENDING:
                rerun = _manage(
                    "shell", "-c", f"from syncjobs.tasks import run_sync_job; print(run_sync_job({job_id}))", log=log
                )
                rerun.wait()
            # Start the synchronization again, as the given-up job's message asks, to its end.
            rerun = _manage("crm_sync", "run", "CUSTOMER", "--full", "--wait", log=log)
            rerun_code = rerun.wait()
            with _support.client_stats() as stats:
                contacts = _support.run_job("CONTACT", "both", full=True)
                contact_stats = stats()
            seconds = time.perf_counter() - started
            all_jobs = jobs_since(first)
            outcome = settle(sandbox, baseline)
            # Told apart: what one more (incremental) run settles, and what it does not.
            incremental()
            verify_after_incremental = verify()
            log_tail = log.read_text().strip().splitlines()[-12:]
        finally:
            sandbox.stop()
    return {
        "conditions": {"latency_ms": args.latency_ms},
        "seconds": round(seconds, 1),
        "kills": kills,
        "rerun_returncode": rerun_code,
        "contact_job": f"#{contacts.pk} {contacts.status}",
        "full": {**job_figures(all_jobs), **contact_stats},
        "subprocess_log_tail": log_tail,
        "verify_after_incremental": verify_after_incremental,
        **outcome,
    }


def worker(args) -> dict:
    if args.worker == "faults":
        return run_faults_or_throttle(args, fault_rate=args.fault_rate)
    if args.worker == "throttle":
        return run_faults_or_throttle(args, throttle=args.throttle)
    return run_kill(args)


# --- Report ------------------------------------------------------------------------------------------------


def problems_of(result: dict) -> dict:
    sides = result["sides"]
    return {
        # A row the synchronization created and did not couple is a duplicate too (of the one it coupled).
        "duplicates": sum(max(side["duplicates"], side["new_crm_rows_not_coupled"]) for side in sides.values()),
        "lost": sum(side["lost"] for side in sides.values()),
        "verify_findings": sum(sum(m["problems"].values()) for m in result["verify"]["mappings"].values()),
    }


def _runs(result: dict) -> list[tuple[str, dict]]:
    return [(name, result[name]) for name in ("full", "incremental") if name in result]


def print_table(summary: dict) -> None:
    print(
        f"Synchronization under faults: {summary['customers']} + demo customers and their contacts, "
        f"{summary['latency_ms']} ms latency"
    )
    header = (
        f"{'scenario':<9} {'run':<12} {'synced':>7} {'failed':>7} {'retries':>8} {'429s':>6} "
        f"{'dupl.':>6} {'lost':>5} {'verify':>7}"
    )
    print(header)
    for name, result in summary["scenarios"].items():
        problems = result["problems"]
        for run_name, run in _runs(result):
            retries = run.get("retries")
            print(
                f"{name:<9} {run_name:<12} {run['synchronized']:>7} {run['failed']:>7} "
                f"{'-' if retries is None else retries:>8} {run.get('throttled_429', '-'):>6}"
            )
        print(
            f"{name:<9} {'after':<12} {'':>7} {'':>7} {'':>8} {'':>6} "
            f"{problems['duplicates']:>6} {problems['lost']:>5} {problems['verify_findings']:>7}"
        )
        for mapping_name, side in result["sides"].items():
            print(
                f"  {mapping_name}: ERP {side['erp_records']}, CRM {side['crm_rows']} "
                f"(before {side['crm_rows_before']}), not coupled {side['crm_rows_not_coupled']} "
                f"(new {side['new_crm_rows_not_coupled']})"
                + (f"; duplicates e.g. {side['duplicate_examples']}" if side["duplicates"] else "")
                + (f"; lost e.g. {side['lost_examples']}" if side["lost"] else "")
            )
        for mapping_name, found in result["verify"]["mappings"].items():
            if found["problems"]:
                print(f"  crm_verify {mapping_name}: {found['problems']}")
                for example in found["examples"]:
                    print(f"    {example}")
        for kill in result.get("kills", []):
            print(
                f"  kill at {kill['point']:.0%}: "
                + (f"killed at {kill['accounts_when_killed']} accounts" if kill["killed"] else "ended before")
                + f" (from {kill['accounts_at_start']}); job #{kill['job']} done {kill['done']}, "
                f"{kill['status_after_kill']} → reaper → {kill['status_after_reap']}"
            )
        if "verify_after_incremental" in result:
            settled = result["verify_after_incremental"]["mappings"]
            print(
                f"  crm_verify after one more incremental run: { {name: m['problems'] for name, m in settled.items()} }"
            )
        errors = [e for _n, run in _runs(result) for e in run["errors"]]
        if errors:
            print(f"  errors: {errors[:4]}")
    print("Result: " + ("OK — nothing lost, duplicated or different" if summary["ok"] else "FAILED"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=5000, help="volume customers (with contacts) to synchronize")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of Web API requests that fail")
    parser.add_argument("--throttle", default="20/1", help="the sandbox's service protection, N/SECONDS")
    parser.add_argument("--latency-ms", type=int, default=0, help="the sandbox's simulated round-trip latency")
    parser.add_argument(
        "--kill-at", type=float, nargs="+", default=list(DEFAULT_KILL_AT), help="shares of the customers"
    )
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")
    parser.add_argument("--worker", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.customers < 10 or not 0 <= args.fault_rate <= 1 or args.latency_ms < 0:
        parser.error("at least 10 customers; the fault rate between 0 and 1; the latency not negative")
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    common = [
        "--customers", str(args.customers), "--fault-rate", str(args.fault_rate), "--throttle", args.throttle,
        "--latency-ms", str(args.latency_ms), "--kill-at", *map(str, args.kill_at),
    ]  # fmt: skip
    scenarios = {}
    for name in args.scenarios:
        result = _support.run_worker(Path(__file__), "--worker", name, *common)
        result["problems"] = problems_of(result)
        scenarios[name] = result
    summary = {
        "customers": args.customers,
        "latency_ms": args.latency_ms,
        "fault_rate": args.fault_rate,
        "throttle": args.throttle,
        "scenarios": scenarios,
        "ok": not any(any(r["problems"].values()) for r in scenarios.values()),
    }
    print_table(summary)
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

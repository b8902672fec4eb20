"""Run synchronization jobs from the command line and show the recent ones.

    crm_sync run MAPPING [--direction to|from|both] [--full] [--wait]
    crm_sync run --all [--full] [--wait]
    crm_sync orders [--wait]
    crm_sync status [--limit N] [--json]
    crm_sync preview MAPPING [MAPPING ...] [--json] [--sample N]
    crm_sync preview --all [--json] [--sample N]

Without --wait a job is queued for the django-q2 worker (qcluster) and its id printed; with
--wait it runs here, in the foreground, and its counters are printed. The exit status is 1
when records failed or a job could not run.

``run --all --full`` is a full synchronization (syncjobs.runs.full_sync): each mapping's recommendation
from what both sides hold, in dependency order; where both sides already hold data it couples by
match instead of creating duplicates. ``run --all`` without --full runs every mapping incrementally, then,
when sales order integration is on, creates ERP orders from the submitted ones and sends the orders' progress.
``orders`` creates ERP orders from the orders submitted in Dynamics 365 now.

``preview`` is a dry run of ``run --all --full`` (syncjobs.engine.preview): per mapping, as the full
synchronization would run it now, how many records it would create on each side, couple by match, update,
leave unchanged, find several matches for (ambiguous) or find changed on both sides (conflicts), with a few
examples of each; nothing is written on either side. With --json the last line is one JSON object keyed by
mapping name, each with those counts; ``status --json`` prints, keyed the same way, what each mapping's last run
did (a full synchronization's coupling job and synchronization job), so that a script can compare the two.
"""

import json

import requests
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

import dataverse
from crm_orders import services as order_services
from syncjobs.connection import clients
from syncjobs.engine import preview as sync_preview
from syncjobs.models import FullSyncLine, IntegrationTableMapping, SyncJob
from syncjobs.runs import full_sync, jobs, run_now
from syncjobs.runs.tables import job_duration

DIRECTIONS = {
    "to": SyncJob.JobDirection.TO_CRM,
    "from": SyncJob.JobDirection.FROM_CRM,
    "both": SyncJob.JobDirection.BOTH,
}
COLUMNS = ("job", "mapping", "direction", "status", *SyncJob.COUNTERS, "http", "duration")


def job_row(job: SyncJob) -> tuple[str, ...]:
    counters = tuple(str(getattr(job, name)) for name in SyncJob.COUNTERS)
    return (
        f"#{job.pk}",
        job.mapping_name,
        job.direction,
        job.status,
        *counters,
        str(job.http_requests),
        job_duration(job),
    )


def format_table(rows: list[tuple[str, ...]], columns: tuple[str, ...] = COLUMNS) -> str:
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


class Command(BaseCommand):
    help = "Synchronize integration table mappings with Dynamics 365, or show the recent synchronization jobs."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True, metavar="{run,orders,status,preview}")
        run = commands.add_parser("run", help="Synchronize one mapping, or every enabled mapping with --all.")
        run.add_argument("mapping", nargs="?", help="The mapping's code, e.g. CUSTOMER.")
        run.add_argument("--all", action="store_true", help="Every enabled mapping, in dependency order.")
        run.add_argument(
            "--direction", choices=sorted(DIRECTIONS), help="Default: every direction the mapping synchronizes."
        )
        run.add_argument("--full", action="store_true", help="Every record, not only the changes since the last run.")
        run.add_argument("--wait", action="store_true", help="Run here in the foreground and print the counters.")
        orders = commands.add_parser(
            "orders", help="Create ERP sales orders from the orders submitted in Dynamics 365."
        )
        orders.add_argument("--wait", action="store_true", help="Run here in the foreground and print the counters.")
        status = commands.add_parser("status", help="The recent synchronization jobs and their counters.")
        status.add_argument("--limit", type=int, default=20, help="How many jobs (default 20).")
        status.add_argument(
            "--json", action="store_true", help="Also each mapping's last run, counted as a preview, as JSON."
        )
        dry_run = commands.add_parser(
            "preview", help="What a full synchronization would do now, per mapping, writing nothing."
        )
        dry_run.add_argument("mappings", nargs="*", metavar="MAPPING", help="The mappings' codes, e.g. CUSTOMER.")
        dry_run.add_argument("--all", action="store_true", help="Every enabled mapping, in dependency order.")
        dry_run.add_argument("--json", action="store_true", help="Print the counts as JSON on the last line.")
        dry_run.add_argument(
            "--sample", type=int, default=3, help="Examples shown of each outcome (default 3; 0 for none)."
        )

    def handle(self, *args, **options):
        self.told_waiting: set[int] = set()
        if options["command"] == "status":
            return self.status(limit=options["limit"], as_json=options["json"])
        if options["command"] == "preview":
            return self.preview(options)
        if options["command"] == "orders":
            return self.orders(wait=options["wait"])
        return self.run(options)

    # --- orders -------------------------------------------------------------------------------------

    def orders(self, *, wait: bool) -> None:
        try:
            job = order_services.order_intake_job_create(enqueue=not wait)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if not wait:
            self.stdout.write(f"Queued job #{job.pk}: {job.mapping_name}.")
            return
        self.report_jobs([jobs.job_run_to_end(job_id=job.pk, on_wait=self.say_waiting)])

    # --- status -------------------------------------------------------------------------------------

    def status(self, *, limit: int, as_json: bool) -> None:
        if limit < 1:
            raise CommandError("--limit must be 1 or more.")
        recent = list(SyncJob.objects.all()[:limit])
        if not recent:
            self.stdout.write("No synchronization jobs yet.")
        else:
            rows = [(*job_row(job), f"{job.created_at:%Y-%m-%d %H:%M:%S}", job.message[:80]) for job in recent]
            self.stdout.write(format_table(rows, (*COLUMNS, "created", "message")))
        if as_json:
            self.stdout.write(json.dumps(sync_preview.recent_runs(limit=limit)))

    # --- preview ------------------------------------------------------------------------------------

    def preview(self, options) -> None:
        names = options["mappings"]
        if options["all"] == bool(names):
            raise CommandError("Name one or more mappings (e.g. crm_sync preview CUSTOMER) or use --all.")
        if options["sample"] < 0:
            raise CommandError("--sample must be 0 or more.")
        try:
            with clients.crm_client() as client:
                lines = self.preview_lines(full_sync.full_sync_review(client=client), names)
                previews = sync_preview.full_sync_preview(client=client, lines=lines, sample_size=options["sample"])
        except (clients.CrmNotConfigured, dataverse.DataverseError, requests.RequestException) as error:
            raise CommandError(f"Dynamics 365 could not be asked what it holds: {error}") from None
        shown = [p for p in previews if not p.mapping.is_option_mapping]
        columns = ("mapping", "what runs", *(name.replace("_", " ") for name in (*sync_preview.COUNTS, "failed")))
        rows = [
            (p.mapping.name, p.mode_label, *(str(p.counts()[name]) for name in (*sync_preview.COUNTS, "failed")))
            for p in shown
        ]
        self.stdout.write("Preview of a full synchronization (nothing is written):")
        self.stdout.write(format_table(rows, columns))
        for found in previews:
            self.write_details(found)
        if options["json"]:
            self.stdout.write(json.dumps({p.mapping.name: {"mode": p.mode, **p.counts()} for p in shown}))

    @staticmethod
    def preview_lines(review: list[full_sync.ReviewLine], names: list[str]) -> list[sync_preview.PreviewLine]:
        """The review's lines (every enabled mapping, or the named ones in dependency order)."""
        lines = [
            sync_preview.PreviewLine(mapping=line.mapping, recommendation=line.recommendation, problem=line.problem)
            for line in review
        ]
        if not names:
            return lines
        enabled = {line.mapping.name.upper(): line for line in lines}
        for name in names:
            if name.upper() in enabled:
                continue
            if IntegrationTableMapping.objects.filter(name__iexact=name).exists():
                raise CommandError(f"{name} is not enabled: a full synchronization leaves it out.")
            known = ", ".join(IntegrationTableMapping.objects.values_list("name", flat=True))
            raise CommandError(f"No mapping named {name}. The mappings are: {known}.")
        wanted = {name.upper() for name in names}
        return [line for line in lines if line.mapping.name.upper() in wanted]

    def write_details(self, found: sync_preview.MappingPreview) -> None:
        """Why a mapping would not run, and the examples of each outcome."""
        name = found.mapping.name
        if found.problem:
            self.stdout.write(f"{name}: {found.problem}")
        for note in found.notes:
            self.stdout.write(f"{name}: {note}")
        for row in found.rows():
            if not row["samples"]:
                continue
            self.stdout.write(f"{name} — {row['label']} ({row['count']}):")
            for sample in row["samples"]:
                self.stdout.write(f"  {sample.record}" + (f": {sample.message}" if sample.message else ""))
                if sample.candidates:
                    named = ", ".join(f"{c.name} ({c.crm_id})" for c in sample.candidates)
                    self.stdout.write(f"    candidates: {named}")
                for difference in sample.differences:
                    self.stdout.write(
                        f"    {difference.label}: ERP “{difference.erp_value}”, "
                        f"Dynamics 365 “{difference.crm_value}”{_flow(difference.flows)}"
                    )

    # --- run ----------------------------------------------------------------------------------------

    def run(self, options) -> None:
        if options["all"] == bool(options["mapping"]):
            raise CommandError("Name one mapping (e.g. crm_sync run CUSTOMER) or use --all.")
        if options["all"]:
            if options["direction"]:
                raise CommandError("--direction applies to one mapping; --all runs each in its own directions.")
            if options["full"]:
                return self.run_full_synchronization(wait=options["wait"])
            try:
                # Several mappings run one after the other (dependency order), one task for all.
                created = run_now.jobs_for_every_enabled_mapping(enqueue=not options["wait"])
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        else:
            created = [self.mapping_job(options)]

        if not options["wait"]:
            for job in created:
                self.stdout.write(f"Queued job #{job.pk}: {job.mapping_name} {job.get_direction_display().lower()}.")
            return

        self.report_jobs([jobs.job_run_to_end(job_id=job.pk, on_wait=self.say_waiting) for job in created])

    @staticmethod
    def mapping_job(options) -> SyncJob:
        mapping = IntegrationTableMapping.objects.filter(name__iexact=options["mapping"]).first()
        if mapping is None:
            known = ", ".join(IntegrationTableMapping.objects.values_list("name", flat=True))
            raise CommandError(f"No mapping named {options['mapping']}. The mappings are: {known}.")
        direction = DIRECTIONS[options["direction"]] if options["direction"] else mapping.job_direction
        try:
            return jobs.job_create(
                mapping=mapping, direction=direction, full=options["full"], enqueue=not options["wait"]
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None

    def say_waiting(self, job: SyncJob) -> None:
        """Once per job: what it waits for."""
        if job.pk in self.told_waiting:
            return
        self.told_waiting.add(job.pk)
        if job.waiting_for_id:
            self.stdout.write(f"#{job.pk} {job.mapping_name}: waiting for job #{job.waiting_for_id} to finish…")
        else:
            self.stdout.write(f"#{job.pk} {job.mapping_name}: another worker runs it; waiting for it to finish…")

    def report_jobs(self, finished: list[SyncJob]) -> None:
        """The counters of the jobs run; exit status 1 when records failed or a job could not run."""
        if finished:
            self.stdout.write(format_table([job_row(job) for job in finished]))
        for job in finished:
            if job.message:
                self.stdout.write(f"#{job.pk} {job.mapping_name}: {job.message}")
        failed_records = sum(job.failed for job in finished)
        failed_jobs = [job for job in finished if job.status in (SyncJob.Status.FAILED, SyncJob.Status.CANCELLED)]
        if failed_records or failed_jobs:
            problems = []
            if failed_records:
                problems.append(f"{failed_records} record{'s' if failed_records != 1 else ''} failed")
            if failed_jobs:
                problems.append(f"{len(failed_jobs)} job{'s' if len(failed_jobs) != 1 else ''} could not run")
            raise CommandError(f"{' and '.join(problems)}: see the synchronization errors page.", returncode=1)

    def run_full_synchronization(self, *, wait: bool) -> None:
        try:
            run = full_sync.full_sync_start(enqueue=not wait)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except (clients.CrmNotConfigured, dataverse.DataverseError, requests.RequestException) as error:
            raise CommandError(f"Dynamics 365 could not be asked what it holds: {error}") from None
        lines = list(run.lines.order_by("position"))
        rows = [
            (
                line.mapping_name,
                _count(line.erp_count),
                _count(line.crm_count, capped=line.crm_count == full_sync.CRM_COUNT_LIMIT),
                line.get_recommendation_display(),
            )
            for line in lines
        ]
        self.stdout.write(f"Full synchronization #{run.pk}:")
        self.stdout.write(format_table(rows, ("mapping", "erp", "dynamics 365", "recommendation")))
        if not wait:
            self.stdout.write(f"Queued full synchronization #{run.pk}: the worker runs the mappings in this order.")
            return
        run = full_sync.full_sync_run(run_id=run.pk)
        finished = full_sync.full_sync_jobs(run=run)
        for line in run.lines.order_by("position"):
            if line.status in (FullSyncLine.Status.SKIPPED, FullSyncLine.Status.FAILED):
                self.stdout.write(f"{line.mapping_name}: {line.get_status_display().lower()}. {line.message}")
        self.stdout.write(run.message)
        self.report_jobs(finished)
        # A line can fail before it has a job (e.g. its mapping changed meanwhile).
        if run.status != run.Status.FINISHED or run.lines.filter(status=FullSyncLine.Status.FAILED).exists():
            raise CommandError("The full synchronization did not finish every mapping.", returncode=1)


def _flow(flows: str) -> str:
    return {
        "to_crm": " → to Dynamics 365",
        "to_erp": " → to the ERP",
        "conflict": " (changed on both sides)",
    }.get(flows, "")


def _count(value: int | None, *, capped: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value}+" if capped else str(value)

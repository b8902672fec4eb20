"""The full synchronization review page (BC's "Dataverse Full Synch. Review"): per mapping what each side
holds, the recommendation, the last jobs; Preview (what Start would do now with the choices made, writing
nothing: syncjobs.engine.preview), Start (with a per-line choice), the running synchronization's live status,
and Cancel for a run no worker carries.

Seeing it needs ``syncjobs.view_syncjob``; previewing, starting or cancelling ``syncjobs.change_syncjob``. Its
"Synchronize modified records" buttons (per mapping, and for all: incremental jobs, not a full
synchronization) are syncjobs.runs.run_now_views', for ``syncjobs.add_syncjob``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from syncjobs import permissions
from syncjobs.connection import clients
from syncjobs.connection.clients import CRM_ERRORS, crm_problem
from syncjobs.engine import preview
from syncjobs.models import FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import full_sync, full_sync_outcome

LINE_FIELD_PREFIX = "line-"
# Seconds between two looks at a running full synchronization.
POLL_SECONDS = 3


def _last_jobs(mappings: list[IntegrationTableMapping]) -> dict[int, tuple[SyncJob | None, SyncJob | None]]:
    """Per mapping its last synchronization job to and from Dynamics 365, in two queries."""

    def latest(directions):
        return Subquery(
            SyncJob.objects.filter(mapping=OuterRef("pk"), kind=SyncJob.Kind.SYNCHRONIZATION, direction__in=directions)
            .order_by("-created_at", "-pk")
            .values("pk")[:1]
        )

    ids = IntegrationTableMapping.objects.filter(pk__in=[m.pk for m in mappings]).annotate(
        to_job=latest([SyncJob.JobDirection.TO_CRM, SyncJob.JobDirection.BOTH]),
        from_job=latest([SyncJob.JobDirection.FROM_CRM, SyncJob.JobDirection.BOTH]),
    )
    pairs = {row["pk"]: (row["to_job"], row["from_job"]) for row in ids.values("pk", "to_job", "from_job")}
    jobs = SyncJob.objects.in_bulk([job_id for pair in pairs.values() for job_id in pair if job_id])
    return {pk: (jobs.get(to_id), jobs.get(from_id)) for pk, (to_id, from_id) in pairs.items()}


def _run_context(run: FullSyncRun | None) -> dict:
    if run is None:
        return {"run": None}
    lines = list(run.lines.select_related("mapping", "coupling_job", "sync_job", "deferred_job").order_by("position"))
    return {
        "run": run,
        "run_lines": lines,
        "run_totals": full_sync_outcome.run_totals(run=run),
        "run_abandoned": full_sync.full_sync_is_abandoned(run=run),
        "poll_seconds": POLL_SECONDS,
    }


@permission_required(permissions.VIEW_JOBS, raise_exception=True)
@require_GET
def full_sync_review(request: HttpRequest) -> HttpResponse:
    return render(request, "syncjobs/full_sync.html", _page_context(request))


@permission_required(permissions.CHANGE_JOBS, raise_exception=True)
@require_POST
def full_sync_preview(request: HttpRequest) -> HttpResponse:
    """The page with what Start would do now, per mapping, with the choices made on it (nothing is written)."""
    try:
        chosen = _posted_choices(request.POST)
    except ValueError:
        messages.error(request, "The page was out of date: look at the review again.")
        return redirect("syncjobs:full_sync")
    return render(request, "syncjobs/full_sync.html", _page_context(request, chosen=chosen, previewing=True))


def _page_context(request: HttpRequest, *, chosen: dict[str, str] | None = None, previewing: bool = False) -> dict:
    active = full_sync.full_sync_active()
    context = {"title": "Full synchronization", **_run_context(active or full_sync.full_sync_latest())}
    if active is not None:
        return context
    # Counting asks Dynamics 365: only when a start is possible, not while a run is shown live.
    try:
        review = full_sync_outcome.review_with_last_runs()
    except CRM_ERRORS as error:
        context["crm_problem"] = crm_problem(error)
        review = []
    chosen = chosen or {}
    if previewing and review:
        context.update(_preview_context(review, chosen))
    last_jobs = _last_jobs([line.mapping for line in review])
    context["review"] = [
        {
            "line": line,
            "field_name": f"{LINE_FIELD_PREFIX}{line.mapping.pk}",
            "choices": _choices(line),
            "chosen": chosen.get(line.mapping.name, ""),
            "last_to": last_jobs.get(line.mapping.pk, (None, None))[0],
            "last_from": last_jobs.get(line.mapping.pk, (None, None))[1],
        }
        for line in review
    ]
    context["can_start"] = bool(review) and request.user.has_perm(permissions.CHANGE_JOBS)
    context["can_run_now"] = request.user.has_perm(permissions.START_JOBS)
    return context


def _preview_context(review: list[full_sync.ReviewLine], chosen: dict[str, str]) -> dict:
    """Each line's preview, as Start would run it with ``chosen`` (mapping name → choice); refused choices are said."""
    try:
        # The choices Start would refuse are refused here too, in the same words.
        full_sync._apply_overrides(review, chosen)
    except ValidationError as error:
        return {"preview_errors": error.messages}
    lines = [
        preview.PreviewLine(mapping=line.mapping, recommendation=line.recommendation, problem=line.problem)
        for line in review
    ]
    try:
        with clients.crm_client() as client:
            return {"previews": preview.full_sync_preview(client=client, lines=lines)}
    except CRM_ERRORS as error:
        return {"preview_errors": [crm_problem(error)]}


def _posted_choices(data) -> dict[str, str]:
    """The lines' choices a form posted (``line-<mapping pk>``), by mapping name; ValueError for an unknown line."""
    names = dict(IntegrationTableMapping.objects.values_list("pk", "name"))
    chosen = {}
    for key, value in data.items():
        if not key.startswith(LINE_FIELD_PREFIX) or not value:
            continue
        try:
            chosen[names[int(key.removeprefix(LINE_FIELD_PREFIX))]] = value
        except (ValueError, KeyError):
            raise ValueError(key) from None
    return chosen


def _choices(line: full_sync.ReviewLine) -> list[tuple[str, str]]:
    choices = [("", f"Recommended: {line.recommendation_label.lower()}")]
    for value in full_sync.OVERRIDES:
        if value == full_sync.Recommendation.COUPLE and line.mapping.is_option_mapping:
            continue
        choices.append((value, full_sync.Recommendation(value).label))
    return choices


@permission_required(permissions.VIEW_JOBS, raise_exception=True)
@require_GET
def full_sync_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the page, polled by htmx while the run is active."""
    run = get_object_or_404(FullSyncRun, pk=pk)
    response = render(request, "syncjobs/_full_sync_run.html", _run_context(run))
    if request.htmx and not run.is_active:
        # The review around the partial was left out while the run was active: show it whole now.
        response["HX-Refresh"] = "true"
    return response


@permission_required(permissions.CHANGE_JOBS, raise_exception=True)
@require_POST
def full_sync_start(request: HttpRequest) -> HttpResponse:
    try:
        overrides = _posted_choices(request.POST)
    except ValueError:
        messages.error(request, "The page was out of date: look at the review again.")
        return redirect("syncjobs:full_sync")
    try:
        # As the page recommended: after a finished run, not again what it did (full_sync_outcome).
        review = full_sync_outcome.review_with_last_runs() if full_sync.full_sync_active() is None else None
        run = full_sync.full_sync_start(user=request.user, overrides=overrides, review=review)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except CRM_ERRORS as error:
        messages.error(request, crm_problem(error))
    else:
        messages.success(
            request, f"Full synchronization #{run.pk} started: the mappings run one after the other in the background."
        )
    return redirect("syncjobs:full_sync")


@permission_required(permissions.CHANGE_JOBS, raise_exception=True)
@require_http_methods(["POST"])
def full_sync_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(FullSyncRun, pk=pk)
    try:
        full_sync.full_sync_cancel(run=run)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Full synchronization #{run.pk} cancelled; its mappings synchronize as usual again.")
    return redirect("syncjobs:full_sync")

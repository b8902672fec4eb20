""" "Synchronize modified records" now, from the mappings pages and the full synchronization page (BC's action on
each mapping), for one mapping or for all, and the live list of the jobs started for all.

Starting needs ``syncjobs.add_syncjob``; the jobs' pages (where a start leads) ``syncjobs.view_syncjob``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from syncjobs import permissions
from syncjobs.models import IntegrationTableMapping, SyncJob
from syncjobs.runs import run_now

# Seconds between two looks at the jobs started for every mapping (as the job page).
POLL_SECONDS = 2
# The most jobs one progress page follows (every mapping and the sales order jobs fit many times).
MAX_JOBS_FOLLOWED = 100


def _back(request: HttpRequest, default: str) -> str:
    """The page the button was on (a local address only), else ``default``."""
    back = request.POST.get("back", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
        return back
    return default


@permission_required(permissions.START_JOBS, raise_exception=True)
@require_POST
def mapping_synchronize(request: HttpRequest, pk: int) -> HttpResponse:
    """One mapping's incremental job, then its live job page."""
    mapping = get_object_or_404(IntegrationTableMapping, pk=pk)
    back = _back(request, mapping.get_absolute_url())
    try:
        job = run_now.mapping_synchronize_modified(mapping=mapping, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(
        request,
        format_html(
            'Synchronizing the modified records of {}: job <a href="{}">#{}</a>.',
            mapping.name,
            job.get_absolute_url(),
            job.pk,
        ),
    )
    return redirect(job.get_absolute_url() if request.user.has_perm(permissions.VIEW_JOBS) else back)


@permission_required(permissions.START_JOBS, raise_exception=True)
@require_POST
def mappings_synchronize_all(request: HttpRequest) -> HttpResponse:
    """Every enabled mapping's incremental job (dependency order) and the sales order jobs, then their live list."""
    back = _back(request, reverse("syncjobs:mapping_list"))
    try:
        created = run_now.every_mapping_synchronize_modified(user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(
        request,
        f"Synchronizing the modified records of every enabled mapping: {len(created)} jobs, "
        "one after the other, each mapping after those it depends on.",
    )
    if not request.user.has_perm(permissions.VIEW_JOBS):
        return redirect(back)
    return redirect(jobs_progress_url(created))


def jobs_progress_url(created: list[SyncJob]) -> str:
    return f"{reverse('syncjobs:jobs_progress')}?jobs={','.join(str(job.pk) for job in created)}"


def _job_ids(raw: str) -> list[int]:
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if part.isdigit() and int(part) not in ids:
            ids.append(int(part))
    return ids[:MAX_JOBS_FOLLOWED]


@permission_required(permissions.VIEW_JOBS, raise_exception=True)
@require_GET
def jobs_progress(request: HttpRequest) -> HttpResponse:
    """The jobs started together (``?jobs=1,2,3``), in the order they run; polled by htmx while any is unfinished."""
    ids = _job_ids(request.GET.get("jobs", ""))
    found = SyncJob.objects.in_bulk(ids)
    started = [found[pk] for pk in ids if pk in found]
    if not started:
        raise Http404("No such synchronization jobs.")
    context = {
        "title": "Synchronize modified records",
        "started": started,
        "running": any(not job.is_finished for job in started),
        "finished_count": sum(job.is_finished for job in started),
        "poll_url": request.get_full_path(),
        "poll_seconds": POLL_SECONDS,
    }
    template = "syncjobs/_jobs_progress.html" if request.htmx else "syncjobs/jobs_progress.html"
    return render(request, template, context)

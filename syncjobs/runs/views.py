"""The synchronization log: the jobs, a job's live page with its errors and warnings, deleting old jobs. Need
``syncjobs.view_syncjob`` (deleting: ``delete_syncjob``)."""

import django_tables2
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from nav_crm.ui.views import ObjectDetailView, ObjectListView, RelatedList
from syncjobs import permissions
from syncjobs.connection import selectors as connection_selectors
from syncjobs.errors import selectors
from syncjobs.errors import tables as error_tables
from syncjobs.models import (
    SyncJob,
)
from syncjobs.runs import filters, forms, jobs, tables
from syncjobs.runs import selectors as run_selectors


class JobListView(ObjectListView):
    model = SyncJob
    url_base = "syncjobs:job"
    table_class = tables.JobTable
    filterset_class = filters.JobFilterSet
    search_fields = ("mapping_name", "message")
    extensible = False
    template_name = "syncjobs/job_list.html"
    title = "Synchronization log"


def _error_table(request: HttpRequest, queryset, **options) -> error_tables.ErrorTable:
    return error_tables.ErrorTable(
        queryset, crm_server_url=connection_selectors.crm_connection_get().server_url, request=request, **options
    )


class JobDetailView(ObjectDetailView):
    model = SyncJob
    url_base = "syncjobs:job"
    template_name = "syncjobs/job_detail.html"

    def get_queryset(self):
        return SyncJob.objects.select_related("mapping", "created_by")

    def get_related_lists(self, instance):
        table = _error_table(
            self.request,
            selectors.sync_errors().filter(job=instance),
            prefix="errors-",
            exclude=("pk", "restore", "since", "times"),
        )
        django_tables2.RequestConfig(self.request, paginate={"per_page": 25}).configure(table)
        errors_url = f"{reverse('syncjobs:error_list')}?job={instance.pk}&show=all"
        related = [RelatedList("Errors", table, errors_url)]
        if instance.warnings.exists():
            warnings = error_tables.WarningTable(
                instance.warnings.all(),
                crm_server_url=connection_selectors.crm_connection_get().server_url,
                request=self.request,
                prefix="warnings-",
            )
            django_tables2.RequestConfig(self.request, paginate={"per_page": 25}).configure(warnings)
            related.append(RelatedList("Warnings", warnings))
        return related

    def get_extra_context(self, instance):
        return {"job": instance, "chosen": run_selectors.job_chosen_records(job=instance)}


@permission_required(permissions.VIEW_JOBS, raise_exception=True)
@require_GET
def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the job page, polled by htmx while the job runs."""
    job = get_object_or_404(SyncJob, pk=pk)
    response = render(request, "syncjobs/_job_status.html", {"job": job})
    if request.htmx and job.is_finished:
        # The page around the partial (its errors list) is as old as the job's start: show the outcome whole.
        response["HX-Refresh"] = "true"
    return response


@permission_required(permissions.DELETE_JOBS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def jobs_delete_old(request: HttpRequest) -> HttpResponse:
    """Delete the finished log entries older than N days, after showing how many that is."""
    form = forms.DeleteOldJobsForm(request.POST or None)
    context = {"title": "Delete old synchronization log entries", "form": form}
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["days"]
        if request.POST.get("confirmed") != "1":
            context["count"] = run_selectors.finished_jobs_older_than(days=days).count()
            context["days"] = days
            return render(request, "syncjobs/jobs_delete_old.html", context)
        deleted = jobs.jobs_delete_older_than(days=days)
        messages.success(request, f"{deleted} log entries older than {days} days deleted, with their errors.")
        return redirect("syncjobs:job_list")
    return render(request, "syncjobs/jobs_delete_old.html", context)

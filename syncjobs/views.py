"""Pages for the integration table mappings: list (bulk enable/disable), detail with its field
mappings, edit pages, and reset to defaults. All need ``syncjobs.manage_mappings``.

The synchronization log (jobs, with a live job page) and the synchronization errors (retry,
restore deleted counterpart, decouple, delete) need ``syncjobs.view_syncjob``; their actions
``change_syncjob`` or ``delete_syncjob``.
"""

import django_tables2
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET, require_http_methods

from nav_crm.ui import BulkAction, BulkResult, per_record
from nav_crm.ui.views import ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView, RelatedList
from syncjobs import clients, dependencies, filters, forms, jobs, selectors, tables
from syncjobs import services as sync_services
from syncjobs.coupling_ui.views import CRM_ERRORS, crm_problem
from syncjobs.mappings import services
from syncjobs.models import (
    Direction,
    IntegrationFieldMapping,
    IntegrationTableMapping,
    RecordTemplate,
    SyncJob,
    SyncJobError,
)

MANAGE_MAPPINGS = "syncjobs.manage_mappings"


class ManageMappingsMixin:
    """Every mapping page needs the one permission to manage mappings, whatever it shows or changes."""

    def get_permission_required(self):
        return (MANAGE_MAPPINGS,)

    def page_url_if_permitted(self, page: str, action: str, *args) -> str | None:
        return self.url_for(page, *args) if self.request.user.has_perm(MANAGE_MAPPINGS) else None


def _enabling(enabled: bool):
    def set_enabled(mapping) -> None:
        services.mapping_set_enabled(mapping=mapping, enabled=enabled)

    return set_enabled


ENABLE = BulkAction(
    name="enable",
    label="Enable selected",
    permission=MANAGE_MAPPINGS,
    handler=per_record(_enabling(True)),
    done_verb="enabled",
    icon="check-circle",
)
DISABLE = BulkAction(
    name="disable",
    label="Disable selected",
    permission=MANAGE_MAPPINGS,
    handler=per_record(_enabling(False)),
    done_verb="disabled",
    icon="slash-circle",
)


class MappingListView(ManageMappingsMixin, ObjectListView):
    model = IntegrationTableMapping
    url_base = "syncjobs:mapping"
    table_class = tables.MappingTable
    filterset_class = filters.MappingFilterSet
    search_fields = ("name", "title", "crm_entity")
    bulk_actions = (ENABLE, DISABLE)
    extensible = False
    template_name = "syncjobs/mapping_list.html"
    title = "Integration table mappings"

    def get_queryset(self):
        return IntegrationTableMapping.objects.select_related("erp_model").prefetch_related("depends_on")


class MappingDetailView(ManageMappingsMixin, ObjectDetailView):
    model = IntegrationTableMapping
    url_base = "syncjobs:mapping"
    template_name = "syncjobs/mapping_detail.html"
    fields = (
        "title",
        "erp_model",
        "crm_entity",
        "crm_entity_set",
        "direction",
        "is_enabled",
        "erp_filter",
        "crm_filter",
        "sync_only_coupled",
        "update_conflict_policy",
        "deletion_policy",
        "create_new_if_no_match",
        "sync_after_bulk_coupling",
        "is_option_mapping",
        "crm_option_attribute",
        "sync_interval_minutes",
        "inactivity_timeout_minutes",
        "erp_watermark",
        "crm_watermark",
        "full_sync_running",
    )

    def get_queryset(self):
        return IntegrationTableMapping.objects.select_related("erp_model")

    def field_rows(self, instance):
        rows = super().field_rows(instance)
        depends_on = ", ".join(mapping.name for mapping in instance.depends_on.all()) or "—"
        rows.insert(5, ("Depends on", depends_on))
        return rows

    def get_related_lists(self, instance):
        field_mappings = instance.field_mappings.select_related("lookup_mapping")
        return [RelatedList("Field mappings", self.related_table(tables.FieldMappingTable, field_mappings, "fields"))]

    def get_extra_context(self, instance):
        if instance.is_option_mapping:
            return {}
        return {
            "record_templates": self.related_table(
                tables.RecordTemplateTable, instance.record_templates.all(), "templates"
            ),
            "record_template_create_url": reverse("syncjobs:record_template_create", args=[instance.pk]),
            "creates_from_crm": instance.direction != Direction.TO_CRM,
        }


class MappingEditView(ManageMappingsMixin, ObjectEditView):
    model = IntegrationTableMapping
    url_base = "syncjobs:mapping"
    form_class = forms.MappingForm

    def save_object(self, form):
        return services.mapping_save(mapping=form.instance, depends_on=form.cleaned_data["depends_on"])


class FieldMappingEditView(ManageMappingsMixin, ObjectEditView):
    model = IntegrationFieldMapping
    url_base = "syncjobs:field_mapping"
    form_class = forms.FieldMappingForm

    def get_object(self):
        return get_object_or_404(
            IntegrationFieldMapping.objects.select_related("table_mapping__erp_model"),
            pk=self.kwargs["pk"],
            table_mapping_id=self.kwargs["mapping_pk"],
        )

    def save_object(self, form):
        return services.field_mapping_save(field_mapping=form.instance)


class RecordTemplateMixin(ManageMappingsMixin):
    """A template for new ERP records, reached under its own (non-option) mapping only."""

    model = RecordTemplate
    url_base = "syncjobs:record_template"

    def get_mapping(self) -> IntegrationTableMapping:
        return get_object_or_404(
            IntegrationTableMapping.objects.select_related("erp_model"),
            pk=self.kwargs["mapping_pk"],
            is_option_mapping=False,
        )

    def get_object(self):
        mapping = self.get_mapping()
        if "pk" not in self.kwargs:
            return RecordTemplate(mapping=mapping)
        template = get_object_or_404(RecordTemplate, pk=self.kwargs["pk"], mapping=mapping)
        template.mapping = mapping
        return template


class RecordTemplateEditView(RecordTemplateMixin, ObjectEditView):
    form_class = forms.RecordTemplateForm

    def save_object(self, form):
        return services.record_template_save(template=form.instance)

    def render_form(self, form, instance):
        mapping = instance.mapping
        title = (
            f"Edit template {instance.code} of {mapping.name}" if instance.pk else f"New template for {mapping.name}"
        )
        context = {
            "view": self,
            "form": form,
            "object": instance,
            "title": title,
            "cancel_url": mapping.get_absolute_url(),
        }
        return render(self.request, self.template_name, context)


class RecordTemplateDeleteView(RecordTemplateMixin, ObjectDeleteView):
    def delete_object(self, instance):
        services.record_template_delete(template=instance)

    def post(self, request, *args, **kwargs):
        # The mapping's page, not a list of templates: they have none of their own.
        instance = self.get_object()
        self.delete_object(instance)
        messages.success(request, f"Record template {instance.code} deleted.")
        return redirect(instance.mapping.get_absolute_url() + "#templates")


@permission_required(MANAGE_MAPPINGS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def mapping_reset(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        mappings = services.mapping_reset_to_defaults()
        messages.success(request, f"{len(mappings)} integration table mappings reset to their defaults.")
        return redirect("syncjobs:mapping_list")
    return render(request, "syncjobs/mapping_reset.html", {"title": "Reset integration mappings to defaults"})


# --- Synchronization log and errors ---------------------------------------------------------------------

VIEW_JOBS = "syncjobs.view_syncjob"
CHANGE_JOBS = "syncjobs.change_syncjob"
DELETE_JOBS = "syncjobs.delete_syncjob"


class JobListView(ObjectListView):
    model = SyncJob
    url_base = "syncjobs:job"
    table_class = tables.JobTable
    filterset_class = filters.JobFilterSet
    search_fields = ("mapping_name", "message")
    extensible = False
    template_name = "syncjobs/job_list.html"
    title = "Synchronization log"


def _error_table(request: HttpRequest, queryset, **options) -> tables.ErrorTable:
    return tables.ErrorTable(
        queryset, crm_server_url=selectors.crm_connection_get().server_url, request=request, **options
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
            warnings = tables.WarningTable(
                instance.warnings.all(),
                crm_server_url=selectors.crm_connection_get().server_url,
                request=self.request,
                prefix="warnings-",
            )
            django_tables2.RequestConfig(self.request, paginate={"per_page": 25}).configure(warnings)
            related.append(RelatedList("Warnings", warnings))
        return related

    def get_extra_context(self, instance):
        return {"job": instance}


@permission_required(VIEW_JOBS, raise_exception=True)
@require_GET
def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the job page, polled by htmx while the job runs."""
    job = get_object_or_404(SyncJob, pk=pk)
    response = render(request, "syncjobs/_job_status.html", {"job": job})
    if request.htmx and job.is_finished:
        # The page around the partial (its errors list) is as old as the job's start: show the outcome whole.
        response["HX-Refresh"] = "true"
    return response


@permission_required(DELETE_JOBS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def jobs_delete_old(request: HttpRequest) -> HttpResponse:
    """Delete the finished log entries older than N days, after showing how many that is."""
    form = forms.DeleteOldJobsForm(request.POST or None)
    context = {"title": "Delete old synchronization log entries", "form": form}
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["days"]
        if request.POST.get("confirmed") != "1":
            context["count"] = selectors.finished_jobs_older_than(days=days).count()
            context["days"] = days
            return render(request, "syncjobs/jobs_delete_old.html", context)
        deleted = jobs.jobs_delete_older_than(days=days)
        messages.success(request, f"{deleted} log entries older than {days} days deleted, with their errors.")
        return redirect("syncjobs:job_list")
    return render(request, "syncjobs/jobs_delete_old.html", context)


def _retry(*, request: HttpRequest, queryset) -> BulkResult:
    chosen = list(queryset)  # read before the retry: a record that then synchronizes no longer fails now
    queryset = SyncJobError.objects.filter(pk__in=[error.pk for error in chosen])
    created, refused = jobs.job_errors_retry(errors=queryset, user=request.user)
    refused_pks = {error.pk for error, _ in refused}
    for job in created:
        messages.info(
            request,
            format_html('Job <a href="{}">#{}</a> synchronizes the records again.', job.get_absolute_url(), job.pk),
        )
    return BulkResult(done=[error for error in chosen if error.pk not in refused_pks], failed=refused)


def _restore(*, request: HttpRequest, queryset) -> BulkResult:
    try:
        outcome = sync_services.job_errors_restore(errors=queryset, user=request.user)
    except CRM_ERRORS as error:
        messages.error(request, f"Nothing was restored: {crm_problem(error)}")
        return BulkResult()
    for job in outcome.jobs:
        messages.info(
            request,
            format_html('Job <a href="{}">#{}</a> recreates the deleted records.', job.get_absolute_url(), job.pk),
        )
    if outcome.referring:
        messages.info(
            request,
            f"{outcome.referring} record{'s' if outcome.referring != 1 else ''} referring to them "
            "(e.g. a customer's contacts) will point to the recreated rows after their mapping's next run.",
        )
    return BulkResult(done=outcome.restored, failed=outcome.refused)


def _couple_and_retry(*, request: HttpRequest, queryset) -> BulkResult:
    """Match-based coupling of the records the failed ones refer to and that are not coupled, then the retry."""
    chosen = list(queryset)
    created, refused = dependencies.job_errors_couple_parents_and_retry(
        errors=SyncJobError.objects.filter(pk__in=[error.pk for error in chosen]), user=request.user
    )
    if created:
        links = format_html_join(", ", '<a href="{}">#{}</a>', ((job.get_absolute_url(), job.pk) for job in created))
        messages.info(
            request, format_html("Jobs {} couple the records they refer to, then synchronize them again.", links)
        )
    refused_pks = {error.pk for error, _ in refused}
    return BulkResult(done=[error for error in chosen if error.pk not in refused_pks], failed=refused)


def _decouple(error: SyncJobError) -> None:
    if not jobs.job_error_decouple(error=error):
        raise ValidationError("The record is not coupled.")


def _delete(*, request: HttpRequest, queryset) -> BulkResult:
    errors = list(queryset)
    jobs.job_errors_delete(errors=queryset)
    return BulkResult(done=errors)


RETRY = BulkAction(
    name="retry",
    label="Retry",
    permission=CHANGE_JOBS,
    handler=_retry,
    done_verb="retried",
    icon="arrow-repeat",
    style="outline-primary",
)
RESTORE = BulkAction(
    name="restore",
    label="Restore deleted counterpart",
    permission=CHANGE_JOBS,
    handler=_restore,
    done_verb="restored",
    icon="arrow-counterclockwise",
    style="outline-primary",
)
COUPLE_AND_RETRY = BulkAction(
    name="couple_and_retry",
    label="Couple by match and retry",
    permission=CHANGE_JOBS,
    handler=_couple_and_retry,
    done_verb="coupled by match and retried",
    icon="link",
    style="outline-primary",
)
DECOUPLE = BulkAction(
    name="decouple",
    label="Decouple",
    permission=CHANGE_JOBS,
    handler=per_record(_decouple),
    done_verb="decoupled",
    icon="link-45deg",
    confirm="Decouple the records of these errors from their Dynamics 365 rows?",
)
DELETE = BulkAction(
    name="delete",
    label="Delete",
    permission=DELETE_JOBS,
    handler=_delete,
    done_verb="deleted",
    icon="trash",
    style="outline-danger",
    confirm="Delete these error entries? The records and their couplings stay as they are.",
)


class ErrorListView(ObjectListView):
    model = SyncJobError
    url_base = "syncjobs:error"
    table_class = tables.ErrorTable
    filterset_class = filters.ErrorFilterSet
    search_fields = ("message", "erp_label", "job__mapping_name")
    bulk_actions = (RETRY, COUPLE_AND_RETRY, RESTORE, DECOUPLE, DELETE)
    extensible = False
    template_name = "syncjobs/error_list.html"
    title = "Synchronization errors"
    # Asking Dynamics 365 which rows of a page exist must not hold the page up for long.
    crm_check_timeout_seconds = 10.0

    def get_permission_required(self):
        return (VIEW_JOBS,)

    def get_queryset(self):
        if self.showing_history:
            return selectors.sync_errors()
        return selectors.current_sync_errors()

    @property
    def showing_history(self) -> bool:
        """Every error row of every job (the log's history), instead of what is wrong now."""
        return self.request.GET.get("show") == "all"

    def get_table(self, queryset, *, selectable):
        table = super().get_table(queryset, selectable=selectable)
        table.crm_server_url = selectors.crm_connection_get().server_url
        if self.showing_history:
            table.columns.hide("since")
            table.columns.hide("times")
        self.restore_problem = ""
        if self.request.user.has_perm(RESTORE.permission):
            table.restore_plans = self.restore_plans([row.record for row in table.page.object_list])
        if not any(plan.applies for plan in table.restore_plans.values()):
            table.columns.hide("restore")
        self.table_shown = table
        return table

    def restore_plans(self, errors: list[SyncJobError]) -> dict[int, selectors.ErrorRestorePlan]:
        """Where "Restore deleted counterpart" applies on this page; nothing when Dynamics 365 cannot say."""
        if not errors:
            return {}
        try:
            with clients.crm_client(timeout=self.crm_check_timeout_seconds, max_retries=1) as client:
                return selectors.error_restore_plans(errors=errors, client=client)
        except clients.CrmNotConfigured:
            return {}  # nothing is synchronized yet: there is nothing to say about counterparts
        except CRM_ERRORS as error:
            self.restore_problem = crm_problem(error)
            return {}

    def get_extra_context(self) -> dict:
        restore_offered = any(plan.applies for plan in self.table_shown.restore_plans.values())
        actions = self.permitted_bulk_actions()
        if not restore_offered:
            actions = [action for action in actions if action is not RESTORE]
        return {
            "bulk_actions": actions,
            "restore_offered": restore_offered,
            "restore_problem": self.restore_problem,
            "showing_history": self.showing_history,
        }

    def verbose_name(self, count: int) -> str:
        return "error" if count == 1 else "errors"

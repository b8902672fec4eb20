"""The coupling pages and the bulk actions they start from on the ERP's list pages."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.html import format_html
from django.views import View
from django.views.decorators.http import require_POST

from coupling import dependencies, forms
from coupling import selectors as coupling_selectors
from coupling import workflows as services
from coupling.models import system_id_of
from coupling.workflows import match_coupling_start, match_criteria_save
from nav_crm.records import describe_record, plural
from nav_crm.ui import BulkResult
from syncjobs import permissions
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.connection.clients import CRM_ERRORS, crm_problem
from syncjobs.connection.selectors import connection_page_url
from syncjobs.engine import crm_queries, preview
from syncjobs.engine.context import crm_noun
from syncjobs.engine.matching import match_fields
from syncjobs.mappings.selectors import crm_attribute_labels, mapping_or_404, record_mapping, record_or_404
from syncjobs.models import Direction, IntegrationTableMapping, SyncJob

PER_PAGE = 25
# "Match-based coupling" on more selected records than this runs for every uncoupled record instead.
MAX_SELECTED_FOR_MATCHING = 5000


def job_link(job: SyncJob) -> str:
    return format_html('<a href="{}">job #{}</a>', job.get_absolute_url(), job.pk)


# --- Couple one record ------------------------------------------------------------------------------------


class CoupleRecordView(PermissionRequiredMixin, View):
    """BC's "Set Up Coupling" page: pick an uncoupled CRM row (searchable) or create new; synchronize after."""

    permission_required = "coupling.add_coupling"
    template_name = "coupling/couple.html"

    def setup_objects(self):
        self.mapping = mapping_or_404(self.kwargs["mapping_pk"])
        self.record = record_or_404(self.mapping, self.kwargs["system_id"])

    def page_number(self) -> int:
        try:
            return max(1, int(self.request.GET.get("page", "1")))
        except ValueError:
            return 1

    def render_page(self, form: forms.CoupleForm) -> HttpResponse:
        connection = connection_selectors.crm_connection_get()
        coupling = coupling_selectors.coupling_for_record(record=self.record)
        context: dict[str, Any] = {
            "title": f"Couple {describe_record(self.record)} with Dynamics 365",
            "mapping": self.mapping,
            "record": self.record,
            "form": form,
            "coupling": coupling,
            "q": self.request.GET.get("q", ""),
            "connection_url": connection_page_url(),
            "can_create": self.mapping.direction != Direction.FROM_CRM,
            # Every record it refers to that must be coupled first, said up front rather than one failure a run.
            "uncoupled_parents": dependencies.uncoupled_parents(mapping=self.mapping, record=self.record),
        }
        if coupling is not None:
            context["open_url"] = crm_queries.crm_record_url(
                server_url=connection.server_url, crm_entity=coupling.crm_entity, crm_id=coupling.crm_id
            )
            context["crm_noun"] = crm_noun(coupling.crm_entity)
            context["crm_name"] = coupling_selectors.crm_row_name(self.mapping, coupling)
        else:
            try:
                with clients.crm_client(connection=connection) as client:
                    context["rows"] = crm_queries.uncoupled_crm_rows(
                        client=client,
                        mapping=self.mapping,
                        search=context["q"],
                        page=self.page_number(),
                        per_page=PER_PAGE,
                    )
            except CRM_ERRORS as error:
                context["crm_error"] = crm_problem(error)
                context["crm_not_configured"] = isinstance(error, clients.CrmNotConfigured)
        return render(self.request, self.template_name, context)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.setup_objects()
        return self.render_page(forms.CoupleForm(can_create=self.mapping.direction != Direction.FROM_CRM))

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        self.setup_objects()
        form = forms.CoupleForm(request.POST, can_create=self.mapping.direction != Direction.FROM_CRM)
        job: SyncJob | None  # the job started: to create the row, or to synchronize after coupling (if asked)
        if form.is_valid():
            sync = form.cleaned_data["sync"]
            if (form.cleaned_data["create_new"] or sync) and not request.user.has_perm(permissions.START_JOBS):
                form.add_error(None, "You may couple, but not start synchronization jobs: choose “No”.")
                return self.render_page(form)
            try:
                if form.cleaned_data["create_new"]:
                    _, job = services.record_couple_new(mapping=self.mapping, record=self.record, user=request.user)
                    messages.success(
                        request,
                        format_html("{} will be created in Dynamics 365 by {}.", self.record, job_link(job)),
                    )
                else:
                    coupling, job = services.record_couple(
                        mapping=self.mapping,
                        record=self.record,
                        crm_id=form.cleaned_data["crm_id"],
                        sync=sync,
                        user=request.user,
                    )
                    text = format_html("{} coupled with a {}.", self.record, crm_noun(coupling.crm_entity))
                    if job is not None:
                        text = format_html("{} Synchronizing: {}.", text, job_link(job))
                    messages.success(request, text)
            except ValidationError as error:
                form.add_error(None, " ".join(error.messages))
                return self.render_page(form)
            return redirect(resolve_url(self.record))  # the record's page: its get_absolute_url()
        return self.render_page(form)


# --- Synchronize now: the direction when both sides changed -------------------------------------------------


@require_POST
@permission_required(permissions.START_JOBS, raise_exception=True)
def synchronize_records(request: HttpRequest, mapping_pk: int) -> HttpResponse:
    """The answer to "changed on both sides": synchronize the records in the chosen direction."""
    mapping = mapping_or_404(mapping_pk)
    model = mapping.erp_model.model_class()
    if model is None:
        raise Http404("The mapping's ERP table no longer exists.")  # as syncjobs.mappings.selectors.record_or_404
    system_ids = _uuids(request.POST.getlist("system_id"))
    records = list(model._default_manager.filter(system_id__in=system_ids))
    back = _safe_back(request)
    form = forms.DirectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose which side's data to use.")
        return redirect(back)
    coupled, _ = services.coupled_records(records=records)
    try:
        job = services.records_synchronize(
            mapping=mapping, records=coupled, direction=form.cleaned_data["direction"], user=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    messages.success(request, format_html("{} records queued for synchronization: {}.", len(coupled), job_link(job)))
    return redirect(back)


def _uuids(values: list[str]) -> list[uuid.UUID]:
    result = []
    for value in values:
        try:
            result.append(uuid.UUID(value))
        except ValueError:
            continue
    return result


def _safe_back(request: HttpRequest) -> str:
    back = request.POST.get("back", "")
    return back if back.startswith("/") and not back.startswith("//") else reverse("home")


# --- Match-based coupling ----------------------------------------------------------------------------------


class MatchCouplingView(PermissionRequiredMixin, View):
    """BC's "Select Coupling Criteria": per field match on / case-sensitive / priority, then a coupling job.

    Preview shows, with the criteria and options on the page (not saved), what the coupling and the job it
    starts would do now: records coupled, with several possible matches, without one, created, updated."""

    permission_required = ("coupling.add_coupling", permissions.START_JOBS)
    template_name = "coupling/match.html"

    def rows(self, mapping: IntegrationTableMapping, data=None) -> list[dict]:
        # The attributes by the names Dynamics 365 shows (its logical names when it cannot be asked now).
        labels = crm_attribute_labels(mapping=mapping)
        rows = []
        for field in match_fields(mapping=mapping):
            prefix = f"f{field.pk}"
            if data is not None:
                use = data.get(f"{prefix}-use") == "on"
                case = data.get(f"{prefix}-case") == "on"
                priority_text = data.get(f"{prefix}-priority", "0").strip() or "0"
            else:
                use, case, priority_text = (
                    field.use_for_match_based_coupling,
                    field.case_sensitive_matching,
                    str(field.match_priority),
                )
            rows.append(
                {
                    "field": field,
                    "crm_label": labels.get(field.crm_attribute, field.crm_attribute),
                    "prefix": prefix,
                    "use": use,
                    "case": case,
                    "priority": priority_text,
                    "error": "",
                }
            )
        return rows

    def render_page(self, mapping, rows, options, system_ids, errors=(), back="", previewed=None) -> HttpResponse:
        context = {
            "title": f"Match-based coupling: {mapping.title}",
            "mapping": mapping,
            "rows": rows,
            "options": options,
            "system_ids": system_ids,
            "errors": errors,
            "back": back or (_safe_back(self.request) if "back" in self.request.POST else ""),
            **(previewed or {}),
        }
        return render(self.request, self.template_name, context)

    def get(self, request: HttpRequest, mapping_pk: int) -> HttpResponse:
        mapping = mapping_or_404(mapping_pk)
        return self.render_page(mapping, self.rows(mapping), self.initial_options(mapping), [])

    def post(self, request: HttpRequest, mapping_pk: int) -> HttpResponse:
        mapping = mapping_or_404(mapping_pk)
        system_ids = [str(i) for i in _uuids(request.POST.getlist("system_id"))]
        rows = self.rows(mapping, request.POST)
        options = forms.MatchOptionsForm(request.POST)
        criteria, invalid = {}, False
        for row in rows:
            try:
                priority = int(row["priority"])
                if not 0 <= priority <= 1000:
                    raise ValueError
            except ValueError:
                row["error"] = "Enter a whole number from 0 to 1000."
                invalid = True
                continue
            criteria[row["field"].pk] = (row["use"], row["case"], priority)
        if invalid or not options.is_valid():
            return self.render_page(mapping, rows, options, system_ids)
        if "preview" in request.POST:
            previewed = self.preview(mapping, criteria, options.cleaned_data, system_ids)
            return self.render_page(mapping, rows, options, system_ids, previewed=previewed)
        try:
            match_criteria_save(mapping=mapping, criteria=criteria, **options.cleaned_data)
            job = match_coupling_start(mapping=mapping, erp_system_ids=system_ids or None, user=request.user)
        except ValidationError as error:
            return self.render_page(mapping, rows, options, system_ids, errors=error.messages)
        scope = f"{len(system_ids)} selected records" if system_ids else "every uncoupled record"
        messages.success(request, format_html("Match-based coupling of {} started: {}.", scope, job_link(job)))
        return redirect(job.get_absolute_url())

    @staticmethod
    def preview(mapping: IntegrationTableMapping, criteria: dict, options: dict, system_ids: list[str]) -> dict:
        """What Start coupling would do now with these criteria and options, written nowhere."""
        try:
            with clients.crm_client() as client:
                found = preview.mapping_preview(
                    client=client,
                    mapping=mapping,
                    mode=preview.MATCH,
                    erp_system_ids=system_ids or None,
                    match_criteria=criteria,
                    **options,
                )
        except CRM_ERRORS as error:
            return {"preview_errors": [crm_problem(error)]}
        return {"previews": [found]}

    @staticmethod
    def initial_options(mapping: IntegrationTableMapping) -> forms.MatchOptionsForm:
        return forms.MatchOptionsForm(
            initial={
                "create_new_if_no_match": mapping.create_new_if_no_match,
                "sync_after_bulk_coupling": mapping.sync_after_bulk_coupling,
            }
        )


# --- From the CRM side: uncoupled rows, create them in the ERP ------------------------------------------------


class UncoupledCrmRowsView(PermissionRequiredMixin, View):
    permission_required = "coupling.view_coupling"
    template_name = "coupling/uncoupled.html"

    def get(self, request: HttpRequest, mapping_pk: int) -> HttpResponse:
        mapping = mapping_or_404(mapping_pk)
        q = request.GET.get("q", "")
        try:
            page = max(1, int(request.GET.get("page", "1")))
        except ValueError:
            page = 1
        context: dict[str, Any] = {
            "title": f"Uncoupled Dynamics 365 rows: {mapping.title}",
            "mapping": mapping,
            "crm_noun_plural": plural(crm_noun(mapping.crm_entity)),
            "q": q,
            "connection_url": connection_page_url(),
            "can_create": mapping.direction != Direction.TO_CRM and request.user.has_perm(permissions.START_JOBS),
        }
        connection = connection_selectors.crm_connection_get()
        try:
            with clients.crm_client(connection=connection) as client:
                context["rows"] = crm_queries.uncoupled_crm_rows(
                    client=client, mapping=mapping, search=q, page=page, per_page=PER_PAGE
                )
        except CRM_ERRORS as error:
            context["crm_error"] = crm_problem(error)
            context["crm_not_configured"] = isinstance(error, clients.CrmNotConfigured)
        else:
            for row in context["rows"].rows:
                row["open_url"] = crm_queries.crm_record_url(
                    server_url=connection.server_url, crm_entity=mapping.crm_entity, crm_id=row["id"]
                )
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest, mapping_pk: int) -> HttpResponse:
        if not request.user.has_perm(permissions.START_JOBS):
            raise PermissionDenied("You may not start synchronization jobs.")
        mapping = mapping_or_404(mapping_pk)
        back = request.get_full_path()
        try:
            job = services.crm_rows_create_in_erp(
                mapping=mapping, crm_ids=request.POST.getlist("crm_id"), user=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(back)
        count = len(job.parameters["crm_ids"])
        messages.success(request, format_html("{} rows will be created in the ERP by {}.", count, job_link(job)))
        return redirect(back)


# --- Bulk actions on the ERP's list pages -------------------------------------------------------------------


def _mapping_for_list(request: HttpRequest, queryset: models.QuerySet) -> IntegrationTableMapping | None:
    mapping = record_mapping(model=queryset.model)
    if mapping is None:
        messages.error(
            request,
            f"No enabled integration table mapping synchronizes {queryset.model._meta.verbose_name_plural}.",
        )
    return mapping


def couple_action(*, request: HttpRequest, queryset: models.QuerySet) -> HttpResponse | BulkResult:
    back = request.get_full_path()
    mapping = _mapping_for_list(request, queryset)
    if mapping is None:
        return redirect(back)
    if queryset.count() != 1:
        messages.warning(request, "Select one record to couple: it is coupled on a page of its own.")
        return redirect(back)
    record = queryset.get()
    return redirect("coupling:record", mapping_pk=mapping.pk, system_id=record.system_id)


def synchronize_action(*, request: HttpRequest, queryset: models.QuerySet) -> HttpResponse | BulkResult:
    back = request.get_full_path()
    mapping = _mapping_for_list(request, queryset)
    if mapping is None:
        return redirect(back)
    coupled, not_coupled = services.coupled_records(records=list(queryset))
    result = BulkResult(failed=[(record, "It is not coupled with Dynamics 365.") for record in not_coupled])
    if not coupled:
        return result
    if mapping.direction == Direction.BIDIRECTIONAL:
        try:
            with clients.crm_client() as client:
                both = crm_queries.changed_on_both_sides(client=client, mapping=mapping, records=coupled)
        except CRM_ERRORS as error:
            messages.error(request, crm_problem(error))
            return redirect(back)
        if both:
            return render(
                request,
                "coupling/both_changed.html",
                {
                    "title": "Changed on both sides",
                    "mapping": mapping,
                    "both": both,
                    "records": coupled,
                    "form": forms.DirectionForm(),
                    "back": back,
                },
            )
    job = services.records_synchronize(mapping=mapping, records=coupled, user=request.user)
    messages.info(request, format_html("Synchronization started: {}.", job_link(job)))
    result.done = coupled
    return result


def decouple_action(*, request: HttpRequest, queryset: models.QuerySet) -> HttpResponse | BulkResult:
    mapping = _mapping_for_list(request, queryset)
    if mapping is None:
        return redirect(request.get_full_path())
    records = list(queryset)
    coupled, not_coupled = services.coupled_records(records=records)
    result = BulkResult(failed=[(record, "It is not coupled.") for record in not_coupled])
    decoupled, job = services.records_decouple(mapping=mapping, records=coupled, user=request.user)
    if job is not None:
        messages.info(request, format_html("{} records will be decoupled by {}.", len(coupled), job_link(job)))
        return result
    result.done = decoupled
    return result


def match_action(*, request: HttpRequest, queryset: models.QuerySet) -> HttpResponse | BulkResult:
    back = request.get_full_path()
    mapping = _mapping_for_list(request, queryset)
    if mapping is None:
        return redirect(back)
    _, uncoupled = services.coupled_records(records=list(queryset[: MAX_SELECTED_FOR_MATCHING + 1]))
    if not uncoupled:
        messages.warning(request, "Every selected record is coupled already.")
        return redirect(back)
    if len(uncoupled) > MAX_SELECTED_FOR_MATCHING:
        messages.info(request, "Many records are selected: the coupling will look at every uncoupled record.")
        uncoupled = []
    view = MatchCouplingView()
    view.request = request
    system_ids = [str(system_id_of(record)) for record in uncoupled]
    return view.render_page(mapping, view.rows(mapping), view.initial_options(mapping), system_ids, back=back)

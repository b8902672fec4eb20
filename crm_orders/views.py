"""The "Dynamics 365 sales orders" page: submitted orders not yet in the ERP, Create in ERP, automatic creation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.views import View

from coupling.views import job_link
from crm_orders import selectors, services
from crm_orders.forms import AutomaticCreationForm, CopiedFieldsForm
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.connection.clients import CRM_ERRORS, crm_problem
from syncjobs.connection.selectors import connection_page_url


class SubmittedOrdersView(PermissionRequiredMixin, View):
    permission_required = "crm_orders.process_crm_orders"
    template_name = "crm_orders/submitted_orders.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request)

    def render_page(self, request: HttpRequest, form=None, fields_form=None) -> HttpResponse:
        connection = connection_selectors.crm_connection_get()
        context = {
            "title": "Dynamics 365 sales orders",
            "connection": connection,
            "form": form or AutomaticCreationForm(instance=connection),
            "fields_form": fields_form or CopiedFieldsForm.for_connection(connection),
            "connection_url": connection_page_url(),
            "jobs": selectors.recent_order_jobs(),
        }
        if connection.is_enabled and connection.sales_order_integration_enabled:
            try:
                with clients.crm_client(connection=connection) as client:
                    context["orders"] = selectors.submitted_orders(client=client)
            except CRM_ERRORS as error:
                context["crm_error"] = crm_problem(error)
                context["crm_not_configured"] = isinstance(error, clients.CrmNotConfigured)
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest) -> HttpResponse:
        if "save_automatic" in request.POST:
            form = AutomaticCreationForm(request.POST, instance=connection_selectors.crm_connection_get())
            if not form.is_valid():
                return self.render_page(request, form=form)
            form.save()
            messages.success(request, "Automatic creation of sales orders saved.")
            return redirect(request.path)
        if "save_fields" in request.POST:
            fields_form = CopiedFieldsForm.for_connection(connection_selectors.crm_connection_get(), request.POST)
            if not fields_form.is_valid():
                return self.render_page(request, fields_form=fields_form)
            services.copied_fields_save(left_out=fields_form.left_out())
            messages.success(request, "The values taken over from Dynamics 365 orders are saved.")
            return redirect(request.path)
        chosen = None if "create_all" in request.POST else request.POST.getlist("crm_id")
        if chosen is not None and not chosen:
            messages.error(request, "Choose the orders to create in the ERP.")
            return redirect(request.path)
        try:
            job = services.order_intake_job_create(crm_ids=chosen, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(request.path)
        what = f"{len(chosen)} chosen order{'s' if len(chosen) != 1 else ''}" if chosen else "Every submitted order"
        messages.success(request, format_html("{} will be created in the ERP by {}.", what, job_link(job)))
        return redirect(request.path)

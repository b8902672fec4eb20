"""One record's update conflict (issue 13 §2): each conflicting field's ERP value, Dynamics 365 value and last
synchronized value side by side, *Use ERP value* / *Use Dynamics 365 value* per field, and *Synchronize this
record*. The errors page's row of a conflict and the record's Dynamics 365 panel link here (the error's fix
link, set by the engine). Needs ``syncjobs.change_syncjob``.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html
from django.views import View

from syncjobs import permissions
from syncjobs.connection import clients
from syncjobs.connection.clients import CRM_ERRORS, crm_problem
from syncjobs.errors import conflicts
from syncjobs.mappings.selectors import mapping_or_404, record_or_404


class RecordConflictView(PermissionRequiredMixin, View):
    permission_required = permissions.CHANGE_JOBS
    raise_exception = True
    template_name = "syncjobs/record_conflict.html"

    def render_page(self, *, mapping, record, problem: str = "", chosen: dict | None = None) -> HttpResponse:
        context = {
            "title": f"Conflict: {record._meta.verbose_name} {record}",
            "mapping": mapping,
            "record": record,
            "problem": problem,
            "chosen": chosen or {},
        }
        try:
            with clients.crm_client() as client:
                context["conflict"] = conflicts.record_conflict(client=client, mapping=mapping, record=record)
        except ValidationError as error:
            context["unavailable"] = " ".join(error.messages)
        except CRM_ERRORS as error:
            context["unavailable"] = crm_problem(error)
        return render(self.request, self.template_name, context, status=400 if problem else 200)

    def get(self, request: HttpRequest, mapping_pk: int, system_id: uuid.UUID) -> HttpResponse:
        mapping = mapping_or_404(mapping_pk)
        return self.render_page(mapping=mapping, record=record_or_404(mapping, system_id))

    def post(self, request: HttpRequest, mapping_pk: int, system_id: uuid.UUID) -> HttpResponse:
        mapping = mapping_or_404(mapping_pk)
        record = record_or_404(mapping, system_id)
        choices = conflicts.posted_choices(request.POST)
        try:
            with clients.crm_client() as client:
                job = conflicts.record_conflict_resolve(
                    client=client,
                    mapping=mapping,
                    record=record,
                    choices=choices,
                    token=request.POST.get("token", ""),
                    user=request.user,
                )
        except ValidationError as error:
            return self.render_page(mapping=mapping, record=record, problem=" ".join(error.messages), chosen=choices)
        except CRM_ERRORS as error:
            return self.render_page(mapping=mapping, record=record, problem=crm_problem(error), chosen=choices)
        messages.success(
            request,
            format_html(
                'Synchronizing {} with the values chosen: <a href="{}">job #{}</a>.',
                record,
                job.get_absolute_url(),
                job.pk,
            ),
        )
        return redirect(job.get_absolute_url())

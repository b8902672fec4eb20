"""The read-only pages of the sandbox: entity sets with row counts, their rows, and one row.

A product's row page also shows its availability, read live from the ERP like the CRM would
(see erp_availability.py).
"""

import datetime
import uuid

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from crm_sandbox import erp_availability, metadata, store
from crm_sandbox.models import model_for
from crm_sandbox.webapi import API_PREFIX

ROWS_SHOWN = 200
HIDDEN_COLUMNS = {"documentbody", erp_availability.ACCESS_KEY_ATTRIBUTE}


def _organization_name() -> str | None:
    return model_for(metadata.ORGANIZATION).objects.using(store.DB).values_list("name", flat=True).first()


@require_GET
def home(request):
    entity_sets = [
        {"entity": entity, "count": model_for(entity).objects.using(store.DB).count()} for entity in metadata.ENTITIES
    ]
    return render(
        request,
        "crm_sandbox/home.html",
        {
            "title": "Entity sets",
            "entity_sets": entity_sets,
            "api_url": request.build_absolute_uri(API_PREFIX),
            "organization_name": _organization_name(),
        },
    )


@require_GET
def entity_rows(request, set_name: str):
    entity = _entity_or_404(set_name)
    attributes = [a for a in entity.attributes if a.name not in HIDDEN_COLUMNS]
    queryset = model_for(entity).objects.using(store.DB)
    rows = [
        (values[0], values[1:])
        for values in queryset.order_by("-modifiedon").values_list(entity.primary_id, *(a.name for a in attributes))[
            :ROWS_SHOWN
        ]
    ]
    return render(
        request,
        "crm_sandbox/rows.html",
        {
            "title": entity.set_name,
            "entity": entity,
            "columns": [a.value_property for a in attributes],
            "rows": rows,
            "total": queryset.count(),
            "organization_name": _organization_name(),
        },
    )


@require_GET
def web_client_record(request):
    """The Dynamics 365 web client's record address (main.aspx?etn=…&id=…&pagetype=entityrecord).

    The ERP links "Open in Dynamics 365" this way, as it would for a real organization; the
    sandbox answers with its own row page.
    """
    entity = metadata.BY_LOGICAL_NAME.get(request.GET.get("etn", ""))
    try:
        row_id = uuid.UUID(request.GET.get("id", "").strip("{}"))
    except ValueError:
        row_id = None
    if entity is None or row_id is None:
        raise Http404("main.aspx needs etn=<entity logical name> and id=<row id>.")
    return redirect("crm_sandbox_entity_row", set_name=entity.set_name, row_id=row_id)


def _entity_or_404(set_name: str) -> metadata.Entity:
    entity = metadata.BY_SET_NAME.get(set_name)
    if entity is None:
        raise Http404(f"No entity set named {set_name}.")
    return entity


def _as_of(text: str) -> tuple[datetime.date | None, str]:
    """The availability date asked for on the product page, or an error message."""
    if not text:
        return None, ""
    try:
        return datetime.date.fromisoformat(text), ""
    except ValueError:
        return None, f"'{text}' is not a date (YYYY-MM-DD); showing availability without a date."


@require_GET
def entity_row(request, set_name: str, row_id):
    entity = _entity_or_404(set_name)
    attributes = [a for a in entity.attributes if a.name not in HIDDEN_COLUMNS]
    row = (
        model_for(entity)
        .objects.using(store.DB)
        .filter(**{entity.primary_id: row_id})
        .values(*(a.name for a in attributes))
        .first()
    )
    if row is None:
        raise Http404(f"No {entity.logical_name} with id {row_id}.")
    context = {
        "title": f"{entity.logical_name} {row.get(entity.primary_name) or row_id}",
        "entity": entity,
        "fields": [(a.value_property, row[a.name]) for a in attributes],
        "organization_name": _organization_name(),
    }
    if entity.logical_name == "product":
        as_of, date_error = _as_of(request.GET.get("asOfDate", "").strip())
        context["as_of"] = as_of
        context["date_error"] = date_error
        context["availability"] = erp_availability.product_availability(
            product_id=str(row_id), product_number=row["productnumber"], as_of=as_of
        )
    return render(request, "crm_sandbox/row.html", context)

"""The read-only page at the sandbox root: entity sets with row counts, and their rows."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from crm_sandbox import metadata, store
from crm_sandbox.models import model_for
from crm_sandbox.webapi import API_PREFIX

ROWS_SHOWN = 200
HIDDEN_COLUMNS = {"documentbody"}


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
    entity = metadata.BY_SET_NAME.get(set_name)
    if entity is None:
        raise Http404(f"No entity set named {set_name}.")
    attributes = [a for a in entity.attributes if a.name not in HIDDEN_COLUMNS]
    queryset = model_for(entity).objects.using(store.DB)
    rows = queryset.order_by("-modifiedon").values_list(*(a.name for a in attributes))[:ROWS_SHOWN]
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

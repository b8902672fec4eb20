"""The pages of the sandbox: entity sets with row counts, their rows, and one row.

A product's row page also shows its availability, read live from the ERP like the CRM would
(see erp_availability.py). An order's page shows its lines, invoices, wall and notes, and on an
Active order a Submit button (the one write these pages make, as a salesperson clicking Submit
on the order form would); an invoice's page shows its lines.
"""

import datetime
import uuid
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from crm_sandbox import erp_availability, metadata, sales_orders, store
from crm_sandbox.errors import DataverseError
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
        "row_id": row_id,
    }
    if entity.logical_name in {"salesorder", "invoice"}:
        context["document"] = _document(entity, row_id)
        context["submit_error"] = request.GET.get("error", "")
    if entity.logical_name == "product":
        as_of, date_error = _as_of(request.GET.get("asOfDate", "").strip())
        context["as_of"] = as_of
        context["date_error"] = date_error
        context["availability"] = erp_availability.product_availability(
            product_id=str(row_id), product_number=row["productnumber"], as_of=as_of
        )
    return render(request, "crm_sandbox/row.html", context)


# --- Orders and invoices ------------------------------------------------------------------------------------


def _rows(entity_name: str, order_by: tuple[str, ...], **filters) -> list[dict]:
    entity = metadata.BY_LOGICAL_NAME[entity_name]
    return list(model_for(entity).objects.using(store.DB).filter(**filters).order_by(*order_by).values())


def _name(entity_name: str, row_id) -> str | None:
    if row_id is None:
        return None
    entity = metadata.BY_LOGICAL_NAME[entity_name]
    queryset = model_for(entity).objects.using(store.DB).filter(**{entity.primary_id: row_id})
    return queryset.values_list(entity.primary_name, flat=True).first()


def _label(entity: metadata.Entity, attribute: str, value) -> str:
    declared = entity.attribute_map.get(attribute)
    if declared is None or value is None:
        return ""
    return declared.options.get(value, str(value))


def _document(entity: metadata.Entity, row_id) -> dict:
    """What an order's or invoice's page shows beside its columns."""
    row = model_for(entity).objects.using(store.DB).filter(**{entity.primary_id: row_id}).values().first()
    is_order = entity.logical_name == "salesorder"
    line_entity = "salesorderdetail" if is_order else "invoicedetail"
    lines = _rows(line_entity, ("sequencenumber", "lineitemnumber", "createdon"), **{entity.primary_id: row_id})
    line_id = metadata.BY_LOGICAL_NAME[line_entity].primary_id
    for line in lines:
        line["row_id"] = line[line_id]
        line["product_name"] = _name("product", line["productid"])
    customer_entity = row.get("customeridtype") or "account"
    document = {
        "is_order": is_order,
        "number": row.get("ordernumber" if is_order else "invoicenumber"),
        "name": row.get("name"),
        "customer": _name(customer_entity, row.get("customerid")),
        "customer_set": metadata.BY_LOGICAL_NAME[customer_entity].set_name,
        "customer_id": row.get("customerid"),
        "state": _label(entity, "statecode", row.get("statecode")),
        "status": _label(entity, "statuscode", row.get("statuscode")),
        "is_active": row.get("statecode") == 0,
        "processing_status": _label(entity, "nav_processingstatus", row.get("nav_processingstatus")),
        "erp_order_number": row.get("nav_erpordernumber"),
        "totals": [
            (label, row.get(column))
            for label, column in (
                ("Detail amount", "totallineitemamount"),
                ("Discount", "totaldiscountamount"),
                ("Pre-freight amount", "totalamountlessfreight"),
                ("Freight amount", "freightamount"),
                ("Total tax", "totaltax"),
                ("Total amount", "totalamount"),
            )
        ],
        "lines": lines,
        "line_set": metadata.BY_LOGICAL_NAME[line_entity].set_name,
        "posts": _rows("post", ("-createdon",), regardingobjectid=row_id, regardingobjectidtype=entity.logical_name),
        "notes": _rows("annotation", ("-createdon",), objectid=row_id, objectidtype=entity.logical_name),
    }
    if is_order:
        document["invoices"] = _rows("invoice", ("createdon",), salesorderid=row_id)
    elif row.get("salesorderid"):
        document["order"] = {"id": row["salesorderid"], "name": _name("salesorder", row["salesorderid"])}
    return document


@csrf_exempt
@require_POST
def order_submit(request, row_id):
    """The order form's Submit: the order becomes Submitted (In Progress), submitted by a salesperson."""
    error = ""
    try:
        sales_orders.submit_order(row_id, sales_orders.salesperson_caller())
    except DataverseError as refused:
        if refused.status == 404:
            raise Http404(refused.message) from None
        error = refused.message
    response = redirect("crm_sandbox_entity_row", set_name="salesorders", row_id=row_id)
    if error:
        response["Location"] += "?" + urlencode({"error": error})
    return response

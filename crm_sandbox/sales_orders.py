"""Sales order processing: the FulfillSalesOrder and CancelSalesOrder actions, and a salesperson's Submit.

As in Dataverse (unbound actions, ``POST /FulfillSalesOrder`` and ``POST /CancelSalesOrder``):
the body carries ``OrderClose`` (an orderclose entity bound to the order through
``salesorderid@odata.bind``, with a subject) and ``Status``, the status reason the order closes
with (-1: the state's default). The answer is 204. The sandbox stores no orderclose activity.

The write rules themselves (a submitted order read-only to all but integration users, prices and
totals left to the back office) live in store.py with the other write rules, so that every write
path (Web API, ``$batch``, bulk actions, these actions, the sandbox pages) applies them.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpResponse

from crm_sandbox import metadata, store, webapi
from crm_sandbox.errors import BadRequest, PayloadError, ResourceNotFound

ACTIVE, SUBMITTED, CANCELED, FULFILLED, INVOICED = 0, 1, 2, 3, 4
SUBMITTED_STATUS = 3
ORDER_CLOSE_TYPE = "Microsoft.Dynamics.CRM.orderclose"


def _order_entity() -> metadata.Entity:
    return metadata.BY_LOGICAL_NAME["salesorder"]


def _read_parameters(request: webapi.Request, action: str) -> tuple[store.RecordKey, int]:
    body = request.json()
    if not isinstance(body, dict):
        raise PayloadError(f"The {action} body must be a JSON object.")
    unknown = set(body) - {"OrderClose", "Status"}
    if unknown:
        raise BadRequest(f"The parameter '{sorted(unknown)[0]}' is not a parameter of the action '{action}'.")
    close = body.get("OrderClose")
    if not isinstance(close, dict):
        raise BadRequest(f"The parameter 'OrderClose' of {action} is missing: send an orderclose entity.")
    odata_type = close.get("@odata.type")
    if odata_type is not None and odata_type.removeprefix("#") != ORDER_CLOSE_TYPE:
        raise BadRequest(f"The parameter 'OrderClose' of {action} must be of type '{ORDER_CLOSE_TYPE}'.")
    bind = close.get("salesorderid@odata.bind")
    if not bind:
        raise BadRequest(f"The orderclose of {action} must name its order with 'salesorderid@odata.bind'.")
    target, key = store.parse_reference(bind)
    if target.logical_name != "salesorder":
        raise BadRequest(
            f"The navigation property 'salesorderid' expects a(n) 'salesorder' record, not '{target.logical_name}'."
        )
    status = body.get("Status")
    if isinstance(status, bool) or not isinstance(status, int):
        raise BadRequest(f"The parameter 'Status' of {action} is missing or not an integer.")
    return key, status


def _close(request: webapi.Request, ctx: webapi.Context, segments: list[str], *, action: str, state: int):
    if segments != [action] or request.method != "POST":
        raise ResourceNotFound(
            f"No HTTP resource was found that matches the request URI '{ctx.api_url}{request.path}'."
        )
    entity = _order_entity()
    webapi.require_privilege(ctx, "Write", entity)
    key, status = _read_parameters(request, action)
    close_order(key=key, state=state, status=status, caller=ctx.caller)
    return webapi.empty_response(204)


def close_order(*, key: store.RecordKey, state: int, status: int, caller: store.Caller) -> dict:
    """Fulfills or cancels an order (404 when missing, 400 for a status of another state or a closed order)."""
    entity = _order_entity()
    definition = entity.state_map[state]
    if status == -1:
        status = definition.default_status
    if status not in definition.statuses:
        raise BadRequest(
            f"{status} is not a valid status code for state code OrderState.{definition.label} on salesorder",
            code="0x8004431a",
        )
    with transaction.atomic(using=store.DB):
        order = store.record_retrieve(entity=entity, key=key)
        closed = {CANCELED, FULFILLED, INVOICED}
        if order["statecode"] in closed:
            current = entity.state_map[order["statecode"]].label
            raise BadRequest(
                f"The order {order['ordernumber']} is {current} and cannot be set to {definition.label}.",
                code="0x80040203",
            )
        return store.record_update(
            entity=entity,
            key=store.RecordKey(id=order["salesorderid"]),
            data={"statecode": state, "statuscode": status},
            caller=caller,
        )


def fulfill_sales_order(request: webapi.Request, ctx: webapi.Context, segments: list[str]) -> HttpResponse:
    return _close(request, ctx, segments, action="FulfillSalesOrder", state=FULFILLED)


def cancel_sales_order(request: webapi.Request, ctx: webapi.Context, segments: list[str]) -> HttpResponse:
    return _close(request, ctx, segments, action="CancelSalesOrder", state=CANCELED)


# --- The salesperson's Submit (sandbox pages) ----------------------------------------------------------------


def salesperson_caller() -> store.Caller:
    """Who clicks Submit on the sandbox's pages: the organization's first interactive user that is not an
    integration user (the seeded administrator)."""
    users = store.model_for(metadata.SYSTEMUSER).objects.using(store.DB)
    user = (
        users.filter(applicationid__isnull=True)
        .exclude(isintegrationuser=True)
        .order_by("createdon", "systemuserid")
        .values("systemuserid", "businessunitid")
        .first()
    )
    if user is None:
        raise BadRequest("The organization has no interactive user to submit the order as.")
    return store.Caller(systemuserid=user["systemuserid"], businessunitid=user["businessunitid"])


def submit_order(order_id: uuid.UUID, caller: store.Caller) -> dict:
    """Submit on an Active order, as the order form's button does: Submitted / In Progress, with the submit date."""
    entity = _order_entity()
    order = store.record_retrieve(entity=entity, key=store.RecordKey(id=order_id))
    if order["statecode"] != ACTIVE:
        raise BadRequest(f"Only an active order can be submitted; {order['ordernumber']} is not active.")
    return store.record_update(
        entity=entity,
        key=store.RecordKey(id=order_id),
        data={"statecode": SUBMITTED, "statuscode": SUBMITTED_STATUS, "submitdate": _now_text()},
        caller=caller,
    )


def _now_text() -> str:
    return store.now().strftime("%Y-%m-%dT%H:%M:%SZ")

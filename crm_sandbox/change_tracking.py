"""Change tracking: ``Prefer: odata.track-changes`` and ``$deltatoken`` on entity-set GETs.

The first call returns every row and an ``@odata.deltaLink`` whose ``$deltatoken`` holds the
change-log version at that moment (``<version>!<MM/dd/yyyy HH:mm:ss>``, as Dataverse writes it).
Calling the link returns the rows created or updated since, then the ids deleted since (a row
created and deleted in between still shows as a deletion), and a new link. With
``odata.maxpagesize`` only the last page carries the delta link. Tokens older than the
organization's ``expirechangetrackingindays`` (7 by default) are refused.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote, unquote

from django.db.models import Max
from django.http import HttpResponse

from crm_sandbox import metadata, odata, store, webapi
from crm_sandbox.errors import BadRequest, QueryError
from crm_sandbox.models import ChangeLog, model_for

TRACK_CHANGES = "odata.track-changes"
REJECTED_OPTIONS = ("$filter", "$orderby", "$expand", "$top")
DEFAULT_EXPIRY_DAYS = 7
TOKEN_TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
_TOKEN = re.compile(r"^(\d+)!(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d)$")
_COOKIE = re.compile(r'^<cookie pagenumber="(\d+)" version="(\d+)" istracking="True" />$')


def _check_request(entity: metadata.Entity, params: dict[str, str]) -> None:
    if not entity.change_tracking:
        raise BadRequest(
            f"Change tracking is not enabled for the entity '{entity.logical_name}'. "
            "Enable ChangeTrackingEnabled on the table to retrieve its changes.",
            code="0x80040203",
        )
    for name in REJECTED_OPTIONS:
        if name in params:
            raise QueryError(f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.')


def make_token(version: int, moment: dt.datetime | None = None) -> str:
    moment = (moment or store.now()).astimezone(dt.UTC)
    return f"{version}!{moment.strftime(TOKEN_TIME_FORMAT)}"


def read_token(token: str) -> int:
    """The change-log version a delta token was issued at; 400 when malformed, expired when too old."""
    match = _TOKEN.match(unquote(token).strip())
    if not match:
        raise BadRequest(f"The $deltatoken '{token}' is not valid.", code="0x80040203")
    issued = dt.datetime.strptime(match.group(2), TOKEN_TIME_FORMAT).replace(tzinfo=dt.UTC)
    if issued < store.now() - dt.timedelta(days=_expiry_days()):
        raise BadRequest(
            "Version stamp associated with the client has expired. Please perform a full sync.", code="0x80044352"
        )
    return int(match.group(1))


def _expiry_days() -> int:
    organization = model_for(metadata.ORGANIZATION).objects.using(store.DB)
    days = organization.values_list("expirechangetrackingindays", flat=True).first()
    return days or DEFAULT_EXPIRY_DAYS


def current_version() -> int:
    return ChangeLog.objects.using(store.DB).aggregate(top=Max("version"))["top"] or 0


def changes_since(entity: metadata.Entity, since: int, until: int) -> tuple[list, list]:
    """(ids created or updated, ids deleted) after version ``since`` up to ``until``, each once, by last change."""
    entries = (
        ChangeLog.objects.using(store.DB)
        .filter(entity=entity.logical_name, version__gt=since, version__lte=until)
        .order_by("version")
        .values_list("record_id", "operation")
    )
    last: dict = {}
    for record_id, operation in entries:
        last.pop(record_id, None)
        last[record_id] = operation
    upserted = [record_id for record_id, operation in last.items() if operation == ChangeLog.UPSERT]
    deleted = [record_id for record_id, operation in last.items() if operation == ChangeLog.DELETE]
    return upserted, deleted


def track_changes(request: webapi.Request, ctx: webapi.Context, entity: metadata.Entity, params: dict) -> HttpResponse:
    _check_request(entity, params)
    options = odata.parse_options(entity, {k: v for k, v in params.items() if k == "$select"})
    page_size = webapi._page_size(ctx)
    page_number, snapshot = 1, None
    if "$skiptoken" in params:
        match = _COOKIE.match(params["$skiptoken"])
        if not match:
            raise QueryError("The $skiptoken is not a valid paging cookie.")
        page_number, snapshot = int(match.group(1)), int(match.group(2))
    if snapshot is None:
        snapshot = current_version()
    size = page_size or odata.MAX_PAGE_SIZE
    token = params.get("$deltatoken")
    serializer = ctx.serializer
    base = serializer.context(entity, options.select, single=False)
    if token is None:
        body, more = _initial_page(entity, options, serializer, page_number, size, snapshot)
        body = {"@odata.context": base, **body}
    else:
        since = read_token(token)
        body, more = _delta_page(entity, options, ctx, since, page_number, size, snapshot)
        body = {"@odata.context": f"{base}/$delta", **body}
    link_params = {"$select": params["$select"]} if "$select" in params else {}
    if more:
        cookie = f'<cookie pagenumber="{page_number + 1}" version="{snapshot}" istracking="True" />'
        next_params = {**link_params, **({"$deltatoken": token} if token else {}), "$skiptoken": cookie}
        body["@odata.nextLink"] = _link(ctx, entity, next_params)
    else:
        body["@odata.deltaLink"] = _link(ctx, entity, {**link_params, "$deltatoken": make_token(snapshot)})
    applied = [TRACK_CHANGES] if TRACK_CHANGES in ctx.prefer else []
    if page_size:
        applied.append(f"odata.maxpagesize={page_size}")
    return webapi.json_response(body, headers={"Preference-Applied": ",".join(applied)} if applied else None)


def _link(ctx: webapi.Context, entity: metadata.Entity, params: dict[str, str]) -> str:
    query = "&".join(
        f"{name}={quote(value, safe='' if name in {'$deltatoken', '$skiptoken'} else webapi.QUERY_SAFE)}"
        for name, value in params.items()
    )
    return f"{ctx.api_url}{entity.set_name}?{query}"


def _initial_page(entity, options, serializer, page_number: int, size: int, snapshot: int) -> tuple[dict, bool]:
    queryset = model_for(entity).objects.using(store.DB).order_by(entity.primary_id)
    offset = (page_number - 1) * size
    rows = list(queryset.values()[offset : offset + size + 1])
    more = len(rows) > size
    return {"value": serializer.rows(entity, rows[:size], options)}, more


def _delta_page(entity, options, ctx, since: int, page_number: int, size: int, snapshot: int) -> tuple[dict, bool]:
    upserted, deleted = changes_since(entity, since, snapshot)
    offset = (page_number - 1) * size
    window = [("U", i) for i in upserted] + [("D", i) for i in deleted]
    page = window[offset : offset + size]
    more = len(window) > offset + size
    wanted = [record_id for kind, record_id in page if kind == "U"]
    rows = model_for(entity).objects.using(store.DB).filter(**{f"{entity.primary_id}__in": wanted}).values()
    by_id = {row[entity.primary_id]: row for row in rows}
    present = [by_id[record_id] for record_id in wanted if record_id in by_id]
    value = ctx.serializer.rows(entity, present, options)
    deleted_context = f"{ctx.api_url}$metadata#{entity.set_name}/$deletedEntity"
    value += [
        {"@odata.context": deleted_context, "id": str(record_id), "reason": "deleted"}
        for kind, record_id in page
        if kind == "D"
    ]
    return {"value": value}, more


def count_changes(request: webapi.Request, ctx: webapi.Context, entity: metadata.Entity, params: dict) -> HttpResponse:
    """``/<set>/$count?$deltatoken=...``: the number of changes since the token, as text/plain."""
    _check_request(entity, params)
    upserted, deleted = changes_since(entity, read_token(params["$deltatoken"]), current_version())
    response = HttpResponse(str(len(upserted) + len(deleted)), content_type="text/plain")
    response["OData-Version"] = "4.0"
    return response

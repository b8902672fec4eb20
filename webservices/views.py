"""The OData v4 service under ``/odata/v4/``: service document, ``$metadata`` and ProductItemAvailability.

Read-only: every other method answers 405. Requests authenticate with a web service access key
(see authentication.py) and need the permission to view items.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from dataclasses import dataclass
from functools import wraps
from urllib.parse import quote, urlencode

from django.db.models import Q
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from webservices import csdl, entities, filters, selectors
from webservices.authentication import access_key_user
from webservices.odata import ODataError, bad_request, error_response, json_response, text_response, xml_response

SERVER_PAGE_SIZE = 1000
PERMISSION = "erp.view_item"
COLLECTION_OPTIONS = {"$filter", "$select", "$top", "$skip", "$count", "$skiptoken", "$format"}
ENTITY_OPTIONS = {"$select", "$format"}
COUNT_OPTIONS = {"$filter"}
NOT_IMPLEMENTED_OPTIONS = {"$orderby", "$expand", "$search", "$apply", "$compute", "$levels", "$index"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEY = re.compile(r"^(?:ItemNo=)?'((?:[^']|'')*)'$")
_MAX_PAGE_SIZE = re.compile(r"(?:^|[,\s])odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def odata_endpoint(view):
    """Access key authentication, the permission, GET only and OData error bodies for every refusal."""

    @csrf_exempt  # never changes anything: every method but GET is refused below
    @wraps(view)
    def endpoint(request, *args, **kwargs):
        try:
            user = access_key_user(request)
            if not user.has_perm(PERMISSION):
                raise ODataError(403, "Forbidden", f"The user '{user.get_username()}' may not view items.")
            if request.method != "GET":
                raise ODataError(
                    405, "MethodNotAllowed", "This service is read-only: use GET.", headers={"Allow": "GET"}
                )
            return view(request, *args, **kwargs)
        except ODataError as error:
            return error_response(error)

    return endpoint


def _service_root(request) -> str:
    return request.build_absolute_uri(reverse("webservices:service_root"))


def _check_options(request, allowed: set[str]) -> None:
    for name in request.GET:
        if len(request.GET.getlist(name)) > 1:
            raise bad_request(f"The query option {name} is given more than once.")
        if not name.startswith("$"):
            continue  # custom query options the service does not know are ignored, as OData allows
        if name in NOT_IMPLEMENTED_OPTIONS:
            raise ODataError(501, "NotImplemented", f"The query option {name} is not supported by this service.")
        if name not in allowed:
            raise bad_request(f"The query option {name} is not supported here.")
    output_format = request.GET.get("$format", "json").split(";")[0].strip().lower()
    if output_format not in ("json", "application/json"):
        raise ODataError(406, "NotAcceptable", "This service answers in JSON only ($format=json).")


def _as_of(request) -> datetime.date | None:
    text = request.GET.get(entities.AS_OF_OPTION)
    if text is None:
        return None
    try:
        if not _DATE.match(text):
            raise ValueError
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"{entities.AS_OF_OPTION} must be a date as YYYY-MM-DD, e.g. {entities.AS_OF_OPTION}=2026-12-01."
        ) from None


def _selected(request) -> tuple[str, ...]:
    text = request.GET.get("$select", "").strip()
    if not text or text == "*":
        return ()
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",")))
    unknown = [name for name in names if name not in entities.BY_NAME]
    if unknown:
        known = ", ".join(prop.name for prop in entities.PROPERTIES)
        raise bad_request(f"$select names unknown properties: {', '.join(unknown)}. Properties: {known}.")
    return names


def _non_negative_integer(request, name: str) -> int | None:
    text = request.GET.get(name)
    if text is None:
        return None
    if not text.isascii() or not text.isdigit():
        raise bad_request(f"{name} must be a non-negative integer.")
    return int(text)


def _condition(request) -> Q | None:
    text = request.GET.get("$filter")
    return None if text is None else filters.filter_q(text)


def _encode_skiptoken(item_no: str) -> str:
    return base64.urlsafe_b64encode(item_no.encode()).decode().rstrip("=")


def _decode_skiptoken(token: str) -> str:
    try:
        item_no = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        item_no = ""
    if not item_no:
        raise bad_request("The $skiptoken is not one this service issued.")
    return item_no


def _page_size(request) -> tuple[int, str | None]:
    """The page size and the Preference-Applied value when the client's odata.maxpagesize was honoured."""
    match = _MAX_PAGE_SIZE.search(request.headers.get("Prefer", ""))
    if not match or int(match.group(1)) == 0:
        return SERVER_PAGE_SIZE, None
    size = min(int(match.group(1)), SERVER_PAGE_SIZE)
    return size, f"odata.maxpagesize={size}"


def _entity(row: dict, selected: tuple[str, ...], as_of: datetime.date | None) -> dict:
    names = selected or tuple(prop.name for prop in entities.PROPERTIES)
    values = {}
    for name in names:
        prop = entities.BY_NAME[name]
        values[name] = row[prop.source] if prop.source else as_of
    return values


def _context(request, selected: tuple[str, ...], suffix: str = "") -> str:
    projection = f"({','.join(selected)})" if selected else ""
    return f"{_service_root(request)}$metadata#{entities.ENTITY_SET}{projection}{suffix}"


@dataclass(frozen=True)
class _Page:
    rows: list[dict]
    next_top: int | None
    has_more: bool


def _read_page(*, condition, as_of, selected, top, skip, after, page_size) -> _Page:
    queryset = selectors.product_item_availability(condition=condition, as_of=as_of, selected=selected)
    if after is not None:
        queryset = queryset.filter(no__gt=after)
    size = page_size if top is None else min(page_size, top)
    offset = skip or 0
    # One row more than the page tells whether another page follows, in the same query.
    rows = list(queryset[offset : offset + size + 1])
    has_more = len(rows) > size and (top is None or top > size)
    return _Page(rows=rows[:size], next_top=None if top is None else top - size, has_more=has_more)


@odata_endpoint
def service_document(request):
    _check_options(request, {"$format"})
    return json_response(
        request,
        {
            "@odata.context": f"{_service_root(request)}$metadata",
            "value": [{"name": entities.ENTITY_SET, "kind": "EntitySet", "url": entities.ENTITY_SET}],
        },
    )


@odata_endpoint
def metadata(request):
    return xml_response(csdl.metadata_document())


@odata_endpoint
def entity_set(request):
    _check_options(request, COLLECTION_OPTIONS)
    condition = _condition(request)
    as_of = _as_of(request)
    selected = _selected(request)
    top = _non_negative_integer(request, "$top")
    skiptoken = request.GET.get("$skiptoken")
    after = _decode_skiptoken(skiptoken) if skiptoken is not None else None
    skip = None if after is not None else _non_negative_integer(request, "$skip")
    count = request.GET.get("$count", "false").lower()
    if count not in ("true", "false"):
        raise bad_request("$count must be true or false.")
    page_size, preference_applied = _page_size(request)

    payload: dict = {"@odata.context": _context(request, selected)}
    if count == "true":
        payload["@odata.count"] = selectors.product_item_availability_count(condition=condition)
    page = _read_page(
        condition=condition,
        as_of=as_of,
        selected=selected,
        top=top,
        skip=skip,
        after=after,
        page_size=page_size,
    )
    payload["value"] = [_entity(row, selected, as_of) for row in page.rows]
    if page.has_more:
        payload["@odata.nextLink"] = _next_link(request, page)
    headers = {"Preference-Applied": preference_applied} if preference_applied else {}
    return json_response(request, payload, headers=headers)


def _next_link(request, page: _Page) -> str:
    options = {name: value for name, value in request.GET.items() if name not in ("$top", "$skip", "$skiptoken")}
    if page.next_top is not None:
        options["$top"] = str(page.next_top)
    options["$skiptoken"] = _encode_skiptoken(page.rows[-1]["no"])
    url = request.build_absolute_uri(reverse("webservices:product_item_availability"))
    return f"{url}?{urlencode(options, quote_via=quote)}"


@odata_endpoint
def entity_count(request):
    _check_options(request, COUNT_OPTIONS)
    return text_response(str(selectors.product_item_availability_count(condition=_condition(request))))


@odata_endpoint
def entity(request, key: str):
    match = _KEY.match(key)
    if not match:
        raise bad_request(f"The key is the item no. in quotes, e.g. {entities.ENTITY_SET}('1000').")
    item_no = match.group(1).replace("''", "'")
    _check_options(request, ENTITY_OPTIONS)
    as_of = _as_of(request)
    selected = _selected(request)
    row = selectors.product_item_availability(condition=Q(no=item_no), as_of=as_of, selected=selected).first()
    if row is None:
        raise ODataError(404, "NotFound", f"There is no item '{item_no}'.")
    return json_response(
        request, {"@odata.context": _context(request, selected, "/$entity"), **_entity(row, selected, as_of)}
    )


@odata_endpoint
def not_found(request, path: str = ""):
    raise ODataError(
        404, "NotFound", f"No resource '{path}'. The service is at {_service_root(request)}: {entities.ENTITY_SET}."
    )

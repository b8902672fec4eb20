"""The Dataverse Web API v9.2 under ``/api/data/v9.2/``: one dispatcher reading OData URLs.

Extension points (for ``$batch``, the bulk actions, change tracking, solutions, metadata):
- ``ROOT_HANDLERS[name]``: a first path segment that is not an entity set (``$batch``,
  ``EntityDefinitions``, ``WhoAmI``, ``ImportSolution``...): ``handler(request, ctx, path_rest)``.
- ``BOUND_ACTIONS[name]``: ``POST /<set>/Microsoft.Dynamics.CRM.<name>``: ``handler(request, ctx, entity)``.
- ``CHANGE_TRACKING``: when set, a collection GET with ``Prefer: odata.track-changes`` or
  ``$deltatoken`` goes to ``handler(request, ctx, entity, params)``.
- ``dispatch(request_like, ctx)`` runs one request; ``$batch`` can call it for each part.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from crm_sandbox import auth, metadata, odata, runtime, store
from crm_sandbox.errors import (
    BadRequest,
    DataverseError,
    Forbidden,
    MethodNotAllowed,
    PayloadError,
    QueryError,
    ResourceNotFound,
    Throttled,
    Unauthorized,
)
from crm_sandbox.serialize import Annotations, Serializer

logger = logging.getLogger(__name__)

API_PREFIX = "/api/data/v9.2/"
ADMIN_ROLE = "System Administrator"
CUSTOMIZER_ROLE = "System Customizer"
JSON_TYPE = "application/json; odata.metadata=minimal"
# Characters left readable in next links, as Dataverse writes them ($select=a,b&$filter=f(x,'y')).
QUERY_SAFE = "$(),'=/:@"

ROOT_HANDLERS: dict[str, Callable] = {}
BOUND_ACTIONS: dict[str, Callable] = {}
CHANGE_TRACKING: Callable | None = None
# ``/<set>/$count?$deltatoken=...``: handler(request, ctx, entity, params) counting the changes.
CHANGE_COUNT: Callable | None = None


@dataclass
class Request:
    """What the dispatcher needs from an HTTP request (a Django request or a ``$batch`` part)."""

    method: str
    path: str  # below /api/data/v9.2/, without the query string
    query: str
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self):
        if not self.body:
            raise PayloadError("The request body is empty.")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise PayloadError(f"The request body is not valid JSON: {error}.") from None


@dataclass
class Context:
    identity: auth.Identity
    api_url: str  # absolute, ends with /api/data/v9.2/
    prefer: dict[str, str] = field(default_factory=dict)

    @property
    def caller(self) -> store.Caller:
        return self.identity.caller()

    @property
    def annotations(self) -> Annotations:
        value = self.prefer.get("odata.include-annotations")
        return Annotations([p.strip() for p in value.strip('"').split(",")] if value else None)

    @property
    def serializer(self) -> Serializer:
        return Serializer(api_url=self.api_url, annotations=self.annotations)

    @property
    def wants_representation(self) -> bool:
        return self.prefer.get("return") == "representation"


def parse_prefer(value: str | None) -> dict[str, str]:
    prefer = {}
    for item in re.findall(r'(?:[^,"]|"[^"]*")+', value or ""):
        name, _, setting = item.strip().partition("=")
        if name:
            prefer[name.strip().lower()] = setting.strip()
    return prefer


def json_response(body, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(body, separators=(",", ":")), status=status, content_type=JSON_TYPE)
    return _with_headers(response, headers)


def empty_response(status: int = 204, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(status=status)
    del response["Content-Type"]
    return _with_headers(response, headers)


def _with_headers(response: HttpResponse, headers: dict | None) -> HttpResponse:
    response["OData-Version"] = "4.0"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: DataverseError) -> HttpResponse:
    headers = {}
    if isinstance(error, Throttled):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = _challenge()
    return json_response(error.body(), status=error.status, headers=headers)


def _challenge() -> str:
    org = runtime.options.public_url.rstrip("/")
    return f"Bearer authorization_uri={org}/{tenant_id()}/oauth2/authorize, resource_id={org}/"


def tenant_id() -> str:
    organization = store.model_for(metadata.ORGANIZATION).objects.using(store.DB).values("organizationid").first()
    return str(organization["organizationid"]) if organization else "common"


# --- Entry point -------------------------------------------------------------------------------------------


@csrf_exempt
def web_api(request, path: str = "") -> HttpResponse:
    started = time.monotonic()
    try:
        identity = authenticate(request.headers.get("Authorization"))
        if runtime.limiter is not None:
            wait = runtime.limiter.check(identity.systemuserid)
            if wait is not None:
                limit = runtime.limiter.throttle
                raise Throttled(
                    f"Number of requests exceeded the limit of {limit.requests} over time window of "
                    f"{limit.seconds:g} seconds.",
                    retry_after=wait,
                )
        api_url = request.build_absolute_uri(API_PREFIX)
        headers = {name.lower(): value for name, value in request.headers.items()}
        ctx = Context(identity=identity, api_url=api_url, prefer=parse_prefer(headers.get("prefer")))
        raw_query = request.META.get("QUERY_STRING", "")
        response = dispatch(Request(request.method, path, raw_query, headers, request.body), ctx)
    except DataverseError as error:
        response = error_response(error)
    except Exception:
        logger.exception("Unexpected error in %s %s", request.method, request.path)
        response = json_response({"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}, 500)
    response["REQ_ID"] = str(uuid.uuid4())
    response["x-ms-service-request-id"] = response["REQ_ID"]
    logger.debug(
        "%s %s -> %s in %.1f ms", request.method, path, response.status_code, 1000 * (time.monotonic() - started)
    )
    return response


def authenticate(authorization: str | None) -> auth.Identity:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("The request needs a bearer token (Authorization: Bearer ...).")
    identity = auth.identity_for_token(authorization[7:].strip())
    if identity is None:
        raise Unauthorized("The bearer token is invalid or has expired.")
    if identity.is_disabled:
        raise Unauthorized("The user is disabled.")
    return identity


def require_privilege(ctx: Context, privilege: str, entity: metadata.Entity) -> None:
    if ctx.identity.role_names:
        return
    raise Forbidden(
        f"Principal user (Id={ctx.identity.systemuserid}, type=8, roleCount=0, privilegeCount=0, accessMode=0), "
        f"is missing prv{privilege}{entity.logical_name.capitalize()} privilege on OTC={entity.object_type_code} "
        f"for entity '{entity.logical_name}'."
    )


def require_role(ctx: Context, *roles: str) -> None:
    if not ctx.identity.role_names & set(roles):
        raise Forbidden(f"The caller needs one of these security roles: {', '.join(roles)}.")


# --- Dispatch ------------------------------------------------------------------------------------------------


def split_segments(path: str) -> list[str]:
    segments, depth, quoted, current = [], 0, False, []
    for char in path:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "/" and depth == 0 and not quoted:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    return [s for s in segments if s != ""]


def split_key(segment: str) -> tuple[str, str | None]:
    if segment.endswith(")") and "(" in segment:
        name, _, key = segment.partition("(")
        return name, key[:-1]
    return segment, None


# Writes to these sets change who a caller is or which roles it holds: cached identities are dropped.
IDENTITY_SETS = {"systemusers", "roles"}


def dispatch(request: Request, ctx: Context) -> HttpResponse:
    try:
        return _dispatch(request, ctx)
    finally:
        if request.method != "GET" and _first_segment(request.path) in IDENTITY_SETS:
            auth.forget_cached_identities()


def _first_segment(path: str) -> str:
    segments = split_segments(path)
    return split_key(segments[0])[0] if segments else ""


def _dispatch(request: Request, ctx: Context) -> HttpResponse:
    segments = split_segments(request.path)
    if not segments:
        return service_document(request, ctx)
    head, key_text = split_key(segments[0])
    if head in ROOT_HANDLERS:
        return ROOT_HANDLERS[head](request, ctx, segments)
    entity = store.entity_for_set(head)
    rest = segments[1:]
    if key_text is None:
        if not rest:
            return entity_set(request, ctx, entity)
        if rest == ["$count"]:
            return collection_count(request, ctx, entity)
        action = rest[0].removeprefix("Microsoft.Dynamics.CRM.")
        if len(rest) == 1 and action in BOUND_ACTIONS:
            return BOUND_ACTIONS[action](request, ctx, entity)
        raise ResourceNotFound(f"Resource not found for the segment '{rest[0]}'.")
    key = store.parse_key(entity, key_text) if key_text.strip() else None
    if key is None:
        raise BadRequest("The key in the request URI is empty.")
    if not rest:
        return single_entity(request, ctx, entity, key)
    return entity_member(request, ctx, entity, key, rest)


def _method_not_allowed(request: Request) -> MethodNotAllowed:
    return MethodNotAllowed(f"The requested resource does not support http method '{request.method}'.")


def service_document(request: Request, ctx: Context) -> HttpResponse:
    if request.method != "GET":
        raise _method_not_allowed(request)
    value = [{"name": e.set_name, "kind": "EntitySet", "url": e.set_name} for e in metadata.ENTITIES]
    return json_response({"@odata.context": f"{ctx.api_url}$metadata", "value": value})


def entity_set(request: Request, ctx: Context, entity: metadata.Entity) -> HttpResponse:
    if request.method == "GET":
        return collection_get(request, ctx, entity)
    if request.method == "POST":
        require_privilege(ctx, "Create", entity)
        row = store.record_create(entity=entity, data=request.json(), caller=ctx.caller)
        return created_response(request, ctx, entity, row, created=True)
    raise _method_not_allowed(request)


def entity_url(ctx: Context, entity: metadata.Entity, row: dict) -> str:
    return f"{ctx.api_url}{entity.set_name}({row[entity.primary_id]})"


def created_response(request: Request, ctx: Context, entity, row: dict, *, created: bool) -> HttpResponse:
    """204 with OData-EntityId; with ``return=representation`` 201 (created) or 200 (updated) and a body."""
    if ctx.wants_representation:
        options = odata.parse_options(entity, request.params)
        body = {"@odata.context": ctx.serializer.context(entity, options.select, single=True)}
        body.update(ctx.serializer.row(entity, row, options))
        headers = {"Preference-Applied": "return=representation", "ETag": store.etag(row)}
        return json_response(body, status=201 if created else 200, headers=headers)
    url = entity_url(ctx, entity, row)
    return empty_response(204, {"OData-EntityId": url, "Location": url})


def collection_get(request: Request, ctx: Context, entity: metadata.Entity) -> HttpResponse:
    require_privilege(ctx, "Read", entity)
    params = request.params
    tracking = "odata.track-changes" in ctx.prefer or "$deltatoken" in params
    if tracking and CHANGE_TRACKING is not None:
        return CHANGE_TRACKING(request, ctx, entity, params)
    if "$deltatoken" in params:
        raise QueryError("Change tracking is not available for this request.")
    options = odata.parse_options(entity, params)
    page_size = _page_size(ctx)
    page = store.record_query(entity=entity, options=options, page_size=page_size, skiptoken=params.get("$skiptoken"))
    body = {"@odata.context": ctx.serializer.context(entity, options.select, single=False)}
    if page.count is not None:
        body["@odata.count"] = page.count
    body["value"] = ctx.serializer.rows(entity, page.rows, options)
    if page.next_cookie:
        next_params = {k: v for k, v in params.items() if k != "$skiptoken"}
        next_params["$skiptoken"] = page.next_cookie
        query = "&".join(f"{name}={quote(value, safe=QUERY_SAFE)}" for name, value in next_params.items())
        body["@odata.nextLink"] = f"{ctx.api_url}{entity.set_name}?{query}"
    return json_response(body, headers=_applied(ctx, page_size))


def _page_size(ctx: Context) -> int | None:
    value = ctx.prefer.get("odata.maxpagesize")
    if value is None:
        return None
    try:
        size = int(value)
    except ValueError:
        return None
    return size if 0 < size <= odata.MAX_PAGE_SIZE else None


def _applied(ctx: Context, page_size: int | None = None) -> dict:
    applied = []
    if page_size:
        applied.append(f"odata.maxpagesize={page_size}")
    if "odata.include-annotations" in ctx.prefer:
        applied.append(f"odata.include-annotations={ctx.prefer['odata.include-annotations']}")
    return {"Preference-Applied": ",".join(applied)} if applied else {}


def collection_count(request: Request, ctx: Context, entity: metadata.Entity) -> HttpResponse:
    if request.method != "GET":
        raise _method_not_allowed(request)
    require_privilege(ctx, "Read", entity)
    if "$deltatoken" in request.params and CHANGE_COUNT is not None:
        return CHANGE_COUNT(request, ctx, entity, request.params)
    options = odata.parse_options(entity, {k: v for k, v in request.params.items() if k == "$filter"})
    count = min(store.record_queryset(entity=entity, options=options).count(), odata.MAX_PAGE_SIZE)
    response = HttpResponse(str(count), content_type="text/plain")
    return _with_headers(response, None)


def single_entity(request: Request, ctx: Context, entity: metadata.Entity, key: store.RecordKey) -> HttpResponse:
    method = request.method
    if method == "GET":
        require_privilege(ctx, "Read", entity)
        options = odata.parse_options(entity, request.params)
        row = store.record_retrieve(entity=entity, key=key)
        if_none_match = request.header("if-none-match")
        # Dataverse never answers 304 when the response has expansions or annotations.
        cacheable = if_none_match and not options.expand and not ctx.annotations.any
        if cacheable and store.etag(row) in {tag.strip() for tag in if_none_match.split(",")}:
            return empty_response(304, {"ETag": store.etag(row)})
        body = {"@odata.context": ctx.serializer.context(entity, options.select, single=True)}
        body.update(ctx.serializer.row(entity, row, options))
        return json_response(body, headers={"ETag": store.etag(row), **_applied(ctx)})
    if method == "PATCH":
        require_privilege(ctx, "Write", entity)
        row, created = store.record_upsert(
            entity=entity,
            key=key,
            data=request.json(),
            caller=ctx.caller,
            if_match=request.header("if-match"),
            if_none_match=request.header("if-none-match"),
        )
        return created_response(request, ctx, entity, row, created=created)
    if method == "DELETE":
        require_privilege(ctx, "Delete", entity)
        store.record_delete(entity=entity, key=key, caller=ctx.caller, if_match=request.header("if-match"))
        return empty_response(204)
    raise _method_not_allowed(request)


def entity_member(request: Request, ctx: Context, entity, key: store.RecordKey, rest: list[str]) -> HttpResponse:
    name, nested_key = split_key(rest[0])
    if rest[-1] == "$ref":
        return reference(request, ctx, entity, key, name, nested_key, rest)
    if len(rest) != 1:
        raise ResourceNotFound(f"Resource not found for the segment '{rest[1]}'.")
    if name in entity.navigation_map or name in entity.collection_map:
        return navigation_get(request, ctx, entity, key, name)
    attribute = entity.value_property_map.get(name)
    if attribute is None:
        raise ResourceNotFound(f"Resource not found for the segment '{name}'.")
    return property_value(request, ctx, entity, key, attribute)


def property_value(request: Request, ctx: Context, entity, key, attribute: metadata.Attribute) -> HttpResponse:
    if request.method == "GET":
        require_privilege(ctx, "Read", entity)
        row = store.record_retrieve(entity=entity, key=key)
        value = row.get(attribute.name)
        if value is None:
            return empty_response(204)
        context = f"{ctx.api_url}$metadata#{entity.set_name}({row[entity.primary_id]})/{attribute.value_property}"
        from crm_sandbox.serialize import json_value

        return json_response({"@odata.context": context, "value": json_value(attribute, value)})
    if attribute.is_lookup:
        raise BadRequest(f"Use '{attribute.name}@odata.bind' or the navigation property's $ref to set a lookup.")
    require_privilege(ctx, "Write", entity)
    if request.method == "PUT":
        body = request.json()
        if not isinstance(body, dict) or "value" not in body:
            raise PayloadError('The request body must be {"value": ...}.')
        store.record_update(entity=entity, key=key, data={attribute.name: body["value"]}, caller=ctx.caller)
        return empty_response(204)
    if request.method == "DELETE":
        store.record_update(entity=entity, key=key, data={attribute.name: None}, caller=ctx.caller)
        return empty_response(204)
    raise _method_not_allowed(request)


def navigation_get(request: Request, ctx: Context, entity, key, name: str) -> HttpResponse:
    if request.method != "GET":
        raise _method_not_allowed(request)
    require_privilege(ctx, "Read", entity)
    row = store.record_retrieve(entity=entity, key=key)
    target = odata.navigation_target(entity, name)
    options = odata.parse_options(target, request.params)
    serializer = ctx.serializer
    if name in entity.navigation_map:
        attribute, _ = entity.navigation_map[name]
        linked = row.get(attribute.name)
        if linked is None or (attribute.is_polymorphic and row.get(attribute.type_column) != target.logical_name):
            return empty_response(204)
        related = store.record_retrieve(entity=target, key=store.RecordKey(id=linked))
        body = {"@odata.context": serializer.context(target, options.select, single=True)}
        body.update(serializer.row(target, related, options))
        return json_response(body, headers={"ETag": store.etag(related)})
    rows = store.related_rows(entity=entity, row=row, navigation=name, options=options)
    body = {"@odata.context": serializer.context(target, options.select, single=False)}
    body["value"] = serializer.rows(target, rows, options)
    return json_response(body)


def reference(request: Request, ctx: Context, entity, key, name, nested_key, rest) -> HttpResponse:
    if len(rest) != 2:
        raise ResourceNotFound(f"Resource not found for the segment '{rest[1]}'.")
    if name not in entity.navigation_map and name not in entity.collection_map:
        raise ResourceNotFound(f"Resource not found for the segment '{name}'.")
    target_entity = odata.navigation_target(entity, name)
    _require_association_rights(ctx, entity, name)
    if request.method in {"PUT", "POST"}:
        if (request.method == "PUT") != (name in entity.navigation_map):
            raise _method_not_allowed(request)
        body = request.json()
        if not isinstance(body, dict) or "@odata.id" not in body:
            raise PayloadError('The request body must be {"@odata.id": "<url of the related record>"}.')
        bound_entity, target_key = store.parse_reference(body["@odata.id"])
        store.record_associate(
            entity=entity,
            key=key,
            navigation=name,
            target_entity=bound_entity,
            target_key=target_key,
            caller=ctx.caller,
        )
        return empty_response(204)
    if request.method == "DELETE":
        target_key = None
        if nested_key is not None:
            target_key = store.parse_key(target_entity, nested_key)
        elif "$id" in request.params:
            target_entity, target_key = store.parse_reference(request.params["$id"])
        store.record_disassociate(
            entity=entity,
            key=key,
            navigation=name,
            caller=ctx.caller,
            target_entity=target_entity if target_key else None,
            target_key=target_key,
        )
        return empty_response(204)
    raise _method_not_allowed(request)


def _require_association_rights(ctx: Context, entity: metadata.Entity, navigation: str) -> None:
    if navigation == "systemuserroles_association":
        require_role(ctx, ADMIN_ROLE)
    else:
        require_privilege(ctx, "Append", entity)


# --- Unbound functions -------------------------------------------------------------------------------------------


def who_am_i(request: Request, ctx: Context, segments: list[str]) -> HttpResponse:
    if request.method != "GET" or len(segments) != 1 or segments[0] not in {"WhoAmI", "WhoAmI()"}:
        raise ResourceNotFound(
            f"No HTTP resource was found that matches the request URI '{ctx.api_url}{request.path}'."
        )
    organization = store.model_for(metadata.ORGANIZATION).objects.using(store.DB).values("organizationid").first()
    return json_response(
        {
            "@odata.context": f"{ctx.api_url}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": str(ctx.identity.businessunitid),
            "UserId": str(ctx.identity.systemuserid),
            "OrganizationId": str(organization["organizationid"]) if organization else None,
        }
    )


ROOT_HANDLERS["WhoAmI"] = who_am_i
ROOT_HANDLERS["WhoAmI()"] = who_am_i

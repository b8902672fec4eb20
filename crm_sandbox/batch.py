"""``POST /$batch``: OData 4.0 multipart/mixed batches, as Dataverse runs them.

Parts run in order through the same dispatcher as single requests. A change set runs inside one
transaction (all or nothing) and may refer to records it created earlier with ``$<Content-ID>``,
as a URL (``PATCH $1``, ``PUT $1/primarycontactid/$ref``) or as a bind value
(``"x@odata.bind": "$1"``). Without ``Prefer: odata.continue-on-error`` the batch stops at the first
failure and answers 400 with only the failing part; with it, every part answers for itself.
A batch counts as one request for throttling and simulated latency (both act on the HTTP request).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from django.db import transaction
from django.http import HttpResponse

from crm_sandbox import store, webapi
from crm_sandbox.errors import BadRequest, DataverseError, MethodNotAllowed, ResourceNotFound

logger = logging.getLogger(__name__)

MAX_REQUESTS = 1000
CRLF = b"\r\n"
CONTINUE_ON_ERROR = "odata.continue-on-error"
_REQUEST_LINE = re.compile(r"^([A-Z]+)\s+(\S+)\s+HTTP/1\.[01]$")
_REFERENCE = re.compile(r"^\$([A-Za-z0-9_.\-]+)(/.*)?$")
_API_PATH = re.compile(r"^/api/data/v\d+\.\d+/")
# Headers of an inner response that belong to the outer HTTP exchange only.
_OUTER_HEADERS = {"content-length", "req_id", "x-ms-service-request-id"}


class Unreadable(BadRequest):
    """The multipart body cannot be read (Dataverse: a missing final CRLF, bare LF line endings...)."""

    code = "0x0"

    def __init__(self, message: str = "Stream was not readable."):
        super().__init__(message)


@dataclass
class Operation:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


@dataclass
class Answer:
    response: HttpResponse
    content_id: str | None = None


# --- Reading the request ---------------------------------------------------------------------------------


def boundary_of(content_type: str | None) -> str | None:
    if not content_type or not content_type.strip().lower().startswith("multipart/mixed"):
        return None
    match = re.search(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', content_type, re.IGNORECASE)
    return (match.group(1) or match.group(2)) if match else None


def split_multipart(body: bytes, boundary: str, *, outer: bool) -> list[bytes]:
    """The parts between ``--boundary`` delimiters. Lines end with CRLF; the outer body must end with
    the close delimiter and a CRLF (Dataverse cannot read the stream otherwise)."""
    delimiter = b"--" + boundary.encode("latin-1")
    if body.startswith(delimiter):
        position = 0
    else:
        found = body.find(CRLF + delimiter)
        if found < 0:
            raise Unreadable()
        position = found + 2
    parts = []
    while True:
        position += len(delimiter)
        if body[position : position + 2] == b"--":
            rest = body[position + 2 :]
            if outer and not rest.startswith(CRLF):
                raise Unreadable()
            return parts
        line_end = body.find(CRLF, position)
        if line_end < 0 or body[position:line_end].strip(b" \t"):
            raise Unreadable()
        start = line_end + 2
        following = body.find(CRLF + delimiter, start)
        if following < 0:
            raise Unreadable()
        parts.append(body[start:following])
        position = following + 2


def split_head(data: bytes) -> tuple[list[str], bytes]:
    """Header lines (up to the first empty line) and what follows."""
    if data.startswith(CRLF):
        return [], data[2:]
    end = data.find(CRLF + CRLF)
    if end < 0:
        head, rest = data, b""
    else:
        head, rest = data[:end], data[end + 4 :]
    return [line.decode("utf-8", "replace") for line in head.split(CRLF)], rest


def header_map(lines: list[str]) -> dict[str, str]:
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise BadRequest(f"The batch part header line '{line[:100]}' is not a valid header.")
        headers[name.strip().lower()] = value.strip()
    return headers


def parse_batch(body: bytes, boundary: str) -> list[Operation | ChangeSet]:
    items: list[Operation | ChangeSet] = []
    for part in split_multipart(body, boundary, outer=True):
        lines, content = split_head(part)
        headers = header_map(lines)
        inner_boundary = boundary_of(headers.get("content-type"))
        if inner_boundary:
            changeset = ChangeSet()
            for inner in split_multipart(content, inner_boundary, outer=False):
                inner_lines, inner_content = split_head(inner)
                inner_headers = header_map(inner_lines)
                if boundary_of(inner_headers.get("content-type")):
                    raise BadRequest("A change set cannot contain another change set or batch.")
                operation = parse_operation(inner_headers, inner_content)
                if operation.method == "GET":
                    raise BadRequest("GET requests are not allowed inside a change set.")
                changeset.operations.append(operation)
            if not changeset.operations:
                raise BadRequest("A change set must contain at least one request.")
            items.append(changeset)
        else:
            items.append(parse_operation(headers, content))
    return items


def parse_operation(part_headers: dict[str, str], content: bytes) -> Operation:
    kind = part_headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/http":
        raise BadRequest(
            f"The batch part has Content-Type '{part_headers.get('content-type', '')}'; "
            "expected application/http or multipart/mixed."
        )
    lines, body = split_head(content)
    if not lines:
        raise BadRequest("A batch part has no request line.")
    match = _REQUEST_LINE.match(lines[0].strip())
    if not match:
        raise BadRequest(f"The batch part request line '{lines[0][:200]}' is not 'METHOD URL HTTP/1.1'.")
    method, url = match.groups()
    if method not in {"GET", "POST", "PATCH", "PUT", "DELETE"}:
        raise BadRequest(f"The HTTP method '{method}' is not supported in a batch.")
    return Operation(method, url, header_map(lines[1:]), body.rstrip(b"\r\n"), part_headers.get("content-id"))


def count_requests(items: list[Operation | ChangeSet]) -> int:
    return sum(len(item.operations) if isinstance(item, ChangeSet) else 1 for item in items)


# --- Running it ---------------------------------------------------------------------------------------------


def batch(request: webapi.Request, ctx: webapi.Context, segments: list[str]) -> HttpResponse:
    if segments != ["$batch"]:
        raise ResourceNotFound(f"Resource not found for the segment '{'/'.join(segments[1:])}'.")
    if request.method != "POST":
        raise MethodNotAllowed(f"The requested resource does not support http method '{request.method}'.")
    boundary = boundary_of(request.header("content-type"))
    if boundary is None:
        raise BadRequest(
            "The $batch request must have Content-Type multipart/mixed with a boundary "
            "(JSON batches are OData 4.01 and not supported)."
        )
    items = parse_batch(request.body, boundary)
    total = count_requests(items)
    if total > MAX_REQUESTS:
        raise BadRequest(f"The batch contains {total} requests; the maximum number of requests is {MAX_REQUESTS}.")
    continue_on_error = CONTINUE_ON_ERROR in ctx.prefer
    answers: list[Answer | list[Answer]] = []
    for item in items:
        if isinstance(item, ChangeSet):
            done, failed = run_changeset(item, ctx)
            if failed is None:
                answers.append(done)
                continue
            answers.append(failed)
        else:
            answer = Answer(execute(item, ctx, references=None), item.content_id)
            answers.append(answer)
            if answer.response.status_code < 400:
                continue
            failed = answer
        if not continue_on_error:
            return batch_response([failed], status=400)
    headers = {"Preference-Applied": CONTINUE_ON_ERROR} if continue_on_error else None
    return batch_response(answers, status=200, headers=headers)


class _RolledBack(Exception):
    def __init__(self, answer: Answer):
        super().__init__()
        self.answer = answer


def run_changeset(changeset: ChangeSet, ctx: webapi.Context) -> tuple[list[Answer], Answer | None]:
    """Runs the change set in one transaction: (answers, None), or ([], the failing answer) after a rollback."""
    references: dict[str, str] = {}
    answers: list[Answer] = []
    try:
        with transaction.atomic(using=store.DB):
            for operation in changeset.operations:
                answer = Answer(execute(operation, ctx, references=references), operation.content_id)
                if answer.response.status_code >= 400:
                    raise _RolledBack(answer)
                answers.append(answer)
                entity_url = answer.response.get("OData-EntityId") or answer.response.get("Location")
                if operation.content_id and entity_url:
                    references[operation.content_id] = entity_url
    except _RolledBack as failure:
        return [], failure.answer
    return answers, None


def execute(operation: Operation, ctx: webapi.Context, *, references: dict[str, str] | None) -> HttpResponse:
    try:
        path, query = resolve_url(operation.url, ctx, references)
        body = resolve_body(operation.body, references)
        inner_ctx = webapi.Context(
            identity=ctx.identity, api_url=ctx.api_url, prefer=webapi.parse_prefer(operation.headers.get("prefer"))
        )
        if path.split("?")[0].strip("/") == "$batch":
            raise BadRequest("A batch cannot contain another batch.")
        return webapi.dispatch(webapi.Request(operation.method, path, query, operation.headers, body), inner_ctx)
    except DataverseError as error:
        return webapi.error_response(error)
    except Exception:
        logger.exception("Unexpected error in batch part %s %s", operation.method, operation.url)
        return webapi.json_response({"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}, 500)


def _missing_reference(name: str) -> BadRequest:
    return BadRequest(f"Content-ID Reference: '${name}' does not exist in the batch context.")


def resolve_url(url: str, ctx: webapi.Context, references: dict[str, str] | None) -> tuple[str, str]:
    """(path below the API root, query string) of an inner request URL."""
    reference = _REFERENCE.match(url)
    if reference:
        target = (references or {}).get(reference.group(1))
        if target is None:
            raise _missing_reference(reference.group(1))
        url = target + (reference.group(2) or "")
    if "://" in url:
        parts = urlsplit(url)
        url = parts.path + (f"?{parts.query}" if parts.query else "")
    path, _, query = url.partition("?")
    if path.startswith("/"):
        match = _API_PATH.match(path)
        if not match:
            raise ResourceNotFound(f"No HTTP resource was found that matches the request URI '{url}'.")
        path = path[match.end() :]
    return path, query


def resolve_body(body: bytes, references: dict[str, str] | None) -> bytes:
    """Replaces ``"$n"`` bind values (``x@odata.bind``, ``@odata.id``) with the URL of record n."""
    if b'"$' not in body:
        return body
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    if not isinstance(data, dict):
        return body
    for name, value in data.items():
        if not (name.endswith("@odata.bind") or name == "@odata.id") or not isinstance(value, str):
            continue
        reference = _REFERENCE.match(value)
        if reference:
            target = (references or {}).get(reference.group(1))
            if target is None:
                raise _missing_reference(reference.group(1))
            data[name] = target + (reference.group(2) or "")
    return json.dumps(data).encode()


# --- Writing the response ------------------------------------------------------------------------------------


def http_part(answer: Answer) -> bytes:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if answer.content_id is not None:
        lines.append(f"Content-ID: {answer.content_id}")
    response = answer.response
    status = response.status_code
    lines += ["", f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in response.items() if name.lower() not in _OUTER_HEADERS]
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode() + response.content + CRLF


def batch_response(answers: list[Answer | list[Answer]], *, status: int, headers: dict | None = None) -> HttpResponse:
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks = []
    for answer in answers:
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(answer, list):
            inner = f"changesetresponse_{uuid.uuid4()}"
            chunks.append(f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode())
            for item in answer:
                chunks.append(f"--{inner}\r\n".encode() + http_part(item))
            chunks.append(f"--{inner}--\r\n".encode())
        else:
            chunks.append(http_part(answer))
    chunks.append(f"--{boundary}--\r\n".encode())
    response = HttpResponse(b"".join(chunks), status=status, content_type=f"multipart/mixed; boundary={boundary}")
    return webapi._with_headers(response, headers)

"""OData 4.0 $batch: building the multipart/mixed request and parsing the multipart response.

A batch holds operations (`Op`) and change sets (`ChangeSet`, atomic groups). Inside a change set
each operation has a Content-ID; a later operation may use "$<id>" as its URL, as the start of its
URL ("$1/primarycontactid/$ref") or as an @odata.bind value.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import odata
from .errors import DataverseError, error_for

MAX_BATCH_OPERATIONS = 1000
CRLF = "\r\n"
_REFERENCE = re.compile(r"^\$\d+(/.*)?$")


@dataclass(frozen=True)
class Op:
    """One request inside a batch. `path` is relative to the API root ("accounts(…)") or a "$n" reference."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_id: str | None = None

    @classmethod
    def create(cls, entity_set: str, data: Mapping[str, Any], *, content_id: str | int | None = None) -> Op:
        return cls("POST", odata.identifier(entity_set, what="entity set"), data, {}, _cid(content_id))

    @classmethod
    def update(
        cls,
        entity_set: str,
        key: odata.Key,
        data: Mapping[str, Any],
        *,
        etag: str = "*",
        content_id: str | int | None = None,
    ) -> Op:
        return cls("PATCH", odata.record_path(entity_set, key), data, {"If-Match": etag}, _cid(content_id))

    @classmethod
    def upsert(
        cls,
        entity_set: str,
        key: odata.Key,
        data: Mapping[str, Any],
        *,
        create_only: bool = False,
        content_id: str | int | None = None,
    ) -> Op:
        headers = {"If-None-Match": "*"} if create_only else {}
        return cls("PATCH", odata.record_path(entity_set, key), data, headers, _cid(content_id))

    @classmethod
    def delete(
        cls, entity_set: str, key: odata.Key, *, etag: str | None = None, content_id: str | int | None = None
    ) -> Op:
        return cls(
            "DELETE", odata.record_path(entity_set, key), None, {"If-Match": etag} if etag else {}, _cid(content_id)
        )

    @classmethod
    def get(
        cls,
        entity_set: str,
        key: odata.Key | None = None,
        *,
        select: str | Iterable[str] | None = None,
        filter: odata.Filter | None = None,
        top: int | None = None,
    ) -> Op:
        path = odata.record_path(entity_set, key) if key is not None else odata.identifier(entity_set)
        params: dict[str, Any] = {}
        if select:
            params["$select"] = odata.select_text(select)
        if filter is not None:
            params["$filter"] = str(filter)
        if top is not None:
            params["$top"] = int(top)
        return cls("GET", f"{path}?{odata.query_string(params)}" if params else path)

    @classmethod
    def patch_reference(cls, reference: str, data: Mapping[str, Any], *, content_id: str | int | None = None) -> Op:
        """PATCH a record created earlier in the same change set: Op.patch_reference("$1", {...})."""
        if not _REFERENCE.match(reference):
            raise ValueError(f"not a Content-ID reference: {reference!r}")
        return cls("PATCH", reference, data, {"If-Match": "*"}, _cid(content_id))

    @property
    def is_reference(self) -> bool:
        return bool(_REFERENCE.match(self.path))


@dataclass(frozen=True)
class ChangeSet:
    """Operations applied atomically: all succeed or all are rolled back. No GET inside."""

    operations: Sequence[Op]

    def __post_init__(self) -> None:
        if not self.operations:
            raise ValueError("an empty change set")
        for op in self.operations:
            if not isinstance(op, Op):
                raise TypeError(f"a change set holds Op objects, not {type(op).__name__}")
            if op.method == "GET":
                raise ValueError("GET is not allowed inside a change set")


@dataclass
class OperationResult:
    """The response to one operation, in request order."""

    status: int
    headers: dict[str, str]
    body: Any
    content_id: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> DataverseError | None:
        return None if self.ok else error_for(self.status, self.body, self.headers)

    @property
    def entity_id(self) -> str | None:
        """The GUID of a created or upserted record (from OData-EntityId or Location)."""
        return odata.entity_id_from_url(self.header("OData-EntityId") or self.header("Location"))

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


def _cid(content_id: str | int | None) -> str | None:
    if content_id is None:
        return None
    text = str(content_id)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", text):
        raise ValueError(f"invalid Content-ID {content_id!r}")
    return text


def count_operations(items: Iterable[Op | ChangeSet]) -> int:
    return sum(len(item.operations) if isinstance(item, ChangeSet) else 1 for item in items)


def normalise(items: Sequence[Op | ChangeSet]) -> list[Op | ChangeSet]:
    """Validate the batch and give every change-set operation a unique Content-ID."""
    total = count_operations(items)
    if total == 0:
        raise ValueError("an empty batch")
    if total > MAX_BATCH_OPERATIONS:
        raise ValueError(f"a batch holds at most {MAX_BATCH_OPERATIONS} operations, got {total}")
    used = {op.content_id for item in items for op in _ops(item) if op.content_id}
    counter = 0
    result: list[Op | ChangeSet] = []
    for item in items:
        if isinstance(item, Op):
            result.append(item)
            continue
        if not isinstance(item, ChangeSet):
            raise TypeError(f"a batch holds Op and ChangeSet objects, not {type(item).__name__}")
        ops = []
        for op in item.operations:
            if op.content_id is None:
                counter += 1
                while str(counter) in used:
                    counter += 1
                used.add(str(counter))
                op = Op(op.method, op.path, op.body, op.headers, str(counter))
            ops.append(op)
        result.append(ChangeSet(ops))
    return result


def _ops(item: Op | ChangeSet) -> Sequence[Op]:
    return item.operations if isinstance(item, ChangeSet) else [item]


def build_body(items: Sequence[Op | ChangeSet], *, api_url: str, boundary: str | None = None) -> tuple[str, bytes]:
    """Return (content type, body) of a $batch request. `api_url` is the absolute API root ending in '/'."""
    boundary = boundary or f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for item in items:
        lines.append(f"--{boundary}")
        if isinstance(item, ChangeSet):
            changeset = f"changeset_{uuid.uuid4()}"
            lines += [f'Content-Type: multipart/mixed; boundary="{changeset}"', ""]
            for op in item.operations:
                lines.append(f"--{changeset}")
                lines += _part(op, api_url, content_id=op.content_id)
            lines.append(f"--{changeset}--")
        else:
            lines += _part(item, api_url, content_id=None)
    lines.append(f"--{boundary}--")
    body = CRLF.join(lines) + CRLF
    return f'multipart/mixed; boundary="{boundary}"', body.encode("utf-8")


def _part(op: Op, api_url: str, *, content_id: str | None) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    url = op.path if op.is_reference else api_url + op.path
    lines += ["", f"{op.method} {url} HTTP/1.1"]
    headers = {"Accept": "application/json", **op.headers}
    if op.body is not None:
        headers["Content-Type"] = "application/json; type=entry"
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("")
    # The blank line ends the inner headers; the body (possibly empty) follows up to the next boundary.
    lines.append(json.dumps(op.body, separators=(",", ":")) if op.body is not None else "")
    return lines


# Response parsing ---------------------------------------------------------------------------------


def boundary_of(content_type: str) -> str | None:
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type or "", re.IGNORECASE)
    return (match.group(1) or match.group(2)) if match else None


def parse_response(content_type: str, body: bytes) -> list[OperationResult]:
    """Flatten a multipart/mixed $batch response into one result per operation answered, in order."""
    boundary = boundary_of(content_type)
    if not boundary:
        raise ValueError(f"a $batch response without a multipart boundary: {content_type!r}")
    results: list[OperationResult] = []
    for headers, content in _split(body, boundary):
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/mixed"):
            results += parse_response(part_type, content)
        else:
            results.append(_parse_http(content, headers.get("content-id")))
    return results


def _split(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    delimiter = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|$)")
    parts = []
    position = None
    for match in delimiter.finditer(body):
        if position is not None:
            parts.append(body[position : match.start()])
        if match.group(1):  # closing delimiter
            position = None
            break
        position = match.end()
    if position is not None:  # tolerate a missing closing delimiter
        parts.append(body[position:])
    return [_headers_and_content(part) for part in parts]


def _headers_and_content(part: bytes) -> tuple[dict[str, str], bytes]:
    head, content = _split_head(part)
    headers: dict[str, str] = {}
    for line in re.split(rb"\r?\n", head):
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, content


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    """Split at the first blank line: (header block, the rest)."""
    match = re.search(rb"\r?\n\r?\n", data)
    return (data, b"") if match is None else (data[: match.start()], data[match.end() :])


def _parse_http(content: bytes, content_id: str | None) -> OperationResult:
    head, payload = _split_head(content)
    lines = re.split(rb"\r?\n", head)
    status_line = lines[0].decode("utf-8", "replace").strip()
    match = re.match(r"HTTP/\d\.\d\s+(\d{3})", status_line)
    if not match:
        raise ValueError(f"a $batch response part without an HTTP status line: {status_line[:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    payload = payload.strip()
    parsed: Any = None
    if payload:
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = payload.decode("utf-8", "replace")
    return OperationResult(int(match.group(1)), headers, parsed, content_id)

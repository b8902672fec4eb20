"""The Dataverse Web API client: one HTTP wrapper with retries, typed errors and parsed responses."""

from __future__ import annotations

import base64
import datetime
import json
import logging
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from . import batch as batching
from . import odata
from .auth import TokenProvider
from .errors import (
    BatchFailed,
    DataverseError,
    DuplicateRecord,
    NotFound,
    Throttled,
    TransportError,
    error_for,
    parse_retry_after,
)
from .odata import Filter, Key

logger = logging.getLogger("dataverse")

RETRYABLE_GATEWAY_STATUSES = frozenset({502, 503, 504})
# A Retry-After longer than this is not waited out: the caller gets Throttled and decides.
MAX_THROTTLE_WAIT_SECONDS = 600.0
_FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class Throttling:
    """The 429 answers a client received: how many, when the last came and the Retry-After it asked for."""

    answers: int
    last_at: datetime.datetime | None  # wall clock, UTC
    last_retry_after: float | None  # seconds; None when the answer carried no Retry-After


class Stats:
    """Thread-safe counters for job logs and benchmarks: requests by (method, status), retries, throttling.

    `throttled` counts every 429 answer, also one given up on; `throttled_seconds` the time waited for them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[tuple[str, int]] = Counter()
            self.transport_errors = 0
            self.retries = 0
            self.throttled = 0
            self.throttled_seconds = 0.0
            self.last_throttled_at: datetime.datetime | None = None
            self.last_retry_after: float | None = None

    def record_response(self, method: str, status: int) -> None:
        with self._lock:
            self.requests[(method, status)] += 1

    def record_transport_error(self) -> None:
        with self._lock:
            self.transport_errors += 1

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_throttle(self, retry_after: float | None) -> None:
        """A 429 answer, with the Retry-After it asked for."""
        with self._lock:
            self.throttled += 1
            self.last_throttled_at = datetime.datetime.now(datetime.UTC)
            self.last_retry_after = retry_after

    def record_throttle_wait(self, seconds: float) -> None:
        with self._lock:
            self.throttled_seconds += seconds

    def throttling(self) -> Throttling:
        with self._lock:
            return Throttling(self.throttled, self.last_throttled_at, self.last_retry_after)

    @property
    def total(self) -> int:
        """HTTP requests that got a response."""
        with self._lock:
            return sum(self.requests.values())

    def count(self, method: str | None = None, status: int | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (m, s), n in self.requests.items()
                if (method is None or m == method) and (status is None or s == status)
            )

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": {f"{method} {status}": n for (method, status), n in sorted(self.requests.items())},
                "total": sum(self.requests.values()),
                "transport_errors": self.transport_errors,
                "retries": self.retries,
                "throttled": self.throttled,
                "throttled_seconds": round(self.throttled_seconds, 3),
                "last_throttled_at": self.last_throttled_at.isoformat() if self.last_throttled_at else None,
                "last_retry_after": self.last_retry_after,
            }


@dataclass(frozen=True)
class UpsertResult:
    id: str | None
    created: bool | None  # None when the server did not say (a plain upsert without return_representation)
    row: dict[str, Any] | None = None


@dataclass(frozen=True)
class Change:
    """One entry of a change-tracking feed: a new or updated row, or a deletion."""

    deleted: bool
    id: str | None
    row: dict[str, Any] | None


@dataclass(frozen=True)
class WhoAmI:
    user_id: str
    business_unit_id: str
    organization_id: str


class QueryResult:
    """Rows of a query, fetched one page at a time by following @odata.nextLink.

    Iterating starts the query (again, on each new iteration). `count` holds @odata.count once
    the first page arrived (when count=True was asked); `pages_fetched` counts pages.
    """

    def __init__(self, client: Client, url: str, params: dict[str, Any], headers: dict[str, str], limit: int | None):
        self._client = client
        self._url = url
        self._params = params
        self._headers = headers
        self._limit = limit
        self.count: int | None = None
        self.pages_fetched = 0

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        url: str | None = self._client._with_query(self._url, self._params)
        remaining = self._limit
        while url:
            payload = self._client._get_json(url, headers=self._headers)
            self.pages_fetched += 1
            if self.count is None and "@odata.count" in payload:
                self.count = payload["@odata.count"]
            rows = payload.get("value", [])
            if remaining is not None:
                rows = rows[:remaining]
                remaining -= len(rows)
            if rows:
                yield rows
            if remaining == 0:
                return
            next_link = payload.get("@odata.nextLink")
            url = self._client._same_origin(next_link) if next_link else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page


class ChangeFeed:
    """Changes from a change-tracking query; after full iteration `delta_link` holds the link for next time."""

    def __init__(self, client: Client, url: str, headers: dict[str, str], primary_key: str | None):
        self._client = client
        self._url = url
        self._headers = headers
        self._primary_key = primary_key
        self.delta_link: str | None = None
        self.pages_fetched = 0

    def __iter__(self) -> Iterator[Change]:
        url: str | None = self._url
        self.delta_link = None
        while url:
            payload = self._client._get_json(url, headers=self._headers)
            self.pages_fetched += 1
            for item in payload.get("value", []):
                if "$deletedEntity" in str(item.get("@odata.context", "")):
                    yield Change(deleted=True, id=str(item.get("id", "")).lower() or None, row=None)
                else:
                    row_id = item.get(self._primary_key) if self._primary_key else None
                    yield Change(deleted=False, id=row_id, row=item)
            if payload.get("@odata.deltaLink"):
                self.delta_link = self._client._same_origin(payload["@odata.deltaLink"])
            next_link = payload.get("@odata.nextLink")
            url = self._client._same_origin(next_link) if next_link else None
        if self.delta_link is None:
            raise DataverseError(
                200, None, "the response carried no @odata.deltaLink: change tracking is not enabled for this table"
            )

    def collect(self) -> tuple[list[Change], str]:
        """All changes and the new delta link (for small feeds; iterate for large ones)."""
        changes = list(self)
        return changes, self.delta_link  # type: ignore[return-value]


class Clock(Protocol):
    """Where the client reads the time and waits (backoff, Retry-After): a test passes one that waits for nothing."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Client:
    """A Dataverse Web API client for one organization.

    `url` is the organization root (https://org.crm.dynamics.com). Thread-safe: share one client
    between threads; `max_concurrency` caps requests in flight.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: TokenProvider,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        max_concurrency: int | None = None,
        api_version: str = "v9.2",
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        clock: Clock | None = None,
    ):
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError(f"the organization URL must be an https URL, got {url!r}")
        if not re.fullmatch(r"v\d+\.\d+", api_version):
            raise ValueError(f"invalid API version {api_version!r}")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self.api_url = f"{self.url}/api/data/{api_version}/"
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.clock = clock or SystemClock()
        self.stats = Stats()
        self._verify: bool | str = ca_bundle or True
        self._auth = auth
        auth.configure(resource=self.url, verify=self._verify, timeout=timeout)
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            pool = max(10, max_concurrency or 0)
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
            session.mount("https://", adapter)
        self._session = session
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self._throttle_lock = threading.Lock()
        self._throttled_until = 0.0

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Records ---------------------------------------------------------------------------------------

    def create(
        self,
        entity_set: str,
        data: Mapping[str, Any],
        *,
        id: uuid.UUID | str | None = None,
        return_representation: bool = False,
    ) -> Any:
        """Create a record; returns its id (str), or the created row when return_representation.

        With a client-supplied `id` the create is sent as a create-only upsert
        (PATCH /set(id) + If-None-Match: *): safe to repeat after a lost response, and it needs no
        knowledge of the primary key column. An existing record with that id raises DuplicateRecord.
        """
        headers = {"Prefer": "return=representation"} if return_representation else {}
        if id is None:
            response = self._send(
                "POST",
                self.api_url + odata.identifier(entity_set, what="entity set"),
                json_body=data,
                headers=headers,
                idempotent=False,
            )
            if return_representation:
                return self._json(response)
            created = odata.entity_id_from_url(
                response.headers.get("OData-EntityId") or response.headers.get("Location")
            )
            if created is None:
                raise DataverseError(response.status_code, None, "the create response carried no OData-EntityId")
            return created
        record_id = odata.guid(id)
        try:
            response = self._send(
                "PATCH",
                self.api_url + odata.record_path(entity_set, record_id),
                json_body=data,
                headers={**headers, "If-None-Match": "*"},
                idempotent=True,
            )
        except DuplicateRecord as exc:
            if not exc.after_possible_delivery:
                raise
            # An earlier attempt reached the server and created the record; this one found it.
            return self.retrieve(entity_set, record_id) if return_representation else record_id
        return self._json(response) if return_representation else record_id

    def retrieve(
        self,
        entity_set: str,
        key: Key,
        *,
        select: Iterable[str] | str | None = None,
        expand: odata.Expand | None = None,
        annotations: str | None = None,
    ) -> dict[str, Any]:
        """One record by GUID or alternate-key dict; NotFound when it does not exist."""
        params: dict[str, Any] = {}
        if select:
            params["$select"] = odata.select_text(select)
        if expand:
            params["$expand"] = odata.expand_text(expand)
        headers = {"Prefer": f'odata.include-annotations="{annotations}"'} if annotations else {}
        url = self._with_query(self.api_url + odata.record_path(entity_set, key), params)
        return self._get_json(url, headers=headers)

    def update(self, entity_set: str, key: Key, data: Mapping[str, Any], *, etag: str = "*") -> None:
        """Update an existing record; If-Match `etag` ("*" = any version). NotFound / ConcurrencyMismatch."""
        if not etag:
            raise ValueError('update needs an etag ("*" for any version); use upsert() to create-or-update')
        self._send(
            "PATCH",
            self.api_url + odata.record_path(entity_set, key),
            json_body=data,
            headers={"If-Match": etag},
            idempotent=True,
        )

    def upsert(
        self,
        entity_set: str,
        key: Key,
        data: Mapping[str, Any],
        *,
        create_only: bool = False,
        update_only: bool = False,
        return_representation: bool = False,
    ) -> UpsertResult:
        """PATCH without If-Match: create or update the record at `key` (GUID or alternate key)."""
        if create_only and update_only:
            raise ValueError("create_only and update_only exclude each other")
        headers: dict[str, str] = {}
        if create_only:
            headers["If-None-Match"] = "*"
        if update_only:
            headers["If-Match"] = "*"
        if return_representation:
            headers["Prefer"] = "return=representation"
        known_id = odata.guid(key) if not isinstance(key, Mapping) else None
        try:
            response = self._send(
                "PATCH",
                self.api_url + odata.record_path(entity_set, key),
                json_body=data,
                headers=headers,
                idempotent=True,
            )
        except DuplicateRecord as exc:
            if not (create_only and exc.after_possible_delivery):
                raise
            return UpsertResult(id=known_id, created=True)
        record_id = odata.entity_id_from_url(response.headers.get("OData-EntityId")) or known_id
        row = self._json(response) if response.status_code in (200, 201) and response.content else None
        if response.status_code == 201:
            created: bool | None = True
        elif response.status_code == 200:
            created = False
        else:
            created = True if create_only else (False if update_only else None)
        return UpsertResult(id=record_id, created=created, row=row)

    def delete(self, entity_set: str, key: Key, *, etag: str | None = None) -> None:
        """Delete a record; with `etag` only if it is unchanged. NotFound when it does not exist."""
        try:
            self._send(
                "DELETE",
                self.api_url + odata.record_path(entity_set, key),
                headers={"If-Match": etag} if etag else {},
                idempotent=True,
            )
        except NotFound as exc:
            if not exc.after_possible_delivery:
                raise

    def set_state(self, entity_set: str, key: Key, statecode: int, statuscode: int) -> None:
        """Change a record's state; Dataverse wants statecode and statuscode together."""
        self.update(entity_set, key, {"statecode": statecode, "statuscode": statuscode})

    def associate(self, entity_set: str, key: Key, relationship: str, target_set: str, target_key: Key) -> None:
        """Add target to a collection-valued navigation property (POST …/relationship/$ref)."""
        url = f"{self.api_url}{odata.record_path(entity_set, key)}/{odata.identifier(relationship)}/$ref"
        try:
            self._send(
                "POST",
                url,
                json_body={"@odata.id": self.api_url + odata.record_path(target_set, target_key)},
                idempotent=True,
            )
        except DuplicateRecord as exc:
            if not exc.after_possible_delivery:
                raise

    def set_lookup(self, entity_set: str, key: Key, navigation: str, target_set: str, target_key: Key) -> None:
        """Point a single-valued navigation property at target (PUT …/navigation/$ref)."""
        url = f"{self.api_url}{odata.record_path(entity_set, key)}/{odata.identifier(navigation)}/$ref"
        self._send("PUT", url, json_body={"@odata.id": self.api_url + odata.record_path(target_set, target_key)})

    def disassociate(
        self,
        entity_set: str,
        key: Key,
        relationship: str,
        target_set: str | None = None,
        target_key: Key | None = None,
    ) -> None:
        """Remove target from a collection (give target_set/target_key) or clear a single-valued lookup."""
        url = f"{self.api_url}{odata.record_path(entity_set, key)}/{odata.identifier(relationship)}/$ref"
        if (target_set is None) != (target_key is None):
            raise ValueError("give both target_set and target_key, or neither")
        if target_set is not None and target_key is not None:
            url = self._with_query(url, {"$id": self.api_url + odata.record_path(target_set, target_key)})
        self._send("DELETE", url)

    @staticmethod
    def bind(entity_set: str, key: Key) -> str:
        """Value for "<navigation>@odata.bind": bind("accounts", guid) or bind("accounts", {"accountnumber": "A1"})."""
        return odata.bind(entity_set, key)

    # Queries ---------------------------------------------------------------------------------------

    def query(
        self,
        entity_set: str,
        *,
        select: Iterable[str] | str | None = None,
        filter: Filter | None = None,
        orderby: Iterable[str] | str | None = None,
        top: int | None = None,
        expand: odata.Expand | None = None,
        page_size: int | None = None,
        count: bool = False,
        annotations: str | None = None,
    ) -> QueryResult:
        """Rows matching the query, paged with Prefer: odata.maxpagesize and @odata.nextLink."""
        params: dict[str, Any] = {}
        if select:
            params["$select"] = odata.select_text(select)
        if filter is not None:
            if not isinstance(filter, Filter):
                raise TypeError("filter must be a dataverse.Filter (built with F.eq(...) etc.), not a string")
            params["$filter"] = filter.text
        if orderby:
            params["$orderby"] = odata.orderby_text(orderby)
        if top is not None:
            params["$top"] = odata.positive_int(top, "top")
        if expand:
            params["$expand"] = odata.expand_text(expand)
        if count:
            params["$count"] = "true"
        prefer = []
        if page_size is not None:
            prefer.append(f"odata.maxpagesize={odata.positive_int(page_size, 'page_size')}")
        if annotations:
            prefer.append(f'odata.include-annotations="{annotations}"')
        headers = {"Prefer": ",".join(prefer)} if prefer else {}
        # Dataverse ignores $top when a page size is set; the limit is then applied here.
        url = self.api_url + odata.identifier(entity_set, what="entity set")
        return QueryResult(self, url, params, headers, top)

    # Change tracking -------------------------------------------------------------------------------

    def track_changes(
        self,
        entity_set: str,
        *,
        select: Iterable[str] | str,
        page_size: int | None = None,
        primary_key: str | None = None,
    ) -> ChangeFeed:
        """Start change tracking: every current row, then `delta_link` for changes() next time."""
        url = self._with_query(
            self.api_url + odata.identifier(entity_set, what="entity set"), {"$select": odata.select_text(select)}
        )
        return ChangeFeed(self, url, self._tracking_headers(page_size), primary_key)

    def changes(self, delta_link: str, *, page_size: int | None = None, primary_key: str | None = None) -> ChangeFeed:
        """Rows created or updated and ids deleted since `delta_link` was issued."""
        return ChangeFeed(self, self._same_origin(delta_link), self._tracking_headers(page_size), primary_key)

    @staticmethod
    def _tracking_headers(page_size: int | None) -> dict[str, str]:
        prefer = ["odata.track-changes"]
        if page_size is not None:
            prefer.append(f"odata.maxpagesize={odata.positive_int(page_size, 'page_size')}")
        return {"Prefer": ",".join(prefer)}

    # Bulk ------------------------------------------------------------------------------------------

    def batch(
        self,
        operations: Sequence[batching.Op | batching.ChangeSet],
        *,
        continue_on_error: bool = False,
        changeset: bool = False,
    ) -> list[batching.OperationResult]:
        """Send operations in one $batch; one result per operation, in order.

        changeset=True puts every operation in one atomic change set. Without continue_on_error the
        server stops at the first failure and BatchFailed is raised. A failed change set answers
        with one error, given here to each of its operations (all were rolled back).
        """
        items = list(operations)
        if changeset:
            # ChangeSet checks at run time that it holds Op objects only (TypeError otherwise).
            items = [batching.ChangeSet(cast("list[batching.Op]", items))]
        items = batching.normalise(items)
        content_type, body = batching.build_body(items, api_url=self.api_url)
        idempotent = all(op.method != "POST" for item in items for op in batching._ops(item))
        headers = {"Content-Type": content_type}
        if continue_on_error:
            headers["Prefer"] = "odata.continue-on-error"
        response = self._send(
            "POST",
            self.api_url + "$batch",
            data=body,
            headers=headers,
            idempotent=idempotent,
            raise_for_status=False,
        )
        response_type = response.headers.get("Content-Type", "")
        if not response_type.lower().startswith("multipart/mixed"):
            raise error_for(response.status_code, response.content, response.headers)
        results = batching.parse_response(response_type, response.content)
        failure = next((result.error for result in results if not result.ok), None)
        if response.status_code >= 400 or (failure is not None and not continue_on_error):
            if failure is None:
                raise error_for(response.status_code, response.content, response.headers)
            raise BatchFailed(failure, results)
        return self._align(items, results)

    @staticmethod
    def _align(
        items: Sequence[batching.Op | batching.ChangeSet], results: list[batching.OperationResult]
    ) -> list[batching.OperationResult]:
        aligned: list[batching.OperationResult] = []
        position = 0
        for item in items:
            if position >= len(results):
                raise DataverseError(200, None, f"the $batch response answered {len(results)} operations only")
            if isinstance(item, batching.ChangeSet):
                if not results[position].ok:
                    aligned += [results[position]] * len(item.operations)
                    position += 1
                else:
                    aligned += results[position : position + len(item.operations)]
                    position += len(item.operations)
            else:
                aligned.append(results[position])
                position += 1
        return aligned

    def create_multiple(self, entity_set: str, rows: Sequence[Mapping[str, Any]], *, logical_name: str) -> list[str]:
        """CreateMultiple: one request, returns the new ids in row order."""
        response = self._send(
            "POST",
            f"{self.api_url}{odata.identifier(entity_set)}/Microsoft.Dynamics.CRM.CreateMultiple",
            json_body={"Targets": self._targets(rows, logical_name, entity_set, None)},
            idempotent=False,
        )
        return [str(value).lower() for value in self._json(response).get("Ids", [])]

    def update_multiple(self, entity_set: str, rows: Sequence[Mapping[str, Any]], *, logical_name: str) -> None:
        """UpdateMultiple: every row must hold its primary key column."""
        self._send(
            "POST",
            f"{self.api_url}{odata.identifier(entity_set)}/Microsoft.Dynamics.CRM.UpdateMultiple",
            json_body={"Targets": self._targets(rows, logical_name, entity_set, None)},
            idempotent=True,
        )

    def upsert_multiple(
        self,
        entity_set: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        logical_name: str,
        keys: Sequence[Key] | None = None,
    ) -> None:
        """UpsertMultiple: rows identified by their primary key column, or by `keys` (one per row)."""
        self._send(
            "POST",
            f"{self.api_url}{odata.identifier(entity_set)}/Microsoft.Dynamics.CRM.UpsertMultiple",
            json_body={"Targets": self._targets(rows, logical_name, entity_set, keys)},
            idempotent=True,
        )

    @staticmethod
    def _targets(
        rows: Sequence[Mapping[str, Any]], logical_name: str, entity_set: str, keys: Sequence[Key] | None
    ) -> list[dict[str, Any]]:
        if not rows:
            raise ValueError("no rows")
        if keys is not None and len(keys) != len(rows):
            raise ValueError(f"{len(keys)} keys for {len(rows)} rows")
        odata_type = f"Microsoft.Dynamics.CRM.{odata.identifier(logical_name, what='logical name')}"
        targets = []
        for index, row in enumerate(rows):
            target = {"@odata.type": odata_type, **row}
            if keys is not None:
                target["@odata.id"] = odata.bind(entity_set, keys[index]).lstrip("/")
            targets.append(target)
        return targets

    # Functions and actions -------------------------------------------------------------------------

    def whoami(self) -> WhoAmI:
        payload = self._get_json(self.api_url + "WhoAmI")
        return WhoAmI(
            user_id=payload["UserId"],
            business_unit_id=payload["BusinessUnitId"],
            organization_id=payload["OrganizationId"],
        )

    def import_solution(
        self,
        customization_file: bytes,
        *,
        overwrite_unmanaged: bool = True,
        publish_workflows: bool = True,
        import_job_id: uuid.UUID | str | None = None,
        timeout: float | None = None,
    ) -> None:
        """ImportSolution with a solution .zip; an import is not repeated after a lost response."""
        body = {
            "OverwriteUnmanagedCustomizations": overwrite_unmanaged,
            "PublishWorkflows": publish_workflows,
            "CustomizationFile": base64.b64encode(customization_file).decode("ascii"),
            "ImportJobId": odata.guid(import_job_id or uuid.uuid4()),
        }
        self.action("ImportSolution", body, timeout=timeout)

    # Choices (option sets) ------------------------------------------------------------------------

    def option_set(self, entity: str, attribute: str) -> dict[int, str]:
        """The options of a local choice column, {value: label}, from its PicklistAttributeMetadata."""
        url = (
            f"{self.api_url}{odata.record_path('EntityDefinitions', {'LogicalName': entity})}/"
            f"{odata.record_path('Attributes', {'LogicalName': attribute})}/"
            "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        )
        body = self._get_json(self._with_query(url, {"$select": "LogicalName", "$expand": "OptionSet"}))
        options = (body.get("OptionSet") or {}).get("Options") or []
        return {int(option["Value"]): label_text(option.get("Label")) for option in options}

    def insert_option_value(
        self, entity: str, attribute: str, label: str, *, value: int | None = None, language_code: int = 1033
    ) -> int:
        """InsertOptionValue into a local choice column; returns the new option's value.

        Not repeated after a lost response (it is no upsert): a caller that matches options by
        label finds the option on its next run."""
        body: dict[str, Any] = {
            "EntityLogicalName": entity,
            "AttributeLogicalName": attribute,
            "Label": _label(label, language_code),
        }
        if value is not None:
            body["Value"] = value
        return int(self.action("InsertOptionValue", body)["NewOptionValue"])

    def update_option_value(
        self, entity: str, attribute: str, value: int, label: str, *, language_code: int = 1033
    ) -> None:
        """UpdateOptionValue: a new label for one option (labels of other languages are kept)."""
        body = {
            "EntityLogicalName": entity,
            "AttributeLogicalName": attribute,
            "Value": value,
            "Label": _label(label, language_code),
            "MergeLabels": True,
        }
        self.action("UpdateOptionValue", body, idempotent=True)

    def delete_option_value(self, entity: str, attribute: str, value: int) -> None:
        """DeleteOptionValue: remove one option of a local choice column."""
        body = {"EntityLogicalName": entity, "AttributeLogicalName": attribute, "Value": value}
        self.action("DeleteOptionValue", body)

    def function(self, name: str, *, entity_set: str | None = None, key: Key | None = None, **params: Any) -> Any:
        """Call a Web API function; parameters travel as query-string aliases (@p) holding OData literals."""
        if not _FUNCTION_NAME.match(name):
            raise ValueError(f"invalid function name {name!r}")
        aliases = {f"@{odata.identifier(p)}": odata.literal(v) for p, v in params.items()}
        call = f"{name}({','.join(f'{p}=@{p}' for p in params)})"
        url = self._with_query(self._operation_url(call, entity_set, key), aliases)
        return self._get_json(url)

    def action(
        self,
        name: str,
        body: Mapping[str, Any] | None = None,
        *,
        entity_set: str | None = None,
        key: Key | None = None,
        idempotent: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Call a Web API action (POST); returns the parsed response body or None."""
        if not _FUNCTION_NAME.match(name):
            raise ValueError(f"invalid action name {name!r}")
        response = self._send(
            "POST",
            self._operation_url(name, entity_set, key),
            json_body=dict(body or {}),
            idempotent=idempotent,
            timeout=timeout,
        )
        return self._json(response) if response.content else None

    def _operation_url(self, call: str, entity_set: str | None, key: Key | None) -> str:
        if entity_set is None:
            return self.api_url + call
        target = odata.record_path(entity_set, key) if key is not None else odata.identifier(entity_set)
        qualified = call if "." in call.split("(")[0] else f"Microsoft.Dynamics.CRM.{call}"
        return f"{self.api_url}{target}/{qualified}"

    # HTTP ------------------------------------------------------------------------------------------

    def _with_query(self, url: str, params: Mapping[str, Any]) -> str:
        return f"{url}?{odata.query_string(params)}" if params else url

    def _same_origin(self, link: str) -> str:
        """Links from responses are followed only on this organization: the token must not leak elsewhere."""
        if not link.startswith(self.api_url):
            raise DataverseError(None, None, f"refusing to follow a link outside {self.api_url}: {link[:200]}")
        return link

    def _get_json(self, url: str, *, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = self._json(
            self._send("GET", url, headers={"If-None-Match": "null", **(headers or {})})
        )
        return payload

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise DataverseError(response.status_code, None, f"expected JSON, got {response.text[:200]!r}") from exc

    def _send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        raise_for_status: bool = True,
        timeout: float | None = None,
    ) -> requests.Response:
        """One logical request, with retries.

        Retried: 429 (after Retry-After, during which no request of this client is sent), 502/503/504
        and connection failures, with bounded exponential backoff and jitter; a 401 once after a
        token refresh. A non-idempotent request is never repeated once it may have reached the
        server (dropped connection after sending, read timeout, gateway error).
        """
        if idempotent is None:
            idempotent = method != "POST"
        base_headers = {
            "Accept": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            **(headers or {}),
        }
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            base_headers["Content-Type"] = "application/json; charset=utf-8"
        attempts = 0
        refreshed_token = False
        possibly_delivered = False
        while True:
            self._wait_while_throttled()
            request_headers = {**base_headers, "Authorization": f"Bearer {self._auth.token()}"}
            started = time.monotonic()
            try:
                with self._slots or nullcontext():
                    response = self._session.request(
                        method,
                        url,
                        data=data,
                        headers=request_headers,
                        verify=self._verify,
                        timeout=timeout or self.timeout,
                        allow_redirects=False,
                    )
            except requests.exceptions.SSLError as exc:
                self.stats.record_transport_error()
                raise TransportError(f"TLS verification failed for {self.url}: {exc}") from exc
            except requests.exceptions.RequestException as exc:  # refused, dropped, cut short, timed out
                self.stats.record_transport_error()
                sent = not _never_sent(exc)
                logger.warning("%s %s failed (%s)", method, _path(url), type(exc).__name__)
                if (sent and not idempotent) or attempts >= self.max_retries:
                    transport_error = TransportError(f"{method} {_path(url)}: {exc}")
                    transport_error.after_possible_delivery = possibly_delivered or sent
                    raise transport_error from exc
                possibly_delivered = possibly_delivered or sent
                attempts += 1
                self.stats.record_retry()
                self.clock.sleep(self._backoff(attempts))
                continue
            status = response.status_code
            self.stats.record_response(method, status)
            logger.debug(
                "%s %s -> %s in %.0f ms", method, _path(url), status, (self.clock.monotonic() - started) * 1000
            )
            if status == 401 and not refreshed_token:
                refreshed_token = True
                self._auth.token(force_refresh=True)
                continue
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                self.stats.record_throttle(retry_after)
                delay = self._backoff(attempts + 1) if retry_after is None else retry_after
                if attempts < self.max_retries and delay <= MAX_THROTTLE_WAIT_SECONDS:
                    self._throttle_for(delay)
                    self.stats.record_throttle_wait(delay)
                    attempts += 1
                    self.stats.record_retry()
                    continue
            if status in RETRYABLE_GATEWAY_STATUSES and idempotent and attempts < self.max_retries:
                possibly_delivered = True
                attempts += 1
                self.stats.record_retry()
                self.clock.sleep(self._backoff(attempts))
                continue
            if status >= 400 and raise_for_status:
                error = error_for(status, response.content, response.headers)
                error.after_possible_delivery = possibly_delivered
                if isinstance(error, Throttled) and error.retry_after is None:
                    error.retry_after = self._backoff(attempts + 1)
                raise error
            return response

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, bounded by backoff_max."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def _throttle_for(self, seconds: float) -> None:
        with self._throttle_lock:
            self._throttled_until = max(self._throttled_until, self.clock.monotonic() + seconds)

    def _wait_while_throttled(self) -> None:
        while True:
            with self._throttle_lock:
                remaining = self._throttled_until - self.clock.monotonic()
            if remaining <= 0:
                return
            self.clock.sleep(remaining)


def _never_sent(exc: Exception) -> bool:
    """True when the failure happened while connecting, so the server cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError)


def _path(url: str) -> str:
    """The URL without its query string: filters can hold personal data, logs should not."""
    return urlsplit(url).path


def label_text(label: Mapping[str, Any] | None) -> str:
    """The text of a metadata Label: the user's localized label, else the first one, else ""."""
    if not label:
        return ""
    chosen = label.get("UserLocalizedLabel") or next(iter(label.get("LocalizedLabels") or []), None) or {}
    return str(chosen.get("Label") or "")


def _label(text: str, language_code: int) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": language_code}]}

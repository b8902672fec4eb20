"""Typed errors raised by the Dataverse client.

Every error carries the HTTP status (None when no response arrived), the Dataverse error code
(e.g. "0x80040217") and the message, so callers branch on types and job logs show the details.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # batch imports this module: only the type checker may import it back
    from .batch import OperationResult

DUPLICATE_RECORD_CODES = frozenset({"0x80040237", "0x80060892"})
CONCURRENCY_MISMATCH_CODES = frozenset({"0x80060882"})


class DataverseError(Exception):
    """A request to Dataverse failed.

    `after_possible_delivery` is set when an earlier attempt of the same request may have reached
    the server (so a "duplicate" or "not found" answer may be the echo of our own first attempt).
    """

    after_possible_delivery = False

    def __init__(self, status: int | None, code: str | None, message: str, *, headers: Mapping[str, str] | None = None):
        self.status = status
        self.code = code or None
        self.message = message
        self.headers = dict(headers or {})
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"HTTP {self.status}" if self.status is not None else "no response"]
        if self.code:
            parts.append(self.code)
        return f"{' '.join(parts)}: {self.message}"


class ValidationFailed(DataverseError):
    """400: the request or its data is not valid (bad property, bad filter, business rule)."""


class Unauthorized(DataverseError):
    """401: no token, or the token was refused even after one refresh."""


class AuthenticationFailed(Unauthorized):
    """The identity provider refused to issue a token (bad client secret, unknown tenant, ...)."""


class Forbidden(DataverseError):
    """403: the caller lacks the privilege."""


class NotFound(DataverseError):
    """404: the record, entity set or resource does not exist."""


class PreconditionFailed(DataverseError):
    """412: an If-Match / If-None-Match condition was not met."""


class DuplicateRecord(PreconditionFailed):
    """412: a record with the same primary or alternate key already exists."""


class ConcurrencyMismatch(PreconditionFailed):
    """412: the record changed since the given ETag was read."""


class Throttled(DataverseError):
    """429: service protection limits hit; `retry_after` is the wait in seconds the server asked for."""

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        *,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        self.retry_after = retry_after
        super().__init__(status, code, message, headers=headers)


class ServiceUnavailable(DataverseError):
    """502, 503 or 504 after the retries were used up (or on a request that must not be repeated)."""


class TransportError(DataverseError):
    """No usable HTTP response: connection refused or dropped, timeout, TLS verification failure."""

    def __init__(self, message: str):
        super().__init__(None, None, message)


class BatchFailed(DataverseError):
    """A $batch without continue-on-error stopped at a failing operation.

    `error` is the typed error of the failing operation; `results` holds every operation response
    the server returned (for Dataverse that is usually just the failing one).
    """

    def __init__(self, error: DataverseError, results: list[OperationResult]):
        self.error = error
        self.results = results
        super().__init__(error.status, error.code, f"batch stopped: {error.message}", headers=error.headers)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_error_body(body: Any) -> tuple[str | None, str]:
    """Extract (code, message) from an OData error body: {"error": {"code": ..., "message": ...}}."""
    if isinstance(body, bytes | str):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            body = json.loads(text)
        except ValueError:
            return None, text.strip()[:500]
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return (str(error["code"]) if error.get("code") else None), str(error.get("message") or "")
        if isinstance(error, str):  # OAuth-style {"error": "...", "error_description": "..."}
            return error, str(body.get("error_description") or error)
    return None, str(body)[:500]


def error_for(status: int, body: Any, headers: Mapping[str, str] | None = None) -> DataverseError:
    """Build the typed error for an HTTP error response."""
    code, message = parse_error_body(body)
    headers = headers or {}
    if not message:
        message = f"HTTP {status}"
    if status == 400:
        return ValidationFailed(status, code, message, headers=headers)
    if status == 401:
        challenge = _header(headers, "WWW-Authenticate")
        if challenge and message == "HTTP 401":
            message = challenge
        return Unauthorized(status, code, message, headers=headers)
    if status == 403:
        return Forbidden(status, code, message, headers=headers)
    if status == 404:
        return NotFound(status, code, message, headers=headers)
    if status == 412:
        lowered_code = (code or "").lower()
        lowered = message.lower()
        if lowered_code in DUPLICATE_RECORD_CODES or "already exists" in lowered or "duplicate" in lowered:
            return DuplicateRecord(status, code, message, headers=headers)
        if lowered_code in CONCURRENCY_MISMATCH_CODES or "version" in lowered:
            return ConcurrencyMismatch(status, code, message, headers=headers)
        return PreconditionFailed(status, code, message, headers=headers)
    if status == 429:
        retry_after = parse_retry_after(_header(headers, "Retry-After"))
        return Throttled(status, code, message, retry_after=retry_after, headers=headers)
    if status in (502, 503, 504):
        return ServiceUnavailable(status, code, message, headers=headers)
    return DataverseError(status, code, message, headers=headers)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None

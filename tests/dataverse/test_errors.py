"""Mapping HTTP error responses to typed exceptions, and Retry-After parsing."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from dataverse import (
    ConcurrencyMismatch,
    DataverseError,
    DuplicateRecord,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Throttled,
    Unauthorized,
    ValidationFailed,
)
from dataverse.errors import error_for, parse_retry_after


def body(code, message):
    return {"error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (400, body("0x0", "Could not find a property named 'Name'"), ValidationFailed),
        (401, b"", Unauthorized),
        (403, body("0x80040220", "missing prvCreateAccount"), Forbidden),
        (404, body("0x80040217", "account With Id = x Does Not Exist"), NotFound),
        (412, body("0x80040237", "A record with matching key values already exists."), DuplicateRecord),
        (412, body("0x80060892", "Entity Key accountnumber violated"), DuplicateRecord),
        (
            412,
            body("", "The version of the existing record doesn't match the RowVersion property provided."),
            ConcurrencyMismatch,
        ),
        (412, body("0x80060882", "mismatch"), ConcurrencyMismatch),
        (412, body("0x1", "something else"), PreconditionFailed),
        (503, body("0x80040216", "unavailable"), ServiceUnavailable),
        (405, b"<html>no</html>", DataverseError),
    ],
)
def test_error_types(status, payload, expected):
    error = error_for(status, payload, {})
    assert type(error) is expected
    assert error.status == status


def test_error_carries_code_and_message():
    error = error_for(404, b'{"error":{"code":"0x80040217","message":"Does Not Exist"}}', {})
    assert (error.code, error.message) == ("0x80040217", "Does Not Exist")
    assert str(error) == "HTTP 404 0x80040217: Does Not Exist"


def test_unauthorized_without_body_shows_the_challenge():
    error = error_for(401, b"", {"WWW-Authenticate": "Bearer authorization_uri=https://login"})
    assert "Bearer authorization_uri" in error.message


def test_throttled_carries_retry_after():
    error = error_for(429, body("0x80072322", "Number of requests exceeded"), {"Retry-After": "7"})
    assert isinstance(error, Throttled)
    assert error.retry_after == 7.0


def test_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 31
    assert parse_retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0

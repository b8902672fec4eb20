"""Errors the sandbox answers with, each carrying the Dataverse status, code and message."""

from __future__ import annotations


class DataverseError(Exception):
    status = 400
    code = "0x80040203"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(DataverseError):
    status = 400
    code = "0x80040203"


class QueryError(DataverseError):
    """An OData query option the service cannot parse or does not support (Dataverse uses code 0x0)."""

    status = 400
    code = "0x0"


class InvalidProperty(DataverseError):
    status = 400
    code = "0x80060888"


class MaxLengthExceeded(DataverseError):
    status = 400
    code = "0x80044331"


class RequiredAttributeMissing(DataverseError):
    status = 400
    code = "0x80040203"


class PayloadError(DataverseError):
    """The request body does not fit the entity type (Dataverse wraps these in one generic code)."""

    status = 400
    code = "0x80048d19"


class RecordNotFound(DataverseError):
    status = 404
    code = "0x80040217"


class ResourceNotFound(DataverseError):
    status = 404
    code = "0x8006088a"


class MethodNotAllowed(DataverseError):
    status = 405
    code = "0x80060888"


class DuplicateRecord(DataverseError):
    status = 412
    code = "0x80040237"

    def __init__(self, message: str = "A record with matching key values already exists.", **kwargs):
        super().__init__(message, **kwargs)


class DuplicateKey(DataverseError):
    status = 412
    code = "0x80060892"


class VersionMismatch(DataverseError):
    status = 412
    code = "0x80060882"

    def __init__(
        self, message: str = "The version of the existing record doesn't match the RowVersion property provided."
    ):
        super().__init__(message)


class Unauthorized(DataverseError):
    status = 401
    code = "0x80072560"


class Forbidden(DataverseError):
    status = 403
    code = "0x80040220"


class Throttled(DataverseError):
    status = 429
    code = "0x80072322"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(DataverseError):
    status = 503
    code = "0x80040216"

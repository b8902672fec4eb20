"""OData v4 protocol pieces shared by the service's views: errors, JSON with exact decimals, headers."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal

from django.http import HttpResponse

ODATA_VERSION = "4.0"
JSON_CONTENT_TYPE = "application/json;odata.metadata=minimal"
XML_CONTENT_TYPE = "application/xml"


class ODataError(Exception):
    """A request the service refuses: answered with the OData JSON error body and ``status``."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str, *, code: str = "BadRequest") -> ODataError:
    return ODataError(400, code, message)


def wants_ieee754_strings(request) -> bool:
    """OData's IEEE754Compatible=true: the client wants Edm.Decimal values as JSON strings."""
    requested = f"{request.headers.get('Accept', '')};{request.GET.get('$format', '')}".lower().replace(" ", "")
    return "ieee754compatible=true" in requested


def encode_json(value, *, decimals_as_strings: bool = False) -> str:
    """JSON where Edm.Decimal values keep every digit (as numbers, or as strings for IEEE754Compatible)."""
    if isinstance(value, dict):
        members = (
            f"{json.dumps(key)}:{encode_json(item, decimals_as_strings=decimals_as_strings)}"
            for key, item in value.items()
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode_json(item, decimals_as_strings=decimals_as_strings) for item in value) + "]"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return json.dumps(text) if decimals_as_strings else text
    if isinstance(value, datetime.date | uuid.UUID):
        return json.dumps(str(value))
    return json.dumps(value)


def json_response(request, payload: dict, *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    decimals_as_strings = wants_ieee754_strings(request)
    content_type = JSON_CONTENT_TYPE + (";IEEE754Compatible=true" if decimals_as_strings else "")
    response = HttpResponse(
        encode_json(payload, decimals_as_strings=decimals_as_strings), status=status, content_type=content_type
    )
    response["OData-Version"] = ODATA_VERSION
    for name, header in (headers or {}).items():
        response[name] = header
    return response


def error_response(error: ODataError) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"error": {"code": error.code, "message": error.message}}),
        status=error.status,
        content_type="application/json;odata.metadata=minimal",
    )
    response["OData-Version"] = ODATA_VERSION
    for name, header in error.headers.items():
        response[name] = header
    return response


def xml_response(document: str) -> HttpResponse:
    response = HttpResponse(document, content_type=XML_CONTENT_TYPE)
    response["OData-Version"] = ODATA_VERSION
    return response


def text_response(text: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/plain")
    response["OData-Version"] = ODATA_VERSION
    return response

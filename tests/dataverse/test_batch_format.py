"""The $batch wire format: the multipart request we build and the multipart responses we parse."""

import json
import uuid

import pytest

from dataverse import ChangeSet, Op
from dataverse.batch import build_body, normalise, parse_response

API = "https://org.example.com/api/data/v9.2/"
GUID = uuid.UUID("00000000-0000-0000-0000-000000000001")


def test_request_body_is_crlf_multipart_with_absolute_urls_and_changesets():
    items = normalise(
        [
            Op.create("accounts", {"name": "A"}),
            ChangeSet([Op.create("contacts", {"firstname": "B"}), Op.patch_reference("$1", {"lastname": "C"})]),
            Op.get("accounts", GUID, select=["name"]),
        ]
    )
    content_type, body = build_body(items, api_url=API, boundary="batch_X")
    text = body.decode()
    assert content_type == 'multipart/mixed; boundary="batch_X"'
    assert "\n" not in text.replace("\r\n", "")  # every line ends with CRLF
    assert text.endswith("--batch_X--\r\n")
    assert text.startswith(
        "--batch_X\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        f"POST {API}accounts HTTP/1.1\r\n"
    )
    assert 'Content-Type: application/json; type=entry\r\n\r\n{"name":"A"}\r\n--batch_X\r\n' in text
    assert "Content-ID: 1\r\n\r\nPOST " + API + "contacts HTTP/1.1" in text
    assert "Content-ID: 2\r\n\r\nPATCH $1 HTTP/1.1\r\n" in text
    assert f"GET {API}accounts({GUID})?$select=name HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n" in text
    assert text.count('Content-Type: multipart/mixed; boundary="changeset_') == 1


def test_limits_and_validation():
    with pytest.raises(ValueError, match="at most 1000"):
        normalise([Op.create("accounts", {"name": str(i)}) for i in range(1001)])
    assert len(normalise([Op.create("accounts", {"name": str(i)}) for i in range(1000)])) == 1000
    with pytest.raises(ValueError, match="GET"):
        ChangeSet([Op.get("accounts")])
    with pytest.raises(ValueError):
        normalise([])
    with pytest.raises(ValueError):
        Op.patch_reference("accounts(1)", {})


def test_content_ids_are_unique_across_changesets():
    items = normalise(
        [
            ChangeSet([Op.create("accounts", {}, content_id=2), Op.create("accounts", {})]),
            ChangeSet([Op.create("accounts", {})]),
        ]
    )
    ids = [op.content_id for cs in items for op in cs.operations]
    assert ids == ["2", "1", "3"]


DOC_RESPONSE = (
    "--batchresponse_f27e\r\n"
    "Content-Type: multipart/mixed; boundary=changesetresponse_64cc\r\n"
    "\r\n"
    "--changesetresponse_64cc\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-ID: 1\r\n"
    "\r\n"
    "HTTP/1.1 204 No Content\r\n"
    "OData-Version: 4.0\r\n"
    "Location:https://org/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)\r\n"
    "OData-EntityId: https://org/api/data/v9.2/tasks(E73FFC82-E292-ED11-AAD1-000D3A9933C9)\r\n"
    "\r\n"
    "\r\n"
    "--changesetresponse_64cc--\r\n"
    "--batchresponse_f27e\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: application/json; odata.metadata=minimal\r\n"
    "\r\n"
    '{"error":{"code":"0x80044331","message":"A validation error occurred."}}\r\n'
    "--batchresponse_f27e\r\n"
    "Content-Type: application/http\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json; odata.metadata=minimal\r\n"
    "\r\n"
    '{"value":[{"subject":"Task 1"}]}\r\n'
    "--batchresponse_f27e--\r\n"
)


def test_parse_response_flattens_changesets_and_types_errors():
    results = parse_response("multipart/mixed; boundary=batchresponse_f27e", DOC_RESPONSE.encode())
    assert [r.status for r in results] == [204, 400, 200]
    assert results[0].content_id == "1"
    assert results[0].entity_id == "e73ffc82-e292-ed11-aad1-000d3a9933c9"
    assert results[0].ok and results[0].error is None
    assert results[1].error.code == "0x80044331"
    assert type(results[1].error).__name__ == "ValidationFailed"
    assert results[2].body == {"value": [{"subject": "Task 1"}]}


def test_parse_response_accepts_quoted_boundaries_and_lf_line_endings():
    body = DOC_RESPONSE.replace("\r\n", "\n").replace(
        "boundary=changesetresponse_64cc", 'boundary="changesetresponse_64cc"'
    )
    results = parse_response('multipart/mixed; boundary="batchresponse_f27e"', body.encode())
    assert [r.status for r in results] == [204, 400, 200]
    assert json.dumps(results[2].body) == '{"value": [{"subject": "Task 1"}]}'


def test_request_body_is_valid_mime_for_a_strict_parser():
    from email import message_from_bytes, policy

    items = normalise(
        [
            ChangeSet([Op.create("accounts", {"name": "A"}), Op.create("contacts", {"lastname": "B"})]),
            Op.get("accounts"),
        ]
    )
    content_type, body = build_body(items, api_url=API)
    message = message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body, policy=policy.HTTP)
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["multipart/mixed", "application/http"]
    inner = list(parts[0].iter_parts())
    assert [part["Content-ID"] for part in inner] == ["1", "2"]
    assert inner[1].get_payload().startswith(f"POST {API}contacts HTTP/1.1\r\n")
    assert message.defects == [] and all(part.defects == [] for part in message.walk())

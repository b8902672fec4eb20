"""$batch over the wire: multipart bodies written by hand, as Dataverse documents them."""

import json
import re
import uuid

CRLF = "\r\n"


def part(method, url, body=None, *, content_id=None, headers=()):
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    if body is not None:
        lines.append("Content-Type: application/json; type=entry")
    lines += list(headers)
    lines.append("")
    lines.append(json.dumps(body) if body is not None else "")
    return lines


def changeset(boundary, *parts):
    lines = [f'Content-Type: multipart/mixed; boundary="{boundary}"', ""]
    for item in parts:
        lines += [f"--{boundary}", *item]
    lines.append(f"--{boundary}--")
    return lines


def body_of(boundary, *parts, final_crlf=True):
    lines = []
    for item in parts:
        lines += [f"--{boundary}", *item]
    lines.append(f"--{boundary}--")
    return (CRLF.join(lines) + (CRLF if final_crlf else "")).encode()


def post_batch(crm_sandbox, api, body, boundary, *, quoted=True, prefer=None):
    headers = {
        "Content-Type": f'multipart/mixed; boundary="{boundary}"' if quoted else f"multipart/mixed;boundary={boundary}"
    }
    if prefer:
        headers["Prefer"] = prefer
    return api.post(f"{crm_sandbox.api_url}$batch", data=body, headers=headers)


def parse_parts(response):
    """[(part headers, status, inner headers, body text)] flattened, with changeset parts nested in order."""
    boundary = re.search(r"boundary=([^;\s]+)", response.headers["Content-Type"]).group(1).strip('"')
    return _parse(response.content.decode(), boundary)


def _parse(text, boundary):
    assert text.endswith(f"--{boundary}--\r\n"), text[-200:]
    chunks = text.split(f"--{boundary}")[1:-1]
    results = []
    for chunk in chunks:
        head, _, rest = chunk.strip("\r\n").partition("\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.split("\r\n"))
        if headers["Content-Type"].startswith("multipart/mixed"):
            inner = headers["Content-Type"].split("boundary=")[1]
            results.append(_parse(rest.rstrip("\r\n") + "\r\n", inner))
            continue
        status_line, _, after = rest.partition("\r\n")
        inner_head, _, payload = after.partition("\r\n\r\n")
        inner_headers = dict(line.split(": ", 1) for line in inner_head.split("\r\n") if line)
        results.append((headers, int(status_line.split()[1]), inner_headers, payload.strip()))
    return results


def test_batch_of_creates_and_a_get_answers_each_in_order(crm_sandbox, admin_api, unique):
    boundary = f"batch_{uuid.uuid4()}"
    body = body_of(
        boundary,
        part("POST", "/api/data/v9.2/accounts", {"name": f"B1 {unique}"}),
        part("POST", f"{crm_sandbox.api_url}accounts", {"name": f"B2 {unique}"}),
        part("POST", "accounts", {"name": f"B3 {unique}"}),
        part("GET", f"/api/data/v9.2/accounts?$select=name&$filter=endswith(name,'{unique}')"),
    )
    response = post_batch(crm_sandbox, admin_api, body, boundary)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("multipart/mixed; boundary=batchresponse_")
    parts = parse_parts(response)
    assert [p[1] for p in parts] == [204, 204, 204, 200]
    for headers, _status, inner, _payload in parts[:3]:
        assert headers["Content-Type"] == "application/http"
        assert headers["Content-Transfer-Encoding"] == "binary"
        assert inner["OData-EntityId"] == inner["Location"]
        assert inner["OData-EntityId"].startswith(f"{crm_sandbox.api_url}accounts(")
    listed = json.loads(parts[3][3])
    assert sorted(row["name"] for row in listed["value"]) == [f"B1 {unique}", f"B2 {unique}", f"B3 {unique}"]


def test_unquoted_boundary_is_accepted(crm_sandbox, admin_api, unique):
    boundary = "batch_AAA123"
    body = body_of(boundary, part("POST", "/api/data/v9.2/accounts", {"name": f"U {unique}"}))
    response = post_batch(crm_sandbox, admin_api, body, boundary, quoted=False)
    assert response.status_code == 200
    assert parse_parts(response)[0][1] == 204


def test_changeset_references_by_url_and_by_bind_and_echoes_content_ids(crm_sandbox, admin_api, unique):
    boundary, cs = "batch_refs", "changeset_refs"
    body = body_of(
        boundary,
        changeset(
            cs,
            part("POST", "/api/data/v9.2/accounts", {"name": f"CS {unique}"}, content_id=1),
            part(
                "POST",
                "/api/data/v9.2/contacts",
                {"lastname": f"CS {unique}", "parentcustomerid_account@odata.bind": "$1"},
                content_id=2,
            ),
            part("PATCH", "$1", {"primarycontactid@odata.bind": "$2"}, content_id=3, headers=["If-Match: *"]),
            part("PUT", "$2/lastname", {"value": f"Renamed {unique}"}, content_id=4),
        ),
    )
    response = post_batch(crm_sandbox, admin_api, body, boundary)
    assert response.status_code == 200, response.text
    (answers,) = parse_parts(response)
    assert [a[0]["Content-ID"] for a in answers] == ["1", "2", "3", "4"]
    assert [a[1] for a in answers] == [204, 204, 204, 204]
    account_url, contact_url = answers[0][2]["OData-EntityId"], answers[1][2]["OData-EntityId"]
    assert answers[2][2]["OData-EntityId"] == account_url
    account = admin_api.get(account_url).json()
    contact = admin_api.get(contact_url).json()
    assert account["_primarycontactid_value"] == contact["contactid"]
    assert contact["_parentcustomerid_value"] == account["accountid"]
    assert contact["lastname"] == f"Renamed {unique}"


def test_reference_before_declaration_is_rejected(crm_sandbox, admin_api, unique):
    boundary, cs = "batch_undeclared", "changeset_undeclared"
    body = body_of(
        boundary,
        changeset(
            cs,
            part(
                "POST",
                "/api/data/v9.2/contacts",
                {"lastname": unique, "parentcustomerid_account@odata.bind": "$1"},
                content_id=2,
            ),
            part("POST", "/api/data/v9.2/accounts", {"name": unique}, content_id=1),
        ),
    )
    response = post_batch(crm_sandbox, admin_api, body, boundary)
    assert response.status_code == 400
    (failing,) = parse_parts(response)
    assert failing[1] == 400
    assert (
        json.loads(failing[3])["error"]["message"] == "Content-ID Reference: '$1' does not exist in the batch context."
    )
    assert admin_api.get(f"{crm_sandbox.api_url}accounts?$filter=name eq '{unique}'").json()["value"] == []


def test_failing_changeset_rolls_back_everything(crm_sandbox, admin_api, unique):
    boundary, cs = "batch_rollback", "changeset_rollback"
    body = body_of(
        boundary,
        changeset(
            cs,
            part("POST", "/api/data/v9.2/accounts", {"name": f"R1 {unique}"}, content_id=1),
            part("POST", "/api/data/v9.2/accounts", {"name": f"R2 {unique}", "accountnumber": "x" * 50}, content_id=2),
        ),
        part("POST", "/api/data/v9.2/accounts", {"name": f"R3 {unique}"}),
    )
    response = post_batch(crm_sandbox, admin_api, body, boundary, prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.continue-on-error"
    parts = parse_parts(response)
    assert [p[1] for p in parts] == [400, 204]
    assert json.loads(parts[0][3])["error"]["code"] == "0x80044331"
    names = admin_api.get(f"{crm_sandbox.api_url}accounts?$select=name&$filter=endswith(name,'{unique}')").json()
    assert [row["name"] for row in names["value"]] == [f"R3 {unique}"]


def test_without_continue_on_error_the_batch_stops_with_400_and_only_the_failing_part(crm_sandbox, admin_api, unique):
    boundary = "batch_stop"
    body = body_of(
        boundary,
        part("POST", "/api/data/v9.2/accounts", {"name": f"S1 {unique}"}),
        part("POST", "/api/data/v9.2/accounts", {"name": f"S2 {unique}", "accountnumber": "x" * 50}),
        part("POST", "/api/data/v9.2/accounts", {"name": f"S3 {unique}"}),
    )
    response = post_batch(crm_sandbox, admin_api, body, boundary)
    assert response.status_code == 400
    assert "Preference-Applied" not in response.headers
    parts = parse_parts(response)
    assert len(parts) == 1 and parts[0][1] == 400
    assert parts[0][2]["Content-Type"].startswith("application/json")
    assert "maximum allowed length of '20'" in json.loads(parts[0][3])["error"]["message"]
    names = admin_api.get(f"{crm_sandbox.api_url}accounts?$select=name&$filter=endswith(name,'{unique}')").json()
    assert [row["name"] for row in names["value"]] == [f"S1 {unique}"]


def test_continue_on_error_answers_every_part(crm_sandbox, admin_api, unique):
    boundary = "batch_continue"
    missing = uuid.uuid4()
    body = body_of(
        boundary,
        part("GET", f"/api/data/v9.2/accounts({missing})"),
        part("POST", "/api/data/v9.2/accounts", {"name": f"C {unique}"}),
    )
    response = post_batch(crm_sandbox, admin_api, body, boundary, prefer="odata.continue-on-error")
    assert response.status_code == 200
    parts = parse_parts(response)
    assert [p[1] for p in parts] == [404, 204]
    assert json.loads(parts[0][3])["error"]["code"] == "0x80040217"


def test_get_inside_a_changeset_is_refused(crm_sandbox, admin_api):
    boundary, cs = "batch_get", "changeset_get"
    body = body_of(boundary, changeset(cs, part("GET", "/api/data/v9.2/accounts", content_id=1)))
    response = post_batch(crm_sandbox, admin_api, body, boundary)
    assert response.status_code == 400
    assert "not allowed inside a change set" in response.json()["error"]["message"]


def test_missing_final_crlf_is_not_readable(crm_sandbox, admin_api, unique):
    boundary = "batch_nocrlf"
    body = body_of(boundary, part("POST", "/api/data/v9.2/accounts", {"name": unique}), final_crlf=False)
    response = post_batch(crm_sandbox, admin_api, body, boundary)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Stream was not readable."
    bare_lf = body_of(boundary, part("POST", "/api/data/v9.2/accounts", {"name": unique})).replace(b"\r\n", b"\n")
    assert post_batch(crm_sandbox, admin_api, bare_lf, boundary).status_code == 400
    assert admin_api.get(f"{crm_sandbox.api_url}accounts?$filter=name eq '{unique}'").json()["value"] == []


def test_more_than_1000_requests_are_refused(crm_sandbox, admin_api):
    boundary = "batch_big"
    body = body_of(boundary, *[part("GET", "/api/data/v9.2/WhoAmI") for _ in range(1001)])
    response = post_batch(crm_sandbox, admin_api, body, boundary)
    assert response.status_code == 400
    assert "1000" in response.json()["error"]["message"]


def test_batch_needs_a_multipart_content_type(crm_sandbox, admin_api):
    response = admin_api.post(f"{crm_sandbox.api_url}$batch", json={"requests": []})
    assert response.status_code == 400
    assert "multipart/mixed" in response.json()["error"]["message"]


def test_a_batch_counts_as_one_request_for_throttling(crm_sandbox_with):
    sandbox = crm_sandbox_with(throttle="3/60")
    api = sandbox.session(sandbox.admin_token())
    boundary = "batch_throttle"
    body = body_of(boundary, *[part("GET", "/api/data/v9.2/WhoAmI") for _ in range(10)])
    first = post_batch(sandbox, api, body, boundary)
    assert first.status_code == 200
    assert [p[1] for p in parse_parts(first)] == [200] * 10
    assert api.get(f"{sandbox.api_url}WhoAmI").status_code == 200
    assert api.get(f"{sandbox.api_url}WhoAmI").status_code == 200
    throttled = api.get(f"{sandbox.api_url}WhoAmI")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1

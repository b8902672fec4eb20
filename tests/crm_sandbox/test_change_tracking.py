"""Change tracking: Prefer odata.track-changes, delta links, deletions, paging and the errors around them."""

import datetime as dt
from urllib.parse import parse_qs, quote, urlsplit

TRACK = {"Prefer": "odata.track-changes"}


def create(crm_sandbox, api, name):
    response = api.post(f"{crm_sandbox.api_url}accounts", json={"name": name})
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def start(sandbox, api):
    response = api.get(f"{sandbox.api_url}accounts?$select=name", headers=TRACK)
    assert response.status_code == 200, response.text
    return response


def test_initial_call_returns_all_rows_and_a_delta_link(crm_sandbox):
    sandbox = crm_sandbox
    api = sandbox.session(sandbox.admin_token())
    response = start(sandbox, api)
    assert response.headers["Preference-Applied"] == "odata.track-changes"
    body = response.json()
    assert body["@odata.context"] == f"{sandbox.api_url}$metadata#accounts(name)"
    total = int(api.get(f"{sandbox.api_url}accounts/$count").text)
    assert len(body["value"]) == total and "accountid" in body["value"][0]
    link = body["@odata.deltaLink"]
    assert link.startswith(f"{sandbox.api_url}accounts?$select=name&$deltatoken=")
    token = parse_qs(urlsplit(link).query)["$deltatoken"][0]
    version, _, stamp = token.partition("!")
    assert version.isdigit() and dt.datetime.strptime(stamp, "%m/%d/%Y %H:%M:%S")


def test_delta_link_returns_changes_then_deletions_and_a_new_link(crm_sandbox):
    sandbox = crm_sandbox
    api = sandbox.session(sandbox.admin_token())
    kept = create(sandbox, api, "Kept")
    doomed = create(sandbox, api, "Doomed")
    link = start(sandbox, api).json()["@odata.deltaLink"]
    added = create(sandbox, api, "Added")
    api.patch(f"{sandbox.api_url}accounts({kept})", json={"name": "Kept 2"}, headers={"If-Match": "*"})
    api.delete(f"{sandbox.api_url}accounts({doomed})")
    brief = create(sandbox, api, "Brief")
    api.delete(f"{sandbox.api_url}accounts({brief})")
    assert api.get(f"{sandbox.api_url}accounts/$count?$deltatoken={quote(link.split('$deltatoken=')[1])}").text == "4"

    delta = api.get(link)
    assert delta.status_code == 200
    body = delta.json()
    assert body["@odata.context"] == f"{sandbox.api_url}$metadata#accounts(name)/$delta"
    changed = [row for row in body["value"] if "id" not in row]
    deleted = [row for row in body["value"] if "id" in row]
    assert [row["name"] for row in changed] == ["Added", "Kept 2"]
    assert body["value"][: len(changed)] == changed  # updates first, then deletions
    assert deleted == [
        {"@odata.context": f"{sandbox.api_url}$metadata#accounts/$deletedEntity", "id": doomed, "reason": "deleted"},
        {"@odata.context": f"{sandbox.api_url}$metadata#accounts/$deletedEntity", "id": brief, "reason": "deleted"},
    ]
    assert {added, kept} == {row["accountid"] for row in changed}
    again = api.get(body["@odata.deltaLink"]).json()
    assert again["value"] == [] and again["@odata.deltaLink"]


def test_paging_only_the_last_page_carries_the_delta_link(crm_sandbox):
    sandbox = crm_sandbox
    api = sandbox.session(sandbox.admin_token())
    prefer = {"Prefer": "odata.track-changes,odata.maxpagesize=5"}
    url, pages, rows = f"{sandbox.api_url}accounts?$select=name", [], []
    while url:
        body = api.get(url, headers=prefer).json()
        pages.append(body)
        rows += body["value"]
        url = body.get("@odata.nextLink")
    assert len(pages) > 1
    assert all("@odata.deltaLink" not in page for page in pages[:-1])
    assert "@odata.deltaLink" in pages[-1]
    assert len({row["accountid"] for row in rows}) == int(api.get(f"{sandbox.api_url}accounts/$count").text)
    for n in range(7):
        create(sandbox, api, f"Paged {n}")
    url, changed = pages[-1]["@odata.deltaLink"], []
    while url:
        body = api.get(url, headers=prefer).json()
        changed += body["value"]
        url = body.get("@odata.nextLink")
        last = body
    assert sorted(row["name"] for row in changed) == [f"Paged {n}" for n in range(7)]
    assert "@odata.deltaLink" in last


def test_query_options_are_rejected_while_tracking(crm_sandbox, admin_api):
    for option in ("$filter=name eq 'x'", "$orderby=name", "$expand=primarycontactid", "$top=1"):
        response = admin_api.get(f"{crm_sandbox.api_url}accounts?$select=name&{option}", headers=TRACK)
        assert response.status_code == 400
        name = option.split("=")[0]
        assert response.json()["error"]["message"] == (
            f'The "{name}" query parameter isn\'t supported when Change Tracking is enabled.'
        )


def test_bad_and_expired_tokens(crm_sandbox, admin_api):
    bad = admin_api.get(f"{crm_sandbox.api_url}accounts?$select=name&$deltatoken=garbage")
    assert bad.status_code == 400
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=8)).strftime("%m/%d/%Y %H:%M:%S")
    expired = admin_api.get(f"{crm_sandbox.api_url}accounts?$select=name&$deltatoken={quote(f'1!{old}', safe='')}")
    assert expired.status_code == 400
    assert expired.json()["error"] == {
        "code": "0x80044352",
        "message": "Version stamp associated with the client has expired. Please perform a full sync.",
    }


def test_entity_without_change_tracking_is_refused(crm_sandbox, admin_api):
    response = admin_api.get(f"{crm_sandbox.api_url}solutions?$select=uniquename", headers=TRACK)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("Change tracking is not enabled for the entity 'solution'")

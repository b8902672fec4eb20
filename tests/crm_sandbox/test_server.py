"""The server around the Web API: throttling, faults, latency, the root page, seed/reset/info."""

import json
import time

import requests


def test_throttling_answers_429_with_retry_after(crm_sandbox_with):
    sandbox = crm_sandbox_with(throttle="3/2")
    session = sandbox.session(sandbox.admin_token())
    statuses = [session.get(f"{sandbox.api_url}WhoAmI").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = session.get(f"{sandbox.api_url}WhoAmI")
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 2
    assert throttled.json()["error"] == {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 3 over time window of 2 seconds.",
    }
    other_user = sandbox.session(sandbox.token())
    assert other_user.get(f"{sandbox.api_url}WhoAmI").status_code == 200
    sandbox.advance_clock(int(throttled.headers["Retry-After"]) - 0.5)
    assert session.get(f"{sandbox.api_url}WhoAmI").status_code == 429  # not yet: the window still holds 3
    sandbox.advance_clock(0.7)
    assert session.get(f"{sandbox.api_url}WhoAmI").status_code == 200


def test_faults_are_503s_or_dropped_connections_after_processing(crm_sandbox_with):
    sandbox = crm_sandbox_with(fault_rate=1.0)
    session = sandbox.session(sandbox.admin_token())
    outcomes = set()
    for index in range(20):
        try:
            response = session.post(f"{sandbox.api_url}accounts", json={"name": f"fault {index}"})
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "0x80040216"
            outcomes.add("503")
        except requests.exceptions.ConnectionError:
            outcomes.add("dropped")
    assert outcomes == {"503", "dropped"}
    seen = requests.get(f"{sandbox.url}sets/accounts/", verify=sandbox.ca_bundle, timeout=30)
    assert "fault " in seen.text  # some creates were processed even though their answers were lost


def test_latency_is_added_to_every_request(crm_sandbox_with):
    sandbox = crm_sandbox_with(latency_ms=300)
    session = sandbox.session(sandbox.admin_token())
    started = time.monotonic()
    assert session.get(f"{sandbox.api_url}WhoAmI").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_root_page_lists_entity_sets_and_rows(crm_sandbox):
    session = crm_sandbox.session()
    home = session.get(crm_sandbox.url)
    assert home.status_code == 200 and "accounts" in home.text and "salesorders" in home.text
    rows = session.get(f"{crm_sandbox.url}sets/accounts/")
    assert rows.status_code == 200 and "Litware Trading" in rows.text
    assert session.get(f"{crm_sandbox.url}sets/nothing/").status_code == 404


def test_web_client_record_address_opens_the_row_page(crm_sandbox):
    session = crm_sandbox.session()
    api = crm_sandbox.session(crm_sandbox.admin_token())
    account = api.get(f"{crm_sandbox.api_url}accounts(accountnumber='C0000010')?$select=name").json()

    page = session.get(
        f"{crm_sandbox.url}main.aspx",
        params={"etn": "account", "id": "{" + account["accountid"] + "}", "pagetype": "entityrecord"},
    )
    assert page.status_code == 200
    assert page.url.endswith(f"sets/accounts/{account['accountid']}/") and "Litware Trading" in page.text
    assert (
        session.get(f"{crm_sandbox.url}main.aspx", params={"etn": "nothing", "id": account["accountid"]}).status_code
        == 404
    )
    assert session.get(f"{crm_sandbox.url}main.aspx", params={"etn": "account", "id": "x"}).status_code == 404


def test_seed_is_idempotent_and_reset_empties(private_sandbox):
    sandbox = private_sandbox()
    session = sandbox.session(sandbox.admin_token())
    count = int(session.get(f"{sandbox.api_url}accounts/$count").text)
    sandbox.manage("seed")
    assert int(session.get(f"{sandbox.api_url}accounts/$count").text) == count
    info = json.loads(sandbox.manage("info", "--json"))
    assert info["client_secret"] == sandbox.client_secret and info["integration_user"] == sandbox.integration_user
    sandbox.manage("reset")
    assert session.get(f"{sandbox.api_url}WhoAmI").status_code == 401
    sandbox.manage("seed")
    renewed = json.loads(sandbox.manage("info", "--json"))
    assert renewed["admin_password"] != info["admin_password"]
    fresh = sandbox.session(sandbox.token(grant="password", password=renewed["admin_password"]))
    assert int(fresh.get(f"{sandbox.api_url}accounts/$count").text) == count

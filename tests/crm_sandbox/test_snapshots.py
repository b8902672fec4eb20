"""serve --test-control: snapshots of the organization restored in milliseconds, conditions per restore, the clock."""

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.crm_sandbox.test_option_values import insert, options
from tests.crm_sandbox.test_solutions import import_solution, package


def control(sandbox, route: str, key: str | None, **body) -> requests.Response:
    session = sandbox.session()
    if key is not None:
        session.headers["X-Sandbox-Control-Key"] = key
    return session.post(f"{sandbox.url}_sandbox/{route}", json=body, timeout=30)


def test_a_restore_brings_back_rows_entities_and_options_as_they_were_saved(crm_sandbox, admin_api, unique):
    api = crm_sandbox.api_url
    accounts = int(admin_api.get(f"{api}accounts/$count").text)
    assert admin_api.post(f"{api}accounts", json={"name": f"Gone {unique}"}).status_code == 204
    assert import_solution(crm_sandbox, admin_api, package()).status_code == 204
    assert admin_api.post(f"{api}nav_connections", json={"nav_name": "Gone", "nav_code": "G"}).status_code == 204
    kept = insert(crm_sandbox, admin_api, f"Gone {unique}").json()["NewOptionValue"]

    crm_sandbox.restore("seeded")

    # The same token still works: the identity provider's tokens are not the organization's.
    assert int(admin_api.get(f"{api}accounts/$count").text) == accounts
    assert admin_api.get(f"{api}nav_connections").status_code == 404
    assert kept not in options(crm_sandbox, admin_api)
    assert not admin_api.get(f"{api}solutions?$filter=uniquename eq 'navcrm_integration'").json()["value"]


def test_a_saved_state_with_a_solution_serves_its_entity_after_a_restore(crm_sandbox, admin_api):
    assert import_solution(crm_sandbox, admin_api, package()).status_code == 204
    created = admin_api.post(f"{crm_sandbox.api_url}nav_connections", json={"nav_name": "Kept", "nav_code": "K"})
    assert created.status_code == 204
    crm_sandbox.snapshot("test-with-solution")
    crm_sandbox.restore("seeded")
    assert admin_api.get(f"{crm_sandbox.api_url}nav_connections").status_code == 404

    crm_sandbox.restore("test-with-solution")

    row = admin_api.get(f"{crm_sandbox.api_url}nav_connections(nav_code='K')?$select=nav_name")
    assert row.status_code == 200 and row.json()["nav_name"] == "Kept"


def test_a_restore_sets_the_simulated_conditions_and_the_next_one_clears_them(crm_sandbox, admin_api):
    crm_sandbox.restore("seeded", latency_ms=200, throttle="2/60")
    started = time.monotonic()
    statuses = [admin_api.get(f"{crm_sandbox.api_url}WhoAmI").status_code for _ in range(3)]
    assert time.monotonic() - started >= 3 * 0.2
    assert statuses == [200, 200, 429]

    crm_sandbox.restore("seeded")

    started = time.monotonic()
    statuses = [admin_api.get(f"{crm_sandbox.api_url}WhoAmI").status_code for _ in range(3)]
    assert time.monotonic() - started < 3 * 0.2
    assert statuses == [200, 200, 200]


def test_control_needs_the_key_and_refuses_what_it_does_not_know(crm_sandbox):
    key = (crm_sandbox.data_dir / "test-control.key").read_text()
    assert control(crm_sandbox, "snapshots/seeded/restore", None).status_code == 403
    assert control(crm_sandbox, "snapshots/seeded/restore", "wrong").status_code == 403
    assert control(crm_sandbox, "snapshots/never-saved/restore", key).status_code == 404
    assert control(crm_sandbox, "snapshots/Bad Name!", key).status_code == 404
    refused = control(crm_sandbox, "snapshots/seeded/restore", key, conditions={"latency": 5})
    assert refused.status_code == 400 and "latency" in refused.json()["error"]
    assert control(crm_sandbox, "clock", key, advance=-1).status_code == 400
    assert control(crm_sandbox, "snapshots/seeded/restore", key).json()["snapshot"] == "seeded"


def test_a_server_started_without_test_control_has_no_control(private_sandbox):
    sandbox = private_sandbox()
    assert not (sandbox.data_dir / "test-control.key").exists()
    answer = control(sandbox, "snapshots/seeded/restore", "anything")
    assert answer.status_code == 404


def test_writes_racing_a_restore_all_succeed_and_the_next_restore_removes_them(crm_sandbox, admin_api, unique):
    """The restore waits for requests in flight and holds new ones: none fails or sees a half-restored file."""

    def create(n: int) -> int:
        return admin_api.post(f"{crm_sandbox.api_url}accounts", json={"name": f"Race {unique} {n}"}).status_code

    with ThreadPoolExecutor(4) as pool:
        creates = [pool.submit(create, n) for n in range(20)]
        crm_sandbox.restore("seeded")
        assert [future.result() for future in creates] == [204] * 20
    crm_sandbox.restore("seeded")
    raced = admin_api.get(f"{crm_sandbox.api_url}accounts?$select=name&$filter=startswith(name,'Race {unique}')")
    assert raced.json()["value"] == []

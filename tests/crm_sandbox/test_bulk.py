"""CreateMultiple, UpdateMultiple and UpsertMultiple: one request, all or nothing."""

import uuid

ACCOUNT = "Microsoft.Dynamics.CRM.account"


def action(crm_sandbox, api, name, targets):
    return api.post(f"{crm_sandbox.api_url}accounts/Microsoft.Dynamics.CRM.{name}", json={"Targets": targets})


def names(crm_sandbox, api, unique):
    rows = api.get(f"{crm_sandbox.api_url}accounts?$select=name&$filter=endswith(name,'{unique}')").json()["value"]
    return sorted(row["name"] for row in rows)


def test_create_multiple_returns_the_ids_in_order(crm_sandbox, admin_api, unique):
    own = str(uuid.uuid4())
    targets = [{"@odata.type": ACCOUNT, "name": f"CM{n} {unique}"} for n in range(3)]
    targets.append({"@odata.type": ACCOUNT, "name": f"CM3 {unique}", "accountid": own})
    response = action(crm_sandbox, admin_api, "CreateMultiple", targets)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{crm_sandbox.api_url}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    assert len(body["Ids"]) == 4 and body["Ids"][3] == own
    for n, record_id in enumerate(body["Ids"]):
        assert admin_api.get(f"{crm_sandbox.api_url}accounts({record_id})").json()["name"] == f"CM{n} {unique}"


def test_create_multiple_is_all_or_nothing(crm_sandbox, admin_api, unique):
    targets = [
        {"@odata.type": ACCOUNT, "name": f"ok {unique}"},
        {"@odata.type": ACCOUNT, "name": f"bad {unique}", "accountnumber": "x" * 30},
    ]
    response = action(crm_sandbox, admin_api, "CreateMultiple", targets)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80044331"
    assert names(crm_sandbox, admin_api, unique) == []


def test_create_multiple_rejects_duplicate_alternate_keys_in_the_request_and_in_the_table(
    crm_sandbox, admin_api, unique
):
    twice = [{"@odata.type": ACCOUNT, "name": f"K{n} {unique}", "accountnumber": f"D{unique}"} for n in range(2)]
    response = action(crm_sandbox, admin_api, "CreateMultiple", twice)
    assert response.status_code == 412 and response.json()["error"]["code"] == "0x80060892"
    assert action(crm_sandbox, admin_api, "CreateMultiple", twice[:1]).status_code == 200
    again = action(crm_sandbox, admin_api, "CreateMultiple", [{**twice[1], "accountnumber": f"D{unique}"}])
    assert again.status_code == 412
    assert names(crm_sandbox, admin_api, unique) == [f"K0 {unique}"]


def test_targets_need_the_entity_type(crm_sandbox, admin_api, unique):
    missing = action(crm_sandbox, admin_api, "CreateMultiple", [{"name": unique}])
    assert missing.status_code == 400 and "@odata.type" in missing.json()["error"]["message"]
    wrong = action(crm_sandbox, admin_api, "CreateMultiple", [{"@odata.type": "Microsoft.Dynamics.CRM.contact"}])
    assert wrong.status_code == 400
    empty = admin_api.post(f"{crm_sandbox.api_url}accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={})
    assert empty.status_code == 400 and "Targets" in empty.json()["error"]["message"]


def test_update_multiple_updates_every_target_or_none(crm_sandbox, admin_api, unique):
    ids = action(
        crm_sandbox, admin_api, "CreateMultiple", [{"@odata.type": ACCOUNT, "name": f"U{n} {unique}"} for n in range(3)]
    ).json()["Ids"]
    targets = [{"@odata.type": ACCOUNT, "accountid": i, "telephone1": f"T{n}"} for n, i in enumerate(ids)]
    response = action(crm_sandbox, admin_api, "UpdateMultiple", targets)
    assert response.status_code == 204 and response.content == b""
    assert admin_api.get(f"{crm_sandbox.api_url}accounts({ids[2]})").json()["telephone1"] == "T2"
    missing = str(uuid.uuid4())
    failing = [{**targets[0], "telephone1": "changed"}, {"@odata.type": ACCOUNT, "accountid": missing, "name": "x"}]
    response = action(crm_sandbox, admin_api, "UpdateMultiple", failing)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"account With Id = {missing} Does Not Exist"
    assert admin_api.get(f"{crm_sandbox.api_url}accounts({ids[0]})").json()["telephone1"] == "T0"
    no_key = action(crm_sandbox, admin_api, "UpdateMultiple", [{"@odata.type": ACCOUNT, "name": "x"}])
    assert no_key.status_code == 400


def test_upsert_multiple_by_primary_key_and_by_alternate_key(crm_sandbox, admin_api, unique):
    existing = action(
        crm_sandbox,
        admin_api,
        "CreateMultiple",
        [{"@odata.type": ACCOUNT, "name": f"E {unique}", "accountnumber": f"A{unique}"}],
    ).json()["Ids"][0]
    new_id = str(uuid.uuid4())
    targets = [
        {"@odata.type": ACCOUNT, "accountid": existing, "telephone1": "by id"},
        {"@odata.type": ACCOUNT, "accountid": new_id, "name": f"N {unique}"},
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='A{unique}')", "name": f"E2 {unique}"},
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='B{unique}')", "name": f"K {unique}"},
    ]
    response = action(crm_sandbox, admin_api, "UpsertMultiple", targets)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("#Microsoft.Dynamics.CRM.UpsertMultipleResponse")
    assert body["Ids"][:3] == [existing, new_id, existing]
    row = admin_api.get(f"{crm_sandbox.api_url}accounts({existing})").json()
    assert (row["name"], row["telephone1"]) == (f"E2 {unique}", "by id")
    created = admin_api.get(f"{crm_sandbox.api_url}accounts(accountnumber='B{unique}')").json()
    assert created["name"] == f"K {unique}" and created["accountid"] == body["Ids"][3]
    assert names(crm_sandbox, admin_api, unique) == [f"E2 {unique}", f"K {unique}", f"N {unique}"]


def test_upsert_multiple_is_all_or_nothing(crm_sandbox, admin_api, unique):
    targets = [
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='G{unique}')", "name": f"G {unique}"},
        {"@odata.type": ACCOUNT, "accountid": str(uuid.uuid4()), "name": f"H {unique}", "numberofemployees": -1},
    ]
    response = action(crm_sandbox, admin_api, "UpsertMultiple", targets)
    assert response.status_code == 400
    assert names(crm_sandbox, admin_api, unique) == []


def test_bulk_upsert_of_many_rows_is_complete(crm_sandbox, unique):
    admin_api = crm_sandbox.session(crm_sandbox.admin_token())
    targets = [
        {"@odata.type": ACCOUNT, "@odata.id": f"accounts(accountnumber='{unique}{n:04d}')", "name": f"V{n} {unique}"}
        for n in range(1500)
    ]
    assert action(crm_sandbox, admin_api, "UpsertMultiple", targets).status_code == 200
    for target in targets[:10]:
        target["telephone1"] = "again"
    second = action(crm_sandbox, admin_api, "UpsertMultiple", targets)
    assert second.status_code == 200 and len(set(second.json()["Ids"])) == 1500
    count = admin_api.get(f"{crm_sandbox.api_url}accounts/$count?$filter=endswith(name,'{unique}')").text
    assert count == "1500"

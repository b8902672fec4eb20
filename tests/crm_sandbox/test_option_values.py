"""InsertOptionValue, UpdateOptionValue and DeleteOptionValue on local option sets, as Dataverse answers them.

Each test gets a clean organization (tests/conftest.py), as seeded: its options are the declared ones.
"""

import pytest

from crm_sandbox.testing import start_sandbox
from dataverse import Client, UsernamePasswordAuth

ATTRIBUTE = {"EntityLogicalName": "account", "AttributeLogicalName": "accountcategorycode"}


def label(text: str, language_code: int = 1033) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": language_code}]}


def options(sandbox, session, attribute: str = "accountcategorycode", entity: str = "account") -> dict[int, str]:
    response = session.get(
        f"{sandbox.api_url}EntityDefinitions(LogicalName='{entity}')/Attributes(LogicalName='{attribute}')/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet"
    )
    assert response.status_code == 200, response.text
    return {o["Value"]: o["Label"]["UserLocalizedLabel"]["Label"] for o in response.json()["OptionSet"]["Options"]}


def insert(sandbox, session, text: str, **extra):
    return session.post(f"{sandbox.api_url}InsertOptionValue", json={**ATTRIBUTE, "Label": label(text), **extra})


def test_insert_takes_the_next_publisher_value_and_writes_accept_it(crm_sandbox, admin_api, unique):
    first = insert(crm_sandbox, admin_api, f"Key {unique}")
    second = insert(crm_sandbox, admin_api, f"Key {unique} 2")

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.InsertOptionValueResponse")
    value = body["NewOptionValue"]
    assert value >= 100_000_000
    assert second.json()["NewOptionValue"] == value + 1
    listed = options(crm_sandbox, admin_api)
    assert listed[value] == f"Key {unique}" and listed[1] == "Preferred Customer"
    created = admin_api.post(
        f"{crm_sandbox.api_url}accounts?$select=accountcategorycode",
        json={"name": unique, "accountcategorycode": value},
        headers={"Prefer": 'return=representation,odata.include-annotations="*"'},
    )
    assert created.status_code == 201, created.text
    assert created.json()["accountcategorycode@OData.Community.Display.V1.FormattedValue"] == f"Key {unique}"


def test_a_chosen_value_is_kept_and_a_taken_one_refused_labels_may_repeat(crm_sandbox, admin_api, unique):
    chosen = 727_000_000 + int(unique[:6], 16) % 1000
    response = insert(crm_sandbox, admin_api, f"Chosen {unique}", Value=chosen)
    assert response.status_code == 200, response.text
    assert response.json()["NewOptionValue"] == chosen

    taken = insert(crm_sandbox, admin_api, "Another label", Value=chosen)
    system = insert(crm_sandbox, admin_api, "Another label", Value=2)
    same_label = insert(crm_sandbox, admin_api, f"Chosen {unique}")

    assert taken.status_code == system.status_code == 400
    assert f"The value {chosen} already exists" in taken.json()["error"]["message"]
    assert same_label.status_code == 200
    assert list(options(crm_sandbox, admin_api).values()).count(f"Chosen {unique}") == 2


def test_update_relabels_an_option(crm_sandbox, admin_api, unique):
    value = insert(crm_sandbox, admin_api, f"Old {unique}").json()["NewOptionValue"]

    response = admin_api.post(
        f"{crm_sandbox.api_url}UpdateOptionValue",
        json={**ATTRIBUTE, "Value": value, "Label": label(f"New {unique}"), "MergeLabels": True},
    )

    assert response.status_code == 204, response.text
    assert options(crm_sandbox, admin_api)[value] == f"New {unique}"
    without_merge = admin_api.post(
        f"{crm_sandbox.api_url}UpdateOptionValue", json={**ATTRIBUTE, "Value": value, "Label": label("x")}
    )
    missing = admin_api.post(
        f"{crm_sandbox.api_url}UpdateOptionValue",
        json={**ATTRIBUTE, "Value": 99, "Label": label("x"), "MergeLabels": True},
    )
    assert without_merge.status_code == missing.status_code == 400
    assert "MergeLabels" in without_merge.json()["error"]["message"]
    assert "The value 99 was not found" in missing.json()["error"]["message"]


def test_delete_removes_an_inserted_option_not_a_system_one(crm_sandbox, admin_api, unique):
    value = insert(crm_sandbox, admin_api, f"Gone {unique}").json()["NewOptionValue"]

    deleted = admin_api.post(f"{crm_sandbox.api_url}DeleteOptionValue", json={**ATTRIBUTE, "Value": value})
    system = admin_api.post(f"{crm_sandbox.api_url}DeleteOptionValue", json={**ATTRIBUTE, "Value": 1})

    assert deleted.status_code == 204
    assert value not in options(crm_sandbox, admin_api)
    refused = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"name": unique, "accountcategorycode": value})
    assert refused.status_code == 400 and "is outside the valid range" in refused.json()["error"]["message"]
    assert system.status_code == 400 and options(crm_sandbox, admin_api)[1] == "Preferred Customer"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"AttributeLogicalName": "accountcategorycode", "Label": label("x")}, 400, "EntityLogicalName"),
        ({**ATTRIBUTE, "EntityLogicalName": "nope", "Label": label("x")}, 404, "Could not find entity"),
        ({**ATTRIBUTE, "AttributeLogicalName": "name", "Label": label("x")}, 400, "not a picklist"),
        ({**ATTRIBUTE, "AttributeLogicalName": "statecode", "Label": label("x")}, 400, "InsertStatusValue"),
        ({**ATTRIBUTE}, 400, "Label is required"),
        ({**ATTRIBUTE, "Label": label("x", 1031)}, 200, ""),
        ({**ATTRIBUTE, "Label": {"LocalizedLabels": [{"Label": 5}]}}, 400, "LanguageCode"),
        ({**ATTRIBUTE, "Label": label("x"), "Value": "1"}, 400, "32-bit whole number"),
        ({**ATTRIBUTE, "Label": label("x"), "Colour": "red"}, 400, "'Colour' in the request payload is not a valid"),
        ({**ATTRIBUTE, "Label": label("x"), "SolutionUniqueName": "NoSuchSolution"}, 404, "NoSuchSolution"),
        ({"OptionSetName": "new_colors", "Label": label("x")}, 404, "only local option sets"),
    ],
)
def test_bad_insert_requests(crm_sandbox, admin_api, body, status, message):
    response = admin_api.post(f"{crm_sandbox.api_url}InsertOptionValue", json=body)

    assert response.status_code == status, response.text
    if message:
        assert message in response.json()["error"]["message"]


def test_get_is_not_an_action(crm_sandbox, admin_api):
    response = admin_api.get(f"{crm_sandbox.api_url}InsertOptionValue")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("No HTTP resource was found")


def test_options_survive_a_restart_and_need_a_role(private_sandbox):
    sandbox = private_sandbox()
    try:
        without_role = insert(sandbox, sandbox.session(sandbox.token()), "Denied")
        admin = sandbox.session(sandbox.admin_token())
        value = insert(sandbox, admin, "Kept").json()["NewOptionValue"]
        relabelled = admin.post(
            f"{sandbox.api_url}UpdateOptionValue",
            json={**ATTRIBUTE, "Value": 2, "Label": label("Ordinary"), "MergeLabels": False},
        )
        assert relabelled.status_code == 204
    finally:
        sandbox.stop()
    assert without_role.status_code == 403 and "prvWriteAttribute" in without_role.json()["error"]["message"]

    restarted = start_sandbox(sandbox.data_dir)
    try:
        admin = restarted.session(restarted.admin_token())
        assert options(restarted, admin) == {1: "Preferred Customer", 2: "Ordinary", value: "Kept"}
        # account and salesorder paymenttermscode are separate option sets, though declared from one dict.
        insert(restarted, admin, "Account only", AttributeLogicalName="paymenttermscode")
        assert "Account only" in options(restarted, admin, "paymenttermscode").values()
        assert "Account only" not in options(restarted, admin, "paymenttermscode", "salesorder").values()
        created = admin.post(
            f"{restarted.api_url}accounts", json={"name": "After restart", "accountcategorycode": value}
        )
        assert created.status_code == 204, created.text
    finally:
        restarted.stop()


def test_dataverse_client_reads_inserts_relabels_and_deletes_options(crm_sandbox, unique):
    auth = UsernamePasswordAuth(
        crm_sandbox.authority, crm_sandbox.client_id, crm_sandbox.admin_user, crm_sandbox.admin_password
    )
    with Client(crm_sandbox.url, auth=auth, ca_bundle=crm_sandbox.ca_bundle, max_retries=0) as client:
        value = client.insert_option_value("account", "accountcategorycode", f"Client {unique}")
        client.update_option_value("account", "accountcategorycode", value, f"Client {unique} renamed")
        listed = client.option_set("account", "accountcategorycode")
        client.delete_option_value("account", "accountcategorycode", value)
        after = client.option_set("account", "accountcategorycode")

    assert listed[1] == "Preferred Customer" and listed[value] == f"Client {unique} renamed"
    assert value not in after

"""Create, retrieve, update, upsert and delete as the Dataverse Web API documents them."""

import uuid

ACCOUNT_TYPE = "Microsoft.Dynamics.CRM.account"


def create_account(crm_sandbox, api, **body):
    response = api.post(f"{crm_sandbox.api_url}accounts", json=body)
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_create_returns_204_with_entity_id(crm_sandbox, admin_api, unique):
    response = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"name": f"Acme {unique}"})
    assert response.status_code == 204
    assert response.headers["OData-Version"] == "4.0"
    entity_id = response.headers["OData-EntityId"]
    assert entity_id.startswith(f"{crm_sandbox.api_url}accounts(")
    assert admin_api.get(entity_id).json()["name"] == f"Acme {unique}"


def test_create_with_representation_returns_201_and_body(crm_sandbox, admin_api, unique):
    response = admin_api.post(
        f"{crm_sandbox.api_url}accounts?$select=name,accountnumber",
        json={"name": f"Rep {unique}", "accountnumber": unique},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["@odata.context"].endswith("#accounts(name,accountnumber)/$entity")
    assert body["@odata.etag"].startswith('W/"')
    assert body["accountnumber"] == unique and "accountid" in body
    assert response.headers["Preference-Applied"] == "return=representation"
    assert "OData-EntityId" not in response.headers


def test_client_supplied_id_and_duplicate_id(crm_sandbox, admin_api, unique):
    account_id = str(uuid.uuid4())
    response = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"accountid": account_id, "name": unique})
    assert response.headers["OData-EntityId"].endswith(f"accounts({account_id})")
    again = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"accountid": account_id, "name": unique})
    assert again.status_code == 412
    assert again.json() == {
        "error": {"code": "0x80040237", "message": "A record with matching key values already exists."}
    }


def test_system_attributes_are_kept_by_the_server(crm_sandbox, admin_api, unique):
    account_id = create_account(crm_sandbox, admin_api, name=unique, createdon="2001-01-01T00:00:00Z")
    body = admin_api.get(f"{crm_sandbox.api_url}accounts({account_id})").json()
    who = admin_api.get(f"{crm_sandbox.api_url}WhoAmI").json()
    assert body["_createdby_value"] == body["_modifiedby_value"] == body["_ownerid_value"] == who["UserId"]
    assert body["createdon"] != "2001-01-01T00:00:00Z" and body["createdon"].endswith("Z")
    assert body["@odata.etag"] == f'W/"{body["versionnumber"]}"'
    assert body["statecode"] == 0 and body["statuscode"] == 1


def test_retrieve_missing_record_is_404(crm_sandbox, admin_api):
    missing = uuid.uuid4()
    response = admin_api.get(f"{crm_sandbox.api_url}accounts({missing})")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "0x80040217", "message": f"account With Id = {missing} Does Not Exist"}


def test_etag_changes_on_every_write_and_if_match_guards_updates(crm_sandbox, admin_api, unique):
    account_id = create_account(crm_sandbox, admin_api, name=unique)
    url = f"{crm_sandbox.api_url}accounts({account_id})"
    first = admin_api.get(url).json()["@odata.etag"]
    assert admin_api.patch(url, json={"telephone1": "1"}, headers={"If-Match": first}).status_code == 204
    second = admin_api.get(url).json()["@odata.etag"]
    assert second != first
    stale = admin_api.patch(url, json={"telephone1": "2"}, headers={"If-Match": first})
    assert stale.status_code == 412
    assert stale.json()["error"] == {
        "code": "0x80060882",
        "message": "The version of the existing record doesn't match the RowVersion property provided.",
    }
    assert admin_api.delete(url, headers={"If-Match": first}).status_code == 412
    assert admin_api.get(url).json()["telephone1"] == "1"


def test_get_with_current_etag_is_304(crm_sandbox, admin_api, unique):
    url = f"{crm_sandbox.api_url}accounts({create_account(crm_sandbox, admin_api, name=unique)})"
    etag = admin_api.get(url).json()["@odata.etag"]
    assert admin_api.get(url, headers={"If-None-Match": etag}).status_code == 304
    annotated = {"If-None-Match": etag, "Prefer": 'odata.include-annotations="*"'}
    assert admin_api.get(url, headers=annotated).status_code == 200


def test_update_with_if_match_star_on_missing_record_is_404(crm_sandbox, admin_api):
    url = f"{crm_sandbox.api_url}accounts({uuid.uuid4()})"
    assert admin_api.patch(url, json={"name": "x"}, headers={"If-Match": "*"}).status_code == 404
    assert admin_api.get(url).status_code == 404


def test_upsert_creates_then_updates(crm_sandbox, admin_api, unique):
    url = f"{crm_sandbox.api_url}accounts({uuid.uuid4()})"
    created = admin_api.patch(url, json={"name": unique})
    assert created.status_code == 204 and created.headers["OData-EntityId"] == url
    updated = admin_api.patch(url, json={"name": f"{unique}-2"}, headers={"Prefer": "return=representation"})
    assert updated.status_code == 200 and updated.json()["name"] == f"{unique}-2"
    assert updated.headers["ETag"] == updated.json()["@odata.etag"]
    fresh = f"{crm_sandbox.api_url}accounts({uuid.uuid4()})"
    assert admin_api.patch(fresh, json={"name": unique}, headers={"Prefer": "return=representation"}).status_code == 201


def test_if_none_match_star_makes_upsert_create_only(crm_sandbox, admin_api, unique):
    url = f"{crm_sandbox.api_url}accounts({create_account(crm_sandbox, admin_api, name=unique)})"
    response = admin_api.patch(url, json={"name": "changed"}, headers={"If-None-Match": "*"})
    assert response.status_code == 412
    assert response.json()["error"]["message"] == "A record with matching key values already exists."
    assert admin_api.get(url).json()["name"] == unique


def test_alternate_key_retrieve_upsert_and_duplicate(crm_sandbox, admin_api, unique):
    key_url = f"{crm_sandbox.api_url}accounts(accountnumber='{unique}')"
    assert admin_api.get(key_url).status_code == 404
    created = admin_api.patch(key_url, json={"name": "By key"})
    assert created.status_code == 204
    body = admin_api.get(key_url).json()
    assert body["accountnumber"] == unique and body["name"] == "By key"
    assert (
        admin_api.patch(key_url, json={"name": "By key 2"}).headers["OData-EntityId"].endswith(f"({body['accountid']})")
    )
    duplicate = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"name": "dup", "accountnumber": unique})
    assert duplicate.status_code == 412 and duplicate.json()["error"]["code"] == "0x80060892"
    bad_key = admin_api.get(f"{crm_sandbox.api_url}accounts(name='x')")
    assert (
        bad_key.status_code == 400 and "The key in the request URI is not valid" in bad_key.json()["error"]["message"]
    )


def test_delete_then_404(crm_sandbox, admin_api, unique):
    url = f"{crm_sandbox.api_url}accounts({create_account(crm_sandbox, admin_api, name=unique)})"
    assert admin_api.delete(url).status_code == 204
    assert admin_api.delete(url).status_code == 404
    assert admin_api.get(url).status_code == 404


def test_unknown_property_is_rejected_with_dataverse_message(crm_sandbox, admin_api):
    response = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"Name": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"Invalid property 'Name' was found in entity '{ACCOUNT_TYPE}'."


def test_maximum_length_is_enforced(crm_sandbox, admin_api):
    response = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"name": "x", "accountnumber": "1" * 21})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "A validation error occurred. The length of the 'accountnumber' attribute of the 'account' entity exceeded "
        "the maximum allowed length of '20'."
    )


def test_system_required_attribute_is_enforced(crm_sandbox, admin_api):
    response = admin_api.post(f"{crm_sandbox.api_url}products", json={"name": "No number"})
    assert response.status_code == 400
    assert "'productnumber'" in response.json()["error"]["message"]


def test_invalid_option_value_is_rejected(crm_sandbox, admin_api):
    response = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"name": "x", "paymenttermscode": 99})
    assert response.status_code == 400
    assert "is outside the valid range" in response.json()["error"]["message"]


def test_wrong_type_is_rejected(crm_sandbox, admin_api):
    response = admin_api.post(f"{crm_sandbox.api_url}accounts", json={"name": 5})
    assert response.status_code == 400
    assert "Edm.String" in response.json()["error"]["message"]


def test_bind_lookups_and_read_them_back(crm_sandbox, admin_api, unique):
    account_id = create_account(crm_sandbox, admin_api, name=unique, accountnumber=unique)
    response = admin_api.post(
        f"{crm_sandbox.api_url}contacts",
        json={"lastname": unique, "parentcustomerid_account@odata.bind": f"/accounts(accountnumber='{unique}')"},
    )
    contact_url = response.headers["OData-EntityId"]
    contact = admin_api.get(
        f"{contact_url}?$select=fullname,_parentcustomerid_value",
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    assert contact["_parentcustomerid_value"] == account_id
    assert contact["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert contact["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == unique
    cleared = admin_api.patch(contact_url, json={"parentcustomerid_account@odata.bind": None})
    assert cleared.status_code == 204
    assert admin_api.get(contact_url).json()["_parentcustomerid_value"] is None


def test_plain_parentcustomerid_bind_fails_like_dataverse(crm_sandbox, admin_api, unique):
    account_id = create_account(crm_sandbox, admin_api, name=unique)
    response = admin_api.post(
        f"{crm_sandbox.api_url}contacts",
        json={"lastname": unique, "parentcustomerid@odata.bind": f"/accounts({account_id})"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80048d19"
    assert "An undeclared property 'parentcustomerid'" in response.json()["error"]["message"]


def test_bind_to_missing_record_is_404(crm_sandbox, admin_api):
    missing = uuid.uuid4()
    response = admin_api.post(
        f"{crm_sandbox.api_url}accounts", json={"name": "x", "primarycontactid@odata.bind": f"/contacts({missing})"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"contact With Id = {missing} Does Not Exist"


def test_state_and_status_follow_each_other(crm_sandbox, admin_api, unique):
    url = f"{crm_sandbox.api_url}accounts({create_account(crm_sandbox, admin_api, name=unique)})"
    assert admin_api.patch(url, json={"statecode": 1}).status_code == 204
    body = admin_api.get(url).json()
    assert (body["statecode"], body["statuscode"]) == (1, 2)
    assert admin_api.patch(url, json={"statecode": 0, "statuscode": 2}).status_code == 400


def test_order_lines_compute_amounts(crm_sandbox, admin_api, unique):
    order = admin_api.post(
        f"{crm_sandbox.api_url}salesorders",
        json={"name": unique, "customerid_account@odata.bind": "/accounts(accountnumber='C0000010')"},
        headers={"Prefer": "return=representation"},
    ).json()
    assert order["ordernumber"].startswith("ORD-")
    line = admin_api.post(
        f"{crm_sandbox.api_url}salesorderdetails",
        json={
            "salesorderid@odata.bind": f"/salesorders({order['salesorderid']})",
            "isproductoverridden": True,
            "productdescription": "Write-in",
            "quantity": 3,
            "priceperunit": 10.5,
        },
    )
    assert line.status_code == 204, line.text
    refreshed = admin_api.get(f"{crm_sandbox.api_url}salesorders({order['salesorderid']})").json()
    assert refreshed["totalamount"] == 31.5


def test_property_value_and_ref_association(crm_sandbox, admin_api, unique):
    account_id = create_account(crm_sandbox, admin_api, name=unique)
    contact_url = admin_api.post(f"{crm_sandbox.api_url}contacts", json={"lastname": unique}).headers["OData-EntityId"]
    account_url = f"{crm_sandbox.api_url}accounts({account_id})"
    assert admin_api.get(f"{account_url}/name").json()["value"] == unique
    assert admin_api.put(f"{account_url}/primarycontactid/$ref", json={"@odata.id": contact_url}).status_code == 204
    assert admin_api.get(f"{account_url}/primarycontactid").json()["lastname"] == unique
    assert (
        admin_api.post(f"{account_url}/contact_customer_accounts/$ref", json={"@odata.id": contact_url}).status_code
        == 204
    )
    related = admin_api.get(f"{account_url}/contact_customer_accounts?$select=lastname").json()["value"]
    assert [r["lastname"] for r in related] == [unique]
    assert admin_api.delete(f"{account_url}/primarycontactid/$ref").status_code == 204
    assert admin_api.get(account_url).json()["_primarycontactid_value"] is None

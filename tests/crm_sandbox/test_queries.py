"""Query options: $select, $filter, $orderby, $top, $expand, $count, paging, formatted values."""

import pytest

TAG = "5e1ec7ed"


def _seven_tagged_accounts(sandbox) -> None:
    api = sandbox.session(sandbox.admin_token())
    for index in range(7):
        body = {"name": f"Query {TAG} {index}", "accountnumber": f"Q{TAG}{index}", "numberofemployees": index * 10}
        assert api.post(f"{sandbox.api_url}accounts", json=body).status_code == 204


@pytest.fixture
def tagged_accounts(crm_sandbox, sandbox_states):
    """Seven accounts sharing a tag in their name, created through the API (a snapshot made once)."""
    sandbox_states.organization("queries", _seven_tagged_accounts)
    return TAG


def query(crm_sandbox, api, path, **headers):
    response = api.get(f"{crm_sandbox.api_url}{path}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_filter_string_comparison_ignores_case(crm_sandbox, admin_api, tagged_accounts):
    body = query(crm_sandbox, admin_api, f"accounts?$select=name&$filter=name eq 'QUERY {tagged_accounts} 3'")
    assert [row["name"] for row in body["value"]] == [f"Query {tagged_accounts} 3"]
    contains = query(
        crm_sandbox, admin_api, f"accounts?$select=name&$filter=contains(name,'{tagged_accounts.upper()}')"
    )
    assert len(contains["value"]) == 7


def test_filter_numbers_logic_and_functions(crm_sandbox, admin_api, tagged_accounts):
    body = query(
        crm_sandbox,
        admin_api,
        f"accounts?$select=numberofemployees&$filter=startswith(name,'Query {tagged_accounts}') and "
        "(numberofemployees ge 40 or numberofemployees eq 0) and not (numberofemployees eq 50)",
    )
    assert sorted(row["numberofemployees"] for row in body["value"]) == [0, 40, 60]
    numbers = f"['Q{tagged_accounts}1','q{tagged_accounts}2']"
    in_body = query(
        crm_sandbox,
        admin_api,
        f"accounts?$select=accountnumber&$filter=Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues={numbers})",
    )
    assert sorted(row["accountnumber"] for row in in_body["value"]) == [f"Q{tagged_accounts}1", f"Q{tagged_accounts}2"]
    one = query(
        crm_sandbox,
        admin_api,
        "accounts?$select=accountnumber&$filter=Microsoft.Dynamics.CRM.In("
        f"PropertyName='accountnumber',PropertyValues=['Q{tagged_accounts}1'])",
    )
    assert [row["accountnumber"] for row in one["value"]] == [f"Q{tagged_accounts}1"]


def test_new_users_get_the_platform_defaults(crm_sandbox, admin_api):
    response = admin_api.post(
        f"{crm_sandbox.api_url}systemusers",
        json={
            "lastname": "Defaults",
            "domainname": "defaults@sandbox.local",
            "businessunitid@odata.bind": "/businessunits("
            + query(crm_sandbox, admin_api, "businessunits?$select=name")["value"][0]["businessunitid"]
            + ")",
        },
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201, response.text
    assert (response.json()["isdisabled"], response.json()["accessmode"]) == (False, 0)


def test_filter_on_lookup_value_and_navigation_path(crm_sandbox, admin_api):
    account = query(crm_sandbox, admin_api, "accounts(accountnumber='C0000010')?$select=name")
    contacts = query(
        crm_sandbox, admin_api, f"contacts?$select=lastname&$filter=_parentcustomerid_value eq {account['accountid']}"
    )
    assert "Chavez" in [row["lastname"] for row in contacts["value"]]
    via_path = query(
        crm_sandbox, admin_api, "contacts?$select=lastname&$filter=parentcustomerid_account/accountnumber eq 'C0000010'"
    )
    assert via_path["value"] == contacts["value"]


def test_orderby_and_top(crm_sandbox, admin_api, tagged_accounts):
    body = query(
        crm_sandbox,
        admin_api,
        f"accounts?$select=numberofemployees&$filter=startswith(name,'Query {tagged_accounts}')"
        "&$orderby=numberofemployees desc&$top=3",
    )
    assert [row["numberofemployees"] for row in body["value"]] == [60, 50, 40]


def test_paging_follows_next_links_until_done(crm_sandbox, admin_api, tagged_accounts):
    url = f"{crm_sandbox.api_url}accounts?$select=name&$filter=startswith(name,'Query {tagged_accounts}')"
    seen, pages = [], 0
    while url:
        response = admin_api.get(url, headers={"Prefer": "odata.maxpagesize=3"})
        body = response.json()
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"
        seen += [row["accountid"] for row in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert "$skiptoken=" in url and url.startswith(crm_sandbox.api_url)
        pages += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 7


def test_paging_with_orderby(crm_sandbox, admin_api, tagged_accounts):
    url = (
        f"{crm_sandbox.api_url}accounts?$select=numberofemployees"
        f"&$filter=startswith(name,'Query {tagged_accounts}')&$orderby=numberofemployees desc"
    )
    values = []
    while url:
        body = admin_api.get(url, headers={"Prefer": "odata.maxpagesize=2"}).json()
        values += [row["numberofemployees"] for row in body["value"]]
        url = body.get("@odata.nextLink")
    assert values == [60, 50, 40, 30, 20, 10, 0]


def test_count(crm_sandbox, admin_api, tagged_accounts):
    body = query(
        crm_sandbox, admin_api, f"accounts?$select=name&$count=true&$filter=startswith(name,'Query {tagged_accounts}')"
    )
    assert body["@odata.count"] == 7
    response = admin_api.get(f"{crm_sandbox.api_url}accounts/$count")
    assert response.headers["Content-Type"].startswith("text/plain") and int(response.text) >= 7


def test_skip_is_rejected(crm_sandbox, admin_api):
    response = admin_api.get(f"{crm_sandbox.api_url}accounts?$skip=5")
    assert response.status_code == 400
    assert "$skip" in response.json()["error"]["message"]


def test_unknown_select_property_is_rejected(crm_sandbox, admin_api):
    response = admin_api.get(f"{crm_sandbox.api_url}accounts?$select=Name")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "0x0",
        "message": "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.",
    }


def test_bad_filter_is_400(crm_sandbox, admin_api):
    assert admin_api.get(f"{crm_sandbox.api_url}accounts?$filter=name eq").status_code == 400
    assert admin_api.get(f"{crm_sandbox.api_url}accounts?$filter=nosuch eq 1").status_code == 400


def test_unknown_segment_is_404(crm_sandbox, admin_api):
    response = admin_api.get(f"{crm_sandbox.api_url}Account")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "0x8006088a",
        "message": "Resource not found for the segment 'Account'.",
    }


def test_expand_single_and_collection_navigation(crm_sandbox, admin_api):
    orders = query(
        crm_sandbox,
        admin_api,
        "salesorders?$select=name,totalamount&$filter=statecode eq 1"
        "&$expand=customerid_account($select=accountnumber),"
        "order_details($select=quantity;$orderby=quantity desc;$top=1)",
    )
    assert orders["value"]
    for order in orders["value"]:
        assert order["customerid_account"]["accountnumber"].startswith("C000")
        assert len(order["order_details"]) == 1


def test_formatted_values_on_request(crm_sandbox, admin_api):
    plain = query(crm_sandbox, admin_api, "accounts(accountnumber='C0000010')?$select=statecode,_ownerid_value")
    assert not any("@OData.Community" in name for name in plain)
    annotated = query(
        crm_sandbox,
        admin_api,
        "accounts(accountnumber='C0000010')?$select=statecode,_ownerid_value",
        Prefer='odata.include-annotations="OData.Community.Display.V1.FormattedValue"',
    )
    assert annotated["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    assert annotated["_ownerid_value@OData.Community.Display.V1.FormattedValue"] == "Benjamin Chiu"
    assert "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname" not in annotated


def test_service_document_lists_entity_sets(crm_sandbox, admin_api):
    names = {item["name"] for item in query(crm_sandbox, admin_api, "")["value"]}
    assert {"accounts", "contacts", "products", "salesorders", "systemusers", "roles"} <= names

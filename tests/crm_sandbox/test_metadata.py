"""EntityDefinitions as Microsoft's Dataverse client reads them, and the CSDL $metadata document."""

from xml.etree import ElementTree

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def test_entity_definitions_filter_and_select(crm_sandbox, admin_api):
    response = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute"
        "&$filter=LogicalName eq 'account'"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)")
    (account,) = body["value"]
    assert set(account) == {"MetadataId", "LogicalName", "EntitySetName", "PrimaryIdAttribute"}
    assert (account["EntitySetName"], account["PrimaryIdAttribute"]) == ("accounts", "accountid")
    tracked = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions?$select=LogicalName&$filter=ChangeTrackingEnabled eq true "
        "and IsCustomEntity eq false"
    ).json()["value"]
    assert "account" in {d["LogicalName"] for d in tracked} and "solution" not in {d["LogicalName"] for d in tracked}


def test_metadata_ids_are_stable_and_address_the_definition(crm_sandbox, admin_api):
    first = admin_api.get(f"{crm_sandbox.api_url}EntityDefinitions(LogicalName='account')?$select=MetadataId").json()
    again = admin_api.get(f"{crm_sandbox.api_url}EntityDefinitions?$filter=LogicalName eq 'account'").json()
    metadata_id = first["MetadataId"]
    assert again["value"][0]["MetadataId"] == metadata_id
    by_id = admin_api.get(f"{crm_sandbox.api_url}EntityDefinitions({metadata_id})").json()
    assert by_id["LogicalName"] == "account" and by_id["SchemaName"] == "Account"
    attributes = admin_api.get(f"{crm_sandbox.api_url}EntityDefinitions({metadata_id})/Attributes").json()
    assert attributes["@odata.context"].endswith(f"$metadata#EntityDefinitions('{metadata_id}')/Attributes")
    names = {a["LogicalName"]: a for a in attributes["value"]}
    assert names["name"]["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert names["name"]["MaxLength"] == 160 and names["name"]["AttributeType"] == "String"
    assert names["accountid"]["@odata.type"] == "#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata"
    filtered = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions({metadata_id})/Attributes"
        "?$select=LogicalName,AttributeType&$filter=LogicalName eq 'accountnumber'"
    ).json()["value"]
    assert [(a["LogicalName"], a["AttributeType"]) for a in filtered] == [("accountnumber", "String")]


def test_expand_attributes_single_attribute_and_keys(crm_sandbox, admin_api):
    expanded = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions(LogicalName='account')?$select=LogicalName&$expand=Attributes"
    ).json()
    assert "telephone1" in {a["LogicalName"] for a in expanded["Attributes"]}
    single = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')"
    )
    assert single.status_code == 200
    assert single.json()["RequiredLevel"]["Value"] == "ApplicationRequired"
    missing = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions(LogicalName='account')/Attributes(LogicalName='x')"
    )
    assert missing.status_code == 404
    keys = admin_api.get(f"{crm_sandbox.api_url}EntityDefinitions(LogicalName='account')/Keys").json()["value"]
    assert [(k["LogicalName"], k["KeyAttributes"], k["EntityKeyIndexStatus"]) for k in keys] == [
        ("accountnumber", ["accountnumber"], "Active")
    ]


def test_picklist_cast_with_option_set_expansion(crm_sandbox, admin_api):
    response = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions(LogicalName='account')/Attributes/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet($select=Options)"
    )
    assert response.status_code == 200
    items = {item["LogicalName"]: item for item in response.json()["value"]}
    assert "statecode" not in items and "name" not in items
    options = items["paymenttermscode"]["OptionSet"]["Options"]
    assert options[0] == {
        "Value": 1,
        "Label": {
            "LocalizedLabels": [{"Label": "Net 30", "LanguageCode": 1033}],
            "UserLocalizedLabel": {"Label": "Net 30", "LanguageCode": 1033},
        },
    }
    plain = admin_api.get(
        f"{crm_sandbox.api_url}EntityDefinitions(LogicalName='account')/Attributes(LogicalName='paymenttermscode')"
    ).json()
    assert "OptionSet" not in plain


def test_csdl_metadata_document(crm_sandbox, admin_api):
    response = admin_api.get(f"{crm_sandbox.api_url}$metadata?annotations=true")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    schema = root.find(f".//{EDM}Schema")
    assert schema.get("Namespace") == "Microsoft.Dynamics.CRM"
    account = schema.find(f"{EDM}EntityType[@Name='account']")
    assert account.find(f"{EDM}Key/{EDM}PropertyRef").get("Name") == "accountid"
    properties = {p.get("Name"): p.get("Type") for p in account.findall(f"{EDM}Property")}
    assert properties["name"] == "Edm.String" and properties["_primarycontactid_value"] == "Edm.Guid"
    navigation = {n.get("Name"): n.get("Type") for n in account.findall(f"{EDM}NavigationProperty")}
    assert navigation["primarycontactid"] == "mscrm.contact"
    assert navigation["contact_customer_accounts"] == "Collection(mscrm.contact)"
    entity_set = schema.find(f"{EDM}EntityContainer/{EDM}EntitySet[@Name='accounts']")
    assert entity_set.get("EntityType") == "Microsoft.Dynamics.CRM.account"
    terms = [a.get("Term") for a in entity_set.findall(f"{EDM}Annotation")]
    assert terms == ["Org.OData.Capabilities.V1.ChangeTracking"]
    solutions = schema.find(f"{EDM}EntityContainer/{EDM}EntitySet[@Name='solutions']")
    assert solutions.findall(f"{EDM}Annotation") == []

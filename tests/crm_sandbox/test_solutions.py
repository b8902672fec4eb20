"""ImportSolution with a solution package built here: custom entities, roles, versions and permissions."""

import base64
import io
import uuid
import zipfile

import requests

from crm_sandbox.testing import start_sandbox
from setup_wizard.solution import build_package

CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="xml" ContentType="application/octet-stream" />
</Types>"""

SOLUTION = """<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml version="9.2.24013.196" SolutionPackageVersion="9.2" languagecode="1033" generatedBy="CrmLive">
  <SolutionManifest>
    <UniqueName>{unique_name}</UniqueName>
    <LocalizedNames><LocalizedName description="nav_crm Integration" languagecode="1033" /></LocalizedNames>
    <Descriptions><Description description="Connection setup for the ERP" languagecode="1033" /></Descriptions>
    <Version>{version}</Version>
    <Managed>{managed}</Managed>
    <Publisher>
      <UniqueName>navcrm</UniqueName>
      <LocalizedNames><LocalizedName description="nav_crm" languagecode="1033" /></LocalizedNames>
      <CustomizationPrefix>nav</CustomizationPrefix>
      <CustomizationOptionValuePrefix>10000</CustomizationOptionValuePrefix>
    </Publisher>
    <RootComponents><RootComponent type="1" schemaName="nav_connection" behavior="0" /></RootComponents>
  </SolutionManifest>
</ImportExportXml>"""

ATTRIBUTE = """
          <attribute PhysicalName="{name}">
            <Type>{type}</Type>
            <Name>{name}</Name>
            <LogicalName>{name}</LogicalName>
            <RequiredLevel>{required}</RequiredLevel>
            <DisplayMask>{mask}</DisplayMask>
            {extra}
            <displaynames><displayname description="{name}" languagecode="1033" /></displaynames>
          </attribute>"""

CUSTOMIZATIONS = """<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Entities>
    <Entity>
      <Name LocalizedName="Connection" OriginalName="Connection">{entity}</Name>
      <EntityInfo>
        <entity Name="{entity}">
          <LocalizedNames><LocalizedName description="ERP Connection" languagecode="1033" /></LocalizedNames>
          <attributes>{attributes}
          </attributes>
          <EntitySetName>{entity}s</EntitySetName>
          <OwnershipTypeMask>UserOwned</OwnershipTypeMask>
          <ChangeTrackingEnabled>1</ChangeTrackingEnabled>
          <EntityKeys>
            <EntityKey>
              <LogicalName>nav_code_key</LogicalName>
              <EntityKeyAttributes><AttributeName>nav_code</AttributeName></EntityKeyAttributes>
            </EntityKey>
          </EntityKeys>
        </entity>
      </EntityInfo>
    </Entity>
  </Entities>
  <Roles>
    <Role id="{{{admin_role}}}" name="Integration administrator">
      <RolePrivileges>
        <RolePrivilege name="prvCreate{entity}" level="Global" />
        <RolePrivilege name="prvRead{entity}" level="Global" />
        <RolePrivilege name="prvWrite{entity}" level="Global" />
      </RolePrivileges>
    </Role>
    <Role id="{{{user_role}}}" name="Integration user">
      <RolePrivileges><RolePrivilege name="prvRead{entity}" level="Global" /></RolePrivileges>
    </Role>
  </Roles>
</ImportExportXml>"""


def attributes(entity, extra_attribute=""):
    rows = [
        ATTRIBUTE.format(name=f"{entity}id", type="primarykey", required="systemrequired", mask="", extra=""),
        ATTRIBUTE.format(
            name="nav_name",
            type="nvarchar",
            required="required",
            mask="PrimaryName|ValidForAdvancedFind",
            extra="<MaxLength>100</MaxLength>",
        ),
        ATTRIBUTE.format(name="nav_code", type="nvarchar", required="none", mask="", extra="<MaxLength>20</MaxLength>"),
        ATTRIBUTE.format(name="nav_url", type="nvarchar", required="none", mask="", extra="<MaxLength>400</MaxLength>"),
        ATTRIBUTE.format(
            name="nav_user", type="nvarchar", required="none", mask="", extra="<MaxLength>100</MaxLength>"
        ),
        ATTRIBUTE.format(name="nav_key", type="ntext", required="none", mask="", extra="<MaxLength>4000</MaxLength>"),
        ATTRIBUTE.format(
            name="nav_mode",
            type="picklist",
            required="none",
            mask="",
            extra='<optionset Name="nav_mode"><OptionSetType>picklist</OptionSetType><options>'
            '<option value="100000000"><labels><label description="Test" languagecode="1033" /></labels></option>'
            '<option value="100000001"><labels><label description="Live" languagecode="1033" /></labels></option>'
            "</options></optionset>",
        ),
        ATTRIBUTE.format(
            name="nav_port",
            type="int",
            required="none",
            mask="",
            extra="<MinValue>1</MinValue><MaxValue>65535</MaxValue>",
        ),
        ATTRIBUTE.format(name="statecode", type="state", required="systemrequired", mask="", extra=""),
    ]
    return "".join(rows) + extra_attribute


def package(
    *, entity="nav_connection", unique_name="navcrm_integration", version="1.0.0.0", managed=0, extra_attribute=""
):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("solution.xml", SOLUTION.format(unique_name=unique_name, version=version, managed=managed))
        archive.writestr(
            "customizations.xml",
            CUSTOMIZATIONS.format(
                entity=entity,
                attributes=attributes(entity, extra_attribute),
                admin_role=uuid.uuid5(uuid.NAMESPACE_URL, f"{entity}/admin"),
                user_role=uuid.uuid5(uuid.NAMESPACE_URL, f"{entity}/user"),
            ),
        )
    return buffer.getvalue()


def import_solution(sandbox, api, data, **overrides):
    body = {
        "OverwriteUnmanagedCustomizations": True,
        "PublishWorkflows": True,
        "CustomizationFile": base64.b64encode(data).decode(),
        "ImportJobId": str(uuid.uuid4()),
        **overrides,
    }
    return api.post(f"{sandbox.api_url}ImportSolution", json=body)


def test_import_creates_a_working_entity_roles_and_the_solution_record(crm_sandbox):
    sandbox = crm_sandbox
    api = sandbox.session(sandbox.admin_token())
    response = import_solution(sandbox, api, package())
    assert response.status_code == 204, response.text

    created = api.post(
        f"{sandbox.api_url}nav_connections",
        json={"nav_name": "ERP", "nav_code": "MAIN", "nav_url": "https://erp.example", "nav_mode": 100000001},
    )
    assert created.status_code == 204, created.text
    listed = api.get(f"{sandbox.api_url}nav_connections?$select=nav_name,nav_url&$filter=nav_code eq 'MAIN'").json()
    assert [row["nav_url"] for row in listed["value"]] == ["https://erp.example"]
    assert listed["value"][0]["nav_connectionid"]
    by_key = api.get(f"{sandbox.api_url}nav_connections(nav_code='MAIN')").json()
    assert by_key["nav_mode"] == 100000001 and by_key["statecode"] == 0 and by_key["_ownerid_value"]
    too_long = api.post(f"{sandbox.api_url}nav_connections", json={"nav_name": "x", "nav_code": "y" * 21})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "0x80044331"
    bad_option = api.post(f"{sandbox.api_url}nav_connections", json={"nav_name": "x", "nav_mode": 5})
    assert bad_option.status_code == 400
    duplicate = api.post(f"{sandbox.api_url}nav_connections", json={"nav_name": "again", "nav_code": "MAIN"})
    assert duplicate.status_code == 412

    definition = api.get(
        f"{sandbox.api_url}EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,IsCustomEntity"
        "&$filter=LogicalName eq 'nav_connection'"
    ).json()["value"]
    assert definition[0]["EntitySetName"] == "nav_connections" and definition[0]["IsCustomEntity"] is True
    url_attribute = api.get(
        f"{sandbox.api_url}EntityDefinitions(LogicalName='nav_connection')/Attributes(LogicalName='nav_url')"
    ).json()
    assert url_attribute["AttributeType"] == "String" and url_attribute["MaxLength"] == 400
    assert "nav_connections" in {item["name"] for item in api.get(sandbox.api_url).json()["value"]}
    assert "nav_connections" in sandbox.session().get(sandbox.url).text

    roles = api.get(f"{sandbox.api_url}roles?$select=name&$filter=startswith(name,'Integration ')").json()["value"]
    assert sorted(role["name"] for role in roles) == ["Integration administrator", "Integration user"]
    solution = api.get(
        f"{sandbox.api_url}solutions?$select=uniquename,friendlyname,version,ismanaged,installedon"
        "&$filter=uniquename eq 'navcrm_integration'"
    ).json()["value"][0]
    assert solution["friendlyname"] == "nav_crm Integration" and solution["version"] == "1.0.0.0"
    assert solution["ismanaged"] is False and solution["installedon"]


def test_imported_entities_survive_a_restart_and_reimport_updates(private_sandbox):
    sandbox = private_sandbox()
    api = sandbox.session(sandbox.admin_token())
    assert import_solution(sandbox, api, package()).status_code == 204
    api.post(f"{sandbox.api_url}nav_connections", json={"nav_name": "Before restart", "nav_code": "R"})
    sandbox.stop()
    restarted = start_sandbox(sandbox.data_dir)
    try:
        api = restarted.session(restarted.admin_token())
        row = api.get(f"{restarted.api_url}nav_connections(nav_code='R')?$select=nav_name").json()
        assert row["nav_name"] == "Before restart"
        assert import_solution(restarted, api, package()).status_code == 204  # same version: accepted
        newer = package(
            version="1.1.0.0",
            extra_attribute=ATTRIBUTE.format(
                name="nav_company", type="nvarchar", required="none", mask="", extra="<MaxLength>30</MaxLength>"
            ),
        )
        assert import_solution(restarted, api, newer).status_code == 204
        patched = api.patch(
            f"{restarted.api_url}nav_connections(nav_code='R')",
            json={"nav_company": "CRONUS"},
            headers={"If-Match": "*"},
        )
        assert patched.status_code == 204, patched.text
        assert api.get(f"{restarted.api_url}nav_connections(nav_code='R')").json()["nav_company"] == "CRONUS"
        versions = api.get(f"{restarted.api_url}solutions?$select=version&$filter=uniquename eq 'navcrm_integration'")
        assert [s["version"] for s in versions.json()["value"]] == ["1.1.0.0"]
    finally:
        restarted.stop()


def test_managed_solution_cannot_be_downgraded_or_switched_to_unmanaged(crm_sandbox):
    sandbox = crm_sandbox
    api = sandbox.session(sandbox.admin_token())
    assert (
        import_solution(sandbox, api, package(unique_name="navmanaged", version="2.0.0.0", managed=1)).status_code
        == 204
    )
    lower = import_solution(sandbox, api, package(unique_name="navmanaged", version="1.9.0.0", managed=1))
    assert lower.status_code == 400 and "lower than the installed version 2.0.0.0" in lower.json()["error"]["message"]
    switched = import_solution(sandbox, api, package(unique_name="navmanaged", version="2.1.0.0", managed=0))
    assert switched.status_code == 400 and "managed" in switched.json()["error"]["message"]
    same = import_solution(sandbox, api, package(unique_name="navmanaged", version="2.0.0.0", managed=1))
    assert same.status_code == 204


def test_only_administrators_and_customizers_may_import(crm_sandbox):
    api = crm_sandbox.session(crm_sandbox.token())
    response = import_solution(crm_sandbox, api, package(entity="nav_forbidden"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80040220"
    assert "prvImportCustomization" in response.json()["error"]["message"]
    admin = crm_sandbox.session(crm_sandbox.admin_token())
    assert admin.get(f"{crm_sandbox.api_url}nav_forbiddens").status_code == 404


def test_malformed_packages_are_refused_with_a_clear_message(crm_sandbox, admin_api):
    not_zip = import_solution(crm_sandbox, admin_api, b"not a zip file")
    assert not_zip.status_code == 400 and "not a .zip archive" in not_zip.json()["error"]["message"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("solution.xml", "<ImportExportXml/>")
    incomplete = import_solution(crm_sandbox, admin_api, buffer.getvalue())
    assert incomplete.status_code == 400 and "customizations.xml" in incomplete.json()["error"]["message"]
    wrong_prefix = import_solution(crm_sandbox, admin_api, package(entity="xyz_thing"))
    assert wrong_prefix.status_code == 400 and "publisher prefix 'nav_'" in wrong_prefix.json()["error"]["message"]
    no_job = import_solution(crm_sandbox, admin_api, package(entity="nav_nojob"), ImportJobId=None)
    assert no_job.status_code == 400 and "ImportJobId" in no_job.json()["error"]["message"]
    not_base64 = import_solution(crm_sandbox, admin_api, b"", CustomizationFile="%%%")
    assert not_base64.status_code == 400
    assert admin_api.get(f"{crm_sandbox.api_url}nav_nojobs").status_code == 404


# --- A system entity in a package: columns added to salesorder ----------------------------------------------

ORDER_COLUMN = "nav_erpordernumber"


def _order_columns(sandbox, api) -> set[str]:
    attributes = api.get(f"{sandbox.api_url}EntityDefinitions(LogicalName='salesorder')/Attributes?$select=LogicalName")
    return {a["LogicalName"] for a in attributes.json()["value"]} & {"nav_erpordernumber", "nav_processingstatus"}


def _write_order_column(sandbox, api, value: str) -> requests.Response:
    order = api.get(f"{sandbox.api_url}salesorders?$select=ordernumber&$filter=ordernumber eq 'ORD-01001'").json()
    return api.patch(
        f"{sandbox.api_url}salesorders({order['value'][0]['salesorderid']})",
        json={ORDER_COLUMN: value},
        headers={"If-Match": "*"},
    )


def _import_product_solution(sandbox, api) -> None:
    assert import_solution(sandbox, api, build_package()).status_code == 204


def test_order_columns_follow_snapshot_restores(crm_sandbox, admin_api):
    sandbox, api = crm_sandbox, admin_api
    assert _order_columns(sandbox, api) == set()
    assert _write_order_column(sandbox, api, "SO-1").status_code == 400  # not a property of salesorder yet
    _import_product_solution(sandbox, api)
    assert _write_order_column(sandbox, api, "SO-1").status_code == 204
    sandbox.snapshot("test-order-columns")

    sandbox.restore("seeded")  # taken before the import
    assert _order_columns(sandbox, api) == set()
    assert _write_order_column(sandbox, api, "SO-2").status_code == 400
    assert api.get(f"{sandbox.api_url}salesorders?$select=totalamount").status_code == 200

    sandbox.restore("test-order-columns")
    assert _order_columns(sandbox, api) == {"nav_erpordernumber", "nav_processingstatus"}
    order = api.get(f"{sandbox.api_url}salesorders(ordernumber='ORD-01001')?$select={ORDER_COLUMN}").json()
    assert order[ORDER_COLUMN] == "SO-1"


def test_order_columns_survive_a_restart(private_sandbox):
    sandbox = private_sandbox()
    api = sandbox.session(sandbox.admin_token())
    _import_product_solution(sandbox, api)
    assert _write_order_column(sandbox, api, "SO-9").status_code == 204
    sandbox.stop()
    restarted = start_sandbox(sandbox.data_dir)
    try:
        api = restarted.session(restarted.admin_token())
        assert _order_columns(restarted, api) == {"nav_erpordernumber", "nav_processingstatus"}
        order = api.get(f"{restarted.api_url}salesorders(ordernumber='ORD-01001')?$select={ORDER_COLUMN}").json()
        assert order[ORDER_COLUMN] == "SO-9"
        home = restarted.session().get(restarted.url, timeout=30)
        assert home.status_code == 200
    finally:
        restarted.stop()


def test_a_package_cannot_redeclare_a_system_column_or_add_one_without_the_prefix(crm_sandbox, admin_api):
    system_entity = """<?xml version="1.0" encoding="utf-8"?>
<ImportExportXml><Entities><Entity><Name>SalesOrder</Name><EntityInfo><entity Name="SalesOrder" unmodified="1">
<attributes>{attribute}</attributes></entity></EntityInfo></Entity></Entities><Roles /></ImportExportXml>"""
    unprefixed = ATTRIBUTE.format(name="erpnumber", type="nvarchar", required="none", mask="", extra="")
    data = _zip(system_entity.format(attribute=unprefixed))
    response = import_solution(crm_sandbox, admin_api, data)
    assert response.status_code == 400 and "publisher prefix" in response.json()["error"]["message"]
    assert _order_columns(crm_sandbox, admin_api) == set()


def _zip(customizations: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("solution.xml", SOLUTION.format(unique_name="navcrm_orders", version="1.0.0.0", managed=0))
        archive.writestr("customizations.xml", customizations)
    return buffer.getvalue()

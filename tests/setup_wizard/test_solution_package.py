"""The integration solution package: built in code, the same bytes every time, and imported by the CRM as is."""

import io
import zipfile
from xml.etree import ElementTree

from django.core.management import call_command

from dataverse import F
from setup_wizard.solution import build_package, definition
from syncjobs import constants
from tests.setup_wizard.wizard_support import solution_rows
from tests.syncjobs.crm_support import admin_client


def read(name: str) -> ElementTree.Element:
    with zipfile.ZipFile(io.BytesIO(build_package())) as archive:
        return ElementTree.fromstring(archive.read(name))  # noqa: S314 — our own package


def test_the_package_is_the_same_bytes_on_every_build():
    assert build_package() == build_package()
    with zipfile.ZipFile(io.BytesIO(build_package())) as archive:
        assert archive.namelist() == ["[Content_Types].xml", "solution.xml", "customizations.xml"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_the_manifest_names_the_solution_its_version_and_the_nav_publisher():
    manifest = read("solution.xml").find("SolutionManifest")
    assert manifest.findtext("UniqueName") == constants.INTEGRATION_SOLUTION_NAME == "NavCrmIntegration"
    assert manifest.findtext("Version") == constants.INTEGRATION_SOLUTION_VERSION == "1.1.0.0"
    assert manifest.findtext("Managed") == "0"
    assert manifest.findtext("Publisher/CustomizationPrefix") == "nav"
    components = manifest.findall("RootComponents/RootComponent")
    entities = [(c.get("schemaName"), c.get("behavior")) for c in components if c.get("type") == "1"]
    # The connection entity whole; the order only as a shell for the columns the solution adds.
    assert entities == [("nav_connection", "0"), ("salesorder", "2")]
    assert len([c for c in components if c.get("type") == "20"]) == 2


def test_the_customizations_declare_the_connection_entity_and_the_two_roles():
    root = read("customizations.xml")
    entity = root.find("Entities/Entity/EntityInfo/entity")
    assert entity.get("Name") == "nav_connection"
    assert entity.findtext("EntitySetName") == "nav_connections"
    attributes = {a.findtext("LogicalName"): a for a in entity.findall("attributes/attribute")}
    assert set(attributes) == {
        "nav_connectionid",
        "nav_name",
        "nav_dynamicsnavodataurl",
        "nav_dynamicsnavodatausername",
        "nav_dynamicsnavodataaccesskey",
    }
    assert "PrimaryName" in attributes["nav_name"].findtext("DisplayMask")
    roles = {role.get("name"): role for role in root.findall("Roles/Role")}
    assert set(roles) == set(constants.INTEGRATION_ROLES)
    administrator = {p.get("name") for p in roles[constants.INTEGRATION_ADMINISTRATOR_ROLE].iter("RolePrivilege")}
    assert {"prvCreatenav_connection", "prvReadnav_connection", "prvWritenav_connection"} <= administrator
    user = {p.get("name") for p in roles[constants.INTEGRATION_USER_ROLE].iter("RolePrivilege")}
    assert {"prvReadnav_connection", "prvWriteaccount", "prvReadsalesorder"} <= user


def test_crm_solution_build_writes_the_package(tmp_path):
    output = tmp_path / "NavCrmIntegration_1_0_0_0.zip"
    call_command("crm_solution_build", "--output", str(output), stdout=io.StringIO())
    assert output.read_bytes() == build_package()


def test_the_crm_imports_the_package_and_then_has_the_entity_its_attributes_and_the_roles(crm_sandbox):
    sandbox = crm_sandbox
    with admin_client(sandbox) as admin:
        admin.import_solution(build_package())
        entity = list(
            admin.query(
                "EntityDefinitions",
                select=["LogicalName", "EntitySetName", "PrimaryNameAttribute"],
                filter=F.eq("LogicalName", "nav_connection"),
            )
        )
        assert entity[0]["EntitySetName"] == "nav_connections"
        assert entity[0]["PrimaryNameAttribute"] == "nav_name"
        api = sandbox.session(sandbox.admin_token())
        for name in ("nav_dynamicsnavodataurl", "nav_dynamicsnavodatausername", "nav_dynamicsnavodataaccesskey"):
            attribute = api.get(
                f"{sandbox.api_url}EntityDefinitions(LogicalName='nav_connection')/Attributes(LogicalName='{name}')"
            ).json()
            assert attribute["AttributeType"] == "String"
        admin.upsert(
            "nav_connections",
            {"nav_name": definition.CONNECTION_ROW_NAME},
            {"nav_dynamicsnavodataurl": "http://erp.example/odata/v4/"},
        )
        roles = {row["name"] for row in admin.query("roles", select=["name"])}
    assert set(constants.INTEGRATION_ROLES) <= roles
    assert [row["version"] for row in solution_rows(sandbox, "NavCrmIntegration")] == ["1.1.0.0"]


def test_the_customizations_add_two_columns_to_the_order_and_nothing_else():
    root = read("customizations.xml")
    entities = {node.findtext("Name"): node.find("EntityInfo/entity") for node in root.findall("Entities/Entity")}
    order = entities["SalesOrder"]
    assert order.get("unmodified") == "1" and order.find("EntitySetName") is None
    attributes = {a.findtext("LogicalName"): a for a in order.findall("attributes/attribute")}
    assert set(attributes) == {definition.SALESORDER_ERP_ORDER_NUMBER, definition.SALESORDER_PROCESSING_STATUS}
    number = attributes["nav_erpordernumber"]
    assert (number.findtext("Type"), number.findtext("MaxLength")) == ("nvarchar", "20")
    assert number.find("displaynames/displayname").get("description") == "ERP order number"
    status = attributes["nav_processingstatus"]
    assert status.findtext("Type") == "picklist"
    assert status.find("displaynames/displayname").get("description") == "Processing status"
    options = {
        int(option.get("value")): option.find("labels/label").get("description")
        for option in status.findall("optionset/options/option")
    }
    assert options == {
        100000000: "Released",
        100000001: "Partially shipped",
        100000002: "Shipped",
        100000003: "Partially invoiced",
        100000004: "Invoiced",
        100000005: "Canceled",
    }
    assert min(options) == definition.OPTION_VALUE_PREFIX * 10000
    user = {p.get("name") for p in root.find("Roles").iter("RolePrivilege")}
    for entity in ("invoice", "invoicedetail", "annotation", "post"):
        assert {f"prvRead{entity}", f"prvWrite{entity}", f"prvCreate{entity}"} <= user, entity


def test_importing_the_package_adds_the_order_columns_to_the_crm(crm_sandbox):
    sandbox = crm_sandbox
    with admin_client(sandbox) as admin:
        admin.import_solution(build_package())
        api = sandbox.session(sandbox.admin_token())
        attributes = api.get(
            f"{sandbox.api_url}EntityDefinitions(LogicalName='salesorder')/Attributes"
            "?$select=LogicalName,AttributeType,IsCustomAttribute,MaxLength"
        ).json()["value"]
        by_name = {a["LogicalName"]: a for a in attributes}
        assert by_name["nav_erpordernumber"]["AttributeType"] == "String"
        assert by_name["nav_erpordernumber"]["MaxLength"] == 20
        assert by_name["nav_processingstatus"]["AttributeType"] == "Picklist"
        assert by_name["nav_erpordernumber"]["IsCustomAttribute"] is True
        assert by_name["totalamount"]["IsCustomAttribute"] is False
        assert admin.option_set("salesorder", "nav_processingstatus") == dict(definition.PROCESSING_STATUSES)

        order = next(iter(admin.query("salesorders", select=["ordernumber"], top=1)))
        admin.update(
            "salesorders",
            order["salesorderid"],
            {"nav_erpordernumber": "SO-100123", "nav_processingstatus": definition.PROCESSING_STATUS_SHIPPED},
        )
        row = admin.retrieve(
            "salesorders",
            order["salesorderid"],
            select=["nav_erpordernumber", "nav_processingstatus"],
            annotations="OData.Community.Display.V1.FormattedValue",
        )
        assert row["nav_erpordernumber"] == "SO-100123"
        assert row["nav_processingstatus@OData.Community.Display.V1.FormattedValue"] == "Shipped"
        too_long = api.patch(
            f"{sandbox.api_url}salesorders({order['salesorderid']})",
            json={"nav_erpordernumber": "X" * 21},
            headers={"If-Match": "*"},
        )
        assert too_long.status_code == 400
        # Importing again (an upgrade) keeps the columns and their values.
        admin.import_solution(build_package())
        assert admin.retrieve("salesorders", order["salesorderid"])["nav_erpordernumber"] == "SO-100123"

"""Builds the solution .zip from `definition`: the same bytes on every run (fixed order and timestamps)."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree
from xml.etree.ElementTree import Element, SubElement

from setup_wizard.solution import definition
from syncjobs import constants

LANGUAGE_CODE = "1033"
# Every entry gets this timestamp so that the archive depends only on its content.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# RootComponent types of solution.xml.
COMPONENT_ENTITY = "1"
COMPONENT_ROLE = "20"
# RootComponent behavior: 0 includes the entity whole; 2 only as a shell (a system entity, for the columns added).
BEHAVIOR_INCLUDE_SUBCOMPONENTS = "0"
BEHAVIOR_SHELL = "2"
CONTENT_TYPES_NAMESPACE = "http://schemas.openxmlformats.org/package/2006/content-types"


def build_package() -> bytes:
    """The NavCrmIntegration solution package, ready for ImportSolution."""
    files = (
        ("[Content_Types].xml", _content_types()),
        ("solution.xml", _solution_manifest()),
        ("customizations.xml", _customizations()),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, root in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, _serialize(root))
    return buffer.getvalue()


def _serialize(root: Element) -> bytes:
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _labels(parent: Element, container: str, item: str, text: str) -> None:
    SubElement(SubElement(parent, container), item, description=text, languagecode=LANGUAGE_CODE)


def _text(parent: Element, tag: str, text: str) -> Element:
    element = SubElement(parent, tag)
    element.text = text
    return element


def _content_types() -> Element:
    root = Element("Types", xmlns=CONTENT_TYPES_NAMESPACE)
    SubElement(root, "Default", Extension="xml", ContentType="application/octet-stream")
    return root


def _solution_manifest() -> Element:
    root = Element(
        "ImportExportXml",
        version="9.2.0.0",
        SolutionPackageVersion="9.2",
        languagecode=LANGUAGE_CODE,
        generatedBy="nav_crm",
    )
    manifest = SubElement(root, "SolutionManifest")
    _text(manifest, "UniqueName", constants.INTEGRATION_SOLUTION_NAME)
    _labels(manifest, "LocalizedNames", "LocalizedName", definition.SOLUTION_FRIENDLY_NAME)
    _labels(manifest, "Descriptions", "Description", definition.SOLUTION_DESCRIPTION)
    _text(manifest, "Version", constants.INTEGRATION_SOLUTION_VERSION)
    _text(manifest, "Managed", "0")
    publisher = SubElement(manifest, "Publisher")
    _text(publisher, "UniqueName", definition.PUBLISHER_UNIQUE_NAME)
    _labels(publisher, "LocalizedNames", "LocalizedName", definition.PUBLISHER_NAME)
    _text(publisher, "CustomizationPrefix", definition.CUSTOMIZATION_PREFIX)
    _text(publisher, "CustomizationOptionValuePrefix", str(definition.OPTION_VALUE_PREFIX))
    components = SubElement(manifest, "RootComponents")
    for entity in definition.ENTITIES:
        SubElement(
            components,
            "RootComponent",
            type=COMPONENT_ENTITY,
            schemaName=entity.logical_name,
            behavior=BEHAVIOR_INCLUDE_SUBCOMPONENTS,
        )
    for system_entity in definition.SYSTEM_ENTITIES:
        SubElement(
            components,
            "RootComponent",
            type=COMPONENT_ENTITY,
            schemaName=system_entity.logical_name,
            behavior=BEHAVIOR_SHELL,
        )
    for role in definition.ROLES:
        SubElement(components, "RootComponent", type=COMPONENT_ROLE, id=f"{{{role.id}}}", behavior="0")
    SubElement(manifest, "MissingDependencies")
    return root


def _customizations() -> Element:
    root = Element("ImportExportXml", {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance"})
    entities = SubElement(root, "Entities")
    for entity in definition.ENTITIES:
        _entity(entities, entity)
    for system_entity in definition.SYSTEM_ENTITIES:
        _system_entity(entities, system_entity)
    roles = SubElement(root, "Roles")
    for role in definition.ROLES:
        node = SubElement(roles, "Role", id=f"{{{role.id}}}", name=role.name)
        privileges = SubElement(node, "RolePrivileges")
        for name, depth in role.privileges:
            SubElement(privileges, "RolePrivilege", name=name, level=depth)
    for empty in ("Workflows", "FieldSecurityProfiles", "Templates", "EntityMaps", "EntityRelationships"):
        SubElement(root, empty)
    _text(SubElement(root, "Languages"), "Language", LANGUAGE_CODE)
    return root


def _entity(parent: Element, entity: definition.Entity) -> None:
    node = SubElement(parent, "Entity")
    _text(node, "Name", entity.logical_name).attrib.update(
        LocalizedName=entity.display_name, OriginalName=entity.display_name
    )
    info = SubElement(SubElement(node, "EntityInfo"), "entity", Name=entity.logical_name)
    _labels(info, "LocalizedNames", "LocalizedName", entity.display_name)
    _labels(info, "LocalizedCollectionNames", "LocalizedCollectionName", entity.display_collection_name)
    _labels(info, "Descriptions", "Description", entity.description)
    attributes = SubElement(info, "attributes")
    for attribute in entity.attributes:
        _attribute(attributes, attribute, entity.logical_name)
    _text(info, "EntitySetName", entity.entity_set)
    _text(info, "IsCustomizable", "1")
    _text(info, "OwnershipTypeMask", entity.ownership)
    _text(info, "ChangeTrackingEnabled", "0")
    if entity.keys:
        keys = SubElement(info, "EntityKeys")
        for key_name, columns in entity.keys:
            key = SubElement(keys, "EntityKey")
            _text(key, "LogicalName", key_name)
            _text(key, "Name", key_name)
            key_attributes = SubElement(key, "EntityKeyAttributes")
            for column in columns:
                _text(key_attributes, "AttributeName", column)


def _system_entity(parent: Element, entity: definition.SystemEntity) -> None:
    """A system entity with only the columns the solution adds (``unmodified``: nothing else changes)."""
    node = SubElement(parent, "Entity")
    _text(node, "Name", entity.schema_name).attrib.update(
        LocalizedName=entity.display_name, OriginalName=entity.display_name
    )
    info = SubElement(SubElement(node, "EntityInfo"), "entity", Name=entity.schema_name, unmodified="1")
    attributes = SubElement(info, "attributes")
    for attribute in entity.attributes:
        _attribute(attributes, attribute, entity.logical_name)


def _attribute(parent: Element, attribute: definition.Attribute, entity_name: str = "") -> None:
    node = SubElement(parent, "attribute", PhysicalName=attribute.logical_name)
    _text(node, "Type", attribute.type)
    _text(node, "Name", attribute.logical_name)
    _text(node, "LogicalName", attribute.logical_name)
    _text(node, "RequiredLevel", attribute.required_level)
    mask = "PrimaryName|ValidForAdvancedFind|ValidForForm|ValidForGrid" if attribute.primary_name else "ValidForForm"
    _text(node, "DisplayMask", mask)
    if attribute.max_length is not None:
        _text(node, "Format", "text")
        _text(node, "MaxLength", str(attribute.max_length))
    if attribute.options:
        _option_set(node, attribute, entity_name)
    _labels(node, "displaynames", "displayname", attribute.display_name)
    if attribute.description:
        _labels(node, "Descriptions", "Description", attribute.description)


def _option_set(parent: Element, attribute: definition.Attribute, entity_name: str) -> None:
    """A local option set (choice) of the attribute."""
    _text(parent, "AppDefaultValue", "-1")
    option_set = SubElement(parent, "optionset", Name=f"{entity_name}_{attribute.logical_name}")
    _text(option_set, "OptionSetType", "picklist")
    _text(option_set, "IsGlobal", "0")
    _text(option_set, "IsCustomizable", "1")
    _labels(option_set, "displaynames", "displayname", attribute.display_name)
    options = SubElement(option_set, "options")
    for value, label in attribute.options:
        option = SubElement(options, "option", value=str(value))
        _labels(option, "labels", "label", label)

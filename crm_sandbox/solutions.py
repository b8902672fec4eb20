"""``POST /ImportSolution``: reads a solution package (.zip) and creates what it declares.

The package holds ``[Content_Types].xml``, ``solution.xml`` (ImportExportXml/SolutionManifest:
UniqueName, LocalizedNames, Version, Managed, Publisher with its CustomizationPrefix) and
``customizations.xml`` (Entities with their attributes and keys, Roles with their privileges).
Custom entities become real entity sets (see customizations.py); a system entity in the package
(as real solution files carry one: only the columns the solution adds, with the publisher prefix)
gets those columns on its table and in its declaration; roles become role rows, and the solution
is recorded in the ``solution`` entity with its installed version.

Versions follow Dataverse: a managed solution cannot be replaced by a lower version, a package
cannot switch an installed solution between managed and unmanaged, and importing the same (or a
higher) version again updates the solution.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from django.db import NotSupportedError, transaction
from django.http import HttpResponse

from crm_sandbox import customizations, metadata, store, webapi
from crm_sandbox.errors import BadRequest, Forbidden, ResourceNotFound
from crm_sandbox.models import CustomEntity, RolePrivilege, model_for

REQUIRED_FILES = ("[Content_Types].xml", "solution.xml", "customizations.xml")
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
FIRST_CUSTOM_TYPE_CODE = 10000
_VERSION = re.compile(r"^\d+(\.\d+){1,3}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_import_lock = threading.Lock()

# customizations.xml <Type> -> AttributeMetadata.AttributeType
ATTRIBUTE_TYPES = {
    "nvarchar": "String",
    "ntext": "Memo",
    "memo": "Memo",
    "int": "Integer",
    "bigint": "BigInt",
    "decimal": "Decimal",
    "money": "Money",
    "float": "Double",
    "bit": "Boolean",
    "datetime": "DateTime",
    "picklist": "Picklist",
    "uniqueidentifier": "Uniqueidentifier",
    "lookup": "Lookup",
}
# Attributes every custom entity gets from the platform; a package may list them, they are not re-declared.
PLATFORM_ATTRIBUTES = {
    "statecode",
    "statuscode",
    "createdon",
    "modifiedon",
    "createdby",
    "modifiedby",
    "versionnumber",
    "overriddencreatedon",
    "ownerid",
    "owningbusinessunit",
    "owninguser",
    "owningteam",
    "createdonbehalfby",
    "modifiedonbehalfby",
    "importsequencenumber",
    "timezoneruleversionnumber",
    "utcconversiontimezonecode",
}
REQUIRED_LEVELS = {
    "none": metadata.NONE,
    "recommended": "Recommended",
    "required": metadata.APPLICATION_REQUIRED,
    "applicationrequired": metadata.APPLICATION_REQUIRED,
    "systemrequired": metadata.SYSTEM_REQUIRED,
}
DEFAULT_MAX_LENGTH = {"String": 100, "Memo": 2000}


class InvalidPackage(BadRequest):
    code = "0x80048033"


@dataclass
class Role:
    id: uuid.UUID | None
    name: str
    privileges: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Package:
    unique_name: str
    friendly_name: str
    version: str
    managed: bool
    prefix: str
    description: str = ""
    entities: list[dict] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)


# --- Reading the package -----------------------------------------------------------------------------------


def read_package(data: bytes) -> Package:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidPackage("The import file is not a valid solution package: it is not a .zip archive.") from None
    with archive:
        names = set(archive.namelist())
        missing = [name for name in REQUIRED_FILES if name not in names]
        if missing:
            raise InvalidPackage(f"The import file is not a valid solution package: {', '.join(missing)} is missing.")
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise InvalidPackage("The solution package is too large once unpacked.")
        files = {name: archive.read(name) for name in REQUIRED_FILES}
    _xml(files["[Content_Types].xml"], "[Content_Types].xml")
    manifest = _xml(files["solution.xml"], "solution.xml").find("SolutionManifest")
    if manifest is None:
        raise InvalidPackage("solution.xml has no ImportExportXml/SolutionManifest element.")
    package = _read_manifest(manifest)
    customizations_root = _xml(files["customizations.xml"], "customizations.xml")
    package.entities = [_read_entity(node, package) for node in customizations_root.findall("Entities/Entity")]
    package.roles = [_read_role(node) for node in customizations_root.findall("Roles/Role")]
    return package


def _xml(content: bytes, name: str) -> ElementTree.Element:
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise InvalidPackage(f"{name} must not contain a DOCTYPE or entity declarations.")
    try:
        # DOCTYPE and entity declarations are refused above, so no entity expansion can happen.
        return ElementTree.fromstring(content)  # noqa: S314
    except ElementTree.ParseError as error:
        raise InvalidPackage(f"{name} is not well-formed XML: {error}.") from None


def _text(node: ElementTree.Element | None, path: str, default: str | None = None) -> str | None:
    found = node.find(path) if node is not None else None
    value = found.text.strip() if found is not None and found.text else None
    return value if value else default


def _label(node: ElementTree.Element | None, path: str) -> str:
    found = node.find(path) if node is not None else None
    return found.get("description", "") if found is not None else ""


def _read_manifest(manifest: ElementTree.Element) -> Package:
    unique_name = _text(manifest, "UniqueName")
    version = _text(manifest, "Version")
    if not unique_name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,64}", unique_name):
        raise InvalidPackage("solution.xml: SolutionManifest/UniqueName is missing or not a valid name.")
    if not version or not _VERSION.match(version):
        raise InvalidPackage(
            f"solution.xml: the version '{version}' is not a valid version (major.minor[.build[.revision]])."
        )
    prefix = _text(manifest, "Publisher/CustomizationPrefix")
    if not prefix or not re.fullmatch(r"[a-z][a-z0-9]{1,7}", prefix):
        raise InvalidPackage(
            "solution.xml: Publisher/CustomizationPrefix is missing or not 2-8 lowercase letters/digits."
        )
    managed = _text(manifest, "Managed", "0")
    if managed not in {"0", "1"}:
        raise InvalidPackage("solution.xml: Managed must be 0 or 1.")
    return Package(
        unique_name=unique_name,
        friendly_name=_label(manifest, "LocalizedNames/LocalizedName") or unique_name,
        version=version,
        managed=managed == "1",
        prefix=prefix,
        description=_label(manifest, "Descriptions/Description"),
    )


def _read_entity(node: ElementTree.Element, package: Package) -> dict:
    info = node.find("EntityInfo/entity")
    logical_name = ((info.get("Name") if info is not None else None) or _text(node, "Name") or "").lower()
    if info is None or not _NAME.match(logical_name):
        raise InvalidPackage(f"customizations.xml: the entity '{logical_name}' has no EntityInfo/entity or a bad name.")
    builtin = metadata.BUILTIN.get(logical_name)
    if builtin is not None:
        return _read_system_entity(node, info, builtin, package)
    if not logical_name.startswith(f"{package.prefix}_"):
        raise InvalidPackage(
            f"customizations.xml: the entity '{logical_name}' must start with the publisher prefix '{package.prefix}_'."
        )
    primary_id, primary_name, attributes = f"{logical_name}id", None, []
    for attribute_node in info.findall("attributes/attribute"):
        declared = _read_attribute(attribute_node, logical_name, package, node)
        if declared is None:
            continue
        if declared.pop("primary_key", False):
            primary_id = declared["name"]
        if declared.pop("primary_name", False):
            primary_name = declared["name"]
        attributes.append(declared)
    names = [a["name"] for a in attributes]
    if len(set(names)) != len(names):
        raise InvalidPackage(f"customizations.xml: the entity '{logical_name}' declares an attribute twice.")
    if primary_id not in names:
        attributes.insert(0, {"name": primary_id, "type": "Uniqueidentifier"})
    primary_name = primary_name or (f"{package.prefix}_name" if f"{package.prefix}_name" in names else None)
    if primary_name is None:
        raise InvalidPackage(
            f"customizations.xml: the entity '{logical_name}' has no primary name attribute "
            "(an nvarchar attribute with PrimaryName in its DisplayMask)."
        )
    keys = {}
    for key_node in info.findall("EntityKeys/EntityKey"):
        columns = [(a.text or "").strip().lower() for a in key_node.findall("EntityKeyAttributes/AttributeName")]
        key_name = (_text(key_node, "LogicalName") or _text(key_node, "Name") or "").lower()
        if not key_name or not columns or any(column not in names for column in columns):
            raise InvalidPackage(f"customizations.xml: the key '{key_name}' of '{logical_name}' is not valid.")
        keys[key_name] = columns
    ownership = (_text(info, "OwnershipTypeMask") or "UserOwned").lower()
    return {
        "logical_name": logical_name,
        "set_name": (_text(info, "EntitySetName") or f"{logical_name}s").lower(),
        "primary_id": primary_id,
        "primary_name": primary_name,
        "attributes": attributes,
        "keys": keys,
        "owned": ownership != "organizationowned",
        "change_tracking": _text(info, "ChangeTrackingEnabled", "0") in {"1", "true"},
        "display_name": _label(info, "LocalizedNames/LocalizedName") or logical_name,
    }


def _read_system_entity(node, info: ElementTree.Element, builtin: metadata.Entity, package: Package) -> dict:
    """A system entity in a solution, as real solution files carry it: only the columns the solution adds
    (its own, with the publisher prefix). The entity itself, its keys and its other columns stay as they are."""
    attributes = []
    for attribute_node in info.findall("attributes/attribute"):
        declared = _read_attribute(attribute_node, builtin.logical_name, package, node)
        if declared is None or declared["name"] in builtin.attribute_map:
            continue  # a system column listed with the entity is not redeclared
        if declared.pop("primary_key", False) or declared.pop("primary_name", False):
            raise InvalidPackage(
                f"customizations.xml: '{declared['name']}' cannot become the primary column of the system entity "
                f"'{builtin.logical_name}'."
            )
        attributes.append(declared)
    names = [a["name"] for a in attributes]
    if len(set(names)) != len(names):
        raise InvalidPackage(f"customizations.xml: the entity '{builtin.logical_name}' declares an attribute twice.")
    return {
        "logical_name": builtin.logical_name,
        "extends": True,
        "set_name": builtin.set_name,
        "object_type_code": builtin.object_type_code,
        "attributes": attributes,
    }


def _read_attribute(node: ElementTree.Element, entity: str, package: Package, entity_node) -> dict | None:
    name = (_text(node, "LogicalName") or _text(node, "Name") or node.get("PhysicalName") or "").lower()
    kind = (_text(node, "Type") or "").lower()
    if name in PLATFORM_ATTRIBUTES or kind in {"owner", "state", "status"}:
        return None
    where = f"customizations.xml: attribute '{name}' of '{entity}'"
    if not _NAME.match(name):
        raise InvalidPackage(f"{where} has no valid LogicalName.")
    if kind == "primarykey":
        return {"name": name, "type": "Uniqueidentifier", "primary_key": True}
    if kind not in ATTRIBUTE_TYPES:
        raise InvalidPackage(f"{where} has the unsupported type '{kind}'.")
    if not name.startswith(f"{package.prefix}_"):
        raise InvalidPackage(f"{where} must start with the publisher prefix '{package.prefix}_'.")
    attribute_type = ATTRIBUTE_TYPES[kind]
    required = REQUIRED_LEVELS.get((_text(node, "RequiredLevel") or "none").lower())
    if required is None:
        raise InvalidPackage(f"{where} has an unknown RequiredLevel.")
    declared: dict = {"name": name, "type": attribute_type, "required": required}
    if attribute_type in DEFAULT_MAX_LENGTH:
        declared["max_length"] = (
            _int(_text(node, "MaxLength") or _text(node, "Length"), where, "MaxLength")
            or (DEFAULT_MAX_LENGTH[attribute_type])
        )
    if attribute_type in {"Integer", "BigInt", "Decimal", "Money", "Double"}:
        for tag, key in (("MinValue", "min_value"), ("MaxValue", "max_value")):
            value = _text(node, tag)
            if value is not None:
                try:
                    declared[key] = float(value)
                except ValueError:
                    raise InvalidPackage(f"{where}: {tag} '{value}' is not a number.") from None
        if attribute_type in {"Decimal", "Money"}:
            declared["precision"] = _int(_text(node, "Accuracy") or _text(node, "Precision"), where, "Precision") or 2
    if attribute_type == "Picklist":
        options = {}
        for option in node.findall("optionset/options/option"):
            value = _int(option.get("value"), where, "option value")
            label = option.find("labels/label")
            options[str(value)] = label.get("description", str(value)) if label is not None else str(value)
        if not options:
            raise InvalidPackage(f"{where} is a picklist without options.")
        declared["options"] = options
    if attribute_type == "Lookup":
        target = _lookup_target(entity_node, name)
        if target not in metadata.BY_LOGICAL_NAME and target != entity:
            raise InvalidPackage(f"{where} refers to the unknown entity '{target}'.")
        declared["navigations"] = {name: target}
    if "PrimaryName" in (_text(node, "DisplayMask") or ""):
        declared["primary_name"] = True
    return declared


def _lookup_target(entity_node: ElementTree.Element, attribute: str) -> str:
    for relationship in entity_node.iter("EntityRelationship"):
        if (_text(relationship, "ReferencingAttributeName") or "").lower() == attribute:
            return (_text(relationship, "ReferencedEntityName") or "").lower()
    raise InvalidPackage(
        f"customizations.xml: the lookup '{attribute}' has no EntityRelationship naming its ReferencedEntityName."
    )


def _int(text: str | None, where: str, what: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidPackage(f"{where}: {what} '{text}' is not a whole number.") from None


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (4 - len(parts)))


# --- Importing ------------------------------------------------------------------------------------------------


def import_solution(request: webapi.Request, ctx: webapi.Context, segments: list[str]) -> HttpResponse:
    if segments != ["ImportSolution"]:
        raise ResourceNotFound(f"Resource not found for the segment '{'/'.join(segments)}'.")
    if request.method != "POST":
        raise ResourceNotFound(
            f"No HTTP resource was found that matches the request URI '{ctx.api_url}ImportSolution'."
        )
    _require_customizer(ctx)
    body = request.json()
    if not isinstance(body, dict):
        raise BadRequest("The ImportSolution body must be a JSON object.")
    for name, kind in (
        ("CustomizationFile", str),
        ("OverwriteUnmanagedCustomizations", bool),
        ("PublishWorkflows", bool),
        ("ImportJobId", str),
    ):
        if not isinstance(body.get(name), kind):
            raise BadRequest(f"The parameter '{name}' of ImportSolution is missing or has the wrong type.")
    try:
        uuid.UUID(body["ImportJobId"])
        data = base64.b64decode(body["CustomizationFile"], validate=True)
    except (ValueError, binascii.Error):
        raise BadRequest("ImportJobId must be a GUID and CustomizationFile a base64-encoded .zip file.") from None
    package = read_package(data)
    with _import_lock:
        install_package(package, caller=ctx.caller)
    return webapi.empty_response(204)


def _require_customizer(ctx: webapi.Context) -> None:
    if ctx.identity.role_names & {webapi.ADMIN_ROLE, webapi.CUSTOMIZER_ROLE}:
        return
    raise Forbidden(
        f"Principal user (Id={ctx.identity.systemuserid}, type=8, roleCount={len(ctx.identity.role_names)}), "
        "is missing prvImportCustomization privilege on OTC=7100 for entity 'solution'. "
        "Only a System Administrator or System Customizer can import solutions."
    )


def install_package(package: Package, *, caller: store.Caller) -> None:
    solutions = model_for(metadata.SOLUTION).objects.using(store.DB)
    installed = solutions.filter(uniquename=package.unique_name).values().first()
    if installed is not None:
        _check_upgrade(package, installed)
    declarations = _declarations(package)
    try:
        for declaration in declarations:
            customizations.install(declaration)
    except NotSupportedError:
        raise BadRequest("ImportSolution cannot run inside a $batch change set.") from None
    with transaction.atomic(using=store.DB):
        for declaration in declarations:
            CustomEntity.objects.using(store.DB).update_or_create(
                logical_name=declaration["logical_name"],
                defaults={"solution_uniquename": package.unique_name, "definition": declaration},
            )
        for role in package.roles:
            _install_role(role, caller)
        _record_solution(package, installed, caller)


def _check_upgrade(package: Package, installed: dict) -> None:
    if bool(installed["ismanaged"]) != package.managed:
        kinds = ("managed", "unmanaged") if installed["ismanaged"] else ("unmanaged", "managed")
        raise BadRequest(
            f"The solution '{package.unique_name}' is already installed on this system as an {kinds[0]} solution "
            f"and the package to be imported is {kinds[1]}.",
            code="0x80048033",
        )
    if package.managed and _version_tuple(package.version) < _version_tuple(installed["version"]):
        raise BadRequest(
            f"The solution '{package.unique_name}' version {package.version} is lower than the installed "
            f"version {installed['version']}; a managed solution cannot be downgraded.",
            code="0x80048033",
        )


def _declarations(package: Package) -> list[dict]:
    """The package's entity declarations, merged with what earlier imports declared (columns are never dropped)."""
    stored = {c.logical_name: c for c in CustomEntity.objects.using(store.DB)}
    next_code = FIRST_CUSTOM_TYPE_CODE + len([c for c in stored.values() if not c.definition.get("extends")])
    declarations = []
    for declared in package.entities:
        previous = stored.get(declared["logical_name"])
        if declared.get("extends"):
            # Columns added to a system entity: kept with those earlier imports added (by any solution).
            if previous is not None:
                added = {a["name"] for a in declared["attributes"]}
                kept = [a for a in previous.definition["attributes"] if a["name"] not in added]
                declared["attributes"] = kept + declared["attributes"]
            declarations.append(declared)
            continue
        if previous is not None and previous.solution_uniquename != package.unique_name:
            raise BadRequest(
                f"The entity '{declared['logical_name']}' belongs to the solution '{previous.solution_uniquename}'.",
                code="0x80048033",
            )
        if previous is None:
            clash = metadata.BY_SET_NAME.get(declared["set_name"])
            if clash is not None:
                raise InvalidPackage(
                    f"The entity set name '{declared['set_name']}' is already used by '{clash.logical_name}'."
                )
            declared["object_type_code"] = next_code
            next_code += 1
        else:
            old = previous.definition
            kept = [a for a in old["attributes"] if a["name"] not in {n["name"] for n in declared["attributes"]}]
            declared["attributes"] = kept + declared["attributes"]
            declared["object_type_code"] = old["object_type_code"]
            declared["set_name"] = old["set_name"]
        declarations.append(declared)
    return declarations


def _root_business_unit() -> uuid.UUID:
    units = model_for(metadata.BUSINESSUNIT).objects.using(store.DB)
    return units.filter(parentbusinessunitid__isnull=True).values_list("businessunitid", flat=True).first()


def _install_role(role: Role, caller: store.Caller) -> None:
    roles = model_for(metadata.ROLE).objects.using(store.DB)
    existing = roles.filter(name=role.name).values_list("roleid", flat=True).first()
    if existing is None:
        data = {"name": role.name, "businessunitid@odata.bind": f"/businessunits({_root_business_unit()})"}
        key = store.RecordKey(id=role.id) if role.id and not roles.filter(roleid=role.id).exists() else None
        existing = store.record_create(entity=metadata.ROLE, data=data, caller=caller, key=key)["roleid"]
    privileges = RolePrivilege.objects.using(store.DB)
    privileges.filter(roleid=existing).delete()
    privileges.bulk_create([RolePrivilege(roleid=existing, name=name, level=level) for name, level in role.privileges])


def _record_solution(package: Package, installed: dict | None, caller: store.Caller) -> None:
    data = {"friendlyname": package.friendly_name, "version": package.version, "description": package.description}
    if installed is None:
        row = store.prepare_create(
            entity=metadata.SOLUTION, data={"uniquename": package.unique_name, **data}, caller=caller
        )
        row["ismanaged"] = package.managed
        row["installedon"] = store.now()
        store.insert_prepared(entity=metadata.SOLUTION, rows=[row], caller=caller)
        return
    store.record_update(
        entity=metadata.SOLUTION, key=store.RecordKey(id=installed["solutionid"]), data=data, caller=caller
    )


def _read_role(node: ElementTree.Element) -> Role:
    name = (node.get("name") or "").strip()
    if not name or len(name) > 100:
        raise InvalidPackage("customizations.xml: a Role has no name (or one longer than 100 characters).")
    role_id = None
    if node.get("id"):
        try:
            role_id = uuid.UUID(node.get("id").strip("{}"))
        except ValueError:
            raise InvalidPackage(f"customizations.xml: the role '{name}' has an id that is not a GUID.") from None
    privileges = []
    for privilege in node.findall("RolePrivileges/RolePrivilege"):
        privilege_name, level = privilege.get("name", ""), privilege.get("level", "")
        if not privilege_name.startswith("prv") or level not in {"Basic", "Local", "Deep", "Global"}:
            raise InvalidPackage(
                f"customizations.xml: the role '{name}' has an invalid privilege '{privilege_name}' ({level})."
            )
        privileges.append((privilege_name, level))
    return Role(role_id, name, privileges)

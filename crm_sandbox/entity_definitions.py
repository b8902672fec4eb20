"""``EntityDefinitions``: the entity metadata clients read to map logical names to entity sets.

Serves the collection (``$select``, ``$filter``, ``$expand=Attributes,Keys``), single definitions
by ``MetadataId`` or ``LogicalName='x'``, their ``Attributes`` (by key, with type casts such as
``/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`` and ``$expand=OptionSet``) and ``Keys``.
Properties are PascalCase and MetadataIds are stable (derived from the names).
"""

from __future__ import annotations

import uuid

from odata_query import ast
from odata_query.grammar import ODataLexer, ODataParser

from crm_sandbox import metadata, odata
from crm_sandbox.errors import MethodNotAllowed, QueryError, RecordNotFound, ResourceNotFound
from crm_sandbox.webapi import json_response, split_key

METADATA_NAMESPACE = uuid.UUID("7f1c4e1a-2b6e-4f0a-9a57-3c1d6b2e8f90")
NAMESPACE = "Microsoft.Dynamics.CRM."
# AttributeType -> the metadata type a client casts to.
METADATA_TYPES = {
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata",
    "Customer": "LookupAttributeMetadata",
    "Owner": "LookupAttributeMetadata",
}


def metadata_id(*parts: str) -> str:
    return str(uuid.uuid5(METADATA_NAMESPACE, "/".join(parts)))


def _schema_name(entity: metadata.Entity) -> str:
    return entity.logical_name if entity.is_custom else entity.logical_name.capitalize()


def entity_definition(entity: metadata.Entity) -> dict:
    owned = "ownerid" in entity.attribute_map
    return {
        "MetadataId": metadata_id(entity.logical_name),
        "LogicalName": entity.logical_name,
        "SchemaName": _schema_name(entity),
        "EntitySetName": entity.set_name,
        "LogicalCollectionName": entity.set_name,
        "CollectionSchemaName": _schema_name(entity) + "s",
        "PrimaryIdAttribute": entity.primary_id,
        "PrimaryNameAttribute": entity.primary_name,
        "ObjectTypeCode": entity.object_type_code,
        "ChangeTrackingEnabled": entity.change_tracking,
        "IsCustomEntity": entity.is_custom,
        "IsActivity": False,
        "OwnershipType": "UserOwned" if owned else "OrganizationOwned",
        "DisplayName": _label(entity.title),
        "DisplayCollectionName": _label(entity.title + "s"),
    }


# Display names as Dynamics 365 Sales shows them (what its forms and the metadata's DisplayName say), for the
# attributes the integration maps; per entity where one differs. Others are shown by their logical name.
ATTRIBUTE_DISPLAY_NAMES = {
    "name": "Name",
    "ownerid": "Owner",
    "createdon": "Created On",
    "modifiedon": "Modified On",
    "statecode": "Status",
    "statuscode": "Status Reason",
    "transactioncurrencyid": "Currency",
    "address1_line1": "Address 1: Street 1",
    "address1_line2": "Address 1: Street 2",
    "address1_line3": "Address 1: Street 3",
    "address1_city": "Address 1: City",
    "address1_stateorprovince": "Address 1: State/Province",
    "address1_postalcode": "Address 1: ZIP/Postal Code",
    "address1_country": "Address 1: Country/Region",
    "address1_freighttermscode": "Address 1: Freight Terms",
    "address1_shippingmethodcode": "Address 1: Shipping Method",
    "address1_telephone1": "Address 1: Telephone 1",
    "emailaddress1": "Email",
    "websiteurl": "Website",
    "telephone1": "Business Phone",
    "mobilephone": "Mobile Phone",
    "primarycontactid": "Primary Contact",
    "parentcustomerid": "Company Name",
    "creditlimit": "Credit Limit",
    "accountnumber": "Account Number",
    "customertypecode": "Relationship Type",
    "paymenttermscode": "Payment Terms",
    "firstname": "First Name",
    "lastname": "Last Name",
    "fullname": "Full Name",
    "jobtitle": "Job Title",
    "internalemailaddress": "Primary Email",
    "isocurrencycode": "Currency Code",
    "currencyname": "Currency Name",
    "currencysymbol": "Currency Symbol",
    "exchangerate": "Exchange Rate",
    "productnumber": "Product ID",
    "description": "Description",
    "price": "List Price",
    "standardcost": "Standard Cost",
    "currentcost": "Current Cost",
    "defaultuomscheduleid": "Unit Group",
    "defaultuomid": "Default Unit",
    "producttypecode": "Product Type",
    "quantityonhand": "Quantity On Hand",
    "quantitydecimal": "Decimals Supported",
    "baseuomname": "Primary Unit",
    "uomscheduleid": "Unit Schedule",
    "quantity": "Quantity",
    "pricelevelid": "Price List",
    "productid": "Product",
    "uomid": "Unit",
    "amount": "Amount",
}
ENTITY_ATTRIBUTE_DISPLAY_NAMES = {
    ("account", "name"): "Account Name",
    ("account", "telephone1"): "Main Phone",
    ("product", "pricelevelid"): "Default Price List",
    ("systemuser", "address1_telephone1"): "Main Phone",
}


def attribute_display_name(entity: metadata.Entity, attribute: metadata.Attribute) -> str:
    key = (entity.logical_name, attribute.name)
    return ENTITY_ATTRIBUTE_DISPLAY_NAMES.get(key) or ATTRIBUTE_DISPLAY_NAMES.get(attribute.name) or attribute.name


def metadata_type(attribute: metadata.Attribute) -> str:
    return METADATA_TYPES.get(attribute.type, f"{attribute.type}AttributeMetadata")


def _is_custom_attribute(entity: metadata.Entity, attribute: metadata.Attribute) -> bool:
    builtin = metadata.BUILTIN.get(entity.logical_name)
    if builtin is not None and not entity.is_custom:
        return attribute.name not in builtin.attribute_map  # a solution's column on a system entity
    return entity.is_custom and attribute.name.split("_")[0] != attribute.name


def attribute_definition(entity: metadata.Entity, attribute: metadata.Attribute) -> dict:
    body = {
        "@odata.type": f"#{NAMESPACE}{metadata_type(attribute)}",
        "MetadataId": metadata_id(entity.logical_name, attribute.name),
        "LogicalName": attribute.name,
        "SchemaName": attribute.name,
        "EntityLogicalName": entity.logical_name,
        "AttributeType": attribute.type,
        "AttributeTypeName": {"Value": f"{attribute.type}Type"},
        "IsCustomAttribute": _is_custom_attribute(entity, attribute),
        "IsValidForCreate": attribute.valid_for_create,
        "IsValidForUpdate": attribute.valid_for_update,
        "IsValidForRead": True,
        "IsPrimaryId": attribute.name == entity.primary_id,
        "IsPrimaryName": attribute.name == entity.primary_name,
        "RequiredLevel": {
            "Value": attribute.required,
            "CanBeChanged": attribute.required != metadata.SYSTEM_REQUIRED,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "DisplayName": _label(attribute_display_name(entity, attribute)),
    }
    if attribute.max_length is not None:
        body["MaxLength"] = attribute.max_length
    if attribute.type in metadata.NUMBER_TYPES:
        body["MinValue"] = attribute.min_value
        body["MaxValue"] = attribute.max_value
        if attribute.type in {"Decimal", "Money"}:
            body["Precision"] = attribute.precision
    if attribute.is_lookup:
        body["Targets"] = list(attribute.targets)
    return body


def option_set(entity: metadata.Entity, attribute: metadata.Attribute) -> dict:
    options = []
    for value, label in attribute.options.items():
        option = {"Value": value, "Label": _label(label)}
        if attribute.type == "State":
            option["DefaultStatus"] = entity.state_map[value].default_status
        if attribute.type == "Status":
            option["State"] = entity.status_to_state.get(value)
        options.append(option)
    return {
        "MetadataId": metadata_id(entity.logical_name, attribute.name, "optionset"),
        "Name": f"{entity.logical_name}_{attribute.name}",
        "IsGlobal": False,
        "OptionSetType": attribute.type,
        "Options": options,
    }


def key_definition(entity: metadata.Entity, name: str, columns: tuple[str, ...]) -> dict:
    return {
        "MetadataId": metadata_id(entity.logical_name, "key", name),
        "LogicalName": name,
        "SchemaName": name,
        "EntityLogicalName": entity.logical_name,
        "KeyAttributes": list(columns),
        "EntityKeyIndexStatus": "Active",
        "DisplayName": _label(name),
    }


def _label(text: str) -> dict:
    localized = {"Label": text, "LanguageCode": 1033}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


# --- Query options on metadata ---------------------------------------------------------------------------------


def _parse_filter(text: str):
    try:
        return ODataParser().parse(ODataLexer().tokenize(text))
    except Exception:  # noqa: BLE001 — the parser raises several error types
        raise QueryError(f"Syntax error in $filter '{text}'.") from None


def _value(node, definition: dict, type_name: str):
    if isinstance(node, ast.Identifier):
        if node.name not in definition:
            raise QueryError(f"Could not find a property named '{node.name}' on type '{NAMESPACE}{type_name}'.")
        return definition[node.name]
    if isinstance(node, ast.Attribute) and isinstance(node.owner, ast.Identifier):
        owner = _value(node.owner, definition, type_name)
        return owner.get(node.attr) if isinstance(owner, dict) else None
    if isinstance(node, ast._Literal):
        return node.py_val
    raise QueryError("Only properties and literals can be compared when filtering metadata.")


def _matches(node, definition: dict, type_name: str) -> bool:
    if isinstance(node, ast.BoolOp):
        left, right = _matches(node.left, definition, type_name), _matches(node.right, definition, type_name)
        return left and right if isinstance(node.op, ast.And) else left or right
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _matches(node.operand, definition, type_name)
    if isinstance(node, ast.Compare) and isinstance(node.comparator, ast.Eq | ast.NotEq):
        left, right = _value(node.left, definition, type_name), _value(node.right, definition, type_name)
        return (left == right) if isinstance(node.comparator, ast.Eq) else (left != right)
    raise QueryError("Only eq, ne, and, or and not are supported when filtering metadata.")


def _select(definition: dict, text: str | None) -> dict:
    if not text:
        return definition
    names = [name.strip() for name in text.split(",") if name.strip()]
    chosen = {key: value for key, value in definition.items() if key.startswith("@")}
    chosen.update({name: definition[name] for name in ["MetadataId", *names] if name in definition})
    return chosen


def _expand_items(text: str | None) -> dict[str, dict[str, str]]:
    """``Attributes($select=a;$filter=b),Keys`` -> {"Attributes": {"$select": "a", ...}, "Keys": {}}."""
    items: dict[str, dict[str, str]] = {}
    for item in odata.split_top_level(text or "", ","):
        name, _, rest = item.partition("(")
        nested = {}
        for option in odata.split_top_level(rest[:-1], ";") if rest else []:
            key, _, value = option.partition("=")
            nested[key.strip()] = value.strip()
        items[name.strip()] = nested
    return items


def _selection(columns: str | None) -> str:
    return f"({columns})" if columns else ""


# --- Handlers -------------------------------------------------------------------------------------------------


def _find(key_text: str) -> metadata.Entity:
    key_text = key_text.strip()
    for entity in metadata.ENTITIES:
        if key_text in {metadata_id(entity.logical_name), f"LogicalName='{entity.logical_name}'"}:
            return entity
    raise RecordNotFound(f"Could not find entity with key {key_text}.", code="0x80060888")


def entity_definitions(request, ctx, segments: list[str]):
    if request.method != "GET":
        raise MethodNotAllowed(
            "The sandbox's metadata is read-only: entities are created by importing a solution (ImportSolution)."
        )
    params = request.params
    base = f"{ctx.api_url}$metadata#EntityDefinitions"
    _, key_text = split_key(segments[0])
    if key_text is None:
        if len(segments) > 1:
            raise ResourceNotFound(f"Resource not found for the segment '{segments[1]}'.")
        definitions = [(entity, entity_definition(entity)) for entity in metadata.ENTITIES]
        if "$filter" in params:
            tree = _parse_filter(params["$filter"])
            definitions = [(e, d) for e, d in definitions if _matches(tree, d, "EntityMetadata")]
        value = [_entity_body(entity, definition, params) for entity, definition in definitions]
        return json_response({"@odata.context": base + _selection(params.get("$select")), "value": value})
    entity = _find(key_text)
    context = f"{base}('{metadata_id(entity.logical_name)}')"
    if len(segments) == 1:
        body = _entity_body(entity, entity_definition(entity), params)
        return json_response({"@odata.context": f"{base}{_selection(params.get('$select'))}/$entity", **body})
    name, member_key = split_key(segments[1])
    if name == "Attributes":
        return _attributes(entity, context, member_key, segments[2:], params)
    if name == "Keys" and len(segments) == 2:
        keys = [key_definition(entity, k, columns) for k, columns in entity.alternate_keys.items()]
        if member_key is None:
            return json_response(
                {"@odata.context": f"{context}/Keys", "value": [_select(k, params.get("$select")) for k in keys]}
            )
        found = [k for k in keys if member_key.strip() in {k["MetadataId"], f"LogicalName='{k['LogicalName']}'"}]
        if not found:
            raise RecordNotFound(f"Could not find key with key {member_key}.", code="0x80060888")
        return json_response({"@odata.context": f"{context}/Keys/$entity", **_select(found[0], params.get("$select"))})
    raise ResourceNotFound(f"Resource not found for the segment '{segments[1]}'.")


def _entity_body(entity: metadata.Entity, definition: dict, params: dict) -> dict:
    body = _select(definition, params.get("$select"))
    expands = _expand_items(params.get("$expand"))
    for name, nested in expands.items():
        if name == "Attributes":
            body["Attributes"] = _attribute_bodies(entity, list(entity.attributes), nested)
        elif name == "Keys":
            keys = [key_definition(entity, k, columns) for k, columns in entity.alternate_keys.items()]
            body["Keys"] = [_select(k, nested.get("$select")) for k in keys]
        else:
            raise QueryError(f"Could not find a property named '{name}' on type '{NAMESPACE}EntityMetadata'.")
    return body


def _attribute_bodies(entity: metadata.Entity, attributes: list[metadata.Attribute], params: dict) -> list[dict]:
    pairs = [(attribute, attribute_definition(entity, attribute)) for attribute in attributes]
    if "$filter" in params:
        tree = _parse_filter(params["$filter"])
        pairs = [(a, d) for a, d in pairs if _matches(tree, d, "AttributeMetadata")]
    expands = _expand_items(params.get("$expand"))
    for name in expands:
        if name not in {"OptionSet", "GlobalOptionSet"}:
            raise QueryError(f"Could not find a property named '{name}' on type '{NAMESPACE}AttributeMetadata'.")
    bodies = []
    for attribute, definition in pairs:
        body = _select(definition, params.get("$select"))
        for name, nested in expands.items():
            if not attribute.options:
                continue
            if name == "OptionSet":
                body["OptionSet"] = _select(option_set(entity, attribute), nested.get("$select"))
            else:
                body["GlobalOptionSet"] = None
        bodies.append(body)
    return bodies


def _attributes(entity, context: str, member_key: str | None, rest: list[str], params: dict):
    chosen = list(entity.attributes)
    if member_key is not None:
        wanted = member_key.strip()
        chosen = [a for a in chosen if wanted in {metadata_id(entity.logical_name, a.name), f"LogicalName='{a.name}'"}]
        if not chosen:
            raise RecordNotFound(f"Could not find attribute with key {wanted}.", code="0x80060888")
    cast = ""
    if rest:
        if len(rest) > 1 or not rest[0].startswith(NAMESPACE) or not rest[0].endswith("AttributeMetadata"):
            raise ResourceNotFound(f"Resource not found for the segment '{rest[0]}'.")
        cast = rest[0].removeprefix(NAMESPACE)
        if cast != "AttributeMetadata":
            chosen = [a for a in chosen if metadata_type(a) == cast]
        cast = f"/{NAMESPACE}{cast}"
        if member_key is not None and not chosen:
            raise ResourceNotFound(f"The attribute {member_key} is not a(n) {rest[0]}.")
    bodies = _attribute_bodies(entity, chosen, params)
    selection = _selection(params.get("$select"))
    if member_key is not None:
        return json_response({"@odata.context": f"{context}/Attributes{cast}{selection}/$entity", **bodies[0]})
    return json_response({"@odata.context": f"{context}/Attributes{cast}{selection}", "value": bodies})

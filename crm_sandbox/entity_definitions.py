"""``EntityDefinitions``: the entity metadata clients read to map logical names to entity sets.

Serves the collection (with ``$select`` and ``$filter`` on the entity properties) and single
definitions by ``MetadataId`` or ``LogicalName='x'``, with their ``Attributes``.
"""

from __future__ import annotations

import uuid

from odata_query import ast
from odata_query.grammar import ODataLexer, ODataParser

from crm_sandbox import metadata
from crm_sandbox.errors import QueryError, RecordNotFound, ResourceNotFound
from crm_sandbox.webapi import json_response, split_key

METADATA_NAMESPACE = uuid.UUID("7f1c4e1a-2b6e-4f0a-9a57-3c1d6b2e8f90")
ATTRIBUTE_TYPES = {"BigInt": "BigInt", "Double": "Double"}


def metadata_id(*parts: str) -> str:
    return str(uuid.uuid5(METADATA_NAMESPACE, "/".join(parts)))


def entity_definition(entity: metadata.Entity) -> dict:
    return {
        "MetadataId": metadata_id(entity.logical_name),
        "LogicalName": entity.logical_name,
        "SchemaName": entity.logical_name.capitalize(),
        "EntitySetName": entity.set_name,
        "LogicalCollectionName": entity.set_name,
        "PrimaryIdAttribute": entity.primary_id,
        "PrimaryNameAttribute": entity.primary_name,
        "ObjectTypeCode": entity.object_type_code,
        "ChangeTrackingEnabled": entity.change_tracking,
        "IsCustomEntity": False,
        "DisplayName": _label(entity.title),
    }


def attribute_definition(entity: metadata.Entity, attribute: metadata.Attribute) -> dict:
    body = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{attribute.type}AttributeMetadata",
        "MetadataId": metadata_id(entity.logical_name, attribute.name),
        "LogicalName": attribute.name,
        "SchemaName": attribute.name,
        "AttributeType": attribute.type,
        "AttributeTypeName": {"Value": f"{attribute.type}Type"},
        "IsValidForCreate": attribute.valid_for_create,
        "IsValidForUpdate": attribute.valid_for_update,
        "IsPrimaryId": attribute.name == entity.primary_id,
        "IsPrimaryName": attribute.name == entity.primary_name,
        "RequiredLevel": {"Value": attribute.required, "CanBeChanged": False},
    }
    if attribute.max_length is not None:
        body["MaxLength"] = attribute.max_length
    if attribute.is_lookup:
        body["Targets"] = list(attribute.targets)
    if attribute.options:
        body["OptionSet"] = {
            "Options": [{"Value": value, "Label": _label(label)} for value, label in attribute.options.items()]
        }
    return body


def _label(text: str) -> dict:
    localized = {"Label": text, "LanguageCode": 1033}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def _matches(node, definition: dict) -> bool:
    if isinstance(node, ast.BoolOp):
        left, right = _matches(node.left, definition), _matches(node.right, definition)
        return left and right if isinstance(node.op, ast.And) else left or right
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _matches(node.operand, definition)
    if isinstance(node, ast.Compare) and isinstance(node.left, ast.Identifier) and isinstance(node.right, ast._Literal):
        if node.left.name not in definition:
            raise QueryError(
                f"Could not find a property named '{node.left.name}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'."
            )
        value, literal = definition[node.left.name], node.right.py_val
        if isinstance(node.comparator, ast.Eq):
            return value == literal
        if isinstance(node.comparator, ast.NotEq):
            return value != literal
    raise QueryError("Only eq, ne, and, or and not are supported when filtering EntityDefinitions.")


def _select(definition: dict, params: dict) -> dict:
    if "$select" not in params:
        return definition
    names = [name.strip() for name in params["$select"].split(",") if name.strip()]
    return {name: definition[name] for name in ["MetadataId", *names] if name in definition}


def _find(key_text: str) -> metadata.Entity:
    key_text = key_text.strip()
    for entity in metadata.ENTITIES:
        if key_text in {metadata_id(entity.logical_name), f"LogicalName='{entity.logical_name}'"}:
            return entity
    raise RecordNotFound(f"Could not find entity with key {key_text}.", code="0x80060888")


def entity_definitions(request, ctx, segments: list[str]):
    params = request.params
    base = f"{ctx.api_url}$metadata#EntityDefinitions"
    _, key_text = split_key(segments[0])
    if key_text is None:
        definitions = [entity_definition(entity) for entity in metadata.ENTITIES]
        if "$filter" in params:
            try:
                tree = ODataParser().parse(ODataLexer().tokenize(params["$filter"]))
            except Exception:  # noqa: BLE001 — the parser raises several error types
                raise QueryError(f"Syntax error in $filter '{params['$filter']}'.") from None
            definitions = [d for d in definitions if _matches(tree, d)]
        return json_response({"@odata.context": base, "value": [_select(d, params) for d in definitions]})
    entity = _find(key_text)
    if len(segments) == 1:
        return json_response({"@odata.context": f"{base}/$entity", **_select(entity_definition(entity), params)})
    name, attribute_key = split_key(segments[1])
    if name != "Attributes" or len(segments) > 3:
        raise ResourceNotFound(f"Resource not found for the segment '{segments[1]}'.")
    chosen = list(entity.attributes)
    if len(segments) == 3:
        # A type cast such as Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata.
        cast = segments[2].removeprefix("Microsoft.Dynamics.CRM.").removesuffix("AttributeMetadata")
        if not cast or segments[2] == cast:
            raise ResourceNotFound(f"Resource not found for the segment '{segments[2]}'.")
        chosen = [a for a in chosen if a.type == cast]
    attributes = [_select(attribute_definition(entity, a), params) for a in chosen]
    attributes = [
        {**a, **({"OptionSet": full["OptionSet"]} if "OptionSet" in full else {})}
        for a, full in zip(attributes, (attribute_definition(entity, c) for c in chosen), strict=True)
    ]
    if attribute_key is not None:
        wanted = attribute_key.strip()
        found = [
            body
            for attribute, body in zip(chosen, attributes, strict=True)
            if wanted in {metadata_id(entity.logical_name, attribute.name), f"LogicalName='{attribute.name}'"}
        ]
        if not found:
            raise RecordNotFound(f"Could not find attribute with key {wanted}.", code="0x80060888")
        return json_response({"@odata.context": f"{base}/Attributes/$entity", **found[0]})
    return json_response({"@odata.context": f"{base}/Attributes", "value": attributes})

"""The service's ``$metadata``: an OData 4.0 CSDL XML document built from the entity's properties."""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from webservices import entities

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
CORE_VOCABULARY = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml"


def _element(tag: str, attributes: dict[str, str], children: list[str] | None = None) -> str:
    rendered = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    if not children:
        return f"<{tag}{rendered}/>"
    return f"<{tag}{rendered}>{''.join(children)}</{tag}>"


def _description(text: str) -> list[str]:
    return [_element("Annotation", {"Term": "Core.Description", "String": text})] if text else []


def _property(prop: entities.Property) -> str:
    attributes = {"Name": prop.name, "Type": prop.edm_type, "Nullable": "true" if prop.nullable else "false"}
    if prop.max_length is not None:
        attributes["MaxLength"] = str(prop.max_length)
    if prop.precision is not None:
        attributes["Precision"] = str(prop.precision)
    if prop.scale is not None:
        attributes["Scale"] = str(prop.scale)
    return _element("Property", attributes, _description(prop.description))


@cache
def metadata_document() -> str:
    entity_type = _element(
        "EntityType",
        {"Name": entities.ENTITY_TYPE},
        [
            _element("Key", {}, [_element("PropertyRef", {"Name": entities.KEY})]),
            *(_property(prop) for prop in entities.PROPERTIES),
        ],
    )
    container = _element(
        "EntityContainer",
        {"Name": entities.NAMESPACE},
        [
            _element(
                "EntitySet",
                {"Name": entities.ENTITY_SET, "EntityType": f"{entities.NAMESPACE}.{entities.ENTITY_TYPE}"},
                _description(entities.SET_DESCRIPTION),
            )
        ],
    )
    schema = _element("Schema", {"xmlns": EDM, "Namespace": entities.NAMESPACE}, [entity_type, container])
    reference = _element(
        "edmx:Reference",
        {"Uri": CORE_VOCABULARY},
        [_element("edmx:Include", {"Namespace": "Org.OData.Core.V1", "Alias": "Core"})],
    )
    root = _element(
        "edmx:Edmx",
        {"xmlns:edmx": EDMX, "Version": "4.0"},
        [reference, _element("edmx:DataServices", {}, [schema])],
    )
    return '<?xml version="1.0" encoding="utf-8"?>\n' + root

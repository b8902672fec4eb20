"""The service's ``$metadata``: an OData 4.0 CSDL XML document built from the entity's properties."""

from __future__ import annotations

from functools import cache
from xml.etree import ElementTree

from webservices import entities

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
CORE_VOCABULARY = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml"


def _description(parent: ElementTree.Element, text: str) -> None:
    if text:
        ElementTree.SubElement(parent, f"{{{EDM}}}Annotation", Term="Core.Description", String=text)


@cache
def metadata_document() -> str:
    ElementTree.register_namespace("edmx", EDMX)
    ElementTree.register_namespace("", EDM)
    root = ElementTree.Element(f"{{{EDMX}}}Edmx", Version="4.0")
    reference = ElementTree.SubElement(root, f"{{{EDMX}}}Reference", Uri=CORE_VOCABULARY)
    ElementTree.SubElement(reference, f"{{{EDMX}}}Include", Namespace="Org.OData.Core.V1", Alias="Core")
    services = ElementTree.SubElement(root, f"{{{EDMX}}}DataServices")
    schema = ElementTree.SubElement(services, f"{{{EDM}}}Schema", Namespace=entities.NAMESPACE)

    entity_type = ElementTree.SubElement(schema, f"{{{EDM}}}EntityType", Name=entities.ENTITY_TYPE)
    key = ElementTree.SubElement(entity_type, f"{{{EDM}}}Key")
    ElementTree.SubElement(key, f"{{{EDM}}}PropertyRef", Name=entities.KEY)
    for prop in entities.PROPERTIES:
        attributes = {"Name": prop.name, "Type": prop.edm_type, "Nullable": "true" if prop.nullable else "false"}
        if prop.max_length is not None:
            attributes["MaxLength"] = str(prop.max_length)
        if prop.precision is not None:
            attributes["Precision"] = str(prop.precision)
        if prop.scale is not None:
            attributes["Scale"] = str(prop.scale)
        element = ElementTree.SubElement(entity_type, f"{{{EDM}}}Property", attributes)
        _description(element, prop.description)

    container = ElementTree.SubElement(schema, f"{{{EDM}}}EntityContainer", Name=entities.NAMESPACE)
    entity_set = ElementTree.SubElement(
        container,
        f"{{{EDM}}}EntitySet",
        Name=entities.ENTITY_SET,
        EntityType=f"{entities.NAMESPACE}.{entities.ENTITY_TYPE}",
    )
    _description(entity_set, entities.SET_DESCRIPTION)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)

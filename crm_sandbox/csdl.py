"""``GET $metadata``: the CSDL document (OData 4.0 XML) describing the entity types and sets.

Entity types carry their key, properties (``_x_value`` for lookups) and navigation properties;
the container binds every entity set. ``?annotations=true`` adds the
``Org.OData.Capabilities.V1.ChangeTracking`` annotation on sets with change tracking enabled.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, tostring

from django.http import HttpResponse

from crm_sandbox import metadata, odata, webapi
from crm_sandbox.errors import MethodNotAllowed, ResourceNotFound

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
NAMESPACE = "Microsoft.Dynamics.CRM"
ALIAS = "mscrm"


def document(*, annotations: bool) -> bytes:
    root = Element("edmx:Edmx", {"Version": "4.0", "xmlns:edmx": EDMX})
    services = SubElement(root, "edmx:DataServices")
    schema = SubElement(services, "Schema", {"Namespace": NAMESPACE, "Alias": ALIAS, "xmlns": EDM})
    SubElement(schema, "EntityType", {"Name": "crmbaseentity", "Abstract": "true"})
    entities = metadata.ENTITIES
    for entity in entities:
        _entity_type(schema, entity)
    container = SubElement(schema, "EntityContainer", {"Name": "System"})
    for entity in entities:
        entity_set = SubElement(container, "EntitySet", {"Name": entity.set_name, "EntityType": entity.type_name})
        for navigation, (_attribute, target) in entity.navigation_map.items():
            _bind(entity_set, navigation, target)
        for relationship in entity.collection_map.values():
            _bind(entity_set, relationship.name, relationship.entity)
        if annotations and entity.change_tracking:
            annotation = SubElement(entity_set, "Annotation", {"Term": "Org.OData.Capabilities.V1.ChangeTracking"})
            record = SubElement(annotation, "Record")
            SubElement(record, "PropertyValue", {"Property": "Supported", "Bool": "true"})
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)


def _bind(entity_set: Element, navigation: str, target: str) -> None:
    target_entity = metadata.BY_LOGICAL_NAME.get(target)
    if target_entity is not None:
        SubElement(entity_set, "NavigationPropertyBinding", {"Path": navigation, "Target": target_entity.set_name})


def _entity_type(schema: Element, entity: metadata.Entity) -> None:
    entity_type = SubElement(schema, "EntityType", {"Name": entity.logical_name, "BaseType": f"{ALIAS}.crmbaseentity"})
    key = SubElement(entity_type, "Key")
    SubElement(key, "PropertyRef", {"Name": entity.primary_id})
    for attribute in entity.attributes:
        properties = {"Name": attribute.value_property, "Type": odata.EDM_TYPES[attribute.type]}
        if attribute.type in {"Decimal", "Money"}:
            properties["Scale"] = "Variable"
        if attribute.type in metadata.STRING_TYPES:
            properties["Unicode"] = "false"
        SubElement(entity_type, "Property", properties)
    for navigation, (attribute, target) in entity.navigation_map.items():
        if target not in metadata.BY_LOGICAL_NAME:
            continue
        target_entity = metadata.BY_LOGICAL_NAME[target]
        nav = SubElement(entity_type, "NavigationProperty", {"Name": navigation, "Type": f"{ALIAS}.{target}"})
        SubElement(
            nav,
            "ReferentialConstraint",
            {"Property": attribute.value_property, "ReferencedProperty": target_entity.primary_id},
        )
    for relationship in entity.collection_map.values():
        if relationship.entity in metadata.BY_LOGICAL_NAME:
            SubElement(
                entity_type,
                "NavigationProperty",
                {"Name": relationship.name, "Type": f"Collection({ALIAS}.{relationship.entity})"},
            )


def service_metadata(request: webapi.Request, ctx: webapi.Context, segments: list[str]) -> HttpResponse:
    if segments != ["$metadata"]:
        raise ResourceNotFound(f"Resource not found for the segment '{'/'.join(segments)}'.")
    if request.method != "GET":
        raise MethodNotAllowed(f"The requested resource does not support http method '{request.method}'.")
    annotations = request.params.get("annotations", "").lower() == "true"
    response = HttpResponse(document(annotations=annotations), content_type="application/xml")
    response["OData-Version"] = "4.0"
    return response

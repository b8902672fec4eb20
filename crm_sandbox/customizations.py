"""Entities created at run time by solution imports: their declaration, table and registration.

A declaration is a plain dict (kept in ``CustomEntity.definition``) describing the entity as the
solution's customizations.xml does. A declaration with ``"extends": true`` holds only the columns a
solution adds to a system entity (salesorder's nav_ columns): the built-in declaration
(``metadata.BUILTIN``) plus those columns is registered in its place, over the same table.
``install`` creates or widens the table with Django's schema
editor and registers the entity in the metadata registry, so the Web API, ``$filter``,
``EntityDefinitions``, ``$metadata`` and the root page treat it like a built-in entity.
``load_installed`` does the same for every stored declaration when the server starts.
"""

from __future__ import annotations

import dataclasses
import threading

from django.apps.registry import Apps
from django.db import connections

from crm_sandbox import metadata, models, option_sets, store

_lock = threading.RLock()


def _attributes(declaration: dict) -> list[metadata.Attribute]:
    return [
        metadata.Attribute(
            item["name"],
            item["type"],
            max_length=item.get("max_length"),
            required=item.get("required", metadata.NONE),
            navigations=dict(item.get("navigations", {})),
            options={int(value): label for value, label in item.get("options", {}).items()},
            valid_for_create=item.get("valid_for_create", True),
            valid_for_update=item.get("valid_for_update", True),
            precision=item.get("precision", 2),
            min_value=item.get("min_value"),
            max_value=item.get("max_value"),
        )
        for item in declaration["attributes"]
    ]


def entity_from_declaration(declaration: dict) -> metadata.Entity:
    attributes = _attributes(declaration)
    if declaration.get("extends"):
        builtin = metadata.BUILTIN[declaration["logical_name"]]
        added = [a for a in attributes if a.name not in builtin.attribute_map]
        return dataclasses.replace(builtin, attributes=(*builtin.attributes, *added))
    states = metadata.ACTIVE_INACTIVE
    attributes += [*metadata._state_attributes(states), *metadata._system_attributes(owned=declaration["owned"])]
    return metadata.Entity(
        declaration["logical_name"],
        declaration["set_name"],
        declaration["primary_id"],
        declaration["primary_name"],
        tuple(attributes),
        states=states,
        alternate_keys={name: tuple(columns) for name, columns in declaration.get("keys", {}).items()},
        change_tracking=declaration.get("change_tracking", False),
        display_name=declaration.get("display_name", ""),
        object_type_code=declaration["object_type_code"],
        is_custom=True,
    )


def register(entity: metadata.Entity, model) -> None:
    with _lock:
        names = [e.logical_name for e in metadata.ENTITIES]
        if entity.logical_name in names:  # re-registered in its place (a system entity keeps its rank)
            position = names.index(entity.logical_name)
            metadata.ENTITIES = (*metadata.ENTITIES[:position], entity, *metadata.ENTITIES[position + 1 :])
        else:
            metadata.ENTITIES = (*metadata.ENTITIES, entity)
        metadata.BY_LOGICAL_NAME[entity.logical_name] = entity
        metadata.BY_SET_NAME[entity.set_name] = entity
        models.ENTITY_MODELS[entity.logical_name] = model
    # Options added to its option sets (InsertOptionValue) outlive a re-import of the solution.
    option_sets.apply_stored(entity)


def install(declaration: dict) -> metadata.Entity:
    """Creates (or adds the missing columns to) the entity's table and registers the entity.

    Schema changes cannot run inside a transaction on SQLite: call this outside ``atomic``."""
    with _lock:
        entity = entity_from_declaration(declaration)
        model = models.build_model(entity, registry=Apps(installed_apps=[]))
        connection = connections[store.DB]
        with connection.schema_editor() as editor:
            if model._meta.db_table not in connection.introspection.table_names():
                editor.create_model(model)
            else:
                _widen(editor, connection, model)
        register(entity, model)
        return entity


def _widen(editor, connection, model) -> None:
    """Adds the columns a newer declaration brings and alters those whose type or length changed."""
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, model._meta.db_table)
    present = {column.name for column in description}
    previous = models.ENTITY_MODELS.get(model._meta.db_table.removeprefix("crm_"))
    for field in model._meta.local_fields:
        if field.column not in present:
            editor.add_field(model, field)
            continue
        old_fields = {f.name: f for f in previous._meta.local_fields} if previous is not None else {}
        old_field = old_fields.get(field.name)
        if old_field is not None and old_field.deconstruct()[1:] != field.deconstruct()[1:]:
            editor.alter_field(model, old_field, field)


def load_installed() -> int:
    """Registers every entity installed by earlier imports (at server start); returns how many."""
    declarations = [stored.definition for stored in models.CustomEntity.objects.using(store.DB)]
    for declaration in sorted(declarations, key=lambda d: d["object_type_code"]):
        install(declaration)
    return len(declarations)

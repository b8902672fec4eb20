"""Option values of local option sets: the InsertOptionValue, UpdateOptionValue and DeleteOptionValue actions.

As in Dataverse (``POST /InsertOptionValue`` and friends, unbound actions):

- InsertOptionValue takes EntityLogicalName + AttributeLogicalName (a local option set) or
  OptionSetName (a global one), a Label (``{"LocalizedLabels": [{"Label", "LanguageCode"}]}``),
  optionally Value, Description and SolutionUniqueName, and answers 200 with ``NewOptionValue``.
  Without a Value the option gets the next value of the default publisher's range (prefix 10000:
  100000000, 100000001, …). A Value already in the option set is refused; a label already in it
  is not (Dataverse allows duplicate labels).
- UpdateOptionValue changes the label and/or description of an existing Value (MergeLabels is
  required) and answers 204.
- DeleteOptionValue removes an option that was inserted; the entity's own (system) options cannot
  be deleted. Rows that hold a deleted value keep it, as in Dataverse.

Options are kept in ``OptionValue`` rows and applied to the in-memory metadata (so writes are
validated against them, ``EntityDefinitions`` lists them and formatted values show their labels).
The sandbox has no global option sets, and, as everywhere in the sandbox, any security role holds
the customization privileges these actions need. Error codes marked GUESS were not verified against
a live organization.
"""

from __future__ import annotations

import threading

from django.db import IntegrityError, transaction

from crm_sandbox import metadata, store, webapi
from crm_sandbox.errors import BadRequest, Forbidden, RecordNotFound, ResourceNotFound
from crm_sandbox.models import OptionValue, model_for

# Dataverse's default publisher has the option value prefix 10000: its options start at 100000000.
FIRST_CUSTOM_VALUE = 100_000_000
INT32 = (-(2**31), 2**31 - 1)
BASE_LANGUAGE = 1033
COMMON_PARAMETERS = {"OptionSetName", "EntityLogicalName", "AttributeLogicalName", "SolutionUniqueName"}
INSERT_PARAMETERS = COMMON_PARAMETERS | {"Value", "Label", "Description", "Color", "ExternalValue", "ParentValues"}
UPDATE_PARAMETERS = INSERT_PARAMETERS | {"MergeLabels"}
DELETE_PARAMETERS = COMMON_PARAMETERS | {"Value"}
# GUESS: the code Dataverse answers a duplicate option value with.
DUPLICATE_VALUE_CODE = "0x80047011"

_lock = threading.Lock()


# --- In-memory metadata ----------------------------------------------------------------------------------------


def _set_options(attribute: metadata.Attribute, options: dict[int, str]) -> None:
    """Swap the attribute's options for a new dict: readers on other threads see the old or the new one whole.

    Attributes are frozen dataclasses, hence object.__setattr__. A new dict each time also keeps
    apart the option sets metadata.py declares from one dict (account and salesorder
    paymenttermscode are two local option sets in Dataverse)."""
    object.__setattr__(attribute, "options", options)


def _apply(entity: metadata.Entity, rows) -> None:
    for row in rows:
        attribute = entity.attribute_map.get(row.attribute)
        if attribute is not None:
            _set_options(attribute, {**attribute.options, row.value: row.label})


def apply_stored(entity: metadata.Entity) -> None:
    """Apply the stored options of one entity (called when a solution registers it)."""
    _apply(entity, OptionValue.objects.using(store.DB).filter(entity=entity.logical_name).order_by("pk"))


def load_stored() -> int:
    """Apply every stored option to the entities (at server start); returns how many there are."""
    rows = list(OptionValue.objects.using(store.DB).order_by("pk"))
    for entity in metadata.ENTITIES:
        _apply(entity, [row for row in rows if row.entity == entity.logical_name])
    return len(rows)


# --- Parameters ------------------------------------------------------------------------------------------------


def _body(request: webapi.Request, ctx: webapi.Context, segments: list[str], name: str, allowed: set[str]) -> dict:
    if segments != [name]:
        raise ResourceNotFound(f"Resource not found for the segment '{'/'.join(segments)}'.")
    if request.method != "POST":
        raise ResourceNotFound(f"No HTTP resource was found that matches the request URI '{ctx.api_url}{name}'.")
    body = request.json()
    if not isinstance(body, dict):
        raise BadRequest(f"The {name} body must be a JSON object.")
    for parameter in body:
        if parameter not in allowed and not parameter.startswith("@"):
            raise BadRequest(
                f"The parameter '{parameter}' in the request payload is not a valid parameter for the operation "
                f"'{name}'."
            )
    if not ctx.identity.role_names:
        raise Forbidden(
            f"Principal user (Id={ctx.identity.systemuserid}, type=8, roleCount=0), is missing prvWriteAttribute "
            "privilege: changing an option set needs the System Customizer (or an equivalent) role."
        )
    solution = body.get("SolutionUniqueName")
    if solution is not None:
        if not isinstance(solution, str):
            raise BadRequest("SolutionUniqueName must be a string.")
        solutions = model_for(metadata.SOLUTION).objects.using(store.DB)
        if not solutions.filter(uniquename=solution).exists():
            raise RecordNotFound(f"The solution with unique name '{solution}' was not found.")
    return body


def _picklist(body: dict) -> tuple[metadata.Entity, metadata.Attribute]:
    if body.get("OptionSetName"):
        raise RecordNotFound(
            f"Could not find optionset with name '{body['OptionSetName']}': the sandbox has only local option sets "
            "(pass EntityLogicalName and AttributeLogicalName)."
        )
    entity_name, attribute_name = body.get("EntityLogicalName"), body.get("AttributeLogicalName")
    if not isinstance(entity_name, str) or not isinstance(attribute_name, str) or not entity_name or not attribute_name:
        raise BadRequest("Pass OptionSetName for a global option set, or EntityLogicalName and AttributeLogicalName.")
    entity = metadata.BY_LOGICAL_NAME.get(entity_name)
    if entity is None:
        raise RecordNotFound(f"Could not find entity with name '{entity_name}'.", code="0x80060888")
    attribute = entity.attribute_map.get(attribute_name)
    if attribute is None:
        raise RecordNotFound(
            f"Could not find attribute '{attribute_name}' on entity '{entity_name}'.", code="0x80060888"
        )
    if attribute.type != "Picklist":
        raise BadRequest(
            f"The attribute '{attribute_name}' of '{entity_name}' is a {attribute.type} attribute, not a picklist"
            + (": use InsertStatusValue or UpdateStateValue." if attribute.type in {"State", "Status"} else ".")
        )
    return entity, attribute


def _label_text(body: dict, name: str, *, required: bool) -> str | None:
    """The base-language label of a Label complex type (else its first localized label)."""
    label = body.get(name)
    if label is None:
        if required:
            raise BadRequest(f"{name} is required.")
        return None
    localized = label.get("LocalizedLabels") if isinstance(label, dict) else None
    if not isinstance(localized, list) or not all(isinstance(item, dict) for item in localized):
        raise BadRequest(f"{name} must be a Label with LocalizedLabels.")
    texts = [(item.get("LanguageCode"), item.get("Label")) for item in localized]
    if any(not isinstance(text, str) or not isinstance(code, int) for code, text in texts):
        raise BadRequest(f"Each localized label of {name} needs a Label (string) and a LanguageCode (number).")
    chosen = [text for code, text in texts if code == BASE_LANGUAGE] or [text for _, text in texts]
    if not chosen or (required and not chosen[0].strip()):
        raise BadRequest(f"{name} must have a label in the organization's base language ({BASE_LANGUAGE}).")
    return chosen[0]


def _value(body: dict, *, required: bool) -> int | None:
    value = body.get("Value")
    if value is None:
        if required:
            raise BadRequest("Value is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not INT32[0] <= value <= INT32[1]:
        raise BadRequest(f"Value must be a 32-bit whole number, not {value!r}.")
    return value


def _where(entity: metadata.Entity, attribute: metadata.Attribute) -> str:
    return f"{entity.logical_name}.{attribute.name}"


def _stored(entity: metadata.Entity, attribute: metadata.Attribute):
    return OptionValue.objects.using(store.DB).filter(entity=entity.logical_name, attribute=attribute.name)


def _after_commit(entity: metadata.Entity, attribute: metadata.Attribute, change) -> None:
    """Change the in-memory option set once the database has it (a $batch change set may roll back)."""
    transaction.on_commit(lambda: _set_options(attribute, change(dict(attribute.options))), using=store.DB)


# --- Actions ---------------------------------------------------------------------------------------------------


def insert_option_value(request: webapi.Request, ctx: webapi.Context, segments: list[str]):
    body = _body(request, ctx, segments, "InsertOptionValue", INSERT_PARAMETERS)
    entity, attribute = _picklist(body)
    label = _label_text(body, "Label", required=True)
    description = _label_text(body, "Description", required=False) or ""
    requested = _value(body, required=False)
    with _lock:
        taken = set(attribute.options) | set(_stored(entity, attribute).values_list("value", flat=True))
        if requested is not None and requested in taken:
            raise BadRequest(
                f"The value {requested} already exists in the option set {_where(entity, attribute)}.",
                code=DUPLICATE_VALUE_CODE,
            )
        value = requested
        if value is None:
            custom = [v for v in taken if v >= FIRST_CUSTOM_VALUE]
            value = max(custom) + 1 if custom else FIRST_CUSTOM_VALUE
        try:
            with transaction.atomic(using=store.DB):
                OptionValue.objects.using(store.DB).create(
                    entity=entity.logical_name,
                    attribute=attribute.name,
                    value=value,
                    label=label,
                    description=description,
                    inserted=True,
                )
        except IntegrityError:
            raise BadRequest(
                f"The value {value} already exists in the option set {_where(entity, attribute)}.",
                code=DUPLICATE_VALUE_CODE,
            ) from None
        _after_commit(entity, attribute, lambda options: {**options, value: label})
    context = f"{ctx.api_url}$metadata#Microsoft.Dynamics.CRM.InsertOptionValueResponse"
    return webapi.json_response({"@odata.context": context, "NewOptionValue": value})


def update_option_value(request: webapi.Request, ctx: webapi.Context, segments: list[str]):
    body = _body(request, ctx, segments, "UpdateOptionValue", UPDATE_PARAMETERS)
    if not isinstance(body.get("MergeLabels"), bool):
        raise BadRequest("MergeLabels is required (true keeps the labels of other languages).")
    entity, attribute = _picklist(body)
    value = _value(body, required=True)
    label = _label_text(body, "Label", required=False)
    description = _label_text(body, "Description", required=False)
    with _lock:
        if value not in attribute.options:
            raise BadRequest(f"The value {value} was not found in the option set {_where(entity, attribute)}.")
        new_label = label if label is not None and label.strip() else attribute.options[value]
        defaults = {"label": new_label}
        if description is not None:
            defaults["description"] = description
        _stored(entity, attribute).update_or_create(
            entity=entity.logical_name, attribute=attribute.name, value=value, defaults=defaults
        )
        _after_commit(entity, attribute, lambda options: {**options, value: new_label})
    return webapi.empty_response(204)


def delete_option_value(request: webapi.Request, ctx: webapi.Context, segments: list[str]):
    body = _body(request, ctx, segments, "DeleteOptionValue", DELETE_PARAMETERS)
    entity, attribute = _picklist(body)
    value = _value(body, required=True)
    with _lock:
        if value not in attribute.options:
            raise BadRequest(f"The value {value} was not found in the option set {_where(entity, attribute)}.")
        deleted, _ = _stored(entity, attribute).filter(value=value, inserted=True).delete()
        if not deleted:
            raise BadRequest(
                f"The option {value} of {_where(entity, attribute)} is part of the system's option set and cannot "
                "be deleted."
            )
        _after_commit(entity, attribute, lambda options: {k: v for k, v in options.items() if k != value})
    return webapi.empty_response(204)

"""What a template for new ERP records may give, and its values read into the ERP table's own.

BC's integration table config templates: an ERP record created from a CRM row takes the values of
the first template (by priority) whose CRM filter the row matches, for the fields Dynamics 365 does
not send. A template holds plain JSON (``{"payment_terms": "30 DAYS", "credit_limit_lcy": "5000"}``):
a reference is named by the code (or no.) of the record it refers to.

Refused: fields that are not the table's own editable columns, fields unique to each record (a
template gives every new record the same value) and fields the mapping fills on every new record
from Dynamics 365 (a constant, or the row's state): the template would never apply to them. A field
the mapping reads from a CRM attribute is allowed: the template fills it when the row leaves it empty.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

# The field naming a referenced record, by preference.
NATURAL_KEYS = ("code", "no")
TO_CRM = "to_crm"  # syncjobs.models.Direction.TO_CRM (that module imports this one)
INACTIVE_STATE = "inactive_state"


def _table(model: type[models.Model]) -> str:
    return str(model._meta.verbose_name)


def natural_key(model: type[models.Model]) -> str | None:
    """The unique code (or no.) a template names a record of ``model`` by."""
    for name in NATURAL_KEYS:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if getattr(field, "unique", False):
            return name
    return None


def filled_by_mapping(field_mappings: Iterable) -> dict[str, str]:
    """ERP fields a mapping fills on every record it creates from Dynamics 365, with the field mapping's name."""
    return {
        f.erp_field: f.name
        for f in field_mappings
        if f.is_enabled
        and f.direction != TO_CRM
        and f.erp_field
        and (f.constant_value or f.transform == INACTIVE_STATE)
    }


def field_problem(model: type[models.Model], name: str, field_mappings: Iterable) -> str | None:
    """Why a template cannot give ``name`` on ``model``, or None when it can."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return f"The ERP table {_table(model)} has no field “{name}”."
    if not field.concrete or field.many_to_many or field.auto_created:
        return f"“{name}” on {_table(model)} is not a field a template can give."
    if field.primary_key or not field.editable:
        return f"“{name}” on {_table(model)} is set by the ERP, not by a template."
    if field.unique:
        return f"“{name}” is unique to each {_table(model)}: a template cannot give every new record the same one."
    if field.is_relation and natural_key(field.related_model) is None:
        return f"“{name}” refers to a {_table(field.related_model)}, which has no code a template could name it by."
    filled = filled_by_mapping(field_mappings).get(name)
    if filled:
        return (
            f"“{name}” is filled by the mapping (field mapping {filled}) on every record it creates, "
            "so a template would never apply to it."
        )
    return None


def allowed_fields(model: type[models.Model], field_mappings: Iterable) -> list[str]:
    """The fields a template of a mapping on ``model`` may give, in the table's order."""
    field_mappings = list(field_mappings)
    return [
        field.name
        for field in model._meta.concrete_fields
        if not field.auto_created and field_problem(model, field.name, field_mappings) is None
    ]


def _read(model: type[models.Model], name: str, raw: Any) -> tuple[Any, Any]:
    """(the value to set, its JSON form to keep) of ``raw`` for ``name``; ValidationError in plain words."""
    field = model._meta.get_field(name)
    label = str(field.verbose_name)
    if raw is None or raw == "":
        raise ValidationError(f"{name}: give a value (an empty one would leave the {label} as it is).")
    if isinstance(raw, dict | list):
        raise ValidationError(f"{name}: give one value, not a list or an object.")
    if field.is_relation:
        related = field.related_model
        key = natural_key(related)
        code = str(raw).strip()
        found = (
            related._default_manager.complex_filter(field.get_limit_choices_to())
            .filter(**{f"{key}__iexact": code})
            .first()
        )
        if found is None:
            raise ValidationError(f"{name}: there is no {_table(related)} “{code}”.")
        return found, getattr(found, key)
    try:
        value = field.clean(raw, None)
    except ValidationError as error:
        if field.choices and error.code == "invalid_choice":
            allowed = ", ".join(str(choice) for choice, _ in field.flatchoices if choice not in ("", None))
            raise ValidationError(f"{name}: “{raw}” is not one of {allowed}.") from None
        raise ValidationError(f"{name}: {' '.join(error.messages)}") from None
    kept = str(value) if isinstance(value, Decimal | datetime.date | datetime.time) else value
    return value, kept


def problems(model: type[models.Model], values: Any, field_mappings: Iterable) -> list[str]:
    """Every reason ``values`` cannot be a template's values on ``model``; empty when they can."""
    if not isinstance(values, dict):
        return ['Write the values as a JSON object of field and value, e.g. {"payment_terms": "30 DAYS"}.']
    if not values:
        return ['Give at least one field\'s value, e.g. {"payment_terms": "30 DAYS"}.']
    field_mappings = list(field_mappings)
    found: list[str] = []
    for name, raw in values.items():
        problem = field_problem(model, name, field_mappings)
        if problem is None:
            try:
                _read(model, name, raw)
            except ValidationError as error:
                problem = " ".join(error.messages)
        if problem:
            found.append(problem)
    return found


def normalized(model: type[models.Model], values: dict) -> dict:
    """``values`` as kept: references by their record's own code, numbers as text (the values must be valid)."""
    return {name: _read(model, name, raw)[1] for name, raw in values.items()}


def read(model: type[models.Model], values: dict) -> dict[str, Any]:
    """The values to set on a new record (references as records); ValidationError when one no longer fits."""
    return {name: _read(model, name, raw)[0] for name, raw in values.items()}

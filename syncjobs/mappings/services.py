"""Writes for integration table and field mappings: save with validation, enable, reset to defaults.

Every refusal is a ValidationError in plain words, keyed by the field it is about.
"""

from collections.abc import Collection, Iterable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction

from syncjobs.mappings import rules
from syncjobs.mappings.install import ENGINE_STATE_CLEARED, SCOPE_FIELDS, write_defaults
from syncjobs.models import Direction, IntegrationFieldMapping, IntegrationTableMapping, RecordTemplate

OPTION_PROPERTIES = ("label", "value")
ONE_WAY = {Direction.TO_CRM: "to", Direction.FROM_CRM: "from"}


@transaction.atomic
def mapping_reset_to_defaults() -> list[IntegrationTableMapping]:
    """Restore every default mapping and its field mappings as shipped; couplings stay as they are."""
    return write_defaults(
        mapping_model=IntegrationTableMapping,
        field_model=IntegrationFieldMapping,
        content_type_model=ContentType,
    )


def _reachable(start: Iterable[IntegrationTableMapping]) -> set[int]:
    """Primary keys of the mappings ``start`` depends on, directly or through others (``start`` included)."""
    edges: dict[int, set[int]] = {}
    for from_id, to_id in IntegrationTableMapping.depends_on.through.objects.values_list(
        "from_integrationtablemapping_id", "to_integrationtablemapping_id"
    ):
        edges.setdefault(from_id, set()).add(to_id)
    seen: set[int] = set()
    stack = [mapping.pk for mapping in start]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current, ()))
    return seen


def _dependency_errors(mapping: IntegrationTableMapping, depends_on: list[IntegrationTableMapping]) -> str | None:
    if any(other.pk == mapping.pk for other in depends_on):
        return f"{mapping.name} cannot depend on itself."
    if mapping.pk is None:
        return None
    if mapping.pk in _reachable(depends_on):
        culprits = [other.name for other in depends_on if mapping.pk in _reachable([other])]
        return (
            f"{mapping.name} cannot depend on {', '.join(culprits)}: "
            f"{'it depends' if len(culprits) == 1 else 'they depend'} on {mapping.name} already, "
            "so neither could be synchronized first."
        )
    return None


@transaction.atomic
def mapping_save(
    *, mapping: IntegrationTableMapping, depends_on: Iterable[IntegrationTableMapping] | None = None
) -> IntegrationTableMapping:
    """Validate and save a table mapping (and, when given, what it depends on).

    Making the mapping one-way rewrites its field mappings to that direction. A change of scope
    (direction or filters) clears the engine's watermarks, so the next run looks at every record.
    """
    mapping.full_clean()
    dependencies = list(depends_on) if depends_on is not None else None
    if dependencies is not None:
        problem = _dependency_errors(mapping, dependencies)
        if problem:
            raise ValidationError({"depends_on": problem})
    previous = IntegrationTableMapping.objects.filter(pk=mapping.pk).first() if mapping.pk else None
    if previous is not None and any(getattr(previous, name) != getattr(mapping, name) for name in SCOPE_FIELDS):
        for name, value in ENGINE_STATE_CLEARED.items():
            setattr(mapping, name, value)
    mapping.save()
    if dependencies is not None:
        mapping.depends_on.set(dependencies)
    if mapping.direction != Direction.BIDIRECTIONAL:
        mapping.field_mappings.exclude(direction=mapping.direction).update(direction=mapping.direction)
    return mapping


def mapping_set_enabled(*, mapping: IntegrationTableMapping, enabled: bool) -> IntegrationTableMapping:
    IntegrationTableMapping.objects.filter(pk=mapping.pk).update(is_enabled=enabled)
    mapping.refresh_from_db()
    return mapping


def _field_mapping_errors(field_mapping: IntegrationFieldMapping, crm_attributes: Collection[str] | None) -> dict:
    table = field_mapping.table_mapping
    errors: dict[str, str] = {}
    if table.direction != Direction.BIDIRECTIONAL and field_mapping.direction != table.direction:
        errors["direction"] = (
            f"{table.name} synchronizes only {ONE_WAY[table.direction]} Dynamics 365, "
            "so its fields cannot go the other way."
        )
    constant = bool(field_mapping.constant_value)
    if constant and field_mapping.direction == Direction.BIDIRECTIONAL:
        errors["constant_value"] = "A constant goes one way: choose to or from Dynamics 365."
    writes_crm = field_mapping.direction in (Direction.TO_CRM, Direction.BIDIRECTIONAL)
    writes_erp = field_mapping.direction in (Direction.FROM_CRM, Direction.BIDIRECTIONAL)
    if not field_mapping.erp_field and (writes_erp or not constant):
        errors["erp_field"] = "Name the ERP field."
    if not field_mapping.crm_attribute and (writes_crm or not constant):
        errors["crm_attribute"] = "Name the CRM attribute."
    model = table.erp_model.model_class()
    if field_mapping.erp_field and "erp_field" not in errors and model is not None:
        problem = rules.erp_field_path_error(model, field_mapping.erp_field)
        if problem:
            errors["erp_field"] = problem
    if field_mapping.crm_attribute and "crm_attribute" not in errors:
        if table.is_option_mapping and field_mapping.crm_attribute not in OPTION_PROPERTIES:
            errors["crm_attribute"] = "In an option mapping a field maps to the option's label or value."
        elif (
            not table.is_option_mapping
            and crm_attributes is not None
            and field_mapping.crm_attribute not in crm_attributes
        ):
            errors["crm_attribute"] = (
                f"The CRM entity {table.crm_entity} has no attribute “{field_mapping.crm_attribute}”."
            )
    transform = field_mapping.transform
    if transform in (IntegrationFieldMapping.Transform.LOOKUP, IntegrationFieldMapping.Transform.SCHEDULE_BASE_UNIT):
        if field_mapping.lookup_mapping_id is None:
            errors["lookup_mapping"] = "A lookup needs the mapping whose couplings give the CRM id."
        if not field_mapping.crm_navigation_property:
            errors["crm_navigation_property"] = "A lookup needs the CRM navigation property to bind."
    if transform == IntegrationFieldMapping.Transform.INACTIVE_STATE and field_mapping.crm_attribute != "statecode":
        errors["crm_attribute"] = "A blocked flag maps to the row's state: statecode."
    if field_mapping.use_for_match_based_coupling and (constant or not field_mapping.erp_field):
        errors["use_for_match_based_coupling"] = "Only a field with values on both sides can be matched on."
    return errors


def field_mapping_save(
    *, field_mapping: IntegrationFieldMapping, crm_attributes: Collection[str] | None = None
) -> IntegrationFieldMapping:
    """Validate and save a field mapping.

    ``crm_attributes``, when the caller has the CRM's metadata at hand (e.g. EntityDefinitions),
    are the entity's attribute logical names: an attribute that is not among them is refused.
    Without it the CRM attribute is checked only when the engine first reads or writes it.
    """
    field_mapping.full_clean()
    errors = _field_mapping_errors(field_mapping, crm_attributes)
    if errors:
        raise ValidationError(errors)
    field_mapping.save()
    return field_mapping


def record_template_save(*, template: RecordTemplate) -> RecordTemplate:
    """Validate and save a template for new ERP records (its values kept with references by their codes)."""
    template.full_clean()
    template.save()
    return template


def record_template_delete(*, template: RecordTemplate) -> None:
    """Delete a template: records created from Dynamics 365 from now on no longer take its values."""
    template.delete()

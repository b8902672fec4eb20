"""A mapped field and its values in the user's words (the ERP field's label, a lookup as the record it stands
for, an option as its code): the conflict page and the dry run show them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from coupling import selectors as coupling_selectors
from syncjobs.engine.context import RunContext, crm_noun
from syncjobs.engine.values import Lookups, Transform, related_model
from syncjobs.mappings.rules import erp_field_words
from syncjobs.models import IntegrationFieldMapping


def field_label(model: type[models.Model], field_mapping: IntegrationFieldMapping) -> str:
    """The ERP field as the record's page names it ("City"; "Company › Name" through a reference)."""
    return erp_field_words(model, field_mapping.erp_field)


def _coupled_record(crm_entity: str, crm_id: str) -> models.Model | None:
    coupling = coupling_selectors.coupling_for_crm_row(crm_entity=crm_entity, crm_id=crm_id)
    model = coupling.erp_model.model_class() if coupling is not None else None
    if coupling is None or model is None:
        return None
    return model._default_manager.filter(system_id=coupling.erp_system_id).first()


def value_text(ctx: RunContext, lookups: Lookups, field_mapping: IntegrationFieldMapping, value: Any) -> str:
    """A canonical value in the user's words: a lookup as the ERP record it stands for, an option as its code."""
    if value is None:
        return ""
    try:
        if field_mapping.transform == Transform.LOOKUP and field_mapping.lookup_mapping is not None:
            parent = _coupled_record(field_mapping.lookup_mapping.crm_entity, value)
            return str(parent) if parent is not None else f"{crm_noun(field_mapping.lookup_mapping.crm_entity)} {value}"
        if field_mapping.transform == Transform.OPTION:
            _, reverse = lookups.option_couplings(field_mapping)
            system_id = reverse.get(int(Decimal(str(value))))
            related = related_model(ctx.erp_model._meta.get_field(field_mapping.erp_field))
            found = related._default_manager.filter(system_id=system_id).first() if system_id else None
            return str(found) if found is not None else f"option {value}"
        if field_mapping.transform == Transform.INACTIVE_STATE or isinstance(value, bool):
            return "Yes" if value else "No"
    except (ValueError, TypeError, LookupError, FieldDoesNotExist, ValidationError):
        pass
    return str(value)

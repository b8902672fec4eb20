"""Checks on mapping definitions that need no CRM: ERP field paths, ERP filters, OData filter syntax.

Each returns a plain-words message, or None when the value is fine.
"""

from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.db import models
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser


def _table(model: type[models.Model]) -> str:
    return str(model._meta.verbose_name)


def erp_field_path_error(model: type[models.Model], path: str) -> str | None:
    """``path`` names a field of ``model``, following foreign keys with ``__`` (e.g. company__customer)."""
    current = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return f"The ERP table {_table(current)} has no field “{part}”."
        if field.many_to_many or field.one_to_many or not field.concrete:
            return f"“{part}” on {_table(current)} is a list of records, not a field one value can be read from."
        if index < len(parts) - 1:
            if not field.is_relation:
                rest = "__".join(parts[index + 1 :])
                return f"“{part}” on {_table(current)} is not a reference, so “{rest}” cannot follow it."
            current = field.related_model
    return None


def erp_filter_error(model: type[models.Model], erp_filter) -> str | None:
    """``erp_filter`` is a dict of Django field lookups on ``model`` with values they accept."""
    if not isinstance(erp_filter, dict):
        return 'Write the ERP filter as a JSON object of field lookups, e.g. {"blocked": ""}.'
    for key in erp_filter:
        if not isinstance(key, str) or not key:
            return "Every ERP filter key is a field name, e.g. blocked or blocked__in."
    try:
        model._default_manager.filter(**erp_filter).query.sql_with_params()
    except FieldError as error:
        return f"The ERP filter does not fit the {_table(model)} table: {error}"
    except (ValidationError, ValueError, TypeError) as error:
        reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        return f"The ERP filter has a value the {_table(model)} table cannot compare with: {reason}"
    return None


def crm_filter_error(crm_filter: str) -> str | None:
    """``crm_filter`` is empty or a syntactically valid OData $filter expression."""
    if not crm_filter.strip():
        return None
    try:
        ODataParser().parse(ODataLexer().tokenize(crm_filter))
    except ODataException as error:
        return f"The CRM filter is not a valid OData $filter expression ({error})."
    return None

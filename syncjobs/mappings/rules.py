"""Checks on mapping definitions that need no CRM: ERP field paths, ERP filters, OData filter syntax.

Each returns a plain-words message, or None when the value is fine.
"""

from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.db import models
from django.utils.text import capfirst
from odata_query.exceptions import ODataException, ParsingException, TokenizingException
from odata_query.grammar import ODataLexer, ODataParser

CRM_FILTER_EXAMPLE = "For example: statecode eq 0 and name eq 'Contoso' (text in single quotes)."


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
    except (ParsingException, TokenizingException) as error:
        # The parser's own message names its tokens ("Token(type='WS', …)"): say where, in the filter's text.
        at_end = getattr(error, "eof", False) or error.token is None
        position = len(crm_filter) if at_end else error.token.index
        rest = crm_filter[position:].strip()
        where = f"near “{rest[:30]}” (character {position + 1})" if rest else "at its end, which is missing something"
        return f"The CRM filter is not a valid OData $filter expression: look {where}. {CRM_FILTER_EXAMPLE}"
    except ODataException:
        return f"The CRM filter is not a valid OData $filter expression. {CRM_FILTER_EXAMPLE}"
    return None


# A filter's lookup in words; the value follows it (e.g. blocked__in → "Blocked: one of Ship, All").
_LOOKUP_WORDS = {
    "exact": "",
    "iexact": "",
    "in": "one of ",
    "gt": "after ",
    "gte": "from ",
    "lt": "before ",
    "lte": "up to ",
    "contains": "contains ",
    "icontains": "contains ",
    "startswith": "starts with ",
    "istartswith": "starts with ",
}


def _value_words(field: models.Field | None, value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_value_words(field, item) for item in value)
    if field is not None and field.choices:
        label = dict(field.flatchoices).get(value)
        if label is not None:
            return str(label)
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _path_words(model: type[models.Model], path: str) -> tuple[str, models.Field | None, str]:
    """(the fields' names along ``path``, its last field, the lookup that ends it): "Company › Customer"."""
    names, current, field, lookup = [], model, None, "exact"
    for part in path.split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            lookup = part
            break
        names.append(capfirst(field.verbose_name))
        if field.is_relation and field.related_model is not None:
            current = field.related_model
    return " › ".join(names) or path, field, lookup


def erp_field_words(model: type[models.Model] | None, path: str) -> str:
    """An ERP field (or path) by the names its pages give it: post_code → "Post code"."""
    if model is None or not path:
        return path
    return _path_words(model, path)[0]


def erp_filter_words(model: type[models.Model], erp_filter) -> str:
    """The ERP filter as the mapping's page says it: {"blocked": ""} on customers → "Blocked: Not blocked";
    {"sales_code__gt": ""} → "Sales code: not empty"; a reference is followed by its field names
    (company__customer__blocked → "Company › Customer › Blocked")."""
    if not isinstance(erp_filter, dict) or not erp_filter:
        return ""
    parts = []
    for key, value in erp_filter.items():
        label, field, lookup = _path_words(model, str(key))
        if lookup == "isnull":
            parts.append(f"{label}: {'empty' if value else 'not empty'}")
        elif lookup == "gt" and value == "":
            parts.append(f"{label}: not empty")
        else:
            parts.append(f"{label}: {_LOOKUP_WORDS.get(lookup, lookup + ' ')}{_value_words(field, value)}")
    return "; ".join(parts)

"""The integration's pages in the user's words: ERP fields by their labels, Dynamics 365 tables by their names."""

from django import template

from nav_crm.records import plural
from syncjobs.engine.context import crm_noun
from syncjobs.mappings.rules import erp_field_words

register = template.Library()


@register.filter
def erp_field_label(field_mapping) -> str:
    """A field mapping's ERP field as the record's page names it: post_code → "Post code"."""
    return erp_field_words(field_mapping.table_mapping.erp_model.model_class(), field_mapping.erp_field)


@register.filter
def crm_rows(crm_entity: str) -> str:
    """A Dynamics 365 table's rows: "account" → "Dynamics 365 accounts"."""
    return plural(crm_noun(crm_entity))

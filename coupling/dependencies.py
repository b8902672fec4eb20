"""A record's parents (issue 13 §2, "Dependencies"): the records its mapping's lookups refer to, which must be
coupled before it can synchronize (a customer's salesperson and currency, an item's unit of measure).

- ``uncoupled_parents``: every parent of a record that is not coupled yet, all at once (the couple page lists
  them up front instead of the synchronization failing one parent at a time).
- ``parent_couple_link``: where to couple the parent an error names (the errors page's "Couple <parent>").

The errors page's "Couple by match and retry" is syncjobs.errors.services.job_errors_couple_parents_and_retry;
the local currency coupled on enabling the connection is syncjobs.connection.local_currency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse

from coupling import selectors as coupling_selectors
from coupling.models import system_id_of
from erp import selectors as erp_selectors
from nav_crm.records import describe_record
from syncjobs.mappings.rules import erp_field_words
from syncjobs.models import (
    Direction,
    IntegrationFieldMapping,
    IntegrationTableMapping,
)

logger = logging.getLogger(__name__)


# --- The parents of a record -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UncoupledParent:
    record: models.Model
    mapping: IntegrationTableMapping  # the parent's mapping (the lookup's)
    erp_field: str  # where the record refers to it; "" for the local currency a blank currency code means
    field_label: str = ""  # that field as the record's page names it ("Salesperson")

    @property
    def label(self) -> str:
        return describe_record(self.record)

    @property
    def couple_url(self) -> str:
        return couple_url(mapping=self.mapping, record=self.record)


def couple_url(*, mapping: IntegrationTableMapping, record: models.Model) -> str:
    """The couple page of ``record`` in ``mapping`` ("" for an option mapping, which has none)."""
    if mapping.is_option_mapping:
        return ""
    return reverse("coupling:record", args=[mapping.pk, system_id_of(record)])


def _needed_lookups(mapping: IntegrationTableMapping) -> list[IntegrationFieldMapping]:
    """The lookups whose parent must be coupled for the record to go to Dynamics 365 (those left out when their
    parent is not coupled, clear_value_on_failed_sync, do not hold it up)."""
    return list(
        mapping.field_mappings.filter(
            is_enabled=True,
            constant_value="",
            transform=IntegrationFieldMapping.Transform.LOOKUP,
            direction__in=[Direction.TO_CRM, Direction.BIDIRECTIONAL],
            clear_value_on_failed_sync=False,
            lookup_mapping__isnull=False,
        )
        .exclude(erp_field="")
        .select_related("lookup_mapping__erp_model")
        .order_by("position", "name")
    )


def uncoupled_parents(*, mapping: IntegrationTableMapping, record: models.Model) -> list[UncoupledParent]:
    """Every record ``record`` refers to through its mapping's lookups that is not coupled, once each, in the
    mapping's field order; a blank currency stands for the local currency (as the engine reads it)."""
    from syncjobs.engine.values import erp_path_value, is_currency_lookup

    if mapping.direction == Direction.FROM_CRM:
        return []  # nothing goes to Dynamics 365: its lookups are read from there
    found: dict[tuple[type, object], UncoupledParent] = {}
    for field_mapping in _needed_lookups(mapping):
        lookup_mapping = field_mapping.lookup_mapping
        assert lookup_mapping is not None, "_needed_lookups reads only lookups with a lookup mapping"
        value = erp_path_value(record, field_mapping.erp_field)
        parent, erp_field = None, field_mapping.erp_field
        if value not in (None, ""):
            if field_mapping.lookup_erp_key:
                model = lookup_mapping.erp_model.model_class()
                assert model is not None, f"the ERP table of the mapping {lookup_mapping.name} has no model"
                parent = model._default_manager.filter(**{field_mapping.lookup_erp_key: value}).first()
            elif isinstance(value, models.Model):
                parent = value
        elif is_currency_lookup(field_mapping):
            parent, erp_field = erp_selectors.general_setup().local_currency, ""
        if parent is None or (type(parent), system_id_of(parent)) in found:
            continue
        if coupling_selectors.crm_ids_for(model=type(parent), system_ids=[system_id_of(parent)]):
            continue
        found[(type(parent), system_id_of(parent))] = UncoupledParent(
            record=parent,
            mapping=lookup_mapping,
            erp_field=erp_field,
            field_label=erp_field_words(type(record), erp_field) if erp_field else "",
        )
    return list(found.values())


def parent_mapping(parent: models.Model) -> IntegrationTableMapping | None:
    """The mapping that couples records such as ``parent`` (an enabled one first)."""
    return (
        IntegrationTableMapping.objects.filter(erp_model=ContentType.objects.get_for_model(type(parent)))
        .order_by("is_option_mapping", "-is_enabled", "pk")
        .first()
    )


def parent_couple_link(parent: models.Model) -> tuple[str, str]:
    """(url, label) of where to couple the parent a failure names; ("", "") when no mapping couples it.

    A code coupled to an option (payment terms, a shipment method) has no couple page: synchronizing its option
    mapping couples it (to the option of the same label, or a new one), so the link is that mapping's page with
    its "Synchronize modified records"."""
    mapping = parent_mapping(parent)
    if mapping is None:
        return "", ""
    if mapping.is_option_mapping:
        return mapping.get_absolute_url(), f"Synchronize {parent._meta.verbose_name_plural}"[:100]
    return couple_url(mapping=mapping, record=parent), f"Couple {describe_record(parent)}"[:100]

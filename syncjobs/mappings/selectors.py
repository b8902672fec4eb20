"""Reads of the integration table mappings: the list in dependency order, the mapping of an ERP table."""

from __future__ import annotations

import uuid

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import models
from django.http import Http404
from django.shortcuts import get_object_or_404

from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.engine import crm_queries
from syncjobs.models import IntegrationTableMapping

# Dynamics 365's names of a table's attributes change with its customizations, rarely: asked once an hour.
ATTRIBUTE_LABELS_SECONDS = 3600
ATTRIBUTE_LABELS_TIMEOUT_SECONDS = 5.0


def record_mapping(*, model: type[models.Model]) -> IntegrationTableMapping | None:
    """The enabled record mapping (not an option mapping) of an ERP table; the first by priority."""
    return (
        IntegrationTableMapping.objects.filter(
            erp_model=ContentType.objects.get_for_model(model), is_enabled=True, is_option_mapping=False
        )
        .select_related("erp_model")
        .first()
    )


def integration_mappings() -> list[IntegrationTableMapping]:
    """The integration table mappings the setup lets an administrator enable, in dependency order.

    Each has `name` (its code, e.g. "CUSTOMER") and `title` ("Customers ↔ Accounts").
    """
    return mapping_dependency_order()


def mapping_dependency_order(*, enabled_only: bool = False) -> list[IntegrationTableMapping]:
    """Table mappings so that each comes after the mappings it depends on.

    Among mappings whose dependencies are all placed, the lower priority goes first (BC's order:
    users, currencies, units of measure, customers, contacts, items, resources, the rest).
    """
    queryset = IntegrationTableMapping.objects.select_related("erp_model").prefetch_related("depends_on")
    if enabled_only:
        queryset = queryset.filter(is_enabled=True)
    mappings = {mapping.pk: mapping for mapping in queryset}
    waiting_on = {
        pk: {dep.pk for dep in mapping.depends_on.all() if dep.pk in mappings} for pk, mapping in mappings.items()
    }
    ordered: list[IntegrationTableMapping] = []
    while waiting_on:
        ready = [pk for pk, deps in waiting_on.items() if not deps]
        if not ready:
            # A cycle (the services refuse them) must not hide mappings: the rest follow by priority.
            ready = list(waiting_on)
        first = min(ready, key=lambda pk: (mappings[pk].priority, mappings[pk].name))
        ordered.append(mappings[first])
        del waiting_on[first]
        for deps in waiting_on.values():
            deps.discard(first)
    return ordered


def mapping_or_404(pk: int) -> IntegrationTableMapping:
    return get_object_or_404(
        IntegrationTableMapping.objects.select_related("erp_model"), pk=pk, is_option_mapping=False
    )


def record_or_404(mapping: IntegrationTableMapping, system_id: uuid.UUID) -> models.Model:
    model = mapping.erp_model.model_class()
    if model is None:
        raise Http404("The mapping's ERP table no longer exists.")
    return get_object_or_404(model._default_manager.all(), system_id=system_id)


def crm_attribute_labels(*, mapping: IntegrationTableMapping) -> dict[str, str]:
    """The names Dynamics 365 shows for the attributes of the mapping's table (logical name → display name), for
    the mapping pages; empty when Dynamics 365 cannot be asked now (the pages then show the logical names)."""
    connection = connection_selectors.crm_connection_get()
    if not connection.server_url or mapping.is_option_mapping:
        return {}
    key = f"crm-attribute-labels:{connection.server_url}:{mapping.crm_entity}"
    labels = cache.get(key)
    if labels is None:
        try:
            with clients.crm_client(
                connection=connection, timeout=ATTRIBUTE_LABELS_TIMEOUT_SECONDS, max_retries=1
            ) as client:
                labels = crm_queries.crm_attribute_labels(client=client, crm_entity=mapping.crm_entity)
        except clients.CRM_ERRORS:
            return {}
        cache.set(key, labels, ATTRIBUTE_LABELS_SECONDS)
    return labels

"""Reads behind the OData service: one annotated query per page, whatever the number of items."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from coupling.selectors import with_coupling
from erp.models import Item
from erp.selectors import items_with_availability
from webservices import entities


def product_item_availability(
    *, condition: Q | None = None, as_of: datetime.date | None = None, selected: tuple[str, ...] = ()
) -> QuerySet:
    """Rows (dicts keyed by the selected properties' sources) ordered by item no.

    ``selected`` names the entity's properties to read (all when empty); availability figures are
    computed in the same query, and only when selected.
    """
    names = selected or tuple(prop.name for prop in entities.PROPERTIES)
    sources = [entities.BY_NAME[name].source for name in names if entities.BY_NAME[name].source]
    queryset = items_with_availability(queryset=with_coupling(Item.objects.all()), as_of=as_of)
    if condition is not None:
        queryset = queryset.filter(condition)
    # The key is always read: paging continues after the last item no.
    return queryset.order_by("no").values(*dict.fromkeys(["no", *sources]))


def product_item_availability_count(*, condition: Q | None = None) -> int:
    queryset = with_coupling(Item.objects.all())
    if condition is not None:
        queryset = queryset.filter(condition)
    return queryset.count()

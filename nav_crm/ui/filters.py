"""Search and filtering for list pages."""

import copy
from functools import reduce
from operator import and_, or_

import django_filters
from django.db import models


def search_queryset(queryset: models.QuerySet, fields: tuple[str, ...], text: str) -> models.QuerySet:
    """Records where every word of ``text`` occurs (case-insensitively) in one of ``fields``."""
    words = text.split()
    if not words or not fields:
        return queryset
    conditions = [reduce(or_, (models.Q(**{f"{name}__icontains": word}) for name in fields)) for word in words]
    return queryset.filter(reduce(and_, conditions))


def filterset_with(
    filterset_class: type[django_filters.FilterSet], extra_filters: dict[str, django_filters.Filter]
) -> type[django_filters.FilterSet]:
    """The filterset class plus filters that other apps registered for its model."""
    if not extra_filters:
        return filterset_class
    filters = {name: copy.deepcopy(filter_) for name, filter_ in extra_filters.items()}
    return type(filterset_class.__name__, (filterset_class,), filters)

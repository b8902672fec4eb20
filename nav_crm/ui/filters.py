"""Search and filtering for list pages."""

import copy
from functools import reduce
from operator import and_, or_

import django_filters
from django import forms
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


def yes_no_any() -> forms.Select:
    """A yes/no filter's choice, "Any" (no filtering) first and chosen until the user picks Yes or No."""
    return forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")])


def yes_no_any_filters(filterset: django_filters.FilterSet) -> django_filters.FilterSet:
    """Every yes/no filter of the list reads Any / Yes / No (django-filter's own select says "Unknown")."""
    for filter_ in filterset.filters.values():
        if isinstance(filter_, django_filters.BooleanFilter) and "widget" not in filter_.extra:
            filter_.extra["widget"] = yes_no_any()
    return filterset

"""Extensions that other apps add to a model's list pages: bulk actions, columns, filters.

The owning app declares its list once; a later app (e.g. coupling) registers more from its
``AppConfig.ready()`` without the owning app importing it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import django_filters
import django_tables2 as tables
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from nav_crm.ui.bulk import BulkAction

Annotation = Callable[[models.QuerySet], models.QuerySet]


@dataclass
class ListExtensions:
    bulk_actions: list[BulkAction] = field(default_factory=list)
    columns: list[tuple[str, tables.Column]] = field(default_factory=list)
    filters: dict[str, django_filters.Filter] = field(default_factory=dict)
    annotations: list[Annotation] = field(default_factory=list)


_extensions: dict[type[models.Model], ListExtensions] = {}


def extensions_for(model: type[models.Model]) -> ListExtensions:
    return _extensions.get(model, ListExtensions())


def _extensions_of(model: type[models.Model]) -> ListExtensions:
    return _extensions.setdefault(model, ListExtensions())


def register_bulk_action(model: type[models.Model], action: BulkAction) -> None:
    extensions = _extensions_of(model)
    if any(existing.name == action.name for existing in extensions.bulk_actions):
        raise ImproperlyConfigured(f"A bulk action named {action.name!r} is already registered for {model.__name__}.")
    extensions.bulk_actions.append(action)


def register_column(
    model: type[models.Model], name: str, column: tables.Column, *, annotate: Annotation | None = None
) -> None:
    """Add a column to the model's list tables.

    ``annotate`` adds what the column shows to the list's queryset in the same query (for
    example an ``Exists`` subquery), so the column costs no query per row and can be sorted.
    """
    extensions = _extensions_of(model)
    if any(existing == name for existing, _ in extensions.columns):
        raise ImproperlyConfigured(f"A column named {name!r} is already registered for {model.__name__}.")
    extensions.columns.append((name, column))
    if annotate is not None:
        extensions.annotations.append(annotate)


def register_filter(model: type[models.Model], name: str, filter_: django_filters.Filter) -> None:
    extensions = _extensions_of(model)
    if name in extensions.filters:
        raise ImproperlyConfigured(f"A filter named {name!r} is already registered for {model.__name__}.")
    extensions.filters[name] = filter_

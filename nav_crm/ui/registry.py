"""Extensions that other apps add to a model's pages: bulk actions, columns and filters of its lists,
actions and panels of its detail page.

The owning app declares its pages once; a later app (e.g. coupling) registers more from its
``AppConfig.ready()`` without the owning app importing it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import django_filters
import django_tables2 as tables
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from nav_crm.ui.bulk import BulkAction
from nav_crm.ui.detail import DetailAction, DetailPanel

Annotation = Callable[[models.QuerySet], models.QuerySet]


@dataclass
class ListExtensions:
    bulk_actions: list[BulkAction] = field(default_factory=list)
    columns: list[tuple[str, tables.Column]] = field(default_factory=list)
    filters: dict[str, django_filters.Filter] = field(default_factory=dict)
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class DetailExtensions:
    actions: list[DetailAction] = field(default_factory=list)
    panels: list[DetailPanel] = field(default_factory=list)
    # Shown on the record's delete confirmation page, above the Delete button (what deleting it also does).
    delete_panels: list[DetailPanel] = field(default_factory=list)


_extensions: dict[type[models.Model], ListExtensions] = {}
_detail_extensions: dict[type[models.Model], DetailExtensions] = {}


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


def detail_extensions_for(model: type[models.Model]) -> DetailExtensions:
    return _detail_extensions.get(model, DetailExtensions())


def register_detail_action(model: type[models.Model], action: DetailAction) -> None:
    extensions = _detail_extensions.setdefault(model, DetailExtensions())
    if any(existing.name == action.name for existing in extensions.actions):
        raise ImproperlyConfigured(f"A detail action named {action.name!r} is already registered for {model.__name__}.")
    extensions.actions.append(action)


def register_detail_panel(model: type[models.Model], panel: DetailPanel) -> None:
    extensions = _detail_extensions.setdefault(model, DetailExtensions())
    if any(existing.name == panel.name for existing in extensions.panels):
        raise ImproperlyConfigured(f"A detail panel named {panel.name!r} is already registered for {model.__name__}.")
    extensions.panels.append(panel)


def register_delete_panel(model: type[models.Model], panel: DetailPanel) -> None:
    """A panel on the model's delete confirmation page (e.g. what deleting a coupled record does in Dynamics 365)."""
    extensions = _detail_extensions.setdefault(model, DetailExtensions())
    if any(existing.name == panel.name for existing in extensions.delete_panels):
        raise ImproperlyConfigured(f"A delete panel named {panel.name!r} is already registered for {model.__name__}.")
    extensions.delete_panels.append(panel)

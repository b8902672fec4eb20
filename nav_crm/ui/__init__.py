"""A small declarative framework for list, detail and edit pages (in the spirit of NetBox).

A list page is a django-tables2 table + a django-filter FilterSet + search fields + bulk
actions, declared on an :class:`ObjectListView` subclass. Other apps extend a model's list
pages without touching the app that owns them, from their ``AppConfig.ready()``::

    from nav_crm.ui import BulkAction, per_record, register_bulk_action, register_column, register_filter

    register_bulk_action(Customer, BulkAction(name="couple", label="Couple selected", ...))
    register_column(Customer, "coupled", tables.BooleanColumn(), annotate=lambda qs: qs.annotate(...))
    register_filter(Customer, "coupled", django_filters.BooleanFilter(...))

A model's detail page gets buttons and panels the same way (``nav_crm.ui.detail``)::

    register_detail_action(Customer, DetailAction.running(action, visible=lambda record: ...))
    register_detail_panel(Customer, DetailPanel(name="crm", template_name="…", context=panel_context))

and its delete confirmation page panels (``register_delete_panel``, the same ``DetailPanel``).

Banners above every page (e.g. the "Connect to Dynamics 365" assisted setup) are registered
with ``nav_crm.ui.banners.register_banner``.
"""

from nav_crm.ui.bulk import BulkAction, BulkResult, per_record
from nav_crm.ui.detail import DetailAction, DetailPanel
from nav_crm.ui.registry import (
    detail_extensions_for,
    extensions_for,
    register_bulk_action,
    register_column,
    register_delete_panel,
    register_detail_action,
    register_detail_panel,
    register_filter,
)

__all__ = [
    "BulkAction",
    "BulkResult",
    "DetailAction",
    "DetailPanel",
    "detail_extensions_for",
    "extensions_for",
    "per_record",
    "register_bulk_action",
    "register_column",
    "register_delete_panel",
    "register_detail_action",
    "register_detail_panel",
    "register_filter",
]

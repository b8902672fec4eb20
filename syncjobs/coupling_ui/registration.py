"""What the coupling adds to the ERP's list pages: a "Dynamics 365" column, a "Coupled" filter, bulk actions."""

from __future__ import annotations

import django_filters
import django_tables2 as tables
from django.apps import apps
from django.db import models
from django.utils.html import format_html

from coupling.selectors import with_coupling
from nav_crm.ui import BulkAction, register_bulk_action, register_column, register_filter
from syncjobs import selectors as sync_selectors
from syncjobs.coupling_ui import selectors, views
from syncjobs.mappings.defaults import DEFAULTS


class CrmColumn(tables.Column):
    """Coupled / Not coupled with an "Open in Dynamics 365" link; mapping and connection read once per table."""

    def __init__(self, **kwargs):
        kwargs.setdefault("verbose_name", "Dynamics 365")
        kwargs.setdefault("accessor", "is_coupled")
        kwargs.setdefault("order_by", ("is_coupled",))
        super().__init__(**kwargs)
        self._link_base: tuple[str, str] | None = None

    def crm_url(self, record: models.Model) -> str | None:
        if self._link_base is None:
            mapping = selectors.record_mapping(model=type(record))
            connection = sync_selectors.crm_connection_get()
            self._link_base = (connection.server_url if mapping else "", mapping.crm_entity if mapping else "")
        server_url, crm_entity = self._link_base
        if not server_url or not getattr(record, "crm_id", None):
            return None
        return selectors.crm_record_url(server_url=server_url, crm_entity=crm_entity, crm_id=record.crm_id)

    def render(self, value, record):
        if not value:
            return format_html('<span class="text-body-secondary">{}</span>', "Not coupled")
        url = self.crm_url(record)
        if url is None:
            return format_html('<span class="badge text-bg-success">{}</span>', "Coupled")
        return format_html(
            '<span class="badge text-bg-success">Coupled</span> '
            '<a href="{}" target="_blank" rel="noopener" class="small">Open in Dynamics 365</a>',
            url,
        )


ACTIONS = (
    BulkAction(
        name="crm_couple",
        label="Couple with Dynamics 365",
        permission="coupling.add_coupling",
        handler=views.couple_action,
        done_verb="coupled",
        icon="link-45deg",
    ),
    BulkAction(
        name="crm_synchronize",
        label="Synchronize now",
        permission="syncjobs.add_syncjob",
        handler=views.synchronize_action,
        done_verb="queued for synchronization",
        icon="arrow-repeat",
    ),
    BulkAction(
        name="crm_decouple",
        label="Decouple",
        permission="coupling.delete_coupling",
        handler=views.decouple_action,
        done_verb="decoupled",
        confirm="Remove the coupling of the selected records with their Dynamics 365 rows? Neither side is deleted.",
        icon="x-circle",
    ),
    BulkAction(
        name="crm_match",
        label="Match-based coupling",
        permission="syncjobs.add_syncjob",
        handler=views.match_action,
        done_verb="sent to match-based coupling",
        icon="diagram-2",
    ),
)


def coupled_models() -> list[type[models.Model]]:
    """The ERP tables a default record mapping synchronizes (option mappings have no rows to couple)."""
    labels = []
    for default in DEFAULTS:
        if not default.is_option_mapping and default.erp_model not in labels:
            labels.append(default.erp_model)
    return [apps.get_model(label) for label in labels]


def register_list_extensions() -> None:
    for model in coupled_models():
        register_column(model, "crm_coupling", CrmColumn(), annotate=with_coupling)
        register_filter(
            model, "coupled", django_filters.BooleanFilter(field_name="is_coupled", label="Coupled with Dynamics 365")
        )
        for action in ACTIONS:
            register_bulk_action(model, action)

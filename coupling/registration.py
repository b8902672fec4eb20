"""What the coupling adds to the ERP's pages.

Lists: a "Dynamics 365" column, a "Coupled" filter, bulk actions. Detail pages: the same actions
as buttons (each where it applies: Couple on an uncoupled record, Synchronize now, Decouple and
Open in Dynamics 365 on a coupled one) and a panel with the coupling's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import django_filters
import django_tables2 as tables
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from coupling import views
from coupling.models import Coupling, system_id_of
from coupling.selectors import coupling_for_record, crm_row_name, with_coupling
from nav_crm.ui import (
    BulkAction,
    DetailAction,
    DetailPanel,
    register_bulk_action,
    register_column,
    register_delete_panel,
    register_detail_action,
    register_detail_panel,
    register_filter,
)
from syncjobs import permissions
from syncjobs.connection import selectors as connection_selectors
from syncjobs.engine import crm_queries
from syncjobs.engine.context import CRM_ENTITY_NOUNS, crm_noun
from syncjobs.errors import selectors as sync_selectors
from syncjobs.mappings.defaults import DEFAULTS
from syncjobs.mappings.selectors import record_mapping
from syncjobs.models import IntegrationTableMapping, SyncJob


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
            mapping = record_mapping(model=type(record))
            connection = connection_selectors.crm_connection_get()
            self._link_base = (connection.server_url if mapping else "", mapping.crm_entity if mapping else "")
        server_url, crm_entity = self._link_base
        crm_id = getattr(record, "crm_id", None)  # annotated by with_coupling
        if not server_url or not crm_id:
            return None
        return crm_queries.crm_record_url(server_url=server_url, crm_entity=crm_entity, crm_id=crm_id)

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


COUPLE, SYNCHRONIZE, DECOUPLE, MATCH = ACTIONS = (
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
        permission=permissions.START_JOBS,
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
        permission=permissions.START_JOBS,
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


# --- Detail pages ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordCrmState:
    """What a detail page shows and decides its buttons from: the table's mapping, the record's coupling."""

    mapping: IntegrationTableMapping | None
    coupling: Coupling | None
    open_url: str | None

    @property
    def is_coupled(self) -> bool:
        return self.coupling is not None and self.coupling.state == Coupling.State.COUPLED


_STATE_ATTRIBUTE = "_crm_coupling_state"


def record_crm_state(record: models.Model) -> RecordCrmState:
    """Read once per page: the buttons and the panel all ask (kept on the record, which lives for one request)."""
    state = getattr(record, _STATE_ATTRIBUTE, None)
    if state is None:
        mapping = record_mapping(model=type(record))
        coupling = coupling_for_record(record=record)
        server_url = connection_selectors.crm_connection_get().server_url
        open_url = None
        if coupling is not None and coupling.state == Coupling.State.COUPLED and server_url:
            open_url = crm_queries.crm_record_url(
                server_url=server_url, crm_entity=coupling.crm_entity, crm_id=coupling.crm_id
            )
        state = RecordCrmState(mapping=mapping, coupling=coupling, open_url=open_url)
        setattr(record, _STATE_ATTRIBUTE, state)
    return state


def coupling_panel_context(request: HttpRequest, record: models.Model) -> dict | None:
    """The record's state in the integration *now*, as the errors page shows it: its current error (since when,
    how many times) and the job that touched it last, with that job's time."""
    state = record_crm_state(record)
    if state.mapping is None and state.coupling is None:
        return None  # the table is not synchronized (its mapping is disabled) and the record never was
    coupling = state.coupling
    current_error = (
        sync_selectors.current_sync_errors()
        .filter(erp_model=ContentType.objects.get_for_model(type(record)), erp_system_id=system_id_of(record))
        .select_related("job")
        .first()
    )
    last_job = None
    if coupling is not None and coupling.last_job_id:
        last_job = SyncJob.objects.filter(pk=coupling.last_job_id).only("pk", "created_at", "finished_at").first()
    entity = (coupling.crm_entity if coupling else None) or (state.mapping.crm_entity if state.mapping else "")
    return {
        "crm": state,
        "coupling": coupling,
        "mapping": state.mapping,
        "crm_noun": crm_noun(entity),
        "crm_name": crm_row_name(state.mapping, coupling) if state.is_coupled else "",
        "current_error": current_error,
        "last_job": last_job,
        "errors_url": f"{reverse('syncjobs:error_list')}?q={record}",
    }


def _can_couple(record: models.Model) -> bool:
    state = record_crm_state(record)
    return state.mapping is not None and state.coupling is None


def _is_coupled(record: models.Model) -> bool:
    return record_crm_state(record).is_coupled


def _has_coupling(record: models.Model) -> bool:
    """Decouple also applies to a coupling whose create in Dynamics 365 is still pending."""
    return record_crm_state(record).coupling is not None


DETAIL_ACTIONS = (
    DetailAction.running(COUPLE, visible=_can_couple),
    DetailAction.running(SYNCHRONIZE, visible=_is_coupled),
    DetailAction.running(DECOUPLE, visible=_has_coupling),
    DetailAction(
        name="crm_open",
        label="Open in Dynamics 365",
        url=lambda record: record_crm_state(record).open_url,
        icon="box-arrow-up-right",
        new_tab=True,
    ),
)
COUPLING_PANEL = DetailPanel(
    name="crm_coupling", template_name="coupling/_detail_panel.html", context=coupling_panel_context
)


# --- Delete pages ------------------------------------------------------------------------------------------


def deletion_effect(*, policy: str, erp_noun: str, crm_row: str) -> str:
    """What the next synchronization does, under the mapping's deletion policy, once the ERP record is deleted."""
    Policy = IntegrationTableMapping.DeletionPolicy
    effects: dict[str, str] = {
        Policy.PROPAGATE: f"delete the {crm_row} too",
        Policy.DEACTIVATE: f"deactivate the {crm_row} and remove the coupling",
        Policy.DECOUPLE: f"remove the coupling; the {crm_row} stays in Dynamics 365 as it is",
        Policy.RESTORE: f"restore the {erp_noun} from the {crm_row} (a new {erp_noun} with its values)",
        Policy.REPORT: f"report it on the synchronization errors page; the {crm_row} stays as it is",
    }
    return effects.get(policy, f"report it on the synchronization errors page; the {crm_row} stays as it is")


def delete_notice_context(request: HttpRequest, record: models.Model) -> dict | None:
    """A coupled record's delete page says so, and what deleting it does in Dynamics 365 (the deletion policy)."""
    state = record_crm_state(record)
    coupling, mapping = state.coupling, state.mapping
    if coupling is None or not state.is_coupled:
        return None
    erp_noun = str(record._meta.verbose_name)
    crm_row = CRM_ENTITY_NOUNS.get(coupling.crm_entity, coupling.crm_entity)
    if mapping is None:
        effect = f"No enabled mapping synchronizes {record._meta.verbose_name_plural}: the {crm_row} stays as it is."
    else:
        effect = (
            f"After deleting it, the next synchronization will "
            f"{deletion_effect(policy=mapping.deletion_policy, erp_noun=erp_noun, crm_row=crm_row)}."
        )
    return {
        "crm": state,
        "erp_noun": erp_noun,
        "crm_noun": crm_noun(coupling.crm_entity),
        "crm_name": crm_row_name(mapping, coupling),
        "mapping": mapping,
        "effect": effect,
    }


DELETE_NOTICE = DetailPanel(
    name="crm_coupling", template_name="coupling/_delete_notice.html", context=delete_notice_context
)


def register_detail_extensions() -> None:
    for model in coupled_models():
        for action in DETAIL_ACTIONS:
            register_detail_action(model, action)
        register_detail_panel(model, COUPLING_PANEL)
        register_delete_panel(model, DELETE_NOTICE)

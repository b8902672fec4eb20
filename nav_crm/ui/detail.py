"""What other apps add to a model's detail page: action buttons and panels.

An action is either a bulk action run on the page's one record (the button POSTs, with CSRF,
to the detail page, which runs the action's handler and comes back) or a link. A panel is a
template rendered below the record's fields, with the context its callable builds (``None``
hides it). Both are registered per model from ``AppConfig.ready()``, like the list extensions::

    register_detail_action(Customer, DetailAction.running(SYNCHRONIZE, visible=is_coupled))
    register_detail_action(Customer, DetailAction(name="crm_open", label="Open in Dynamics 365", url=crm_url))
    register_detail_panel(Customer, DetailPanel(name="crm", template_name="…/_panel.html", context=panel_context))
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.http import HttpRequest

from nav_crm.ui.bulk import BulkAction, BulkHandler


@dataclass(frozen=True)
class DetailAction:
    """A button on a detail page: ``handler`` (POST, a bulk handler given the one record) or ``url`` (a link).

    ``visible(record)`` hides the button where it does not apply (e.g. "Decouple" on a record
    that is not coupled); ``url(record)`` returning None hides a link. ``permission`` is needed
    to see and to run it (empty: whoever sees the page).
    """

    name: str
    label: str
    permission: str = ""
    handler: BulkHandler | None = None
    url: Callable[[models.Model], str | None] | None = None
    visible: Callable[[models.Model], bool] | None = None
    done_verb: str = "done"
    confirm: str = ""
    style: str = "outline-secondary"
    icon: str = ""
    new_tab: bool = False

    def __post_init__(self):
        if (self.handler is None) == (self.url is None):
            raise ValueError(f"Detail action {self.name!r} needs either a handler or a url, not both.")

    @classmethod
    def running(cls, action: BulkAction, *, visible: Callable[[models.Model], bool] | None = None) -> "DetailAction":
        """The list's bulk action as a button that runs it on this record (same handler, permission, question)."""
        return cls(
            name=action.name,
            label=action.label,
            permission=action.permission,
            handler=action.handler,
            visible=visible,
            done_verb=action.done_verb,
            confirm=action.confirm,
            style=action.style,
            icon=action.icon,
        )

    @property
    def as_bulk_action(self) -> BulkAction:
        """What the confirmation page and the result messages shared with list pages need."""
        return BulkAction(
            name=self.name,
            label=self.label,
            permission=self.permission,
            handler=self.handler,
            done_verb=self.done_verb,
            confirm=self.confirm,
            style=self.style,
            icon=self.icon,
        )


@dataclass(frozen=True)
class DetailPanel:
    """A card below the record's fields: ``template_name`` rendered with ``context(request, record)`` unless None."""

    name: str
    template_name: str
    context: Callable[[HttpRequest, models.Model], dict | None]
    permission: str = ""


@dataclass(frozen=True)
class BoundDetailAction:
    """A detail action as one page shows it: the link's address worked out for the record."""

    action: DetailAction
    url: str | None = None

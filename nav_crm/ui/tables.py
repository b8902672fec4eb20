"""Table building blocks shared by every list page."""

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from nav_crm.ui.columns import apply_column_choice
from nav_crm.ui.permissions import may_view


def linked_model(model: type[models.Model], accessor: str) -> type[models.Model] | None:
    """The model of the records a column shows: the one its accessor's references lead to (``model`` itself
    for a field of the row); None when the accessor is not a field path."""
    current = model
    for part in accessor.replace(".", "__").split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return current if current is not model else None
        if not field.is_relation or field.related_model is None:
            return current
        current = field.related_model
    return current


class SelectionColumn(tables.CheckBoxColumn):
    """The row-selection checkbox that bulk actions read (``pk`` values)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("accessor", "pk")
        kwargs.setdefault("verbose_name", "Select")
        kwargs.setdefault(
            "attrs",
            {
                "th__input": {"class": "form-check-input", "data-select-all": "", "aria-label": "Select all rows"},
                "td__input": {"class": "form-check-input", "data-select-row": "", "aria-label": "Select row"},
                "th": {"class": "selection"},
                "td": {"class": "selection"},
            },
        )
        super().__init__(**kwargs)


class ObjectTable(tables.Table):
    """A list table whose first column selects rows for bulk actions.

    It shows the columns its user chose in the list's "Columns" dialog, or else ``default_columns`` (empty: all),
    chosen to fit a 1,366 px screen (nav_crm.ui.columns).
    """

    pk = SelectionColumn()
    default_columns: tuple[str, ...] = ()

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        user = getattr(request, "user", None)
        self.column_options = apply_column_choice(self, user)
        if user is not None:
            self.unlink_what_user_cannot_open(user)

    def unlink_what_user_cannot_open(self, user) -> None:
        """A column linking records of a table the user may not see shows them as text, not as links to a 403."""
        model = self._meta.model
        if model is None:
            return
        for bound in self.columns.iterall():
            if bound.link is None:
                continue
            target = linked_model(model, str(bound.accessor))
            if target is not None and not may_view(user, target):
                bound.link = None

    class Meta:
        empty_text = "No records match."
        attrs = {"class": "table table-sm table-hover align-middle object-table"}

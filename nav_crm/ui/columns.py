"""Which columns a list shows (NetBox's "Configure table"): the table's default columns until its user chooses
others in the list's "Columns" dialog; the choice is kept per user and table (``UserPreference``).

A table's ``default_columns`` name what fits a 1,366 px screen; the columns other apps register for the model
(``register_column``) are shown by default too. A column without a heading (a row's buttons) is always shown,
and the row-selection checkbox is the bulk actions', not a choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import django_tables2 as tables
from django.core.exceptions import ValidationError
from django.utils.html import strip_tags

from nav_crm.models import UserPreference

NOT_CHOSEN = ("pk",)


@dataclass(frozen=True)
class ColumnOption:
    """One column of the "Columns" dialog."""

    name: str
    label: str
    shown: bool


def table_key(table: tables.Table) -> str:
    """The name a user's choice is kept under: the table's class (the same table on every page it appears)."""
    table_class = type(table)
    return f"{table_class.__module__}.{table_class.__qualname__}"


def _choosable(table: tables.Table) -> dict[str, str]:
    """Column name → its heading, for the columns a user may show or hide, in the table's order."""
    names = {}
    for bound in table.columns.iterall():
        label = strip_tags(str(bound.header)).strip()
        if bound.name not in NOT_CHOSEN and label:
            names[bound.name] = label
    return names


def default_columns(table: tables.Table) -> set[str]:
    declared = tuple(getattr(table, "default_columns", ()) or ())
    choosable = _choosable(table)
    if not declared:
        return set(choosable)
    registered = set(choosable) - set(type(table).base_columns)
    return {name for name in choosable if name in declared or name in registered}


def chosen_columns(table: tables.Table, user) -> set[str]:
    """The columns the user chose for this table (those that still exist), or its defaults."""
    choosable = _choosable(table)
    if user is not None and user.is_authenticated:
        preference = UserPreference.objects.filter(user=user).only("table_columns").first()
        saved = (preference.table_columns if preference else {}).get(table_key(table))
        if saved:
            shown = {name for name in saved if name in choosable}
            if shown:
                return shown
    return default_columns(table)


def apply_column_choice(table: tables.Table, user) -> list[ColumnOption]:
    """Hide the columns the user does not show; the options of the table's "Columns" dialog."""
    choosable = _choosable(table)
    shown = chosen_columns(table, user)
    for name in choosable:
        if name not in shown:
            table.columns.hide(name)
    return [ColumnOption(name=name, label=label, shown=name in shown) for name, label in choosable.items()]


def table_columns_save(*, user, table: tables.Table, columns: list[str] | None) -> None:
    """Keep the user's columns for this table; ``None`` goes back to the table's defaults."""
    key = table_key(table)
    preference, _ = UserPreference.objects.get_or_create(user=user)
    if columns is None:
        preference.table_columns.pop(key, None)
    else:
        choosable = _choosable(table)
        unknown = [name for name in columns if name not in choosable]
        if unknown:
            raise ValidationError(f"The list has no column {', '.join(unknown)}.")
        if not columns:
            raise ValidationError("Choose at least one column to show.")
        preference.table_columns[key] = [name for name in choosable if name in columns]
    preference.save(update_fields=["table_columns", "modified_at"])

"""Table building blocks shared by every list page."""

import django_tables2 as tables


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
    """A list table whose first column selects rows for bulk actions."""

    pk = SelectionColumn()

    class Meta:
        empty_text = "No records match."
        attrs = {"class": "table table-sm table-hover align-middle object-table"}

"""Templates for ERP records created from CRM rows (BC: Int. Tbl. Config Template, with its table filter and priority).

The first template of the mapping, by priority, whose CRM filter the row matches gives the new record
the values Dynamics 365 does not send: a field no field mapping fills from the row, or one the row
leaves empty, and that is still empty (or at its default) after the mapped values. Dynamics 365 is
the judge of a filter: it is asked once per template and page of new rows
(``(<filter>) and <primary key> in (...)``), so a filter means exactly what Dataverse understands.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

import dataverse
from syncjobs.engine import values
from syncjobs.engine.context import READ_IDS_PER_QUERY, RunContext
from syncjobs.engine.values import RecordFailure
from syncjobs.mappings import record_templates
from syncjobs.models import RecordTemplate


class TemplateChoice:
    """Which template each new record's row takes, and each template's values, read once per run."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self._templates: list[RecordTemplate] | None = None
        # Row id → its template (None: no template fits), or the RecordFailure of a filter Dynamics 365 refused.
        self._chosen: dict[str, RecordTemplate | RecordFailure | None] = {}
        self._values: dict[int, dict | RecordFailure] = {}

    @property
    def templates(self) -> list[RecordTemplate]:
        if self._templates is None:
            self._templates = list(RecordTemplate.objects.filter(mapping=self.ctx.mapping).order_by("priority", "code"))
        return self._templates

    def _row_id(self, row: dict) -> str:
        return str(row[self.ctx.primary_key]).lower()

    def prime(self, rows: list[dict]) -> None:
        """Choose the template of each of ``rows`` (those to be created): one query per filtered template."""
        pending = [crm_id for crm_id in dict.fromkeys(self._row_id(row) for row in rows) if crm_id not in self._chosen]
        for template in self.templates:
            if not pending:
                break
            if not template.crm_filter.strip():
                self._chosen.update(dict.fromkeys(pending, template))
                return
            try:
                matched = self._matching(template, pending)
            except dataverse.ValidationFailed as error:
                refused = RecordFailure(
                    f"Dynamics 365 refused the CRM filter of the template {template.code} (mapping "
                    f"{self.ctx.mapping.name}): {error.message}",
                    details=f"Correct the filter ({_edit_url(template)}), then synchronize this row again.",
                )
                self._chosen.update(dict.fromkeys(pending, refused))
                return
            self._chosen.update(dict.fromkeys([crm_id for crm_id in pending if crm_id in matched], template))
            pending = [crm_id for crm_id in pending if crm_id not in matched]
        self._chosen.update(dict.fromkeys(pending))

    def _matching(self, template: RecordTemplate, ids: list[str]) -> set[str]:
        ctx = self.ctx
        condition = dataverse.Filter(f"({template.crm_filter.strip()})", 0)
        matched: set[str] = set()
        for start in range(0, len(ids), READ_IDS_PER_QUERY):
            chunk = ids[start : start + READ_IDS_PER_QUERY]
            rows = ctx.client.query(
                ctx.mapping.crm_entity_set,
                select=[ctx.primary_key],
                filter=condition & values.ids_filter(ctx.primary_key, chunk),
                page_size=READ_IDS_PER_QUERY,
            )
            matched.update(self._row_id(row) for row in rows)
        return matched

    def for_row(self, row: dict) -> RecordTemplate | None:
        crm_id = self._row_id(row)
        if crm_id not in self._chosen:
            self.prime([row])
        chosen = self._chosen[crm_id]
        if isinstance(chosen, RecordFailure):
            raise chosen
        return chosen

    def values_of(self, template: RecordTemplate) -> dict:
        """The template's values as the new record takes them (references as records)."""
        if template.pk not in self._values:
            try:
                self._values[template.pk] = record_templates.read(self.ctx.erp_model, template.values)
            except ValidationError as error:
                self._values[template.pk] = RecordFailure(
                    f"The template {template.code} (mapping {self.ctx.mapping.name}) gives a value the ERP "
                    f"does not take now: {' '.join(error.messages)}",
                    details=f"Correct the template ({_edit_url(template)}), then synchronize this row again.",
                )
        found = self._values[template.pk]
        if isinstance(found, RecordFailure):
            raise found
        return found


def _edit_url(template: RecordTemplate) -> str:
    return reverse("syncjobs:record_template_edit", args=[template.mapping_id, template.pk])


def _unset(record: models.Model, field: models.Field) -> bool:
    current = getattr(record, field.attname)
    return current is None or current == "" or current == field.get_default()


def choice_for(ctx: RunContext) -> TemplateChoice:
    """The run's TemplateChoice (which template each row's new record takes), made on first use."""
    if ctx.template_choice is None:
        ctx.template_choice = TemplateChoice(ctx)
    return ctx.template_choice


def apply_template(ctx: RunContext, record: models.Model, crm_side: dict, row: dict) -> RecordTemplate | None:
    """Give a record being created from ``row`` its template's values where Dynamics 365 sent nothing.

    ``crm_side`` holds the mapped values the row sent (values.crm_values); a field mapped from the row is
    the template's only when the row leaves it empty. Returns the template applied, if any."""
    choice = choice_for(ctx)
    if not choice.templates:
        return None
    template = choice.for_row(row)
    if template is None:
        return None
    sent = {f.erp_field for f in ctx.from_crm_fields if f.constant_value or crm_side.get(f.name) is not None}
    opts = type(record)._meta
    for name, value in choice.values_of(template).items():
        if name in sent:
            continue
        field = opts.get_field(name)
        assert isinstance(field, models.Field), "a template gives concrete fields (record_templates.allowed_fields)"
        if _unset(record, field):
            setattr(record, name, value)
    return template

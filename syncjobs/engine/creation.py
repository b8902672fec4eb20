"""A new ERP record from a CRM row: every mapped value (and, when restoring a deleted record, those that go only
to Dynamics 365), filed under its parent, numbered, saved through the ERP's own rules. CRM → ERP creates
(from_crm) and restores (deletions) share it."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldError
from django.db import models
from django.db.models.fields.related import RelatedField
from django.shortcuts import resolve_url
from django.urls import reverse

from coupling.models import Coupling
from erp import services as erp_services
from erp.models import Customer
from nav_crm.records import describe_record, plural
from syncjobs.engine import templates, values
from syncjobs.engine.context import RunContext, crm_noun, lookup_mapping_of, mapping_model
from syncjobs.engine.values import Lookups, RecordFailure, Transform, related_model
from syncjobs.models import Direction, IntegrationFieldMapping


def fill_new_record(
    ctx: RunContext,
    lookups: Lookups,
    record: models.Model,
    crm_side: dict[str, Any],
    row: dict[str, Any],
    *,
    restoring: bool = False,
) -> dict[str, values.Shortened]:
    """The new record's values from the CRM row, then its template's for what the row does not send; returns the
    values shortened to fit (values.apply_to_erp).

    ``restoring``: the record is a deleted one brought back from its row (BC: Restore records). The row holds the
    last synchronized values of the fields that go only to Dynamics 365 too (a salesperson as the owner, a credit
    limit): the record takes them, or the next run would overwrite Dynamics 365 with the new record's blanks."""
    names = {f.name for f in ctx.from_crm_fields}
    shortened = values.apply_to_erp(ctx, lookups, record, crm_side, names)
    if restoring:
        shortened.update(_restore_to_crm_only_values(ctx, lookups, record, row))
    _file_under_parent(ctx, record, row)
    templates.apply_template(ctx, record, crm_side, row)
    _default_code(record)
    return shortened


def _to_crm_only_fields(ctx: RunContext) -> list[IntegrationFieldMapping]:
    """The fields that go only to Dynamics 365 and that a record restored from its row can take back: a field of
    the record itself (not one reached through a reference), not a constant."""
    return [
        f
        for f in ctx.to_crm_fields
        if f.direction == Direction.TO_CRM and f.erp_field and "__" not in f.erp_field and not f.constant_value
    ]


def _restore_to_crm_only_values(
    ctx: RunContext, lookups: Lookups, record: models.Model, row: dict[str, Any]
) -> dict[str, values.Shortened]:
    """The row's values of the fields that go only to Dynamics 365, set on the record restored from it.

    A reference the ERP cannot resolve (the account owned by a user coupled to no salesperson) is left empty rather
    than failing the restore: the field never came from Dynamics 365, and the row keeps its value."""
    fields = _to_crm_only_fields(ctx)
    if not fields:
        return {}
    lookups.prime_for_rows([row], fields)
    held: dict[str, Any] = {}
    for field_mapping in fields:
        if field_mapping.transform not in (Transform.NONE, Transform.TRIM, Transform.LOOKUP, Transform.OPTION):
            continue  # a state, a unit group's base unit: the row's value is not the ERP field's
        value = values.canonical(values.crm_row_value(field_mapping, row))
        if value is not None and field_mapping.transform == Transform.LOOKUP:
            local = values.is_currency_lookup(field_mapping) and lookups.is_local_currency(value)
            known = lookups.erp_by_crm_id[lookup_mapping_of(field_mapping).pk]
            if not local and uuid.UUID(str(value)) not in known:
                value = None
        elif value is not None and field_mapping.transform == Transform.OPTION:
            _, coupled_options = lookups.option_couplings(field_mapping)
            if int(Decimal(value)) not in coupled_options:
                value = None
        held[field_mapping.name] = value
    return values.apply_to_erp(ctx, lookups, record, held, set(held), field_mappings=fields)


def crm_held_values(ctx: RunContext, row: dict[str, Any]) -> dict[str, Any]:
    """What the row holds of the fields that go only to Dynamics 365: their base in a new coupling's snapshot.

    A record created from the row sends its own values where they differ (a credit limit the account never had)
    and nothing where they agree, as a record restored from the row does, which took them from it."""
    return {
        f.name: values.canonical(values.crm_row_value(f, row))
        for f in ctx.to_crm_fields
        if f.direction == Direction.TO_CRM and f.crm_attribute and not f.constant_value
    }


def save_new_record(record: models.Model) -> None:
    """Save a record created from a CRM row, with what the ERP creates with it: a customer gets the company
    contact its persons are filed under (as Business Central creates one when contacts are set up), so that
    the account's contacts can come in under it. Without a contact number series there are no contacts to
    create: the customer comes in alone, and its contacts' errors say what is missing."""
    erp_services.record_save(instance=record)
    if isinstance(record, Customer) and erp_services.contacts_numbered():
        erp_services.customer_company_contact_create(customer=record)


def _file_under_parent(ctx: RunContext, record: models.Model, row: dict[str, Any]) -> None:
    """A new record takes its place under the parent its CRM row names (BC: SetContactParentCompany).

    The CONTACT mapping sends a person's ``company__customer`` as parentcustomerid, one way only.
    Read backwards once, when the person is created from Dynamics 365: the parent account's coupled
    customer gives the company, the company contact whose ``customer`` it is. Without a coupled
    parent or such a company the record fails, rather than landing outside its mapping.
    """
    for field_mapping in ctx.to_crm_fields:
        reference, _, parent_field = field_mapping.erp_field.partition("__")
        if (
            field_mapping.transform != Transform.LOOKUP
            or field_mapping.direction != Direction.TO_CRM
            or not parent_field
            or "__" in parent_field
            or field_mapping.lookup_erp_key
        ):
            continue
        lookup_mapping = lookup_mapping_of(field_mapping)
        parent_model = mapping_model(lookup_mapping)
        parent_noun = crm_noun(lookup_mapping.crm_entity)
        crm_id = row.get(f"_{field_mapping.crm_attribute}_value")
        parent = None
        if crm_id:
            coupled = Coupling.objects.filter(
                crm_entity=lookup_mapping.crm_entity, crm_id=crm_id, state=Coupling.State.COUPLED
            ).values_list("erp_system_id", flat=True)
            parent = parent_model._default_manager.filter(system_id__in=coupled).first()
        if parent is None:
            shown_as = ctx.attribute_label(field_mapping.crm_attribute)
            missing = (
                f"The {parent_noun} set as {shown_as} (id {crm_id}) is not coupled to a "
                f"{parent_model._meta.verbose_name}"
                if crm_id
                else f"The {crm_noun(ctx.mapping.crm_entity)} has no {parent_noun} as {shown_as}"
            )
            raise RecordFailure(
                f"{missing}: the {record._meta.verbose_name} cannot be created without its {reference}.",
                details=f"Couple the {parent_noun} with its {parent_model._meta.verbose_name} "
                f"({lookup_mapping.title}), then synchronize this row again.",
                fix_url=reverse("coupling:uncoupled", args=[lookup_mapping.pk]),
                fix_label=f"Couple {plural(parent_noun)}"[:100],
            )
        reference_field = type(record)._meta.get_field(reference)
        if not isinstance(reference_field, RelatedField):
            raise FieldError(f"{field_mapping.erp_field} of the mapping {ctx.mapping.name} goes through no reference.")
        holder_model = related_model(reference_field)
        holders = holder_model._default_manager.filter(**{parent_field: parent})
        holder = holders.complex_filter(reference_field.get_limit_choices_to()).order_by("pk").first()
        if holder is None:
            holder_noun = f"{reference_field.verbose_name} {holder_model._meta.verbose_name}"
            raise RecordFailure(
                f"{describe_record(parent, capitalize=True)} has no {holder_noun} "
                f"to file the new {record._meta.verbose_name} under.",
                details=f"Create a {holder_noun} for {parent} ({resolve_url(parent)}), "
                "then synchronize this row again.",
            )
        setattr(record, reference, holder)


def _default_code(record: models.Model) -> None:
    """A record created from the CRM whose table is keyed by a code gets one from its name's initials (JR, JR2…)."""
    try:
        code_field = type(record)._meta.get_field("code")
    except Exception:  # noqa: BLE001 — tables numbered by a series get their number in record_save
        return
    if getattr(record, "code", ""):
        return
    if not isinstance(code_field, models.CharField) or code_field.max_length is None:
        return  # not a code of limited length, made from initials (a table numbered some other way)
    name = str(getattr(record, "name", "") or "")
    base = "".join(word[0] for word in re.findall(r"[A-Za-z0-9]+", name)).upper()[: code_field.max_length - 3] or "NEW"
    candidate, n = base, 1
    manager = type(record)._default_manager
    while manager.filter(code=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    setattr(record, code_field.attname, candidate)

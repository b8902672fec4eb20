"""Option mappings: an ERP code table ↔ the options of a CRM choice column (BC's "CRM Option Mapping").

PAYMENT TERMS, SHIPMENT METHOD and SHIPPING AGENT have no CRM rows: an ERP record's counterpart
is one value of the option set ``crm_option_attribute`` on ``crm_entity`` (account), and its
coupling an ``OptionCoupling`` (ERP system id ↔ option value, with the label as last synchronized).
The option set is read whole through the metadata API (PicklistAttributeMetadata with its
OptionSet) and the ERP table is small, so every run looks at all of both.

- To Dynamics 365: a coupled record whose label differs from its option's renames the option
  (UpdateOptionValue); an uncoupled one is coupled to an uncoupled option with the same label
  (the match-based coupling fields, case-insensitive unless the field mapping says otherwise),
  else a new option is inserted (InsertOptionValue) when "create new in case of no match" is set,
  else the record fails.
- From Dynamics 365: an uncoupled option is coupled to the ERP record with the same label, else
  an ERP code is created from its label (upper case, cut to the code's length, validated by the
  ERP); a coupled option relabelled in the CRM renames the ERP record's label field.
- One side gone (the ERP record deleted, or the option deleted in the CRM) follows the mapping's
  deletion policy, adapted to options: an option is deleted in the CRM only under "propagate" and
  only while no CRM row holds it; the other policies remove the coupling (restore brings the
  deleted side back, report keeps the coupling of a missing option and reports it).

Option mappings are never bidirectional, so the label has one master per mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction

import dataverse
from coupling import services as coupling_services
from coupling.models import OptionCoupling
from erp import services as erp_services
from erp.models import CodeField, CodeTable, SyncedModel
from nav_crm.records import describe_record
from syncjobs.engine import outcomes
from syncjobs.engine.context import RunContext
from syncjobs.engine.records import validation_message
from syncjobs.engine.values import erp_path_value
from syncjobs.models import IntegrationFieldMapping, IntegrationTableMapping

Policy = IntegrationTableMapping.DeletionPolicy
LABEL = "label"
VALUE = "value"


@dataclass
class OptionRun:
    """What one option-mapping run works on: the option set, the ERP records and the couplings between them."""

    ctx: RunContext
    options: dict[int, str]
    records: dict  # system id → ERP record
    couplings: dict  # ERP system id → OptionCoupling
    # Option values coupled to any ERP record (the constraint is per option set, whatever the ERP table).
    taken: set[int] = field(default_factory=set)
    # ERP records already dealt with (and counted) by the deletion pass.
    handled: set = field(default_factory=set)

    @property
    def mapping(self) -> IntegrationTableMapping:
        return self.ctx.mapping

    @property
    def where(self) -> str:
        return f"{self.mapping.crm_entity}.{self.mapping.crm_option_attribute}"

    def couple(self, record: SyncedModel, value: int, label: str) -> OptionCoupling:
        coupling = coupling_services.option_coupling_create(
            record=record,
            crm_entity=self.mapping.crm_entity,
            crm_attribute=self.mapping.crm_option_attribute,
            option_value=value,
            option_label=label,
        )
        self.couplings[record.system_id] = coupling
        self.taken.add(value)
        self.ctx.count("coupled")
        return coupling

    def decouple(self, coupling: OptionCoupling, *, count: bool = True) -> None:
        coupling_services.option_coupling_remove(coupling=coupling)
        self.couplings.pop(coupling.erp_system_id, None)
        self.taken.discard(coupling.option_value)
        if count:
            self.ctx.count("uncoupled")


def sync_options(ctx: RunContext, *, to_side: bool, from_side: bool) -> None:
    mapping = ctx.mapping
    if not mapping.crm_option_attribute:
        raise ValueError(f"The option mapping {mapping.name} names no CRM option set attribute.")
    options = ctx.client.option_set(mapping.crm_entity, mapping.crm_option_attribute)
    queryset = ctx.erp_model._default_manager.filter(**mapping.erp_filter)
    if ctx.explicit_erp_ids:
        queryset = ctx.erp_model._default_manager.filter(system_id__in=ctx.explicit_erp_ids)
    records = {record.system_id: record for record in queryset.order_by("pk")}
    in_option_set = OptionCoupling.objects.filter(
        crm_entity=mapping.crm_entity, crm_attribute=mapping.crm_option_attribute
    )
    couplings = {c.erp_system_id: c for c in in_option_set.filter(erp_model=ctx.erp_content_type)}
    if ctx.explicit_erp_ids:
        couplings = {system_id: c for system_id, c in couplings.items() if system_id in records}
    run = OptionRun(ctx, options, records, couplings, set(in_option_set.values_list("option_value", flat=True)))
    if not ctx.explicit:
        _erp_records_missing(run)
    _options_missing(run, to_side=to_side)
    if to_side:
        _to_crm(run)
    if from_side and not ctx.explicit_erp_ids:
        _from_crm(run)
    ctx.flush(done=len(records))


# --- Labels and matching ---------------------------------------------------------------------------------------


def _label_field(ctx: RunContext) -> str:
    """The ERP field that gives the option's label (default mapping: the code)."""
    for field_mapping in ctx.fields:
        if field_mapping.crm_attribute == LABEL and field_mapping.erp_field and not field_mapping.constant_value:
            return field_mapping.erp_field
    return "code"


def _erp_label(ctx: RunContext, record: models.Model) -> str:
    value = erp_path_value(record, _label_field(ctx))
    return "" if value is None else str(value).strip()


def _match_fields(ctx: RunContext) -> list[IntegrationFieldMapping]:
    chosen = [
        f for f in ctx.fields if f.use_for_match_based_coupling and f.erp_field and f.crm_attribute in (LABEL, VALUE)
    ]
    if not chosen:
        return [IntegrationFieldMapping(erp_field=_label_field(ctx), crm_attribute=LABEL)]
    return sorted(chosen, key=lambda f: (f.match_priority, f.position, f.pk or 0))


def _same(left: str, right: str, *, case_sensitive: bool) -> bool:
    left, right = left.strip(), right.strip()
    return left == right if case_sensitive else left.casefold() == right.casefold()


def _label_case_sensitive(ctx: RunContext) -> bool:
    return any(f.case_sensitive_matching for f in _match_fields(ctx) if f.crm_attribute == LABEL)


def _option_matches(field_mapping: IntegrationFieldMapping, record: models.Model, value: int, label: str) -> bool:
    erp_value = erp_path_value(record, field_mapping.erp_field)
    if erp_value is None or str(erp_value).strip() == "":
        return False
    if field_mapping.crm_attribute == VALUE:
        return str(erp_value).strip() == str(value)
    return _same(str(erp_value), label, case_sensitive=field_mapping.case_sensitive_matching)


def _matching_option(run: OptionRun, record: models.Model) -> int | None:
    """The first uncoupled option matching the record, by the match fields in their priority order."""
    free = [(value, label) for value, label in run.options.items() if value not in run.taken]
    for field_mapping in _match_fields(run.ctx):
        for value, label in free:
            if _option_matches(field_mapping, record, value, label):
                return value
    return None


def _matching_record(run: OptionRun, value: int, label: str) -> SyncedModel | None:
    coupled = set(run.couplings)
    free = [record for system_id, record in run.records.items() if system_id not in coupled]
    for field_mapping in _match_fields(run.ctx):
        for record in free:
            if _option_matches(field_mapping, record, value, label):
                return record
    return None


# --- Failures --------------------------------------------------------------------------------------------------


def _fail_record(run: OptionRun, record: models.Model, message: str, details: str = "") -> None:
    outcomes.record_failure(run.ctx, message=message, details=details, record=record)


def _fail_option(run: OptionRun, value: int, label: str, message: str, details: str = "") -> None:
    run.ctx.job_report.record_error(
        mapping=run.mapping,
        message=message,
        details=details,
        erp_model=run.ctx.erp_content_type,
        erp_label=f"option “{label}” ({value}) of {run.where}",
        crm_entity=run.mapping.crm_entity,
    )


# --- One side gone ---------------------------------------------------------------------------------------------


def _erp_records_missing(run: OptionRun) -> None:
    """Couplings whose ERP record was deleted."""
    model = run.ctx.erp_model
    orphans = [c for system_id, c in run.couplings.items() if system_id not in run.records]
    if not orphans:
        return
    # Records outside the mapping's ERP filter still exist: only the deleted ones count here.
    existing = set(
        model._default_manager.filter(system_id__in=[c.erp_system_id for c in orphans]).values_list(
            "system_id", flat=True
        )
    )
    policy = run.mapping.deletion_policy
    for coupling in orphans:
        if coupling.erp_system_id in existing:
            run.couplings.pop(coupling.erp_system_id)  # filtered out, not deleted: left alone
            continue
        value, label = coupling.option_value, run.options.get(coupling.option_value)
        if label is None:
            run.decouple(coupling)  # both sides gone
        elif policy == Policy.PROPAGATE:
            _delete_option(run, coupling)
        elif policy == Policy.RESTORE:
            record = _create_erp_record(run, value, label, coupling=coupling)
            if record is not None:
                run.records[record.system_id] = record
                run.handled.add(record.system_id)
        else:
            # The option may be used by CRM rows: it stays, only the coupling goes.
            run.decouple(coupling)


def _delete_option(run: OptionRun, coupling: OptionCoupling) -> None:
    mapping, value = run.mapping, coupling.option_value
    label = run.options[value]
    try:
        used = list(
            run.ctx.client.query(
                mapping.crm_entity_set,
                select=[mapping.crm_option_attribute],
                filter=dataverse.F.eq(mapping.crm_option_attribute, value),
                top=1,
            )
        )
        if used:
            run.decouple(coupling)
            run.ctx.warn(
                f"The option “{label}” ({value}) of {run.where} was kept: its ERP record was deleted, "
                f"but Dynamics 365 {mapping.crm_entity_set} still use it."
            )
            return
        run.ctx.client.delete_option_value(mapping.crm_entity, mapping.crm_option_attribute, value)
    except dataverse.DataverseError as error:
        _fail_option(run, value, label, f"The option “{label}” could not be deleted in Dynamics 365.", str(error))
        return
    run.options.pop(value, None)
    run.decouple(coupling, count=False)
    run.ctx.count("deleted")


def _options_missing(run: OptionRun, *, to_side: bool) -> None:
    """Couplings whose option was deleted in the CRM (their ERP record still exists)."""
    policy = run.mapping.deletion_policy
    for coupling in [c for c in run.couplings.values() if c.option_value not in run.options]:
        record = run.records.get(coupling.erp_system_id)
        if record is None:
            continue  # its ERP record is gone too, and could not be dealt with (already reported)
        value = coupling.option_value
        if policy == Policy.RESTORE:
            label = (not to_side and coupling.option_label) or _erp_label(run.ctx, record)
            try:
                run.ctx.client.insert_option_value(
                    run.mapping.crm_entity, run.mapping.crm_option_attribute, label, value=value
                )
            except dataverse.DataverseError as error:
                message = f"The deleted option {value} of {run.where} could not be restored."
                _fail_record(run, record, message, str(error))
                continue
            run.options[value] = label
            _save_label(coupling, label)
            run.handled.add(record.system_id)
            run.ctx.count("inserted")
        elif policy == Policy.PROPAGATE:
            try:
                with transaction.atomic():
                    erp_services.record_delete(instance=record)
                    coupling_services.option_coupling_remove(coupling=coupling)
            except ValidationError as error:
                _fail_record(run, record, validation_message(error))
                continue
            run.couplings.pop(coupling.erp_system_id)
            run.records.pop(coupling.erp_system_id)
            run.ctx.count("deleted")
        elif policy == Policy.REPORT:
            run.couplings.pop(coupling.erp_system_id)
            run.records.pop(coupling.erp_system_id)
            _fail_record(
                run,
                record,
                f"The option {value} of {run.where} coupled to {describe_record(record)} was deleted in Dynamics 365.",
                "The deletion policy is report only: remove the coupling, or choose another policy.",
            )
        else:
            run.decouple(coupling)


def _save_label(coupling: OptionCoupling, label: str) -> None:
    coupling_services.option_coupling_synchronized(coupling=coupling, label=label)


# --- To Dynamics 365 -------------------------------------------------------------------------------------------


def _to_crm(run: OptionRun) -> None:
    ctx, mapping = run.ctx, run.mapping
    case_sensitive = _label_case_sensitive(ctx)
    for record in list(run.records.values()):
        if record.system_id in run.handled:
            continue
        label = _erp_label(ctx, record)
        if not label:
            _fail_record(
                run,
                record,
                f"{describe_record(record, capitalize=True)} has no {_label_field(ctx)} to label its option with.",
            )
            continue
        coupling = run.couplings.get(record.system_id)
        if coupling is not None:
            current = run.options.get(coupling.option_value)
            if current is None:
                continue  # its option is gone and could not be restored (already reported)
            if _same(current, label, case_sensitive=case_sensitive):
                if coupling.option_label != current:
                    _save_label(coupling, current)
                ctx.count("unchanged")
                continue
            try:
                ctx.client.update_option_value(
                    mapping.crm_entity, mapping.crm_option_attribute, coupling.option_value, label
                )
            except dataverse.DataverseError as error:
                message = f"The option label of {describe_record(record, capitalize=True)} could not be updated."
                _fail_record(run, record, message, str(error))
                continue
            run.options[coupling.option_value] = label
            _save_label(coupling, label)
            ctx.count("modified")
            continue
        value = _matching_option(run, record)
        if value is not None:
            run.couple(record, value, run.options[value])
            continue
        if not mapping.create_new_if_no_match:
            _fail_record(
                run,
                record,
                f"No option of {run.where} matches {describe_record(record, capitalize=True)}.",
                f"Add an option labelled “{label}” in Dynamics 365, or set “create new in case of no match” "
                f"on the {mapping.name} mapping.",
            )
            continue
        try:
            value = ctx.client.insert_option_value(mapping.crm_entity, mapping.crm_option_attribute, label)
        except dataverse.DataverseError as error:
            _fail_record(
                run,
                record,
                f"No option could be added to {run.where} for {describe_record(record, capitalize=True)}.",
                str(error),
            )
            continue
        run.options[value] = label
        ctx.count("inserted")
        run.couple(record, value, label)


# --- From Dynamics 365 -----------------------------------------------------------------------------------------


def _from_crm(run: OptionRun) -> None:
    ctx = run.ctx
    by_value = {c.option_value: c for c in run.couplings.values()}
    for value, label in sorted(run.options.items()):
        coupling = by_value.get(value)
        if coupling is not None:
            record = run.records.get(coupling.erp_system_id)
            if record is None or record.system_id in run.handled:
                continue  # outside the ERP filter, or restored by the deletion pass
            # The CRM is the master here: a label changed since the last run renames the ERP record.
            if coupling.option_label == label:
                ctx.count("unchanged")
            else:
                outcome = _relabel_erp_record(run, record, value, label)
                if outcome is not None:
                    _save_label(coupling, label)
                    ctx.count(outcome)
            continue
        if value in run.taken:
            continue  # coupled to a record of another ERP table
        if not label.strip():
            _fail_option(run, value, label, f"The option {value} of {run.where} has no label to make a code of.")
            continue
        record = _matching_record(run, value, label)
        if record is not None:
            run.couple(record, value, label)
        elif run.mapping.create_new_if_no_match:
            record = _create_erp_record(run, value, label)
            if record is not None:
                run.records[record.system_id] = record
        else:
            _fail_option(
                run,
                value,
                label,
                f"No {ctx.erp_model._meta.verbose_name} matches the option “{label}” of {run.where}.",
                f"Create it in the ERP, or set “create new in case of no match” on the {run.mapping.name} mapping.",
            )


def _max_length(model: type[models.Model], name: str) -> int | None:
    model_field = model._meta.get_field(name)
    return model_field.max_length if isinstance(model_field, models.Field) else None


def _fit(model: type[models.Model], name: str, text: str) -> str:
    """The text as the ERP field takes it: a code in upper case, cut to the field's length."""
    model_field = model._meta.get_field(name)
    text = text.strip()
    if isinstance(model_field, CodeField):
        text = text.upper()
    max_length = _max_length(model, name)
    if max_length:
        text = text[:max_length].strip()
    return text


def _code_table(ctx: RunContext) -> type[CodeTable]:
    """The ERP table of an option mapping: a code table, whose records are made from an option's label."""
    if not issubclass(ctx.erp_model, CodeTable):
        raise ImproperlyConfigured(f"The option mapping {ctx.mapping.name} is not on a code table of the ERP.")
    return ctx.erp_model


def _fill_from_label(record: CodeTable, label_field: str, label: str) -> None:
    model = type(record)
    record.code = _fit(model, "code", label)
    if "__" not in label_field and label_field != "code":
        setattr(record, label_field, _fit(model, label_field, label))
    if hasattr(record, "description") and not record.description:
        record.description = _fit(model, "description", label)


def _create_erp_record(
    run: OptionRun, value: int, label: str, *, coupling: OptionCoupling | None = None
) -> CodeTable | None:
    """A new ERP code made from the option's label, coupled to it (re-coupled, when restoring)."""
    ctx = run.ctx
    record = _code_table(ctx)()
    _fill_from_label(record, _label_field(ctx), label)
    replaced = coupling.erp_system_id if coupling is not None else None
    try:
        with transaction.atomic():
            erp_services.record_save(instance=record)
            if coupling is not None:
                coupling_services.option_coupling_synchronized(coupling=coupling, label=label, record=record)
    except ValidationError as error:
        _fail_option(
            run,
            value,
            label,
            f"The ERP refused the {ctx.erp_model._meta.verbose_name} made from the option “{label}”: "
            f"{validation_message(error)}",
            f"Codes are upper case, at most {_max_length(type(record), 'code')} characters. "
            "Rename the option in Dynamics 365, or create the code in the ERP and couple them.",
        )
        return None
    ctx.count("inserted")
    if coupling is None:
        run.couple(record, value, label)
    else:
        run.couplings.pop(replaced, None)
        run.couplings[record.system_id] = coupling
    return record


def _relabel_erp_record(run: OptionRun, record: models.Model, value: int, label: str) -> str | None:
    """Give the ERP record the option's new label: "modified", "unchanged" (it has it), None (refused)."""
    label_field = _label_field(run.ctx)
    if "__" in label_field:
        return "unchanged"  # a value reached through a reference belongs to the referenced record
    fitted = _fit(type(record), label_field, label)
    if getattr(record, label_field) == fitted:
        return "unchanged"
    setattr(record, label_field, fitted)
    try:
        with transaction.atomic():
            erp_services.record_save(instance=record)
    except ValidationError as error:
        record.refresh_from_db()
        _fail_record(
            run,
            record,
            f"The ERP refused the label “{label}” of option {value} of {run.where} for "
            f"{describe_record(record, capitalize=True)}: {validation_message(error)}",
        )
        return None
    return "modified"

"""The step both directions share: one coupled record merged with its CRM row (merge.py decides per field),
ERP-side changes saved through the ERP's own rules, CRM-side ones returned as a write for the caller's batch.

ERP → CRM (to_crm) and CRM → ERP (from_crm) both end here for a coupled pair, so reading either direction
means reading this module, not the other direction's."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.urls import reverse

from coupling.models import Coupling
from erp import services as erp_services
from erp.models import SyncedModel
from syncjobs.engine import outcomes, values
from syncjobs.engine.context import RunContext
from syncjobs.engine.describe import field_label
from syncjobs.engine.merge import conflict_message, merge
from syncjobs.engine.values import Lookups, RecordFailure
from syncjobs.engine.writes import PendingWrite
from syncjobs.mappings.rules import erp_field_words


def directions(ctx: RunContext) -> dict[str, str]:
    return {f.name: f.direction for f in ctx.fields if not (f.constant_value and f.direction == "from_crm")}


def erp_save(record: models.Model) -> None:
    """Write CRM values into the ERP through its own rules (full_clean); ValidationError is the record's failure."""
    with transaction.atomic():
        erp_services.record_save(instance=record)


def validation_message(error: ValidationError, model: type[models.Model] | None = None) -> str:
    """The ERP's refusal in its own words; with ``model``, each field named as the record's page names it."""
    if hasattr(error, "message_dict"):
        return " ".join(
            f"{erp_field_words(model, name) if name != NON_FIELD_ERRORS else 'Record'}: {' '.join(messages)}"
            for name, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def erp_refusal_message(ctx: RunContext, error: ValidationError, cut: dict[str, values.Shortened]) -> str:
    """The ERP's refusal of values from Dynamics 365. A value it refuses after shortening it to fit (an e-mail
    address longer than the ERP's field is no longer one) says so: the full value is to be corrected in Dynamics
    365, not in the ERP, which would only hold the shortened copy."""
    message = f"The ERP refused the values from Dynamics 365: {validation_message(error, ctx.erp_model)}"
    refused = set(getattr(error, "message_dict", {}))
    erp_fields = {f.name: f.erp_field for f in ctx.fields}
    for shortened in cut.values():
        if erp_fields.get(shortened.name) in refused:
            message += (
                f" The {shortened.field_label} from Dynamics 365 has {shortened.full_length} characters, more than the "
                f"ERP's {shortened.max_length}: correct it in Dynamics 365."
            )
    return message


def erp_side_of(
    ctx: RunContext, lookups: Lookups, record: SyncedModel, coupling: Coupling | None
) -> dict[str, Any] | None:
    """The record's mapped ERP values; None when one cannot be computed (a lookup whose record is not coupled,
    say): then its failure is recorded, naming the parent to couple first."""
    try:
        return values.erp_values(ctx, lookups, record)
    except RecordFailure as failure:
        outcomes.record_failure_of(ctx, failure, record=record, coupling=coupling)
        return None


def _labels(ctx: RunContext, names: list[str]) -> list[str]:
    """Field mappings' names as the record's page names the fields ("City", not address1_city)."""
    by_name = {f.name: f for f in ctx.fields}
    return [field_label(ctx.erp_model, by_name[name]) if name in by_name else name for name in names]


def merge_record(
    ctx: RunContext,
    lookups: Lookups,
    field_directions: dict[str, str],
    record: SyncedModel,
    coupling: Coupling,
    erp_side: dict[str, Any],
    row: dict[str, Any] | None,
) -> PendingWrite | None:
    """Merge one coupled record; ERP-side changes are saved here, CRM-side ones returned as a write."""
    crm_side = values.crm_values(ctx, row) if row is not None else None
    if row is not None:
        erp_side = {**values.erp_values_for_merge(ctx, lookups, record), **erp_side}
    base = coupling.snapshot or {}
    result = merge(
        directions=field_directions,
        base=base,
        erp=values.erp_side_as_synchronized(erp_side, base, coupling.shortened or {}),
        crm=crm_side,
        policy=ctx.mapping.update_conflict_policy,
    )
    if result.conflicts:
        outcomes.record_failure(
            ctx,
            message=conflict_message(
                mapping=ctx.mapping, record_label=str(record), field_labels=_labels(ctx, result.conflicts)
            ),
            record=record,
            coupling=coupling,
            # The record's conflict page: each side's value, and which one to use per field.
            fix_url=reverse("syncjobs:record_conflict", args=[ctx.mapping.pk, record.system_id]),
            fix_label="Resolve the conflict",
        )
        return None
    if result.unchanged:
        ctx.count("unchanged")
        return PendingWrite(record=record, coupling=coupling, body={}, snapshot=result.merged, create=False)
    cut: dict[str, values.Shortened] = {}
    if result.to_erp:
        try:
            if row is not None:
                lookups.prime_for_rows([row])
            cut = values.apply_to_erp(ctx, lookups, record, crm_side or {}, result.to_erp)
            erp_save(record)
        except RecordFailure as failure:
            outcomes.record_failure_of(ctx, failure, record=record, coupling=coupling)
            record.refresh_from_db()
            return None
        except ValidationError as error:
            outcomes.record_failure(ctx, message=erp_refusal_message(ctx, error, cut), record=record, coupling=coupling)
            record.refresh_from_db()
            return None
        if not result.to_crm:
            ctx.count("modified")
    outcomes.keep_shortened(
        ctx,
        coupling=coupling,
        record=record,
        cut=cut,
        held=lambda: values.erp_values_for_merge(ctx, lookups, record),
        written=result.to_crm | result.to_erp,
    )
    body = values.crm_payload(ctx, result.merged, result.to_crm) if result.to_crm else {}
    return PendingWrite(record=record, coupling=coupling, body=body, snapshot=result.merged, create=False)

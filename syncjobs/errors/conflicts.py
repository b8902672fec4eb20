"""One record's update conflict, field by field, and its resolution (issue 13 §2).

An update conflict (the mapping's policy *Leave both and report*) is a field changed in the ERP and in
Dynamics 365 since the last synchronization, to different values. ``record_conflict`` computes, now and with
the engine's own value functions, what each side holds and what was last synchronized (the coupling's
snapshot, the merge's common base). ``record_conflict_resolve`` makes the chosen side win per field by
setting that field's base to the *other* side's value: the three-way merge then sees a change on the chosen
side only and carries it over through its ordinary write paths (the ERP's rules, Dynamics 365's bulk
writes) in a job for this record alone. A run that gets there first applies the same choice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.text import capfirst

from coupling import selectors as coupling_selectors
from coupling import services as coupling_services
from coupling.models import Coupling
from syncjobs.engine import to_crm, values
from syncjobs.engine.context import RunContext, crm_noun
from syncjobs.engine.describe import field_label, value_text
from syncjobs.engine.merge import merge
from syncjobs.engine.records import directions
from syncjobs.engine.run import reading_context
from syncjobs.engine.values import Lookups, RecordFailure
from syncjobs.models import IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs

USE_ERP, USE_CRM = "erp", "crm"
CHOICES = (USE_ERP, USE_CRM)


@dataclass
class FieldValues:
    """One field as both systems hold it now and as it was last synchronized (canonical values, and in words)."""

    name: str  # the field mapping's
    label: str  # the ERP field as its page names it
    erp_value: Any
    crm_value: Any
    base_value: Any
    erp_text: str = ""
    crm_text: str = ""
    base_text: str = ""
    conflict: bool = False
    # Not a conflict: where the merge carries the field ("to_crm", "to_erp"), or "" when nothing changes.
    flows: str = ""


@dataclass
class RecordConflict:
    mapping: IntegrationTableMapping
    record: models.Model
    coupling: Coupling
    crm_noun: str
    fields: list[FieldValues] = field(default_factory=list)

    @property
    def conflicts(self) -> list[FieldValues]:
        return [f for f in self.fields if f.conflict]

    @property
    def changes(self) -> list[FieldValues]:
        """The fields changed on one side only: the merge carries them over as usual."""
        return [f for f in self.fields if not f.conflict and f.flows]

    @property
    def token(self) -> str:
        """Equal while the conflicting values stay what the page showed (a choice is about those values)."""
        seen = [[f.name, f.erp_value, f.crm_value, f.base_value] for f in self.conflicts]
        return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()[:32]


def coupled_record_or_error(*, mapping: IntegrationTableMapping, record: models.Model) -> Coupling:
    coupling = coupling_selectors.coupling_for_record(record=record)
    if coupling is None or coupling.state != Coupling.State.COUPLED:
        raise ValidationError(f"{capfirst(str(record._meta.verbose_name))} {record} is not coupled with Dynamics 365.")
    return coupling


def _record_conflict(ctx: RunContext, record: models.Model, coupling: Coupling) -> RecordConflict:
    """What the engine's merge of the record (records.merge_record) sees now, field by field."""
    row = to_crm.fetch_crm_rows(ctx, [coupling.crm_id]).get(coupling.crm_id)
    noun = crm_noun(ctx.mapping.crm_entity)
    if row is None:
        raise ValidationError(f"The {noun} of {record} no longer exists: there is nothing to compare with.")
    lookups = Lookups(ctx)
    lookups.prime_for_records([record])
    try:
        erp_side = values.erp_values_for_merge(ctx, lookups, record)
    except RecordFailure as failure:
        raise ValidationError(f"The ERP values cannot be read: {failure.message}") from None
    base = coupling.snapshot or {}
    erp = values.erp_side_as_synchronized(erp_side, base, coupling.shortened or {})
    crm = values.crm_values(ctx, row)
    field_directions = directions(ctx)
    result = merge(
        directions=field_directions,
        base=base,
        erp=erp,
        crm=crm,
        policy=IntegrationTableMapping.UpdateConflictPolicy.REPORT,
    )
    found = RecordConflict(mapping=ctx.mapping, record=record, coupling=coupling, crm_noun=noun)
    for field_mapping in ctx.fields:
        name = field_mapping.name
        if name not in field_directions or not field_mapping.erp_field:
            continue
        conflict = name in result.conflicts
        flows = "to_crm" if name in result.to_crm else "to_erp" if name in result.to_erp else ""
        if not conflict and not flows:
            continue
        item = FieldValues(
            name=name,
            label=field_label(ctx.erp_model, field_mapping),
            erp_value=erp.get(name),
            crm_value=crm.get(name),
            base_value=base.get(name),
            conflict=conflict,
            flows=flows,
        )
        item.erp_text = value_text(ctx, lookups, field_mapping, item.erp_value)
        item.crm_text = value_text(ctx, lookups, field_mapping, item.crm_value)
        item.base_text = value_text(ctx, lookups, field_mapping, item.base_value)
        found.fields.append(item)
    return found


def record_conflict(*, client, mapping: IntegrationTableMapping, record: models.Model) -> RecordConflict:
    """The record's conflicting fields now (and the fields changed on one side only); ValidationError when the
    record is not coupled or its row is gone. ``client``: a dataverse.Client, whose errors propagate."""
    coupling = coupled_record_or_error(mapping=mapping, record=record)
    return _record_conflict(reading_context(client=client, mapping=mapping), record, coupling)


def record_conflict_resolve(
    *,
    client,
    mapping: IntegrationTableMapping,
    record: models.Model,
    choices: dict[str, str],
    token: str,
    user=None,
) -> SyncJob:
    """Make the chosen side win for each conflicting field (``choices``: field mapping name → "erp" / "crm"),
    then synchronize the record alone. ``token``: the page's (RecordConflict.token); ValidationError when the
    values changed since, or a conflicting field has no choice."""
    conflict = record_conflict(client=client, mapping=mapping, record=record)
    if conflict.conflicts and token != conflict.token:
        raise ValidationError("The values changed since the page was shown: look at them again and choose.")
    missing = [f.label for f in conflict.conflicts if choices.get(f.name) not in CHOICES]
    if missing:
        raise ValidationError(f"Choose which value to use for {', '.join(missing)}.")
    with transaction.atomic():
        coupling = Coupling.objects.select_for_update().get(pk=conflict.coupling.pk)
        snapshot = dict(coupling.snapshot or {})
        for item in conflict.conflicts:
            # The base takes the other side's value: only the chosen side has changed, and the merge sends it.
            snapshot[item.name] = item.crm_value if choices[item.name] == USE_ERP else item.erp_value
        if conflict.conflicts:
            coupling_services.coupling_snapshot_save(coupling=coupling, snapshot=snapshot)
        return jobs.job_create(
            mapping=mapping,
            direction=mapping.job_direction,
            parameters={"erp_system_ids": [str(record.system_id)]},
            user=user,
        )


def posted_choices(data) -> dict[str, str]:
    """The choices a form posted: ``use-<field mapping name>`` = "erp" or "crm"."""
    return {key.removeprefix("use-"): value for key, value in data.items() if key.startswith("use-")}

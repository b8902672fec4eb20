"""What a record's synchronization leaves behind: coupling bookkeeping and the job's error and warning rows.

A failure is one SyncJobError row (through the jobs API) and, when the record is coupled, a
failure streak on its coupling: the same failure (fingerprint) twice in a row marks it skipped
(BC's IsSameFailureRepeatedTwice). A success resets the streak and stores the new snapshot.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any

from django.db import models
from django.utils import timezone

from coupling import services as coupling_services
from coupling.models import Coupling
from dataverse import odata
from erp.models import SyncedModel
from syncjobs.engine.context import RunContext
from syncjobs.engine.values import RecordFailure

SUCCESS_FIELDS = [
    "state",
    "snapshot",
    "shortened",
    "erp_modified_at",
    "crm_modified_on",
    "crm_version",
    "last_synced_at",
    "last_result",
    "last_job_id",
    "last_error",
    "last_error_fingerprint",
    "consecutive_failures",
    "skipped",
    "deferred_values",
    "modified_at",
]


def mark_success(
    ctx: RunContext,
    coupling: Coupling,
    *,
    snapshot: dict[str, Any],
    record: SyncedModel | None = None,
    row: dict | None = None,
    crm_written: bool = False,
) -> None:
    """Set the coupling's success state in memory; ``save_successes`` writes a page of them at once.

    ``crm_written``: this job has just created or updated the CRM row. Its modifiedon (whole seconds, as
    Dataverse answers it) is then no later than now, which is kept to the second: a later modifiedon is
    someone else's change ("changed on both sides"). One made within the same second is not told apart."""
    coupling.state = Coupling.State.COUPLED
    coupling.snapshot = snapshot
    if record is not None:
        coupling.erp_modified_at = record.modified_at
    if row is not None:
        coupling.crm_modified_on = odata.parse_datetime(row.get("modifiedon")) or coupling.crm_modified_on
        version = row.get("versionnumber")
        coupling.crm_version = int(version) if version is not None else coupling.crm_version
    if crm_written:
        coupling.crm_modified_on = timezone.now().replace(microsecond=0)
    coupling.last_synced_at = timezone.now()
    coupling.last_result = Coupling.Result.SUCCESS
    coupling.last_job_id = ctx.job.pk
    coupling.last_error = ""
    coupling.last_error_fingerprint = ""
    coupling.consecutive_failures = 0
    coupling.skipped = False
    # A lookup left out (its record not coupled yet) is absent from the snapshot: the coupling is
    # looked at again by incremental runs until the value has gone out.
    coupling.deferred_values = any(f.name not in snapshot for f in ctx.deferrable_fields)
    coupling.modified_at = coupling.last_synced_at


def keep_shortened(
    ctx: RunContext,
    *,
    coupling: Coupling,
    record: models.Model,
    cut: dict,
    held: Callable[[], dict[str, Any]],
    written: AbstractSet[str] = frozenset(),
) -> None:
    """After CRM values went into ``record``: the coupling forgets the fields written whole either way
    (``written``) and remembers, for each value shortened to fit (``cut``: values.Shortened by field
    mapping name), the copy the ERP now holds (``held()``: the ERP side's canonical values, asked only
    when something was cut), so that the copy never goes back; a warning row names each."""
    kept = {name: value for name, value in (coupling.shortened or {}).items() if name not in written}
    if cut:
        erp_side = held()
        kept.update({name: erp_side.get(name) for name in cut})
        _warn_shortened(ctx, record=record, cut=cut, crm_id=coupling.crm_id)
    coupling.shortened = kept


def _warn_shortened(ctx: RunContext, *, record: models.Model, cut: dict, crm_id) -> None:
    """A warning row per value shortened to fit the ERP, naming the record and the field."""
    for value in cut.values():
        message = value.message(record)
        ctx.warn(message)
        ctx.job_report.record_warning(
            record=record,
            field=value.field_label,
            message=message,
            mapping=ctx.mapping,
            crm_entity=ctx.mapping.crm_entity,
            crm_id=crm_id,
        )


def save_successes(couplings: list[Coupling]) -> None:
    coupling_services.couplings_update_fields(couplings=couplings, fields=SUCCESS_FIELDS)


def record_failure_of(
    ctx: RunContext,
    failure: RecordFailure,
    *,
    record: models.Model | None = None,
    coupling: Coupling | None = None,
    crm_id: uuid.UUID | None = None,
) -> None:
    """The error row of a RecordFailure: its message, details, the parent to couple or its own fix link."""
    record_failure(
        ctx,
        message=failure.message,
        details=failure.details,
        record=record,
        coupling=coupling,
        crm_id=crm_id,
        fix_url=failure.fix_url,
        fix_label=failure.fix_label,
        parent=failure.parent,
    )


def record_failure(
    ctx: RunContext,
    *,
    message: str,
    details: str = "",
    record: models.Model | None = None,
    coupling: Coupling | None = None,
    crm_id=None,
    erp_label: str = "",
    fix_url: str = "",
    fix_label: str = "",
    parent: models.Model | None = None,
) -> None:
    """One error row for the job (through its report); the coupling's failure streak counts it too.

    ``erp_label`` names a record that is gone (``record`` names itself); ``fix_url``: where the user fixes it.
    ``parent``: the uncoupled record the failure waits for (RecordFailure.parent): the row links to its couple page."""
    ctx.job_report.record_error(
        mapping=ctx.mapping,
        message=message,
        details=details,
        record=record,
        erp_label=erp_label,
        erp_model=ctx.erp_content_type,
        erp_system_id=coupling.erp_system_id if coupling is not None else None,
        crm_entity=ctx.mapping.crm_entity,
        crm_id=crm_id or (coupling.crm_id if coupling is not None else None),
        fix_url=fix_url,
        fix_label=fix_label,
        parent=parent,
    )
    if coupling is None and record is not None:
        ctx.erp_failed_uncoupled(getattr(record, "modified_at", None))

"""The entry point: one synchronization job for one mapping, in the job's direction(s).

ERP → CRM runs first (so that a record changed on both sides is merged once, with both sides'
values at hand), then CRM → ERP, then deleted ERP records. Watermarks move only at the end, to
the job's start time (never past a record that failed before it was coupled), and the CRM delta
link only when the CRM side was read to its end (a mapping that only sends to the CRM reads from it the
rows deleted there, deletions.crm_rows_deleted): a job that stops is rerun from where the
previous one left off, and the snapshots make the repeated records no-ops.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from dataverse.client import label_text
from syncjobs.connection import clients
from syncjobs.engine import deletions, from_crm, options, to_crm
from syncjobs.engine.context import CrmAttribute, RunContext, job_mapping_id
from syncjobs.models import Direction, IntegrationTableMapping, SyncJob
from syncjobs.runs.report import Report

MAX_WARNINGS_IN_MESSAGE = 20
SYSTEM_REQUIRED = "SystemRequired"  # AttributeMetadata.RequiredLevel: the platform refuses a row without it


def crm_entity_metadata(client, logical_name: str) -> tuple[dict[str, CrmAttribute], bool]:
    """The entity's attributes (type, maximum length, required) and whether it allows change tracking."""
    definition = client.retrieve(
        "EntityDefinitions",
        {"LogicalName": logical_name},
        select=["LogicalName", "ChangeTrackingEnabled"],
        expand="Attributes",
    )
    attributes = {
        item["LogicalName"]: CrmAttribute(
            item["LogicalName"],
            item.get("AttributeType", ""),
            item.get("MaxLength"),
            required=(item.get("RequiredLevel") or {}).get("Value") == SYSTEM_REQUIRED,
            label=label_text(item.get("DisplayName")),
        )
        for item in definition.get("Attributes", [])
    }
    return attributes, bool(definition.get("ChangeTrackingEnabled"))


def reading_context(*, client, mapping: IntegrationTableMapping) -> RunContext:
    """The engine's context for reading and deciding only (crm_verify, a record's conflict page): its job is never
    saved, and it has no report to write to."""
    attributes, change_tracking = crm_entity_metadata(client, mapping.crm_entity)
    return RunContext(
        job=SyncJob(mapping=mapping, mapping_name=mapping.name, direction=SyncJob.JobDirection.BOTH),
        mapping=mapping,
        client=client,
        started_at=timezone.now(),
        attributes=attributes,
        change_tracking=change_tracking,
    )


def run_synchronization(*, job: SyncJob, report: Report) -> None:
    mapping = IntegrationTableMapping.objects.select_related("erp_model").get(pk=job_mapping_id(job))
    if mapping.is_option_mapping:
        _run_option_mapping(job, mapping, report)
        return
    started_at = timezone.now()
    client = clients.crm_client()
    with client:
        attributes, change_tracking = crm_entity_metadata(client, mapping.crm_entity)
        ctx = RunContext(
            job=job,
            mapping=mapping,
            client=client,
            started_at=started_at,
            attributes=attributes,
            change_tracking=change_tracking,
            report=report,
        )
        to_side = job.direction in (SyncJob.JobDirection.TO_CRM, SyncJob.JobDirection.BOTH)
        from_side = job.direction in (SyncJob.JobDirection.FROM_CRM, SyncJob.JobDirection.BOTH)
        if to_side and mapping.direction == Direction.FROM_CRM:
            to_side = False
        if from_side and mapping.direction == Direction.TO_CRM:
            from_side = False
        read_state = None
        both = to_side and from_side
        if to_side:
            ctx.side = "to_crm" if both else None
            to_crm.sync_to_crm(ctx)
        if from_side:
            ctx.flush()  # what the ERP → CRM pass counted goes under its own direction
            ctx.side = "from_crm" if both else None
            read_state = from_crm.sync_from_crm(ctx)
        if to_side and not ctx.explicit:
            ctx.side = "to_crm" if both else None
            deletions.erp_records_missing(ctx)
        deletions_link = None
        if job.full and not ctx.explicit:
            ctx.side = "from_crm" if both else None
            deletions_link = deletions.crm_rows_missing(ctx)
        elif to_side and mapping.direction == Direction.TO_CRM and not ctx.explicit:
            # No from-CRM pass reads the change feed of a mapping that only sends: its deletions are read here.
            deletions_link = deletions.crm_rows_deleted(ctx)
        ctx.flush()
        if not ctx.explicit:
            _advance_watermarks(ctx, to_side=to_side, read_state=read_state, deletions_link=deletions_link)
        if both and ctx.created_erp_ids:
            # What only the ERP holds of the records just created from Dynamics 365 goes there now.
            ctx.side, ctx.follow_up_erp_ids = "to_crm", ctx.created_erp_ids
            to_crm.sync_to_crm(ctx)
            ctx.follow_up_erp_ids = None
            ctx.flush()
        if ctx.warnings:
            _keep_warnings(report, ctx.warnings)


def _run_option_mapping(job: SyncJob, mapping: IntegrationTableMapping, report: Report) -> None:
    """ERP codes ↔ the options of a CRM choice column (options.py): no rows, no watermarks, one direction."""
    client = clients.crm_client()
    with client:
        ctx = RunContext(
            job=job,
            mapping=mapping,
            client=client,
            started_at=timezone.now(),
            attributes={},
            change_tracking=False,
            report=report,
        )
        both = SyncJob.JobDirection.BOTH
        to_side = job.direction in (SyncJob.JobDirection.TO_CRM, both) and mapping.direction == Direction.TO_CRM
        from_side = job.direction in (SyncJob.JobDirection.FROM_CRM, both) and mapping.direction == Direction.FROM_CRM
        options.sync_options(ctx, to_side=to_side, from_side=from_side)
        if ctx.warnings:
            _keep_warnings(report, ctx.warnings)


def _advance_watermarks(ctx: RunContext, *, to_side: bool, read_state, deletions_link: str | None = None) -> None:
    mapping = ctx.mapping
    changed = []
    if to_side:
        watermark = ctx.started_at
        if ctx.erp_retry_from is not None:
            watermark = min(watermark, ctx.erp_retry_from - datetime.timedelta(microseconds=1))
        mapping.erp_watermark = watermark
        changed.append("erp_watermark")
    if read_state is not None and not ctx.crm_uncoupled_failures:
        mapping.crm_watermark = ctx.started_at
        changed.append("crm_watermark")
        if read_state.delta_link:
            mapping.crm_delta_link = read_state.delta_link
            changed.append("crm_delta_link")
    if deletions_link:  # a mapping that only sends: its change feed serves for the rows deleted in the CRM
        mapping.crm_delta_link = deletions_link
        changed.append("crm_delta_link")
    if changed:
        IntegrationTableMapping.objects.filter(pk=mapping.pk).update(
            **{name: getattr(mapping, name) for name in changed}
        )


def _keep_warnings(report: Report, warnings: list[str]) -> None:
    shown = warnings[:MAX_WARNINGS_IN_MESSAGE]
    more = len(warnings) - len(shown)
    text = "Warnings: " + " ".join(shown) + (f" …and {more} more." if more else "")
    report.note(text)

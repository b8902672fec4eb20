"""What one synchronization run knows: the job, its mapping and fields, the CRM client and metadata, counters.

Counters are gathered per page and handed to the job's ``report`` (runs.report.Report) after each page, so
that the job's row shows progress while it runs and a crash loses at most one page of counts. The engine
writes nothing of the job lifecycle itself: a context without a report (crm_verify's, the conflict page's, the
preview's) reads and decides only.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import models

import dataverse
from coupling.models import Coupling
from erp.models import SyncedModel
from syncjobs.connection.clients import CrmClient
from syncjobs.models import Direction, IntegrationFieldMapping, IntegrationTableMapping, SyncJob
from syncjobs.runs.report import JobCannotRun, Report

if TYPE_CHECKING:
    from syncjobs.engine.templates import TemplateChoice

# How far back an incremental run looks before the watermark: covers clocks and commits that
# straddle the previous job's start. Records seen twice are unchanged the second time (snapshot).
WATERMARK_OVERLAP = datetime.timedelta(seconds=2)
# Records per write page (UpsertMultiple / UpdateMultiple; a replay $batch stays under 1000 operations).
WRITE_PAGE_SIZE = 500
# Ids per read by id (Microsoft.Dynamics.CRM.In keeps the URL far below Dataverse's 32 KB limit).
READ_IDS_PER_QUERY = 200
READ_PAGE_SIZE = 500
# Dataverse's answer to a delta link it no longer keeps: read everything again and start a new one.
EXPIRED_TOKEN_CODE = "0x80044352"

CRM_ENTITY_NOUNS = {
    "systemuser": "user",
    "transactioncurrency": "currency",
    "uomschedule": "unit group",
    "uom": "unit",
    "account": "account",
    "contact": "contact",
    "product": "product",
    "pricelevel": "price list",
    "productpricelevel": "price list item",
    "opportunity": "opportunity",
    "salesorder": "order",
}


def crm_noun(logical_name: str) -> str:
    return f"Dynamics 365 {CRM_ENTITY_NOUNS.get(logical_name, logical_name)}"


def mapping_model(mapping: IntegrationTableMapping) -> type[SyncedModel]:
    """The ERP table a mapping synchronizes: one of the ERP's synchronized tables (a ``system_id`` its couplings
    hold, a ``modified_at`` its changes are read by). ContentType.model_class() is None only for a table whose
    model is gone (its app removed): such a mapping cannot run."""
    model = mapping.erp_model.model_class()
    if model is None or not issubclass(model, SyncedModel):
        raise ImproperlyConfigured(
            f"The ERP table {mapping.erp_model} of the mapping {mapping.name} is not synchronized."
        )
    return model


def job_mapping_id(job: SyncJob) -> int:
    """The mapping a job of a mapping runs; the runner refuses one whose mapping is gone (runs.jobs.job_run), as
    this does."""
    if job.mapping_id is None:
        raise JobCannotRun(f"The mapping {job.mapping_name} no longer exists.")
    return job.mapping_id


def job_mapping(job: SyncJob) -> IntegrationTableMapping:
    """The mapping of ``job`` (see job_mapping_id)."""
    if job.mapping is None:
        raise JobCannotRun(f"The mapping {job.mapping_name} no longer exists.")
    return job.mapping


def lookup_mapping_of(field_mapping: IntegrationFieldMapping) -> IntegrationTableMapping:
    """The mapping whose couplings translate a lookup field's record: every lookup has one (the mapping pages
    refuse a lookup without it, syncjobs.mappings.services)."""
    if field_mapping.lookup_mapping is None:
        raise ImproperlyConfigured(f"The lookup field mapping {field_mapping.name} names no lookup mapping.")
    return field_mapping.lookup_mapping


@dataclass(frozen=True)
class CrmAttribute:
    name: str
    type: str
    max_length: int | None = None
    # RequiredLevel SystemRequired: Dynamics 365 refuses a new row without it.
    required: bool = False
    # The name Dynamics 365 shows for it (its DisplayName): error rows name the attribute by it.
    label: str = ""


@dataclass
class RunContext:
    job: SyncJob
    mapping: IntegrationTableMapping
    client: dataverse.Client
    started_at: datetime.datetime
    attributes: dict[str, CrmAttribute]
    change_tracking: bool
    report: Report | None = None
    counters: Counter[str] = field(default_factory=Counter)
    # The pass being run ("to_crm" / "from_crm") of a job both ways, and what it counted (SyncJob.counts_by_direction).
    side: str | None = None
    side_counters: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    warnings: list[str] = field(default_factory=list)
    done: int = 0
    requests_reported: int = 0
    # Records that failed before they were coupled: the watermarks must not move past them.
    erp_retry_from: datetime.datetime | None = None
    crm_uncoupled_failures: int = 0
    # Couplings whose deleted side was met in this job (policy applied or reported): met again, e.g. by
    # the other pass or the delta feed, they are not handled (or reported) twice.
    deletions_handled: set[uuid.UUID] = field(default_factory=set)
    # ERP records this job created from Dynamics 365 rows: a job both ways sends their ERP-only values
    # (a credit limit the account never had) before it ends, not one run later.
    created_erp_ids: list[str] = field(default_factory=list)
    warned_records: set[tuple[uuid.UUID, str]] = field(default_factory=set)
    # A pass over chosen records inside a job that is not (the follow-up above).
    follow_up_erp_ids: list[str] | None = None
    # A dry run only (engine.preview): the couplings the mappings previewed before this one would make, as lookup
    # mapping pk → ERP system id → CRM id, which its lookups take as made (a full synchronization couples the
    # customers before the contacts that refer to them).
    planned_couplings: dict[int, dict[uuid.UUID, uuid.UUID]] = field(default_factory=dict)
    # Which template each ERP record created from a row takes (engine.templates.choice_for), made once per run.
    template_choice: TemplateChoice | None = None

    @cached_property
    def erp_model(self) -> type[SyncedModel]:
        return mapping_model(self.mapping)

    @cached_property
    def erp_content_type(self) -> ContentType:
        return ContentType.objects.get_for_model(self.erp_model)

    @cached_property
    def fields(self) -> list[IntegrationFieldMapping]:
        return list(self.mapping.field_mappings.filter(is_enabled=True).select_related("lookup_mapping__erp_model"))

    @cached_property
    def to_crm_fields(self) -> list[IntegrationFieldMapping]:
        return [
            f for f in self.fields if f.direction in (Direction.TO_CRM, Direction.BIDIRECTIONAL) and f.crm_attribute
        ]

    @cached_property
    def deferrable_fields(self) -> list[IntegrationFieldMapping]:
        """Lookups left out while their record is not coupled (Clear Value on Failed Sync)."""
        return [f for f in self.to_crm_fields if f.clear_value_on_failed_sync and not f.constant_value]

    @cached_property
    def from_crm_fields(self) -> list[IntegrationFieldMapping]:
        return [f for f in self.fields if f.direction in (Direction.FROM_CRM, Direction.BIDIRECTIONAL) and f.erp_field]

    def attribute_label(self, name: str) -> str:
        """The attribute as Dynamics 365 names it ("Owner" for ownerid), else its logical name."""
        attribute = self.attributes.get(name)
        return attribute.label if attribute is not None and attribute.label else name

    @property
    def primary_key(self) -> str:
        return self.mapping.crm_primary_key

    @property
    def explicit_erp_ids(self) -> list[str] | None:
        return self.follow_up_erp_ids or self.job.parameters.get("erp_system_ids") or None

    @property
    def explicit_crm_ids(self) -> list[str] | None:
        return self.job.parameters.get("crm_ids") or None

    @property
    def explicit(self) -> bool:
        """ "Synchronize now" on chosen records: skipped ones are worked on too (a retry)."""
        return bool(self.explicit_erp_ids or self.explicit_crm_ids)

    @property
    def restoring(self) -> bool:
        """The chosen rows' ERP records were deleted and are recreated from them ("Restore deleted counterpart"):
        they take the rows' values of the fields that go only to Dynamics 365 too (creation.fill_new_record)."""
        return bool(self.job.parameters.get("restore"))

    @property
    def one_request_per_record(self) -> bool:
        """The benchmark's baseline: every write its own request (see writes.py)."""
        return bool(self.job.parameters.get("one_request_per_record"))

    @property
    def only_coupled(self) -> bool:
        """BC's full synchronization clones the mapping with "Synch. Only Coupled Records" off."""
        return self.mapping.sync_only_coupled and not self.job.full

    def count(self, counter: str, n: int = 1) -> None:
        self.counters[counter] += n
        if self.side is not None and counter != "failed":
            self.side_counters[self.side][counter] += n

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def warn_record(self, *, record: SyncedModel, field: str, message: str) -> None:
        """A warning row of its own for one record and field (a value shortened to fit Dynamics 365), once per job;
        a context of no saved job (crm_verify's) only keeps the message."""
        key = (record.system_id, field)
        if key in self.warned_records:
            return
        self.warned_records.add(key)
        self.warn(message)
        if self.report is None:
            return
        coupling = (
            Coupling.objects.filter(erp_model=self.erp_content_type, erp_system_id=record.system_id)
            .values_list("crm_id", flat=True)
            .first()
        )
        try:
            model_field = type(record)._meta.get_field(field.split("__")[0])
            # A reverse relation or a generic key has no verbose name: the mapping's own words, as below.
            label = str(model_field.verbose_name) if isinstance(model_field, models.Field) else field
        except Exception:  # noqa: BLE001 — a path the model cannot name: the mapping's own words
            label = field
        self.report.record_warning(
            record=record,
            field=label,
            message=message,
            mapping=self.mapping,
            crm_entity=self.mapping.crm_entity,
            crm_id=coupling,
        )

    def erp_failed_uncoupled(self, modified_at: datetime.datetime | None) -> None:
        if modified_at is not None and (self.erp_retry_from is None or modified_at < self.erp_retry_from):
            self.erp_retry_from = modified_at

    @property
    def job_report(self) -> Report:
        """The job's report: only a job's run writes (error and warning rows, progress, checkpoints); a context
        without one (crm_verify's, the conflict page's, the preview's) reads and decides, and never gets there."""
        if self.report is None:
            raise RuntimeError("This run reads and decides only: it has no job to report to.")
        return self.report

    def checkpoint(self, **position: Any) -> None:
        """Keep where the job stands (merged into its checkpoint), for a worker that takes it over."""
        self.job.checkpoint = {**(self.job.checkpoint or {}), **position}
        self.job_report.checkpoint(self.job.checkpoint)

    def flush(self, *, done: int = 0) -> None:
        """Hand the counters gathered since the last flush to the job row, with the HTTP request count."""
        increments = {name: n for name, n in self.counters.items() if n and name != "failed"}
        self.counters.clear()
        if self.side_counters:
            # Only this job's worker writes this field: merged here, written whole.
            by_direction = self.job.counts_by_direction or {}
            for side, counted in self.side_counters.items():
                merged = Counter(by_direction.get(side, {}))
                merged.update(counted)
                by_direction[side] = dict(merged)
            self.side_counters.clear()
            self.job_report.counts_by_direction(by_direction)
        self.done += done
        requests_now = self.client.stats.total
        self.job_report.progress(
            done=self.done,
            http_requests=requests_now - self.requests_reported,
            **increments,
        )
        self.requests_reported = requests_now
        if isinstance(self.client, CrmClient):
            # The 429s met so far show on the home page while a long job runs, not only once it ends.
            self.client.keep_throttling()

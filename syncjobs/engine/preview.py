"""Dry run of a full synchronization or a match-based coupling (issue 13 §4): per mapping, what the run would do,
without writing anything on either side.

The run is followed step by step as its jobs take it — match-based coupling (matching.run_coupling) then the
synchronization job (run.run_synchronization: ERP → Dynamics 365, Dynamics 365 → ERP, the ERP-only values of
records just created from Dynamics 365, deleted counterparts) — and every decision is the engine's own: the
matcher's candidates (matching._Matcher), the mapped values and their transforms (values), the three-way merge
(merge), the body a write would send (values.crm_payload), the ERP's rules for what it would save (full_clean).
What a job would write is kept here instead, in memory: the couplings the coupling step would create (so that the
synchronization step sees them as its job would) and which couplings a pass has worked on. Reads are the engine's:
pages of records, CRM rows by id 200 at a time, the mapping's CRM filter 500 rows at a time; only GET requests.

Counts are those the jobs would count (SyncJob counters), so that a preview can be compared with the run:

- ``create_in_crm`` / ``create_in_erp``: rows created in Dynamics 365 / records created in the ERP (inserted);
- ``couple``: records the match-based coupling couples (coupled, of the coupling job);
- ``update``: records written on either side (modified), ``unchanged``: records with nothing to write;
- ``ambiguous``: records several Dynamics 365 rows match — left uncoupled and failed, or created new when the
  mapping creates rows for records without a match (then counted in ``create_in_crm`` too);
- ``conflict``: records changed on both sides (an update conflict the mapping's policy leaves to the user; failed);
- ``failed``: every record that would fail (ambiguous and conflicting ones included), ``skipped``: records passed
  over because they failed twice before; ``missing``: coupled records whose counterpart was deleted (the mapping's
  deletion policy decides, not counted above).

The counts equal the run's as long as nothing changes in between and Dynamics 365 accepts every write.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef
from django.urls import Resolver404, resolve
from django.utils import timezone

import dataverse
from coupling.models import Coupling
from erp import services as erp_services
from erp.models import NoSeries, SyncedModel
from nav_crm.records import describe_record
from syncjobs.engine import creation, from_crm, matching, templates, to_crm, values
from syncjobs.engine.context import READ_IDS_PER_QUERY, READ_PAGE_SIZE, WRITE_PAGE_SIZE, RunContext, crm_noun
from syncjobs.engine.crm_queries import crm_mapping_filter, crm_primary_name
from syncjobs.engine.deletions import CRM_IDS_PAGE_SIZE
from syncjobs.engine.merge import MergeResult, merge
from syncjobs.engine.records import directions, erp_refusal_message
from syncjobs.engine.run import crm_entity_metadata
from syncjobs.engine.values import Lookups, RecordFailure
from syncjobs.models import Direction, FullSyncLine, IntegrationFieldMapping, IntegrationTableMapping, SyncJob
from syncjobs.runs.report import JobCannotRun

Recommendation = FullSyncLine.Recommendation
# What the dialog of match-based coupling runs: the coupling job, then the job it starts (matching._follow_up).
MATCH = "match"

# The counts a preview and a run are compared by, in the order the pages show them.
COUNTS = ("create_in_crm", "create_in_erp", "couple", "update", "unchanged", "ambiguous", "conflict")
EXTRA_COUNTS = ("failed", "skipped", "missing")
LABELS = {
    "create_in_crm": "Created in Dynamics 365",
    "create_in_erp": "Created in the ERP",
    "couple": "Coupled by match",
    "update": "Updated",
    "unchanged": "Unchanged",
    "ambiguous": "Several possible matches",
    "conflict": "Changed on both sides",
    "failed": "Failing",
    "skipped": "Skipped after failing twice",
    "missing": "Counterpart deleted",
}
FLOW_LABELS = {"to_crm": "To Dynamics 365", "to_erp": "To the ERP", "conflict": "Changed in both"}
DEFAULT_SAMPLE_SIZE = 5
CANDIDATES_LISTED = 10
NUMBERED_FIELD = "no"


@dataclass
class Candidate:
    """A Dynamics 365 row a record could be coupled to, named by its primary name."""

    crm_id: str
    name: str


@dataclass
class Difference:
    """One field the run would change (or could not, in a conflict): in the user's words."""

    label: str
    erp_value: str
    crm_value: str
    # "to_crm" / "to_erp": where the value goes; "conflict": changed on both sides, "" when only shown.
    flows: str = ""

    @property
    def flow_label(self) -> str:
        return FLOW_LABELS.get(self.flows, "")


@dataclass
class Sample:
    record: str  # the ERP record ("customer C00010 Adatum"), or the Dynamics 365 row by its name
    message: str = ""
    crm_id: str = ""
    candidates: list[Candidate] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)


@dataclass
class Outcome:
    """How many records end one way, and the first few of them."""

    limit: int
    count: int = 0
    samples: list[Sample] = field(default_factory=list)

    # Callable[..., Sample], though called with nothing: callers bind what the sample describes as a lambda's
    # default argument (lambda r=record: ...), which mypy cannot type against a Callable[[], Sample].
    def add(self, sample: Callable[..., Sample]) -> None:
        """Count one; ``sample`` describes it, asked only while the sample is not full (words cost queries)."""
        self.count += 1
        if len(self.samples) < self.limit:
            self.samples.append(sample())


@dataclass
class MappingPreview:
    mapping: IntegrationTableMapping
    # Recommendation.FULL / COUPLE / NONE / SKIP (a full synchronization's line) or MATCH (the coupling dialog).
    mode: str
    sample_size: int = DEFAULT_SAMPLE_SIZE
    # Why nothing would run (the line would not be started), in the user's words.
    problem: str = ""
    notes: list[str] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(init=False)
    # ERP system id → CRM id of every coupling the run would make (coupled by match, or a row it would create):
    # the mappings previewed after this one take them as made.
    planned_couplings: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)

    def __post_init__(self):
        self.outcomes = {name: Outcome(limit=self.sample_size) for name in (*COUNTS, *EXTRA_COUNTS)}

    def counts(self) -> dict[str, int]:
        return {name: outcome.count for name, outcome in self.outcomes.items()}

    @property
    def mode_label(self) -> str:
        return "Match-based coupling" if self.mode == MATCH else Recommendation(self.mode).label

    def rows(self) -> list[dict[str, Any]]:
        """Each count with its label and samples, for the pages (only the counts that are not zero)."""
        return [
            {
                "key": name,
                "label": LABELS[name],
                "count": outcome.count,
                "samples": outcome.samples,
                "more": outcome.count - len(outcome.samples),
            }
            for name, outcome in self.outcomes.items()
            if outcome.count
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping.name,
            "mode": str(self.mode),
            "problem": self.problem,
            "notes": self.notes,
            "counts": self.counts(),
            "samples": {
                name: [_sample_dict(s) for s in outcome.samples]
                for name, outcome in self.outcomes.items()
                if outcome.samples
            },
        }


def _sample_dict(sample: Sample) -> dict[str, Any]:
    return {
        "record": sample.record,
        "message": sample.message,
        "crm_id": sample.crm_id,
        "candidates": [{"crm_id": c.crm_id, "name": c.name} for c in sample.candidates],
        "differences": [
            {"field": d.label, "erp_value": d.erp_value, "crm_value": d.crm_value, "flows": d.flows}
            for d in sample.differences
        ],
    }


@dataclass
class PreviewLine:
    """What a full synchronization would run for one mapping (its review line, or the user's choice)."""

    mapping: IntegrationTableMapping
    recommendation: str
    problem: str = ""


def full_sync_preview(
    *, client: dataverse.Client, lines: list[PreviewLine], sample_size: int = DEFAULT_SAMPLE_SIZE
) -> list[MappingPreview]:
    """A preview per line of a full synchronization (runs.full_sync.full_sync_review's lines, in their order).

    The lines are previewed in their order, each taking as made what the lines before it would couple or create
    (the customers a contact refers to, coupled by the CUSTOMER line first). ``client`` is a dataverse.Client;
    its errors propagate."""
    planned: dict[int, dict[uuid.UUID, uuid.UUID]] = {}
    previews = []
    for line in lines:
        found = mapping_preview(
            client=client,
            mapping=line.mapping,
            mode=line.recommendation,
            problem=line.problem,
            sample_size=sample_size,
            planned_couplings=planned,
        )
        planned[line.mapping.pk] = found.planned_couplings
        previews.append(found)
    return previews


def mapping_preview(
    *,
    client: dataverse.Client,
    mapping: IntegrationTableMapping,
    mode: str,
    erp_system_ids: list[str] | None = None,
    match_criteria: dict[int, tuple[bool, bool, int]] | None = None,
    create_new_if_no_match: bool | None = None,
    sync_after_bulk_coupling: bool | None = None,
    problem: str = "",
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    planned_couplings: dict[int, dict[uuid.UUID, uuid.UUID]] | None = None,
) -> MappingPreview:
    """What running ``mapping`` in ``mode`` would do, written nowhere.

    ``mode``: Recommendation.FULL (a full synchronization job), COUPLE (match-based coupling of every uncoupled
    record, then a synchronization of the coupled records from scratch, as a full synchronization's line runs),
    NONE or SKIP (nothing), or MATCH (the coupling dialog: match-based coupling of ``erp_system_ids``, or of every
    uncoupled record, then the job it starts). ``match_criteria`` (field mapping id → match on, case-sensitive,
    priority) and the two options stand for the dialog's choices, not saved yet. ``problem``: why the line would
    not run (the review's); nothing is previewed then. ``planned_couplings``: what the mappings previewed before
    this one would couple (mapping pk → ERP system id → CRM id), taken as made."""
    mapping = copy.copy(mapping)
    if create_new_if_no_match is not None:
        mapping.create_new_if_no_match = create_new_if_no_match
    if sync_after_bulk_coupling is not None:
        mapping.sync_after_bulk_coupling = sync_after_bulk_coupling
    preview = MappingPreview(mapping=mapping, mode=mode, sample_size=sample_size, problem=problem)
    if problem or mode in (Recommendation.NONE, Recommendation.SKIP):
        return preview
    if mapping.is_option_mapping:
        preview.notes.append("Option values are synchronized in full; they are not previewed record by record.")
        return preview
    attributes, change_tracking = crm_entity_metadata(client, mapping.crm_entity)
    dry_run = _DryRun(client, mapping, attributes, change_tracking, preview, planned_couplings or {})
    try:
        if mode == Recommendation.FULL:
            dry_run.synchronize(direction=mapping.job_direction, full=True)
        elif mode == Recommendation.COUPLE:
            dry_run.couple(criteria=match_criteria)
            dry_run.synchronize(direction=mapping.job_direction, full=False)
        elif mode == MATCH:
            coupled, to_create = dry_run.couple(erp_system_ids=erp_system_ids, criteria=match_criteria)
            dry_run.follow_up(coupled, to_create)
        else:
            raise ValueError(f"Unknown preview mode {mode!r}")
    except JobCannotRun as cannot:
        preview.problem = str(cannot)
    preview.planned_couplings.update({erp_id: coupling.crm_id for erp_id, coupling in dry_run.planned.items()})
    return preview


# --- The dry run -------------------------------------------------------------------------------------------


class _DryRun:
    """One mapping's run, step by step, keeping in memory what its jobs would write."""

    def __init__(self, client, mapping, attributes, change_tracking, preview: MappingPreview, earlier: dict):
        self.client = client
        self.earlier = earlier  # what the mappings previewed before this one would couple
        self.mapping = mapping
        self.attributes = attributes
        self.change_tracking = change_tracking
        self.preview = preview
        self.outcomes = preview.outcomes
        self.erp_content_type = ContentType.objects.get_for_model(mapping.erp_model.model_class())
        # Couplings the coupling step would create (COUPLED to the match, or CREATING for a new row), by ERP id.
        self.planned: dict[uuid.UUID, Coupling] = {}
        self._name_attribute: str | None = None

    @property
    def name_attribute(self) -> str:
        if self._name_attribute is None:
            self._name_attribute = crm_primary_name(client=self.client, crm_entity=self.mapping.crm_entity)
        return self._name_attribute

    def context(self, *, direction: str, full: bool, erp_system_ids: list[str] | None = None) -> RunContext:
        """The engine's context for a job that is never saved: nothing is reported to it."""
        parameters = {"erp_system_ids": erp_system_ids} if erp_system_ids else {}
        job = SyncJob(
            mapping=self.mapping, mapping_name=self.mapping.name, direction=direction, full=full, parameters=parameters
        )
        return RunContext(
            job=job,
            mapping=self.mapping,
            client=self.client,
            started_at=timezone.now(),
            attributes=self.attributes,
            change_tracking=self.change_tracking,
            planned_couplings=self.earlier,
        )

    # --- Match-based coupling (matching.run_coupling) ------------------------------------------------------

    def couple(
        self, *, erp_system_ids: list[str] | None = None, criteria: dict | None = None
    ) -> tuple[list[str], list[str]]:
        """The coupling step; returns (ERP ids coupled, ERP ids left to create in Dynamics 365)."""
        mapping = self.mapping
        job = SyncJob(
            mapping=mapping,
            mapping_name=mapping.name,
            direction=SyncJob.JobDirection.FROM_CRM
            if mapping.direction == Direction.FROM_CRM
            else SyncJob.JobDirection.TO_CRM,
            kind=SyncJob.Kind.COUPLING,
            parameters={"erp_system_ids": erp_system_ids} if erp_system_ids is not None else {},
        )
        fields = _chosen_fields(mapping, criteria) if criteria is not None else None
        matcher = matching._Matcher(job, self.client, fields=fields)
        creates_new = mapping.create_new_if_no_match and mapping.direction != Direction.FROM_CRM
        coupled_ids: list[str] = []
        to_create: list[str] = []
        for page in _keyset_pages(matching.uncoupled_records(job), matching.RECORDS_PER_PAGE):
            matcher.start_page(page)
            matches = matching.match_page(matcher, page)
            for record in page:
                found = matches.get(record.pk)
                if found is not None and found.row is not None:
                    matched = found.row  # narrowed here: a lambda's default is not
                    crm_id = matcher.row_id(matched)
                    self.planned[record.system_id] = Coupling(
                        erp_model=self.erp_content_type,
                        erp_system_id=record.system_id,
                        crm_entity=mapping.crm_entity,
                        crm_id=uuid.UUID(crm_id),
                    )
                    coupled_ids.append(str(record.system_id))
                    self.outcomes["couple"].add(
                        lambda r=record, row=matched: Sample(
                            describe_record(r, capitalize=True),
                            crm_id=matcher.row_id(row),
                            candidates=[_candidate(matcher, row)],
                        )
                    )
                    continue
                ambiguous = found is not None and found.kind == matching.SEVERAL
                if ambiguous:
                    self.outcomes["ambiguous"].add(
                        lambda r=record, f=found: self._unmatched_sample(matcher, r, f, creates_new)
                    )
                if creates_new:
                    self.planned[record.system_id] = Coupling(
                        erp_model=self.erp_content_type,
                        erp_system_id=record.system_id,
                        crm_entity=mapping.crm_entity,
                        crm_id=uuid.uuid4(),
                        state=Coupling.State.CREATING,
                    )
                    to_create.append(str(record.system_id))
                    continue
                self.outcomes["failed"].add(lambda r=record, f=found: self._unmatched_sample(matcher, r, f, False))
        return coupled_ids, to_create

    def _unmatched_sample(self, matcher, record, found, creates_new: bool) -> Sample:
        reason = matching.unmatched_reason(matcher, record, found)
        if creates_new:
            message = f"No unique uncoupled match ({reason}): it is created as a new row in Dynamics 365."
        else:
            message = f"No unique uncoupled match: {reason}."
        rows = found.rows if found is not None else []
        return Sample(
            describe_record(record, capitalize=True),
            message=message,
            candidates=[_candidate(matcher, row) for row in rows[:CANDIDATES_LISTED]],
        )

    def follow_up(self, coupled: list[str], to_create: list[str]) -> None:
        """The job the coupling dialog's job starts after it (matching._follow_up)."""
        mapping = self.mapping
        sync_ids = coupled if mapping.sync_after_bulk_coupling else []
        if mapping.direction == Direction.FROM_CRM and sync_ids:
            self.synchronize(direction=SyncJob.JobDirection.FROM_CRM, full=False, erp_system_ids=sync_ids)
        elif sync_ids or to_create:
            self.synchronize(direction=SyncJob.JobDirection.TO_CRM, full=False, erp_system_ids=sync_ids + to_create)

    # --- The synchronization job (run.run_synchronization) -----------------------------------------------

    def synchronize(self, *, direction: str, full: bool, erp_system_ids: list[str] | None = None) -> None:
        ctx = self.context(direction=direction, full=full, erp_system_ids=erp_system_ids)
        mapping = self.mapping
        to_side = direction in (SyncJob.JobDirection.TO_CRM, SyncJob.JobDirection.BOTH)
        from_side = direction in (SyncJob.JobDirection.FROM_CRM, SyncJob.JobDirection.BOTH)
        to_side = to_side and mapping.direction != Direction.FROM_CRM
        from_side = from_side and mapping.direction != Direction.TO_CRM
        run = _SyncPass(self, ctx)
        if to_side:
            run.to_crm(self._erp_pages(ctx))
        if from_side:
            run.from_crm()
        if to_side and not ctx.explicit:
            run.erp_records_missing()
        if full and not ctx.explicit:
            run.crm_rows_missing()
        if to_side and from_side and run.created:
            # What only the ERP holds of the records just created from Dynamics 365 goes there in the same job.
            run.send_created()

    def _erp_pages(self, ctx: RunContext) -> Iterator[list[SyncedModel]]:
        """to_crm.erp_pages for a run from scratch, with the couplings the coupling step would create counted in."""
        model = ctx.erp_model
        if ctx.explicit:
            queryset = model._default_manager.filter(system_id__in=ctx.explicit_erp_ids)
        else:
            queryset = model._default_manager.filter(**ctx.mapping.erp_filter)
        related = values.select_related_paths(
            model, [f.erp_field for f in ctx.fields if f.erp_field and not f.lookup_erp_key]
        )
        if related:
            queryset = queryset.select_related(*related)
        for page in _keyset_pages(queryset, WRITE_PAGE_SIZE):
            if ctx.only_coupled and not ctx.explicit:
                # The job's scope: coupled records only (those the coupling step couples among them).
                coupled = set(
                    Coupling.objects.filter(
                        erp_model=self.erp_content_type, erp_system_id__in=[r.system_id for r in page]
                    ).values_list("erp_system_id", flat=True)
                )
                page = [r for r in page if r.system_id in coupled or r.system_id in self.planned]
            if page:
                yield page

    def couplings_by_erp_id(self, records: list[SyncedModel]) -> dict[uuid.UUID, Coupling]:
        found = {
            c.erp_system_id: c
            for c in Coupling.objects.filter(
                erp_model=self.erp_content_type, erp_system_id__in=[r.system_id for r in records]
            )
        }
        found.update({r.system_id: self.planned[r.system_id] for r in records if r.system_id in self.planned})
        return found


class _SyncPass:
    """One synchronization job of the dry run: its passes, and which couplings it has worked on."""

    def __init__(self, dry_run: _DryRun, ctx: RunContext):
        self.dry_run = dry_run
        self.ctx = ctx
        self.outcomes = dry_run.outcomes
        self.lookups = Lookups(ctx)
        self.field_directions = directions(ctx)
        # The couplings a pass has worked on (the job sets their last job): the other pass passes over them.
        self.handled: set[uuid.UUID] = set()
        self.missing: set[uuid.UUID] = set()
        # Records created from Dynamics 365 rows: (record, row, its values, the fields shortened to fit).
        self.created: list[tuple[SyncedModel, dict, dict, dict]] = []

    # --- ERP → Dynamics 365 (to_crm.ToCrmPass.sync_page) ----------------------------------------------------

    def to_crm(self, pages) -> None:
        ctx, lookups = self.ctx, self.lookups
        needs_crm_values = bool(ctx.from_crm_fields)
        for page in pages:
            couplings = self.dry_run.couplings_by_erp_id(page)
            lookups.prime_for_records(page)
            coupled_ids = [c.crm_id for c in couplings.values() if c.state == Coupling.State.COUPLED]
            failed_ids = {c.crm_id for c in couplings.values() if c.last_result == Coupling.Result.FAILURE}
            read_ids = coupled_ids if needs_crm_values else [i for i in coupled_ids if i in failed_ids]
            crm_rows = to_crm.fetch_crm_rows(ctx, read_ids) if read_ids else {}
            pending: list[SyncedModel] = []
            for record in page:
                coupling = couplings.get(record.system_id)
                if coupling is not None and coupling.skipped and not ctx.explicit:
                    self.outcomes["skipped"].add(lambda r=record: Sample(describe_record(r, capitalize=True)))
                    continue
                # A record the run would not create is passed over before its values are read.
                if coupling is None and (ctx.only_coupled or values.record_inactive(ctx, record)):
                    continue
                if coupling is not None:
                    self.handled.add(coupling.crm_id)
                erp_side = self.erp_side_of(record)
                if erp_side is None:
                    continue
                if coupling is None or coupling.state == Coupling.State.CREATING:
                    pending.append(record)
                    continue
                row = crm_rows.get(coupling.crm_id) if needs_crm_values else None
                if (needs_crm_values or coupling.crm_id in failed_ids) and coupling.crm_id not in crm_rows:
                    self.counterpart_missing(describe_record(record, capitalize=True), coupling)
                    continue
                self.merge(record, coupling, erp_side, row)
            self.creates_in_crm(pending)

    def creates_in_crm(self, pending: list[SyncedModel]) -> None:
        """to_crm.ToCrmPass._plan_creates: what a new row needs, or why it cannot be created."""
        if not pending:
            return
        try:
            values.creation_bindings(self.ctx, self.lookups)
        except RecordFailure as failure:
            for record in pending:
                self.failed(record, failure.message)
            return
        for record in pending:
            if values.record_inactive(self.ctx, record):
                continue  # blocked: its coupling waits, and it is created once unblocked
            try:
                values.record_creation_values(self.ctx, record)
            except RecordFailure as failure:
                self.failed(record, failure.message)
                continue
            self.outcomes["create_in_crm"].add(lambda r=record: Sample(describe_record(r, capitalize=True)))
            # The row it would create (under an id chosen before sending): records previewed later refer to it.
            self.dry_run.preview.planned_couplings.setdefault(record.system_id, uuid.uuid4())

    # --- One coupled record (records.merge_record) ----------------------------------------------------------

    def merge(self, record: models.Model, coupling: Coupling, erp_side: dict, row: dict | None) -> None:
        ctx, lookups = self.ctx, self.lookups
        crm_side = values.crm_values(ctx, row) if row is not None else None
        if row is not None:
            erp_side = {**values.erp_values_for_merge(ctx, lookups, record), **erp_side}
        base = coupling.snapshot or {}
        erp = values.erp_side_as_synchronized(erp_side, base, coupling.shortened or {})
        result = merge(
            directions=self.field_directions,
            base=base,
            erp=erp,
            crm=crm_side,
            policy=ctx.mapping.update_conflict_policy,
        )
        label = describe_record(record, capitalize=True)
        if result.conflicts:
            sample = lambda: Sample(  # noqa: E731 — described only while the sample is not full
                label,
                message="Changed in both systems since the last synchronization.",
                crm_id=str(coupling.crm_id),
                differences=self.differences(result, erp, crm_side or {}),
            )
            self.outcomes["conflict"].add(sample)
            self.outcomes["failed"].add(sample)
            return
        if result.unchanged:
            self.outcomes["unchanged"].add(lambda: Sample(label, crm_id=str(coupling.crm_id)))
            return
        if result.to_erp:
            cut: dict[str, values.Shortened] = {}
            try:
                trial = copy.copy(record)  # the record itself stays as it is
                if row is not None:
                    lookups.prime_for_rows([row])
                cut = values.apply_to_erp(ctx, lookups, trial, crm_side or {}, result.to_erp)
                trial.full_clean()
            except RecordFailure as failure:
                self.failed(record, failure.message)
                return
            except ValidationError as error:
                self.failed(record, erp_refusal_message(ctx, error, cut))
                return
        written = bool(result.to_erp and not result.to_crm) or bool(
            result.to_crm and values.crm_payload(ctx, result.merged, result.to_crm)
        )
        if written:
            self.outcomes["update"].add(
                lambda: Sample(
                    label, crm_id=str(coupling.crm_id), differences=self.differences(result, erp, crm_side or {})
                )
            )

    def differences(self, result: MergeResult, erp: dict, crm: dict) -> list[Difference]:
        from syncjobs.engine.describe import field_label, value_text

        found = []
        for field_mapping in self.ctx.fields:
            name = field_mapping.name
            if name in result.conflicts:
                flows = "conflict"
            elif name in result.to_crm:
                flows = "to_crm"
            elif name in result.to_erp:
                flows = "to_erp"
            else:
                continue
            found.append(
                Difference(
                    label=field_label(self.ctx.erp_model, field_mapping)
                    if field_mapping.erp_field
                    else field_mapping.crm_attribute,
                    erp_value=value_text(self.ctx, self.lookups, field_mapping, erp.get(name)),
                    crm_value=value_text(self.ctx, self.lookups, field_mapping, crm.get(name)),
                    flows=flows,
                )
            )
        return found

    def erp_side_of(self, record: SyncedModel) -> dict | None:
        """records.erp_side_of: the record's mapped ERP values, or None when they cannot be computed (it fails)."""
        try:
            return values.erp_values(self.ctx, self.lookups, record)
        except RecordFailure as failure:
            self.failed(record, failure.message)
            return None

    def failed(self, record: models.Model, message: str) -> None:
        self.outcomes["failed"].add(lambda: Sample(describe_record(record, capitalize=True), message=message))

    def counterpart_missing(self, label: str, coupling: Coupling) -> None:
        if coupling.crm_id in self.missing:
            return  # one outcome per coupling and job (ctx.deletions_handled)
        self.missing.add(coupling.crm_id)
        policy = self.ctx.mapping.get_deletion_policy_display()
        self.outcomes["missing"].add(
            lambda: Sample(label, crm_id=str(coupling.crm_id), message=f"Its counterpart was deleted: {policy}.")
        )

    # --- Dynamics 365 → ERP (from_crm.sync_from_crm, _process_rows) ----------------------------------------

    def crm_pages(self) -> Iterator[list[dict]]:
        ctx = self.ctx
        select = values.crm_select(ctx)
        name = self.dry_run.name_attribute
        if name not in select and (name in ctx.attributes or not ctx.attributes):
            select = [*select, name]
        if ctx.explicit:
            # The chosen records' rows, outside the filter too (from_crm.crm_batches).
            ids = [str(c.crm_id) for c in self.dry_run.couplings_by_erp_id(self._explicit_records()).values()]
            for start in range(0, len(ids), READ_IDS_PER_QUERY):
                chunk = ids[start : start + READ_IDS_PER_QUERY]
                rows = list(
                    ctx.client.query(
                        ctx.mapping.crm_entity_set,
                        select=select,
                        filter=values.ids_filter(ctx.primary_key, chunk),
                        page_size=READ_IDS_PER_QUERY,
                    )
                )
                if rows:
                    yield rows
            return
        # A full job, and the job after coupling (its watermarks cleared), read every row in the filter.
        result = ctx.client.query(
            ctx.mapping.crm_entity_set, select=select, filter=crm_mapping_filter(ctx.mapping), page_size=READ_PAGE_SIZE
        )
        yield from result.pages()

    def _explicit_records(self) -> list[SyncedModel]:
        return list(self.ctx.erp_model._default_manager.filter(system_id__in=self.ctx.explicit_erp_ids))

    def from_crm(self) -> None:
        ctx, lookups = self.ctx, self.lookups
        planned_by_crm_id = {c.crm_id: c for c in self.dry_run.planned.values()}
        for rows in self.crm_pages():
            ids = [uuid.UUID(str(row[ctx.primary_key])) for row in rows]
            couplings = {
                c.crm_id: c
                for c in Coupling.objects.filter(
                    erp_model=ctx.erp_content_type, crm_entity=ctx.mapping.crm_entity, crm_id__in=ids
                )
            }
            couplings.update({crm_id: planned_by_crm_id[crm_id] for crm_id in ids if crm_id in planned_by_crm_id})
            coupled_elsewhere = {
                c.crm_id: c
                for c in Coupling.objects.filter(crm_entity=ctx.mapping.crm_entity, crm_id__in=ids)
                .exclude(erp_model=ctx.erp_content_type)
                .select_related("erp_model")
            }
            queryset = ctx.erp_model._default_manager.filter(
                system_id__in=[c.erp_system_id for c in couplings.values()]
            )
            related = values.select_related_paths(ctx.erp_model, [f.erp_field for f in ctx.fields if f.erp_field])
            records = {r.system_id: r for r in (queryset.select_related(*related) if related else queryset)}
            lookups.prime_for_rows(rows)
            lookups.prime_for_records(list(records.values()))
            creates = not ctx.only_coupled and ctx.mapping.direction != Direction.TO_CRM
            if creates:
                templates.choice_for(ctx).prime(
                    [
                        row
                        for crm_id, row in zip(ids, rows, strict=True)
                        if crm_id not in couplings and crm_id not in coupled_elsewhere
                    ]
                )
            for crm_id, row in zip(ids, rows, strict=True):
                coupling = couplings.get(crm_id)
                if coupling is not None and coupling.skipped and not ctx.explicit:
                    self.outcomes["skipped"].add(lambda row=row: Sample(self.row_label(row), crm_id=self.row_id(row)))
                    continue
                if coupling is None:
                    if not creates or values.row_inactive(ctx, row):
                        continue
                    other = coupled_elsewhere.get(crm_id)
                    if other is not None:
                        message = from_crm._coupled_elsewhere_message(ctx, other)
                        self.outcomes["failed"].add(
                            lambda row=row, m=message: Sample(self.row_label(row), crm_id=self.row_id(row), message=m)
                        )
                    else:
                        self.create_in_erp(row)
                    continue
                if coupling.state == Coupling.State.CREATING or crm_id in self.handled:
                    continue
                record = records.get(coupling.erp_system_id)
                if record is None:
                    self.counterpart_missing(self.row_label(row), coupling)
                    continue
                self.handled.add(crm_id)
                erp_side = self.erp_side_of(record)
                if erp_side is None:
                    continue
                self.merge(record, coupling, erp_side, row)

    def create_in_erp(self, row: dict) -> None:
        """from_crm._create_erp_record, up to what the ERP would refuse: nothing is saved."""
        ctx = self.ctx
        crm_side = values.crm_values(ctx, row)
        record = ctx.erp_model()
        cut: dict[str, values.Shortened] = {}
        try:
            cut = creation.fill_new_record(ctx, self.lookups, record, crm_side, row, restoring=ctx.restoring)
            _check_new_record(record)
        except RecordFailure as failure:
            message = failure.message
        except ValidationError as error:
            message = erp_refusal_message(ctx, error, cut)
        else:
            self.outcomes["create_in_erp"].add(lambda: Sample(self.row_label(row), crm_id=self.row_id(row)))
            self.created.append((record, row, crm_side, cut))
            return
        self.outcomes["failed"].add(lambda: Sample(self.row_label(row), crm_id=self.row_id(row), message=message))

    def send_created(self) -> None:
        """run.run_synchronization's last pass: the records just created send what only the ERP holds."""
        ctx, lookups = self.ctx, self.lookups
        for record, row, crm_side, cut in self.created:
            erp_held = values.erp_values_for_merge(ctx, lookups, record)
            coupling = Coupling(
                erp_model=ctx.erp_content_type,
                erp_system_id=record.system_id,
                crm_entity=ctx.mapping.crm_entity,
                crm_id=uuid.UUID(self.row_id(row)),
                snapshot={**erp_held, **creation.crm_held_values(ctx, row), **crm_side},
                shortened={name: erp_held.get(name) for name in cut},
            )
            erp_side = self.erp_side_of(record)
            if erp_side is None:
                continue
            self.merge(record, coupling, erp_side, row)

    def row_id(self, row: dict) -> str:
        return str(row[self.ctx.primary_key]).lower()

    def row_label(self, row: dict) -> str:
        name = row.get(self.dry_run.name_attribute)
        return (
            f"{crm_noun(self.ctx.mapping.crm_entity)} {name}"
            if name
            else f"{crm_noun(self.ctx.mapping.crm_entity)} {self.row_id(row)}"
        )

    # --- Deleted counterparts (deletions.erp_records_missing, crm_rows_missing) ----------------------------

    def erp_records_missing(self) -> None:
        ctx = self.ctx
        orphans = (
            Coupling.objects.filter(erp_model=ctx.erp_content_type)
            .filter(~Exists(ctx.erp_model._default_manager.filter(system_id=OuterRef("erp_system_id"))))
            .exclude(skipped=True)
        )
        if not ctx.job.full:
            orphans = orphans.filter(erp_deleted_at__isnull=False)
        for coupling in orphans.order_by("pk").iterator(chunk_size=2000):
            label = coupling.erp_deleted_label or f"{ctx.erp_model._meta.verbose_name} {coupling.erp_system_id}"
            self.counterpart_missing(label.capitalize(), coupling)

    def crm_rows_missing(self) -> None:
        ctx = self.ctx
        query = ctx.client.query(ctx.mapping.crm_entity_set, select=[ctx.primary_key], page_size=CRM_IDS_PAGE_SIZE)
        present = {str(row[ctx.primary_key]).lower() for row in query}
        couplings = Coupling.objects.filter(
            erp_model=ctx.erp_content_type, crm_entity=ctx.mapping.crm_entity, state=Coupling.State.COUPLED
        ).exclude(skipped=True)
        for coupling in couplings.order_by("pk").iterator(chunk_size=2000):
            if str(coupling.crm_id).lower() not in present:
                self.counterpart_missing(f"{ctx.erp_model._meta.verbose_name} {coupling.erp_system_id}", coupling)


# --- Helpers -----------------------------------------------------------------------------------------------


RecordT = TypeVar("RecordT", bound=models.Model)


def _keyset_pages(queryset: models.QuerySet[RecordT], size: int) -> Iterator[list[RecordT]]:
    last_pk = None
    while True:
        page_query = queryset.order_by("pk") if last_pk is None else queryset.order_by("pk").filter(pk__gt=last_pk)
        page = list(page_query[:size])
        if not page:
            return
        yield page
        last_pk = page[-1].pk


def _candidate(matcher, row: dict) -> Candidate:
    return Candidate(crm_id=matcher.row_id(row), name=row.get(matcher.name_attribute) or "(no name)")


def _chosen_fields(mapping: IntegrationTableMapping, criteria: dict[int, tuple[bool, bool, int]]):
    """The match fields as the dialog sets them (field mapping id → match on, case-sensitive, priority), unsaved."""
    chosen: list[IntegrationFieldMapping] = []
    for field_mapping in matching.match_fields(mapping=mapping):
        use, case_sensitive, priority = criteria.get(
            field_mapping.pk,
            (
                field_mapping.use_for_match_based_coupling,
                field_mapping.case_sensitive_matching,
                field_mapping.match_priority,
            ),
        )
        if use:
            field_mapping.case_sensitive_matching = case_sensitive
            field_mapping.match_priority = priority
            chosen.append(field_mapping)
    return chosen


def _check_new_record(record: models.Model) -> None:
    """What erp.services.record_save would refuse of a new record, without drawing a number from its series."""
    excluded = []
    series = erp_services.NUMBER_SERIES_BY_MODEL.get(type(record))
    if series is not None and not (getattr(record, NUMBERED_FIELD, "") or "").strip():
        if not NoSeries.objects.filter(code=series).exists():
            raise ValidationError(
                {NUMBERED_FIELD: f"There is no number series {series}. Create it or enter a number yourself."}
            )
        excluded.append(NUMBERED_FIELD)
    record.full_clean(exclude=excluded)


# --- What a run did, counted the same way ------------------------------------------------------------------

CONFLICT_FIX = "record_conflict"


def job_counts(*, jobs: list[SyncJob]) -> dict[str, int]:
    """The counts a preview gives (COUNTS, failed, skipped), as ``jobs`` counted them: one run of one mapping, its
    match-based coupling job and the synchronization job after it."""
    counts = dict.fromkeys((*COUNTS, "failed", "skipped"), 0)
    for job in jobs:
        counts["failed"] += job.failed
        if job.kind == SyncJob.Kind.COUPLING:
            counts["couple"] += job.coupled
            messages = [*job.errors.values_list("message", flat=True), *job.warnings.values_list("message", flat=True)]
            counts["ambiguous"] += sum(1 for message in messages if matching.names_several_rows(message))
            continue
        by_direction = job.counts_by_direction or {}
        if job.direction == SyncJob.JobDirection.BOTH:
            counts["create_in_crm"] += by_direction.get("to_crm", {}).get("inserted", 0)
            counts["create_in_erp"] += by_direction.get("from_crm", {}).get("inserted", 0)
        elif job.direction == SyncJob.JobDirection.TO_CRM:
            counts["create_in_crm"] += job.inserted
        else:
            counts["create_in_erp"] += job.inserted
        counts["update"] += job.modified
        counts["unchanged"] += job.unchanged
        counts["skipped"] += job.skipped
        counts["conflict"] += sum(1 for url in job.errors.values_list("fix_url", flat=True) if _is_conflict_fix(url))
    return counts


def _is_conflict_fix(url: str) -> bool:
    try:
        return bool(url) and resolve(url).url_name == CONFLICT_FIX
    except Resolver404:
        return False


def recent_runs(*, limit: int) -> dict[str, dict[str, Any]]:
    """Per mapping, among the ``limit`` most recent synchronization and coupling jobs: its last run's jobs (a full
    synchronization's line: its coupling job and synchronization job; a match-based coupling and the job it started)
    and their counts as a preview gives them, newest mapping first."""
    recent = list(
        SyncJob.objects.filter(kind__in=[SyncJob.Kind.SYNCHRONIZATION, SyncJob.Kind.COUPLING]).order_by(
            "-created_at", "-pk"
        )[:limit]
    )
    ids = [job.pk for job in recent]
    lines = FullSyncLine.objects.filter(
        models.Q(coupling_job_id__in=ids) | models.Q(sync_job_id__in=ids) | models.Q(deferred_job_id__in=ids)
    ).select_related("coupling_job", "sync_job")
    line_of = {
        job_id: line
        for line in lines
        for job_id in (line.coupling_job_id, line.sync_job_id, line.deferred_job_id)
        if job_id is not None
    }
    runs: dict[str, dict[str, Any]] = {}
    for position, job in enumerate(recent):
        if job.mapping_name in runs:
            continue
        line = line_of.get(job.pk)
        if line is not None:
            run_jobs = [j for j in (line.coupling_job, line.sync_job) if j is not None]
        else:
            run_jobs = [job]
            earlier = next((j for j in recent[position + 1 :] if j.mapping_name == job.mapping_name), None)
            if (
                earlier is not None
                and earlier.kind == SyncJob.Kind.COUPLING
                and job.kind == SyncJob.Kind.SYNCHRONIZATION
                and job.parameters.get("follow_up_of") == earlier.pk
            ):
                run_jobs = [earlier, job]
        runs[job.mapping_name] = {
            **job_counts(jobs=run_jobs),
            "full_synchronization": line.run_id if line is not None else None,
            "jobs": [_job_dict(j) for j in run_jobs],
        }
    return runs


def _job_dict(job: SyncJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "kind": job.kind,
        "direction": job.direction,
        "full": job.full,
        "status": job.status,
        **{name: getattr(job, name) for name in SyncJob.COUNTERS},
        "counts_by_direction": job.counts_by_direction or {},
        "created_at": job.created_at.isoformat(),
    }

"""Match-based coupling (BC's "Match Based Coupling" and CDSIntTableCouple): couple uncoupled ERP
records to the CRM rows whose matching fields hold the same values.

For each uncoupled ERP record the priority groups of match fields are tried in ascending
priority (fields with the same priority must all match). A lookup field matches by the coupled id
of the record it refers to (a price list item: its price list and its product), so rows without a
name of their own can be matched too; a record whose looked-up record is not coupled has nothing
to match on. Exactly one hit that no coupling takes couples the record; none, several or an
already coupled one leave it unmatched: it is then created new in Dynamics 365 when the mapping
says so, else logged as failed, naming the candidates. The CRM is read in bulk: one query per page
of records and group.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

import dataverse
from coupling import services as coupling_services
from coupling.models import Coupling
from erp.models import SyncedModel
from nav_crm.records import plural
from syncjobs.connection import clients
from syncjobs.engine.context import CRM_ENTITY_NOUNS, RunContext, crm_noun, job_mapping, job_mapping_id, mapping_model
from syncjobs.engine.crm_queries import and_filters, crm_mapping_filter, crm_primary_name
from syncjobs.engine.values import Lookups, RecordFailure
from syncjobs.mappings.rules import erp_field_words
from syncjobs.models import Direction, IntegrationFieldMapping, IntegrationTableMapping, SyncJob
from syncjobs.runs.report import JobCannotRun, Report

RECORDS_PER_PAGE = 200
# A group of several fields is asked for record by record, OR-ed: this many records per query.
RECORDS_PER_COMBINED_QUERY = 25
CANDIDATES_NAMED = 5
NOT_MATCHABLE = (IntegrationFieldMapping.Transform.SCHEDULE_BASE_UNIT, IntegrationFieldMapping.Transform.OPTION)
LOOKUP = IntegrationFieldMapping.Transform.LOOKUP


def match_fields(*, mapping: IntegrationTableMapping) -> models.QuerySet[IntegrationFieldMapping]:
    """The field mappings that can take part in matching: an ERP field (or the coupled id of the record a
    lookup refers to) against a CRM attribute."""
    return (
        mapping.field_mappings.filter(is_enabled=True, constant_value="")
        .exclude(erp_field="")
        .exclude(crm_attribute="")
        .exclude(transform__in=NOT_MATCHABLE)
        .order_by("position", "name")
    )


def _erp_value(record: models.Model, path: str) -> Any:
    value: Any = record
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _text(value) -> str:
    return "" if value is None else str(value)


def _folded(value) -> str:
    return _text(value).strip().casefold()


def _same(field: IntegrationFieldMapping, erp_value, crm_value) -> bool:
    left, right = _text(erp_value).strip(), _text(crm_value).strip()
    return left == right if field.case_sensitive_matching else left.casefold() == right.casefold()


def _crm_name(field: IntegrationFieldMapping) -> str:
    """The attribute as a query reads and filters it: a lookup as its ``_name_value`` id."""
    return f"_{field.crm_attribute}_value" if field.transform == LOOKUP else field.crm_attribute


class _Matcher:
    def __init__(self, job: SyncJob, client: dataverse.Client, fields: list[IntegrationFieldMapping] | None = None):
        """``fields``: the fields to match on when not the mapping's saved criteria (a preview of unsaved ones)."""
        self.job = job
        self.mapping = job_mapping(job)
        self.client = client
        if fields is None:
            fields = list(match_fields(mapping=self.mapping).filter(use_for_match_based_coupling=True))
        fields = list(fields)
        if not fields:
            raise JobCannotRun(
                f"No field of the mapping {self.mapping.name} is set to match on: choose the coupling criteria first."
            )
        fields.sort(key=lambda f: f.match_priority)
        self.groups = [list(group) for _, group in groupby(fields, key=lambda f: f.match_priority)]
        self.name_attribute = crm_primary_name(client=client, crm_entity=self.mapping.crm_entity)
        attributes = {_crm_name(f) for f in fields}
        self.select = [self.mapping.crm_primary_key, self.name_attribute, *sorted(attributes - {self.name_attribute})]
        self.claimed: set[str] = set()
        # Lookup fields are answered by the engine's own lookups (coupled ids, read a page at a time).
        self.lookups = Lookups(
            RunContext(
                job=job,
                mapping=self.mapping,
                client=client,
                started_at=job.started_at or timezone.now(),
                attributes={},
                change_tracking=False,
            )
        )
        # Why a record's looked-up record gives nothing to match on (it is not coupled), by record pk.
        self.unresolved: dict[int, str] = {}

    def start_page(self, records: Sequence[models.Model]) -> None:
        if any(f.transform == LOOKUP for group in self.groups for f in group):
            self.lookups.prime_for_records(records)

    def value(self, field: IntegrationFieldMapping, record: models.Model):
        """What the record holds for ``field``: text, or for a lookup the coupled CRM id (None when there is none)."""
        if field.transform != LOOKUP:
            return _text(_erp_value(record, field.erp_field)).strip()
        try:
            crm_id = self.lookups.crm_id(field, record)
        except RecordFailure as failure:
            self.unresolved[record.pk] = failure.message
            return None
        return uuid.UUID(crm_id) if crm_id else None

    def condition(self, group: list[IntegrationFieldMapping], records: Sequence[models.Model]) -> dataverse.Filter:
        if len(group) == 1 and group[0].transform != LOOKUP:
            field = group[0]
            return dataverse.F.in_(field.crm_attribute, sorted({self.value(field, r) for r in records}))
        # Lookups are compared with eq (Dataverse's In takes strings), several fields record by record.
        return dataverse.F.any(
            *[dataverse.F.all(*[dataverse.F.eq(_crm_name(f), self.value(f, r)) for f in group]) for r in records]
        )

    def askable(self, group: list[IntegrationFieldMapping], record: models.Model) -> bool:
        return all(self.value(f, record) for f in group)

    def candidates(self, group: list[IntegrationFieldMapping], records: Sequence[models.Model]) -> dict:
        """CRM rows equal (as Dataverse compares: ignoring case) to each record on the group's fields."""
        # By id: a row that two chunks' queries both return is one candidate, not two.
        rows: dict[str, dict] = {}
        simple = len(group) == 1 and group[0].transform != LOOKUP
        step = RECORDS_PER_PAGE if simple else RECORDS_PER_COMBINED_QUERY
        for start in range(0, len(records), step):
            chunk = records[start : start + step]
            condition = and_filters(self.condition(group, chunk), crm_mapping_filter(self.mapping))
            for row in self.client.query(self.mapping.crm_entity_set, select=self.select, filter=condition):
                rows[self.row_id(row)] = row
        # Rows by their values ignoring case, so that each record looks up its own instead of scanning them all.
        by_values: dict[tuple[str, ...], list[dict]] = defaultdict(list)
        for row in rows.values():
            by_values[tuple(_folded(row.get(_crm_name(f))) for f in group)].append(row)
        by_record = {}
        for record in records:
            found = by_values.get(tuple(_folded(self.value(f, record)) for f in group), [])
            # Dataverse compares text ignoring case: case-sensitive fields are checked again here.
            by_record[record.pk] = [
                row for row in found if all(_same(f, self.value(f, record), row.get(_crm_name(f))) for f in group)
            ]
        return by_record

    def row_id(self, row: dict) -> str:
        return str(row[self.mapping.crm_primary_key]).lower()

    def describe(self, rows: list[dict]) -> str:
        named = ", ".join(
            f"{row.get(self.name_attribute) or '(no name)'} ({self.row_id(row)})" for row in rows[:CANDIDATES_NAMED]
        )
        more = len(rows) - CANDIDATES_NAMED
        return named + (f" and {more} more" if more > 0 else "")


NO_MATCH, TAKEN, SEVERAL = "none", "taken", "several"


@dataclass
class Match:
    """What matching found for one record: the one row to couple it to, or why there is none."""

    row: dict | None = None
    # NO_MATCH, TAKEN or SEVERAL (the last group that found rows, else the first that found none); "" when no
    # group could be asked (nothing to match on).
    kind: str = ""
    rows: list[dict] = field(default_factory=list)
    fields: str = ""


def match_page(matcher: _Matcher, page: Sequence[models.Model]) -> dict[int, Match]:
    """The decisions for one page of uncoupled records, by record pk, writing nothing: the priority groups in
    order; exactly one hit that no coupling takes, and no earlier record of the run claimed, is the match (and is
    claimed). Shared by the coupling job and its preview (engine.preview)."""
    mapping = matcher.mapping
    matches = {record.pk: Match() for record in page}
    unmatched = {record.pk: record for record in page}
    for group in matcher.groups:
        askable = [r for r in unmatched.values() if matcher.askable(group, r)]
        if not askable:
            continue
        found = matcher.candidates(group, askable)
        hit_ids = {matcher.row_id(row) for rows in found.values() for row in rows}
        taken = {
            str(i)
            for i in Coupling.objects.filter(crm_entity=mapping.crm_entity, crm_id__in=hit_ids).values_list(
                "crm_id", flat=True
            )
        }
        fields = " and ".join(_field_words(mapping, f) for f in group)
        for record in askable:
            rows = found[record.pk]
            match = matches[record.pk]
            if len(rows) == 1 and matcher.row_id(rows[0]) not in taken | matcher.claimed:
                match.row = rows[0]
                matcher.claimed.add(matcher.row_id(rows[0]))
                del unmatched[record.pk]
            elif not rows:
                if not match.kind:
                    match.kind, match.fields = NO_MATCH, fields
            else:
                match.kind, match.rows, match.fields = (TAKEN if len(rows) == 1 else SEVERAL), rows, fields
    return matches


def _field_words(mapping: IntegrationTableMapping, field_mapping: IntegrationFieldMapping) -> str:
    """A match field as the record's page names it, inside a sentence ("the same e-mail", "the same VAT no.")."""
    words = erp_field_words(mapping_model(mapping), field_mapping.erp_field)
    return words[:1].lower() + words[1:] if words[1:2] != words[1:2].upper() else words


def unmatched_reason(matcher: _Matcher, record: models.Model, match: Match) -> str:
    """Why the record found no unique uncoupled match, in the words of the job's error row."""
    noun = crm_noun(matcher.mapping.crm_entity)
    if match.kind == NO_MATCH:
        return f"no {noun} has the same {match.fields}"
    if match.kind == TAKEN:
        return f"the {noun} with the same {match.fields} is coupled already: {matcher.describe(match.rows)}"
    if match.kind == SEVERAL:
        return f"{len(match.rows)} {plural(noun)} have the same {match.fields}: {matcher.describe(match.rows)}"
    fields = " and ".join(_field_words(matcher.mapping, f) for g in matcher.groups for f in g)
    return matcher.unresolved.get(record.pk) or f"its {fields} is empty"


def names_several_rows(message: str) -> bool:
    """The message of a record several rows matched (an error row, or the warning of one created new)."""
    return bool(SEVERAL_ROWS.search(message))


# unmatched_reason's words for SEVERAL: "2 Dynamics 365 accounts have the same name: …".
SEVERAL_ROWS = re.compile(r"\b\d+ Dynamics 365 [\w ]+? have the same ")


def uncoupled_records(job: SyncJob) -> models.QuerySet[SyncedModel]:
    mapping = job_mapping(job)
    model = mapping_model(mapping)
    coupled = Coupling.objects.filter(erp_model_id=mapping.erp_model_id, erp_system_id=OuterRef("system_id"))
    if "erp_system_ids" in job.parameters:
        queryset = model._default_manager.filter(system_id__in=job.parameters["erp_system_ids"])
    else:
        queryset = model._default_manager.filter(**mapping.erp_filter)
    return queryset.filter(~Exists(coupled)).order_by("pk")


def couple_by_match(*, job: SyncJob, report: Report) -> tuple[list[str], list[str]]:
    """Couple the job's uncoupled records to the one uncoupled CRM row with the same values of the match fields
    (priority groups in order); a record with none (or several) is an error row, or coupled to a row to be created
    when the mapping says so. Returns the system ids coupled and those to create in Dynamics 365."""
    mapping = IntegrationTableMapping.objects.select_related("erp_model").get(pk=job_mapping_id(job))
    job.mapping = mapping
    noun = mapping.crm_entity
    queryset = uncoupled_records(job)
    report.progress(total=queryset.count())
    newly_coupled: list[str] = []
    to_create: list[str] = []
    done = 0
    with clients.crm_client() as client:
        matcher = _Matcher(job, client)
        requests_reported = client.stats.total
        last_pk = None
        while True:
            page_query = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
            page = list(page_query[:RECORDS_PER_PAGE])
            if not page:
                break
            last_pk = page[-1].pk
            matcher.start_page(page)
            coupled_now = 0
            for record, match in zip(page, match_page(matcher, page).values(), strict=True):
                refused = ""
                if match.row is not None:
                    try:
                        with transaction.atomic():
                            coupling_services.coupling_create(
                                record=record, crm_entity=noun, crm_id=matcher.row_id(match.row)
                            )
                    except ValidationError as error:
                        refused = " ".join(error.messages)
                    else:
                        newly_coupled.append(str(record.system_id))
                        coupled_now += 1
                        continue
                reason = refused or unmatched_reason(matcher, record, match)
                if mapping.create_new_if_no_match and mapping.direction != Direction.FROM_CRM:
                    with transaction.atomic():
                        coupling_services.coupling_create(
                            record=record, crm_entity=noun, crm_id=uuid.uuid4(), state=Coupling.State.CREATING
                        )
                    to_create.append(str(record.system_id))
                    if match.kind == SEVERAL:
                        # A new row beside the candidates may be a duplicate: the job's page says so.
                        report.record_warning(
                            record=record,
                            field=match.fields,
                            message=f"Created as a new {CRM_ENTITY_NOUNS.get(noun, noun)} in Dynamics 365, not "
                            f"coupled: {reason}.",
                            mapping=mapping,
                            crm_entity=noun,
                        )
                    continue
                report.record_error(
                    mapping=mapping,
                    record=record,
                    crm_entity=noun,
                    message=f"No unique uncoupled matching {crm_noun(noun)} was found: {reason}.",
                )
            done += len(page)
            report.progress(done=done, coupled=coupled_now, http_requests=client.stats.total - requests_reported)
            requests_reported = client.stats.total
    return newly_coupled, to_create

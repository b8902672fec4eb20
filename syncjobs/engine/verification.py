"""Are both sides of a mapping equal? Every coupled pair compared field by field, and what is not coupled.

The ERP side's values are computed by the engine's own code (``syncjobs.engine.values``: transforms,
lookups by coupled id, option values, trimming), so "equal" means what the engine means: nothing
left to synchronize. Reads are bulk and paged: couplings 500 at a time with their ERP records in one
query and their CRM rows in one request per 200 ids; uncoupled CRM rows from the mapping's CRM
filter, one page of 500 at a time with one coupling query each. Memory stays bounded: only the
counts and the first ``limit`` findings of each kind are kept.

What counts as a problem (``MappingVerification.has_problems``): a field that differs (or values the
engine cannot compute, e.g. a parent not coupled; a value the ERP holds shortened to fit its field is
listed as *shortened*, expected, not as a difference), a coupling whose other side is gone, a CRM row
coupled twice, and an uncoupled record the mapping would synchronize. With "synchronize only coupled
records" on, the mapping's runs leave uncoupled records alone (only a full synchronization or
match-based coupling brings them in): they are listed, but expected; the same for uncoupled ERP
records of a mapping that only synchronizes from Dynamics 365, and the other way round.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import Lower, Trim

import dataverse
from coupling.models import Coupling
from syncjobs.engine import context, to_crm, values
from syncjobs.engine.context import READ_IDS_PER_QUERY, READ_PAGE_SIZE, RunContext
from syncjobs.engine.crm_queries import and_filters, crm_mapping_filter, crm_primary_name
from syncjobs.engine.records import directions
from syncjobs.engine.run import reading_context
from syncjobs.engine.values import Lookups, RecordFailure
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import Direction, IntegrationFieldMapping, IntegrationTableMapping

DEFAULT_LIMIT = 50
MISSING = object()


@dataclass
class Findings:
    """How many of one kind of finding there are, and the first ``limit`` of them."""

    limit: int
    count: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, item: dict[str, Any]) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(item)

    @property
    def more(self) -> int:
        return self.count - len(self.items)


@dataclass
class MappingVerification:
    mapping: IntegrationTableMapping
    limit: int
    checked: int = 0  # coupled pairs compared
    same: int = 0
    differing: int = 0  # pairs with at least one difference (or values that cannot be computed)
    # Fields the ERP holds shortened (too long for its field) while Dynamics 365 keeps the full value: expected.
    shortened: Findings = field(init=False)
    outside_filters: int = 0  # pairs outside both filters: the engine does not keep them equal
    differences: Findings = field(init=False)
    uncoupled_erp: Findings = field(init=False)
    uncoupled_crm: Findings = field(init=False)
    dangling: Findings = field(init=False)
    coupled_twice: Findings = field(init=False)

    KINDS = ("differences", "shortened", "uncoupled_erp", "uncoupled_crm", "dangling", "coupled_twice")

    def __post_init__(self):
        for kind in self.KINDS:
            setattr(self, kind, Findings(limit=self.limit))

    @property
    def uncoupled_erp_expected(self) -> bool:
        """The mapping's runs do not create CRM rows for uncoupled ERP records."""
        return self.mapping.sync_only_coupled or self.mapping.direction == Direction.FROM_CRM

    @property
    def uncoupled_crm_expected(self) -> bool:
        """The mapping's runs do not create ERP records for uncoupled CRM rows."""
        return self.mapping.sync_only_coupled or self.mapping.direction == Direction.TO_CRM

    @property
    def has_problems(self) -> bool:
        return bool(
            self.differing
            or self.dangling.count
            or self.coupled_twice.count
            or (self.uncoupled_erp.count and not self.uncoupled_erp_expected)
            or (self.uncoupled_crm.count and not self.uncoupled_crm_expected)
        )

    def counts(self) -> dict[str, int]:
        return {
            "checked": self.checked,
            "same": self.same,
            "differing": self.differing,
            "shortened": self.shortened.count,
            "uncoupled_erp": self.uncoupled_erp.count,
            "uncoupled_crm": self.uncoupled_crm.count,
            "dangling": self.dangling.count,
            "coupled_twice": self.coupled_twice.count,
            "outside_filters": self.outside_filters,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping.name,
            "ok": not self.has_problems,
            "counts": self.counts(),
            "uncoupled_erp_expected": self.uncoupled_erp_expected,
            "uncoupled_crm_expected": self.uncoupled_crm_expected,
            **{kind: getattr(self, kind).items for kind in self.KINDS},
            "more": {kind: getattr(self, kind).more for kind in self.KINDS},
        }


def verifiable_mappings(*, names: list[str]) -> list[IntegrationTableMapping]:
    """The named mappings (any case), or every enabled record mapping in dependency order when none is named.

    ValidationError names an unknown mapping and the known ones, or an option mapping (its codes are
    coupled to option values: there are no rows to compare).
    """
    if not names:
        mappings = [m for m in mapping_selectors.mapping_dependency_order(enabled_only=True) if not m.is_option_mapping]
        if not mappings:
            raise ValidationError("No integration table mapping is enabled.")
        return mappings
    by_name = {m.name.upper(): m for m in IntegrationTableMapping.objects.select_related("erp_model")}
    mappings = []
    for name in names:
        mapping = by_name.get(name.upper())
        if mapping is None:
            known = ", ".join(m.name for m in by_name.values() if not m.is_option_mapping)
            raise ValidationError(f"No mapping named {name}. The mappings are: {known}.")
        if mapping.is_option_mapping:
            raise ValidationError(
                f"{mapping.name} couples ERP codes to option values: there are no rows to compare. "
                "Name a record mapping, e.g. CUSTOMER."
            )
        if mapping not in mappings:
            mappings.append(mapping)
    return mappings


def mapping_verify(
    *, mapping: IntegrationTableMapping, client: dataverse.Client, limit: int = DEFAULT_LIMIT
) -> MappingVerification:
    """Compare every coupled pair of ``mapping`` and find what is uncoupled, dangling or coupled twice.

    ``client`` is a ``dataverse.Client`` (syncjobs.connection.clients.crm_client); its errors propagate.
    """
    ctx = reading_context(client=client, mapping=mapping)
    result = MappingVerification(mapping=mapping, limit=limit)
    _compare_coupled_pairs(ctx, result)
    _find_uncoupled_erp_records(ctx, result)
    _find_uncoupled_crm_rows(ctx, result)
    _find_crm_rows_coupled_twice(ctx, result)
    return result


# --- Coupled pairs --------------------------------------------------------------------------------


def _compared_fields(ctx: RunContext) -> list[IntegrationFieldMapping]:
    """The field mappings the engine keeps equal on both sides, with a CRM attribute to read.

    ``records.directions`` leaves out constants written into the ERP (only set when the CRM creates the
    record); a constant sent to the CRM is compared with the constant.
    """
    names = directions(ctx)
    return [f for f in ctx.fields if f.name in names and f.crm_attribute]


def _compare_coupled_pairs(ctx: RunContext, result: MappingVerification) -> None:
    model = ctx.erp_model
    compared = _compared_fields(ctx)
    lookups = Lookups(ctx)
    paths = [f.erp_field for f in ctx.fields if f.erp_field and not f.lookup_erp_key]
    related = values.select_related_paths(model, paths)
    records_query = model._default_manager.select_related(*related) if related else model._default_manager.all()
    couplings = Coupling.objects.filter(erp_model=ctx.erp_content_type).order_by("pk")
    last_pk = 0
    while page := list(couplings.filter(pk__gt=last_pk)[:READ_PAGE_SIZE]):
        last_pk = page[-1].pk
        records = {r.system_id: r for r in records_query.filter(system_id__in=[c.erp_system_id for c in page])}
        in_erp_filter = set(
            model._default_manager.filter(system_id__in=list(records), **ctx.mapping.erp_filter).values_list(
                "system_id", flat=True
            )
        )
        rows = to_crm.fetch_crm_rows(ctx, [c.crm_id for c in page])
        # Only pairs whose ERP record left the ERP filter need asking whether the CRM row is in the CRM filter.
        outside_erp_filter = [
            c.crm_id for c in page if c.erp_system_id in records and c.erp_system_id not in in_erp_filter
        ]
        in_crm_filter = _crm_ids_in_filter(ctx, [crm_id for crm_id in outside_erp_filter if crm_id in rows])
        lookups.prime_for_records(list(records.values()))
        for coupling in page:
            record = records.get(coupling.erp_system_id)
            row = rows.get(coupling.crm_id)
            if record is None or row is None:
                _dangling(ctx, result, coupling, record, row)
            elif coupling.erp_system_id in in_erp_filter or coupling.crm_id in in_crm_filter:
                _compare_pair(ctx, result, lookups, compared, coupling, record, row)
            else:
                result.outside_filters += 1


def _crm_ids_in_filter(ctx: RunContext, crm_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    crm_filter = crm_mapping_filter(ctx.mapping)
    if crm_filter is None:
        return set(crm_ids)
    found: set[uuid.UUID] = set()
    for start in range(0, len(crm_ids), READ_IDS_PER_QUERY):
        chunk = crm_ids[start : start + READ_IDS_PER_QUERY]
        rows = ctx.client.query(
            ctx.mapping.crm_entity_set,
            select=[ctx.primary_key],
            filter=and_filters(values.ids_filter(ctx.primary_key, chunk), crm_filter),
            page_size=READ_IDS_PER_QUERY,
        )
        found.update(uuid.UUID(str(row[ctx.primary_key])) for row in rows)
    return found


def _pair(ctx: RunContext, coupling: Coupling, record: models.Model | None) -> dict[str, Any]:
    return {
        "mapping": ctx.mapping.name,
        "erp_record": str(record) if record is not None else f"{ctx.erp_model._meta.verbose_name} (deleted)",
        "erp_system_id": str(coupling.erp_system_id),
        "crm_entity": coupling.crm_entity,
        "crm_id": str(coupling.crm_id),
    }


def _dangling(ctx: RunContext, result: MappingVerification, coupling: Coupling, record, row) -> None:
    erp_noun = ctx.erp_model._meta.verbose_name
    crm_noun = context.crm_noun(ctx.mapping.crm_entity)
    if record is None and row is None:
        message = f"Both the {erp_noun} and the {crm_noun} no longer exist."
    elif record is None:
        message = f"The {erp_noun} no longer exists."
    elif coupling.state == Coupling.State.CREATING:
        message = f"The {crm_noun} was never created: its create is pending (the next run sends it)."
    else:
        message = f"The {crm_noun} no longer exists."
    result.dangling.add({**_pair(ctx, coupling, record), "message": message})


def _compare_pair(ctx, result, lookups, compared, coupling, record, row) -> None:
    result.checked += 1
    try:
        erp_side = values.erp_values_for_merge(ctx, lookups, record)
    except RecordFailure as failure:
        result.differing += 1
        result.differences.add(
            {
                **_pair(ctx, coupling, record),
                "field": None,
                "message": f"The ERP values cannot be computed: {failure.message}",
            }
        )
        return
    differs = False
    for field_mapping in compared:
        erp_value = erp_side.get(field_mapping.name, MISSING)
        if erp_value is MISSING or (erp_value is None and field_mapping.not_null):
            continue  # not a value the engine compares, or an empty one it never writes
        crm_value = values.canonical(values.crm_row_value(field_mapping, row))
        if erp_value == crm_value:
            continue
        finding = {
            **_pair(ctx, coupling, record),
            "field": field_mapping.name,
            "erp_field": field_mapping.erp_field,
            "crm_attribute": field_mapping.crm_attribute,
            "constant": field_mapping.constant_value or None,
            "erp_value": erp_value,
            "crm_value": crm_value,
        }
        if _shortened_copy(coupling, field_mapping.name, erp_value, crm_value):
            result.shortened.add(finding)
            continue
        differs = True
        result.differences.add(finding)
    if differs:
        result.differing += 1
    else:
        result.same += 1


def _shortened_copy(coupling: Coupling, name: str, erp_value, crm_value) -> bool:
    """The ERP holds the shortened copy the engine wrote of the value Dynamics 365 still holds whole."""
    copy = (coupling.shortened or {}).get(name, MISSING)
    return (
        copy is not MISSING
        and erp_value == copy
        and isinstance(crm_value, str)
        and isinstance(copy, str)
        and len(crm_value) > len(copy)
    )


# --- Uncoupled and coupled twice ------------------------------------------------------------------


def _find_uncoupled_erp_records(ctx: RunContext, result: MappingVerification) -> None:
    coupled = Coupling.objects.filter(erp_model=ctx.erp_content_type, erp_system_id=OuterRef("system_id"))
    uncoupled = ctx.erp_model._default_manager.filter(**ctx.mapping.erp_filter).exclude(Exists(coupled))
    result.uncoupled_erp.count = uncoupled.count()
    result.uncoupled_erp.items = [
        {"mapping": ctx.mapping.name, "erp_record": str(record), "erp_system_id": str(record.system_id)}
        for record in uncoupled.order_by("pk")[: result.limit]
    ]


def _same_entity(crm_entity: str):
    """Couplings of the entity however its name is spelled: the unique constraint tells "Account" from "account"."""
    return Coupling.objects.annotate(entity=Lower(Trim("crm_entity"))).filter(entity=crm_entity.strip().lower())


def _find_uncoupled_crm_rows(ctx: RunContext, result: MappingVerification) -> None:
    """Rows in the CRM filter no coupling takes; a row coupled to another ERP table is claimed by two mappings."""
    name = crm_primary_name(client=ctx.client, crm_entity=ctx.mapping.crm_entity)
    select = [ctx.primary_key] + ([name] if name != ctx.primary_key else [])
    query = ctx.client.query(
        ctx.mapping.crm_entity_set, select=select, filter=crm_mapping_filter(ctx.mapping), page_size=READ_PAGE_SIZE
    )
    for rows in query.pages():
        ids = [uuid.UUID(str(row[ctx.primary_key])) for row in rows]
        owners: dict[uuid.UUID, list[int]] = {}
        for crm_id, content_type_id in (
            _same_entity(ctx.mapping.crm_entity).filter(crm_id__in=ids).values_list("crm_id", "erp_model_id")
        ):
            owners.setdefault(crm_id, []).append(content_type_id)
        for crm_id, row in zip(ids, rows, strict=True):
            found = owners.get(crm_id)
            item = {
                "mapping": ctx.mapping.name,
                "crm_entity": ctx.mapping.crm_entity,
                "crm_id": str(crm_id),
                "crm_name": row.get(name),
            }
            if not found:
                result.uncoupled_crm.add(item)
            elif ctx.erp_content_type.pk not in found:
                others = _mapping_names(found)
                result.coupled_twice.add(
                    {
                        **item,
                        "message": f"It is in the CRM filter of {ctx.mapping.name} but coupled through "
                        f"{others}: two mappings claim it.",
                    }
                )


def _mapping_names(content_type_ids: list[int]) -> str:
    names = IntegrationTableMapping.objects.filter(erp_model_id__in=content_type_ids, is_option_mapping=False)
    return ", ".join(sorted(names.values_list("name", flat=True))) or "another ERP table"


def _find_crm_rows_coupled_twice(ctx: RunContext, result: MappingVerification) -> None:
    """CRM rows with more than one coupling, one of them this mapping's.

    The coupling table is unique per (entity, id), so this takes the entity spelled two ways
    (e.g. written by hand or by an older version): the engine would then write one row from two records.
    """
    ours = Coupling.objects.filter(erp_model=ctx.erp_content_type).values("crm_id")
    duplicated = (
        _same_entity(ctx.mapping.crm_entity)
        .filter(crm_id__in=ours)
        .values("crm_id")
        .annotate(couplings=Count("pk"))
        .filter(couplings__gt=1)
        .order_by("crm_id")
    )
    for group in duplicated.iterator():
        crm_id = group["crm_id"]
        if len(result.coupled_twice.items) >= result.limit:
            result.coupled_twice.count += 1
            continue
        couplings = _same_entity(ctx.mapping.crm_entity).filter(crm_id=crm_id).select_related("erp_model")
        described = "; ".join(_describe_coupling(c) for c in couplings)
        result.coupled_twice.add(
            {
                "mapping": ctx.mapping.name,
                "crm_entity": ctx.mapping.crm_entity,
                "crm_id": str(crm_id),
                "crm_name": None,
                "message": f"It has {group['couplings']} couplings: {described}.",
            }
        )


def _describe_coupling(coupling: Coupling) -> str:
    model = coupling.erp_model.model_class()
    record = model._default_manager.filter(system_id=coupling.erp_system_id).first() if model else None
    label = str(record) if record is not None else f"{coupling.erp_system_id} (deleted)"
    noun = model._meta.verbose_name if model else coupling.erp_model.model
    return f"{noun} {label} as “{coupling.crm_entity}”"

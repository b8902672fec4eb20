"""Mapped values: read from an ERP record or a CRM row, compared, and written to the other side.

Every field mapping's value has one *canonical* form on both sides, so that the snapshot (the
values as last synchronized) can be compared with either side: text as text ("" is None),
numbers as normalized decimal text, lookups as the CRM id, option values as their number, a
Blocked flag mapped to statecode (INACTIVE_STATE) as true/false (a CRM row is inactive in any
state but Active, 0, as BC reads it). The ERP side's canonical value is what would be sent to the
CRM (lookups already translated through couplings, text trimmed when the field mapping says so);
the CRM side's is what the row holds.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.fields import GenericForeignKey
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models
from django.db.models import ForeignObjectRel
from django.urls import reverse
from django.utils import timezone

import dataverse
from coupling import selectors as coupling_selectors
from coupling.models import Coupling, OptionCoupling
from erp import selectors as erp_selectors
from erp.models import Currency, GeneralSetup, SyncedModel
from nav_crm.records import describe_record, plural
from syncjobs.engine.context import RunContext, crm_noun, lookup_mapping_of, mapping_model
from syncjobs.mappings.rules import erp_field_words
from syncjobs.models import IntegrationFieldMapping, IntegrationTableMapping

Transform = IntegrationFieldMapping.Transform
NUMBER_TYPES = {"Integer", "BigInt", "Picklist", "State", "Status"}
DECIMAL_TYPES = {"Decimal", "Money", "Double"}
LOOKUP_TYPES = {"Lookup", "Customer", "Owner"}


class RecordFailure(Exception):
    """This record cannot be synchronized now; the message says why in the user's words."""

    def __init__(
        self,
        message: str,
        *,
        details: str = "",
        parent: models.Model | None = None,
        fix_url: str = "",
        fix_label: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.details = details
        # The uncoupled ERP record it waits for (its error row links to its couple page), or a page of its own.
        self.parent = parent
        self.fix_url = fix_url
        self.fix_label = fix_label


def canonical(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)).normalize()
        return format(number, "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        return value
    return str(value)


# --- ERP side ------------------------------------------------------------------------------------


def erp_path_value(record: models.Model, path: str) -> Any:
    """The value at ``path`` (``a__b``); a missing reference on the way gives None."""
    value: Any = record
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def relation_paths(model: type[models.Model], paths: list[str]) -> dict[str, type[models.Model]]:
    """Every reference prefix of ``paths`` (``a`` and ``a__b`` of ``a__b__c``; a filter's lookups such as
    ``__gt`` end a path) and the model it reaches."""
    reached: dict[str, type[models.Model]] = {}
    for path in paths:
        current, prefix = model, []
        for part in path.split("__"):
            try:
                field = current._meta.get_field(part)
            except FieldDoesNotExist:
                break
            reached_model = field.related_model if field.is_relation else None
            if not isinstance(reached_model, type):  # no relation ("self" is resolved once the models are loaded)
                break
            prefix.append(part)
            current = reached_model
            reached["__".join(prefix)] = current
    return reached


def related_model(field: models.Field[Any, Any] | ForeignObjectRel | GenericForeignKey) -> type[models.Model]:
    """The model a relation reaches. Django has resolved a lazy reference ("self", "app.Model") to the class once
    the models are loaded, so anything else means ``field`` is no relation."""
    model = field.related_model
    if not isinstance(model, type):
        raise FieldError(f"{field} is not a relation to a model.")
    return model


def select_related_paths(model: type[models.Model], paths: list[str]) -> list[str]:
    """The reference prefixes of ``paths`` worth joining when reading a page of records."""
    return sorted(relation_paths(model, paths))


class Lookups:
    """Coupled CRM ids of the records a page refers to, read in one query per lookup mapping and page."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        # Lookup mapping → ERP system id → coupled CRM id (None: not coupled, asked once).
        self.crm_ids: dict[int, dict[uuid.UUID, uuid.UUID | None]] = defaultdict(dict)
        self.by_key: dict[tuple[int, str], SyncedModel | None] = {}
        self.erp_by_crm_id: dict[int, dict[uuid.UUID, SyncedModel]] = defaultdict(dict)
        self.options: dict[str, dict] = {}
        self.base_units: dict[str, str | None] = {}
        self._local_currency: tuple[str | None, RecordFailure | None] | None = None
        for mapping_pk, pairs in ctx.planned_couplings.items():  # a dry run's: what earlier mappings would couple
            self.crm_ids[mapping_pk].update(pairs)

    def _lookup_fields(self) -> list[IntegrationFieldMapping]:
        return [f for f in self.ctx.fields if f.transform in (Transform.LOOKUP, Transform.SCHEDULE_BASE_UNIT)]

    def prime_for_records(self, records: Sequence[models.Model]) -> None:
        for field_mapping in self._lookup_fields():
            if field_mapping not in self.ctx.to_crm_fields:
                continue
            lookup_mapping = lookup_mapping_of(field_mapping)
            parents = [self._parent(field_mapping, record) for record in records]
            model = mapping_model(lookup_mapping)
            ids = {parent.system_id for parent in parents if parent is not None}
            ids -= set(self.crm_ids[lookup_mapping.pk])
            if ids:
                self.crm_ids[lookup_mapping.pk].update(coupling_selectors.crm_ids_for(model=model, system_ids=ids))

    def prime_for_rows(self, rows: list[dict], field_mappings: list[IntegrationFieldMapping] | None = None) -> None:
        """The ERP records the rows' lookups name (those of ``field_mappings``, else of the fields to the ERP)."""
        wanted_fields = self.ctx.from_crm_fields if field_mappings is None else field_mappings
        for field_mapping in self._lookup_fields():
            if field_mapping not in wanted_fields or field_mapping.transform != Transform.LOOKUP:
                continue
            lookup_mapping = lookup_mapping_of(field_mapping)
            named = {row.get(f"_{field_mapping.crm_attribute}_value") for row in rows} - {None}
            known = self.erp_by_crm_id[lookup_mapping.pk]
            wanted = {uuid.UUID(str(crm_id)) for crm_id in named} - set(known)
            if not wanted:
                continue
            couplings = Coupling.objects.filter(
                crm_entity=lookup_mapping.crm_entity, crm_id__in=wanted, state=Coupling.State.COUPLED
            ).values_list("crm_id", "erp_system_id")
            by_system_id = {erp_id: crm_id for crm_id, erp_id in couplings}
            planned = self.ctx.planned_couplings.get(lookup_mapping.pk, {})
            by_system_id.update({erp_id: crm_id for erp_id, crm_id in planned.items() if crm_id in wanted})
            model = mapping_model(lookup_mapping)
            for record in model._default_manager.filter(system_id__in=list(by_system_id)):
                known[by_system_id[record.system_id]] = record

    def _parent(self, field_mapping: IntegrationFieldMapping, record: models.Model) -> SyncedModel | None:
        value = erp_path_value(record, field_mapping.erp_field)
        if value is None or value == "":
            return None
        if field_mapping.lookup_erp_key:
            model = mapping_model(lookup_mapping_of(field_mapping))
            key = (field_mapping.pk, str(value))
            if key not in self.by_key:
                self.by_key[key] = model._default_manager.filter(**{field_mapping.lookup_erp_key: value}).first()
            return self.by_key[key]
        return value

    def crm_id(self, field_mapping: IntegrationFieldMapping, record: models.Model) -> str | None:
        """The coupled CRM id of the record ``field_mapping`` refers to; RecordFailure when it is not coupled."""
        parent = self._parent(field_mapping, record)
        if parent is None:
            return self.local_currency_crm_id() if is_currency_lookup(field_mapping) else None
        lookup_mapping = lookup_mapping_of(field_mapping)
        known = self.crm_ids[lookup_mapping.pk]
        if parent.system_id not in known:
            # A record not primed with its page (e.g. one just created from the CRM): one query.
            found = coupling_selectors.crm_ids_for(model=type(parent), system_ids=[parent.system_id])
            known[parent.system_id] = found.get(parent.system_id)
        crm_id = known[parent.system_id]
        if crm_id is None:
            raise RecordFailure(
                f"{describe_record(parent, capitalize=True)} must be coupled to a "
                f"{crm_noun(lookup_mapping.crm_entity)}.",
                details=f"{describe_record(record, capitalize=True)} refers to it as its "
                f"{erp_field_words(type(record), field_mapping.erp_field)}. Couple it first ({lookup_mapping.title}).",
                parent=parent,
            )
        return str(crm_id)

    def local_currency_crm_id(self) -> str:
        """The CRM currency of NAV's blank currency code, which means the local currency (LCY).

        The LCY's coupled CRM currency when the general setup names one (RecordFailure naming it
        when it is not coupled: another currency would be wrong), else the organization's base
        currency. Looked up once per run."""
        if self._local_currency is None:
            self._local_currency = self._resolve_local_currency()
        crm_id, failure = self._local_currency
        if failure is not None:
            raise failure
        assert crm_id is not None, "_resolve_local_currency gives a CRM id or the failure"
        return crm_id

    def _resolve_local_currency(self) -> tuple[str | None, RecordFailure | None]:
        setup = GeneralSetup.objects.filter(pk=1).select_related("local_currency").first()
        local = setup.local_currency if setup is not None else None
        if local is not None:
            crm_id = coupling_selectors.crm_ids_for(model=Currency, system_ids=[local.system_id]).get(local.system_id)
            if crm_id is not None:
                return str(crm_id), None
            return None, RecordFailure(
                f"Currency {local} (the local currency) must be coupled to a Dynamics 365 currency.",
                details="Records without a currency code are in the local currency (LCY). "
                "Couple it through the CURRENCY mapping.",
                parent=local,
            )
        try:
            rows = list(self.ctx.client.query("organizations", select=["_basecurrencyid_value"], top=1))
        except dataverse.DataverseError as error:
            return None, RecordFailure(
                "The base currency of the Dynamics 365 organization could not be read.", details=str(error)
            )
        base = rows[0].get("_basecurrencyid_value") if rows else None
        if not base:
            return None, RecordFailure(
                "Records without a currency code need the local currency (LCY): set it in the general setup "
                "and couple it to a Dynamics 365 currency."
            )
        return str(base).lower(), None

    def is_local_currency(self, crm_id: str) -> bool:
        """True for the CRM currency that stands for the local currency (errors resolving it mean no)."""
        try:
            return self.local_currency_crm_id() == str(crm_id).lower()
        except RecordFailure:
            return False

    def erp_record(self, field_mapping: IntegrationFieldMapping, crm_id: str | None) -> models.Model | None:
        if crm_id is None:
            return None
        lookup_mapping = lookup_mapping_of(field_mapping)
        record = self.erp_by_crm_id[lookup_mapping.pk].get(uuid.UUID(str(crm_id)))
        if record is None:
            model = mapping_model(lookup_mapping)
            shown_as = self.ctx.attribute_label(field_mapping.crm_attribute)
            raise RecordFailure(
                f"The {crm_noun(lookup_mapping.crm_entity)} set as {shown_as} (id {crm_id}) is not coupled to a "
                f"{model._meta.verbose_name}.",
                details=f"Couple it with its {model._meta.verbose_name} ({lookup_mapping.title}), then synchronize "
                "this record again.",
                fix_url=reverse("coupling:uncoupled", args=[lookup_mapping.pk]),
                fix_label=f"Couple {plural(crm_noun(lookup_mapping.crm_entity))}"[:100],
            )
        return record

    def option_couplings(self, field_mapping: IntegrationFieldMapping) -> tuple[dict, dict]:
        """(ERP system id → option value, option value → ERP system id) for the option set of the field."""
        key = field_mapping.crm_attribute
        if key not in self.options:
            rows = OptionCoupling.objects.filter(
                crm_entity=self.ctx.mapping.crm_entity, crm_attribute=field_mapping.crm_attribute
            ).values_list("erp_system_id", "option_value")
            forward = dict(rows)
            self.options[key] = {"forward": forward, "reverse": {value: sid for sid, value in forward.items()}}
        return self.options[key]["forward"], self.options[key]["reverse"]

    def schedule_base_unit(self, schedule_id: str) -> str | None:
        if schedule_id not in self.base_units:
            rows = self.ctx.client.query(
                "uoms",
                select=["uomid"],
                filter=dataverse.F.eq("_uomscheduleid_value", uuid.UUID(schedule_id))
                & dataverse.F.eq("isschedulebaseuom", True),
                top=1,
            )
            row = next(iter(rows), None)
            self.base_units[schedule_id] = row["uomid"] if row else None
        return self.base_units[schedule_id]


def is_currency_lookup(field_mapping: IntegrationFieldMapping) -> bool:
    """A lookup to the ERP's currencies, where a blank value means the local currency (LCY), as in NAV."""
    return (
        field_mapping.transform == Transform.LOOKUP
        and field_mapping.lookup_mapping is not None
        and field_mapping.lookup_mapping.erp_model.model_class() is Currency
        and not field_mapping.lookup_erp_key
    )


def _trim(
    ctx: RunContext, field_mapping, value: str, max_length: int | None, where: str, label: str, record=None
) -> str:
    if max_length and isinstance(value, str) and len(value) > max_length:
        if field_mapping.transform != Transform.TRIM:
            return value  # the target refuses it; that is the record's error, reported as such
        message = f"{label}: {where} was trimmed to {max_length} characters."
        if record is None:
            ctx.warn(message)
        else:
            ctx.warn_record(record=record, field=field_mapping.erp_field, message=message)
        return value[:max_length]
    return value


def erp_values(ctx: RunContext, lookups: Lookups, record: models.Model) -> dict[str, Any]:
    """Canonical values of the fields that flow to the CRM, by field mapping name."""
    values: dict[str, Any] = {}
    for field_mapping in ctx.to_crm_fields:
        if field_mapping.constant_value:
            values[field_mapping.name] = canonical(field_mapping.constant_value)
            continue
        if field_mapping.transform == Transform.LOOKUP:
            try:
                values[field_mapping.name] = lookups.crm_id(field_mapping, record)
            except RecordFailure:
                if not field_mapping.clear_value_on_failed_sync:
                    raise
                # Left out: neither written nor remembered, so a later run sends it once the parent
                # is coupled (a full run, or the next change of the record).
        elif field_mapping.transform == Transform.SCHEDULE_BASE_UNIT:
            schedule = lookups.crm_id(field_mapping, record)
            base_unit = lookups.schedule_base_unit(schedule) if schedule else None
            if schedule and base_unit is None:
                raise RecordFailure(f"The Dynamics 365 unit group {schedule} has no base unit.")
            values[field_mapping.name] = base_unit
        elif field_mapping.transform == Transform.INACTIVE_STATE:
            values[field_mapping.name] = bool(erp_path_value(record, field_mapping.erp_field))
        elif field_mapping.transform == Transform.OPTION:
            option_record = erp_path_value(record, field_mapping.erp_field)
            if option_record is None:
                values[field_mapping.name] = None
                continue
            forward, _ = lookups.option_couplings(field_mapping)
            option = forward.get(option_record.system_id)
            if option is None:
                raise RecordFailure(
                    f"{describe_record(option_record, capitalize=True)} has no coupled value of the Dynamics 365 "
                    f"choice {ctx.attribute_label(field_mapping.crm_attribute)}.",
                    details="Couple it through its option mapping (payment terms, shipment methods, shipping agents).",
                    parent=option_record,
                )
            values[field_mapping.name] = canonical(option)
        else:
            value = erp_path_value(record, field_mapping.erp_field)
            attribute = ctx.attributes.get(field_mapping.crm_attribute)
            if isinstance(value, str):
                value = value.strip()
                value = _trim(
                    ctx,
                    field_mapping,
                    value,
                    attribute.max_length if attribute else None,
                    f"{ctx.mapping.crm_entity}.{field_mapping.crm_attribute}",
                    describe_record(record, capitalize=True),
                    record=record,
                )
            values[field_mapping.name] = canonical(value)
    return values


def crm_payload(ctx: RunContext, values: dict[str, Any], names: set[str] | None = None) -> dict[str, Any]:
    """The Web API body that writes ``values`` (all, or the ``names`` given)."""
    body: dict[str, Any] = {}
    for field_mapping in ctx.to_crm_fields:
        if field_mapping.name not in values or (names is not None and field_mapping.name not in names):
            continue
        value = values[field_mapping.name]
        if value is None and field_mapping.not_null:
            continue
        if field_mapping.transform in (Transform.LOOKUP, Transform.SCHEDULE_BASE_UNIT):
            target = _lookup_target_set(ctx, field_mapping)
            navigation = field_mapping.crm_navigation_property or field_mapping.crm_attribute
            body[f"{navigation}@odata.bind"] = dataverse.bind(target, value) if value else None
            continue
        if field_mapping.transform == Transform.INACTIVE_STATE:
            # Dataverse sets a row's state with its statecode; the status becomes that state's default
            # (a product: Retired 1 / status Retired 2, Active 0 / status Active 1, as BC sets them).
            body[field_mapping.crm_attribute] = INACTIVE if value else ACTIVE
            continue
        attribute = ctx.attributes.get(field_mapping.crm_attribute)
        body[field_mapping.crm_attribute] = _typed(value, attribute.type if attribute else "String")
    return body


ACTIVE = 0  # statecode Active, of every entity that has states
INACTIVE = 1  # statecode Inactive (a product's Retired)


def state_fields(ctx: RunContext) -> list[IntegrationFieldMapping]:
    return [f for f in ctx.fields if f.transform == Transform.INACTIVE_STATE and f.crm_attribute and f.erp_field]


def state_field_names(ctx: RunContext) -> set[str]:
    return {f.name for f in state_fields(ctx)}


def record_inactive(ctx: RunContext, record: models.Model) -> bool:
    """The ERP record is blocked by a field mapped to the CRM state: it is not created in the CRM.

    BC's ITEM-PRODUCT and RESOURCE-PRODUCT table filters (Blocked=No) leave blocked records out of
    what is created; a coupled one still sends its state."""
    return any(bool(erp_path_value(record, f.erp_field)) for f in state_fields(ctx))


def row_inactive(ctx: RunContext, row: dict) -> bool:
    """The CRM row is inactive (any state but Active) by a field mapped to an ERP Blocked flag: it is not
    created in the ERP (BC's ITEM-PRODUCT integration table filter: Active); a coupled one blocks its record."""
    return any(row.get(f.crm_attribute) not in (None, ACTIVE) for f in state_fields(ctx))


_FILTER_TERM = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s+eq\s+(\d+)\s*$")


def creation_defaults(ctx: RunContext) -> dict[str, int]:
    """Values a new CRM row needs to match the mapping's CRM filter (BC sets e.g. CustomerTypeCode on new accounts).

    Taken from the filter's ``attribute eq number`` terms when the filter is a plain conjunction;
    statecode is left to the CRM (new rows are active).
    """
    terms = re.split(r"\s+and\s+", ctx.mapping.crm_filter.strip()) if ctx.mapping.crm_filter.strip() else []
    defaults = {}
    for term in terms:
        match = _FILTER_TERM.match(term)
        if match and match.group(1) != "statecode" and match.group(1) in ctx.attributes:
            defaults[match.group(1)] = int(match.group(2))
    return defaults


# transactioncurrency.exchangerate keeps 10 decimals.
EXCHANGE_RATE_STEP = Decimal("1e-10")


def record_creation_values(ctx: RunContext, record: models.Model) -> dict[str, Any]:
    """What a new CRM row of ``record`` needs that no field mapping sends: a new currency's exchange rate.

    Dataverse requires ``exchangerate`` (units of the currency per one unit of its base currency, which is
    the ERP's local currency); Business Central sends it from its exchange rates, as this does."""
    if not (isinstance(record, Currency) and "exchangerate" in ctx.attributes):
        return {}
    today = timezone.localdate()
    rate = erp_selectors.currency_exchange_rate(currency=record, on_date=today)
    if not rate:
        raise RecordFailure(
            f"Currency {record.code} has no exchange rate on {today:%Y-%m-%d}: Dynamics 365 needs one to create it.",
            details=f"Add an exchange rate on the currency's page ({record.get_absolute_url()}), "
            "then synchronize it again.",
        )
    return {"exchangerate": float((Decimal(1) / rate).quantize(EXCHANGE_RATE_STEP))}


CURRENCY_ATTRIBUTE = "transactioncurrencyid"


def creation_bindings(ctx: RunContext, lookups: Lookups) -> dict[str, str]:
    """Lookups a new CRM row needs that the mapping does not set: a currency the entity requires
    (its metadata says SystemRequired, e.g. a price list) is the local currency, as BC does."""
    currency = ctx.attributes.get(CURRENCY_ATTRIBUTE)
    if currency is None or not currency.required:
        return {}
    if any(f.crm_attribute == CURRENCY_ATTRIBUTE for f in ctx.to_crm_fields):
        return {}
    return {f"{CURRENCY_ATTRIBUTE}@odata.bind": f"/transactioncurrencies({lookups.local_currency_crm_id()})"}


def _lookup_target_set(ctx: RunContext, field_mapping: IntegrationFieldMapping) -> str:
    if field_mapping.transform == Transform.SCHEDULE_BASE_UNIT:
        return "uoms"
    return lookup_mapping_of(field_mapping).crm_entity_set


def _typed(value: Any, crm_type: str) -> Any:
    if value is None:
        return None
    if crm_type in NUMBER_TYPES:
        return int(Decimal(str(value)))
    if crm_type in DECIMAL_TYPES:
        return float(Decimal(str(value)))
    if crm_type == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true")
    return str(value)


# --- CRM side ------------------------------------------------------------------------------------


def crm_select(ctx: RunContext) -> list[str]:
    """The columns a CRM read needs: the key, the change stamps and the attributes that flow to the ERP."""
    columns = [ctx.primary_key, "modifiedon", "versionnumber"]
    for field_mapping in ctx.fields:
        attribute = field_mapping.crm_attribute
        if attribute and attribute not in columns and (attribute in ctx.attributes or not ctx.attributes):
            columns.append(attribute)
    return columns


def ids_filter(primary_key: str, ids: list) -> dataverse.Filter:
    """Rows by id: Microsoft.Dynamics.CRM.In, or eq for one id (a one-value list reads as a parenthesized value)."""
    if len(ids) == 1:
        return dataverse.F.eq(primary_key, uuid.UUID(str(ids[0])))
    return dataverse.F.in_(primary_key, ids)


def crm_row_value(field_mapping: IntegrationFieldMapping, row: dict) -> Any:
    if field_mapping.transform in (Transform.LOOKUP, Transform.SCHEDULE_BASE_UNIT):
        value = row.get(f"_{field_mapping.crm_attribute}_value")
        return str(value).lower() if value else None
    if field_mapping.transform == Transform.INACTIVE_STATE:
        state = row.get(field_mapping.crm_attribute)
        # BC: Blocked := StateCode <> Active (Retired, Draft and Under Revision alike).
        return None if state is None else state != ACTIVE
    return row.get(field_mapping.crm_attribute)


def crm_values(ctx: RunContext, row: dict) -> dict[str, Any]:
    """Canonical values of the fields that flow to the ERP, as the CRM row holds them."""
    return {
        field_mapping.name: canonical(crm_row_value(field_mapping, row))
        for field_mapping in ctx.from_crm_fields
        if not field_mapping.constant_value
    }


def erp_values_for_merge(ctx: RunContext, lookups: Lookups, record: models.Model) -> dict[str, Any]:
    """ERP-side canonical values of every mapped field (both directions), for the three-way merge."""
    values = erp_values(ctx, lookups, record)
    for field_mapping in ctx.from_crm_fields:
        if field_mapping.name in values or field_mapping.constant_value:
            continue
        if field_mapping.transform == Transform.OPTION:
            option_record = erp_path_value(record, field_mapping.erp_field)
            forward, _ = lookups.option_couplings(field_mapping)
            values[field_mapping.name] = canonical(forward.get(option_record.system_id)) if option_record else None
        elif field_mapping.transform == Transform.LOOKUP:
            # The same resolution as the values sent (cached per parent, blank currency = LCY);
            # what cannot be resolved is compared as empty, so the CRM's value comes in.
            try:
                values[field_mapping.name] = canonical(lookups.crm_id(field_mapping, record))
            except RecordFailure:
                if field_mapping.clear_value_on_failed_sync:
                    continue  # left out, as erp_values does: the record is not coupled yet
                values[field_mapping.name] = None
        else:
            value = erp_path_value(record, field_mapping.erp_field)
            values[field_mapping.name] = canonical(value.strip() if isinstance(value, str) else value)
    return values


@dataclass(frozen=True)
class Shortened:
    """A CRM value cut to fit its ERP field (the field mapping's Trim transform)."""

    name: str  # the field mapping's
    field_label: str  # the ERP field as its page names it
    full_length: int
    max_length: int

    def message(self, record: models.Model) -> str:
        return (
            f"{describe_record(record, capitalize=True)}: the {self.field_label} from Dynamics 365 has "
            f"{self.full_length} characters and was shortened to the ERP's {self.max_length}. Dynamics 365 keeps the "
            "full value: the shortened copy is not sent back unless the field is changed in the ERP."
        )


def apply_to_erp(
    ctx: RunContext,
    lookups: Lookups,
    record: models.Model,
    values: dict[str, Any],
    names: set[str],
    *,
    field_mappings: list[IntegrationFieldMapping] | None = None,
) -> dict[str, Shortened]:
    """Set the ERP fields of ``names`` from canonical CRM values (not saved: erp.services.record_save does).

    ``field_mappings``: the fields to set from (the mapping's fields that flow to the ERP unless given).
    Returns the values shortened to fit their field, by field mapping name."""
    shortened: dict[str, Shortened] = {}
    for field_mapping in ctx.from_crm_fields if field_mappings is None else field_mappings:
        if field_mapping.constant_value:
            if record.pk is None:
                setattr(record, field_mapping.erp_field, field_mapping.constant_value)
            continue
        if field_mapping.name not in names:
            continue
        value = values.get(field_mapping.name)
        name = field_mapping.erp_field
        if "__" in name:
            continue  # a value reached through a reference belongs to the referenced record
        field = type(record)._meta.get_field(name)
        if field_mapping.transform == Transform.INACTIVE_STATE:
            if value is not None:  # a row read without its state leaves the flag as it is
                setattr(record, name, bool(value))
            continue
        if field_mapping.transform == Transform.LOOKUP:
            if value is not None and is_currency_lookup(field_mapping) and lookups.is_local_currency(value):
                # NAV keeps the local currency as a blank currency code.
                setattr(record, name, None)
                continue
            parent = lookups.erp_record(field_mapping, value)
            if field_mapping.lookup_erp_key:
                setattr(record, name, getattr(parent, field_mapping.lookup_erp_key) if parent else "")
            else:
                setattr(record, name, parent)
        elif field_mapping.transform == Transform.OPTION:
            _, reverse = lookups.option_couplings(field_mapping)
            if value is None:
                setattr(record, name, None)
                continue
            system_id = reverse.get(int(Decimal(value)))
            if system_id is None:
                raise RecordFailure(
                    f"The value {value} of the Dynamics 365 choice {ctx.attribute_label(field_mapping.crm_attribute)} "
                    f"is not coupled to a {related_model(field)._meta.verbose_name}.",
                    details="Couple the option value through its option mapping.",
                )
            setattr(record, name, related_model(field)._default_manager.get(system_id=system_id))
        elif isinstance(field, models.CharField | models.TextField):
            text = "" if value is None else str(value)
            if field.max_length and len(text) > field.max_length and field_mapping.transform == Transform.TRIM:
                shortened[field_mapping.name] = Shortened(
                    field_mapping.name, str(field.verbose_name), len(text), field.max_length
                )
                text = text[: field.max_length]
            # Too long without Trim: the field refuses it, and that is the record's error, reported as such.
            setattr(record, name, text)
        elif isinstance(field, models.DecimalField):
            try:
                setattr(record, name, Decimal(value) if value is not None else field.get_default())
            except InvalidOperation:
                raise RecordFailure(f"“{value}” is not a number for {name}.") from None
        elif isinstance(field, models.BooleanField):
            setattr(record, name, bool(value))
        else:
            setattr(record, name, value)
    return shortened


def erp_side_as_synchronized(erp_side: dict[str, Any], base: dict[str, Any], shortened: dict[str, Any]) -> dict:
    """The ERP side with each shortened copy the ERP still holds read as the full value it was cut from.

    The snapshot keeps what Dynamics 365 holds; the ERP holds a shortened copy. Compared as they are,
    the copy would look like an ERP change and overwrite the full value in Dynamics 365. A field the
    ERP user changed since (it no longer holds the copy) is a change like any other."""
    if not shortened:
        return erp_side
    adjusted = dict(erp_side)
    for name, copy in shortened.items():
        if name in adjusted and name in base and adjusted[name] == copy:
            adjusted[name] = base[name]
    return adjusted


def lookup_mappings_of(ctx: RunContext) -> list[IntegrationTableMapping]:
    return [f.lookup_mapping for f in ctx.fields if f.lookup_mapping is not None]

"""The bulk actions ``CreateMultiple``, ``UpdateMultiple`` and ``UpsertMultiple`` on an entity set.

``POST /<set>/Microsoft.Dynamics.CRM.CreateMultiple`` with ``{"Targets": [{"@odata.type": ...}, ...]}``.
On standard tables Dataverse runs them in one transaction: one invalid target fails the whole
request with that target's error and nothing is written. Existing rows are found with one query
per key kind and new rows are written with one bulk insert, whatever the number of targets.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse

from crm_sandbox import metadata, store, webapi
from crm_sandbox.errors import BadRequest, MethodNotAllowed, PayloadError

CHUNK = 500


def _targets(request: webapi.Request, entity: metadata.Entity) -> list[dict]:
    if request.method != "POST":
        raise MethodNotAllowed(f"The requested resource does not support http method '{request.method}'.")
    body = request.json()
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list) or not targets:
        raise BadRequest("The 'Targets' parameter is required and must contain at least one entity.")
    expected = entity.type_name
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            raise PayloadError(f"Targets[{index}] must be an entity object.")
        odata_type = str(target.get("@odata.type", "")).lstrip("#")
        if not odata_type:
            raise BadRequest(
                f'Targets[{index}] has no \'@odata.type\'; every item of Targets must set "@odata.type": "{expected}".'
            )
        if odata_type != expected:
            raise BadRequest(
                f"All entities in Targets must be of type '{expected}'; Targets[{index}] is '{odata_type}'."
            )
    return targets


def _context(ctx: webapi.Context, name: str) -> str:
    return f"{ctx.api_url}$metadata#Microsoft.Dynamics.CRM.{name}"


def create_multiple(request: webapi.Request, ctx: webapi.Context, entity: metadata.Entity) -> HttpResponse:
    targets = _targets(request, entity)
    webapi.require_privilege(ctx, "Create", entity)
    caller = ctx.caller
    with transaction.atomic(using=store.DB), store.bulk_request_lookups():
        rows = [store.prepare_create(entity=entity, data=target, caller=caller) for target in targets]
        store.insert_prepared(entity=entity, rows=rows, caller=caller)
    ids = [str(row[entity.primary_id]) for row in rows]
    return webapi.json_response({"@odata.context": _context(ctx, "CreateMultipleResponse"), "Ids": ids})


def update_multiple(request: webapi.Request, ctx: webapi.Context, entity: metadata.Entity) -> HttpResponse:
    targets = _targets(request, entity)
    webapi.require_privilege(ctx, "Write", entity)
    caller = ctx.caller
    with transaction.atomic(using=store.DB), store.bulk_request_lookups():
        keys = [_target_key(entity, target, required=True) for target in targets]
        existing = _existing_rows(entity, keys)
        updates = PendingUpdates(entity, caller)
        for key, target in zip(keys, targets, strict=True):
            row = existing.get(_lookup(key))
            if row is None:
                raise store.not_found(entity, key)
            updates.add(row, target)
        store.update_prepared(entity=entity, updates=updates.items(), caller=caller)
    return webapi.empty_response(204)


def upsert_multiple(request: webapi.Request, ctx: webapi.Context, entity: metadata.Entity) -> HttpResponse:
    targets = _targets(request, entity)
    webapi.require_privilege(ctx, "Create", entity)
    webapi.require_privilege(ctx, "Write", entity)
    caller = ctx.caller
    with transaction.atomic(using=store.DB), store.bulk_request_lookups():
        keys = [_target_key(entity, target, required=False) for target in targets]
        existing = _existing_rows(entity, [key for key in keys if key is not None])
        creates, ids = [], []
        updates = PendingUpdates(entity, caller)
        for key, target in zip(keys, targets, strict=True):
            row = existing.get(_lookup(key)) if key is not None else None
            if row is None:
                created = store.prepare_create(entity=entity, data=target, caller=caller, key=key)
                creates.append(created)
                ids.append(created[entity.primary_id])
            else:
                updates.add(row, target)
                ids.append(row[entity.primary_id])
        if creates:
            store.insert_prepared(entity=entity, rows=creates, caller=caller)
        store.update_prepared(entity=entity, updates=updates.items(), caller=caller)
    body = {"@odata.context": _context(ctx, "UpsertMultipleResponse"), "Ids": [str(i) for i in ids]}
    return webapi.json_response(body)


class PendingUpdates:
    """Validated updates by record; a record addressed by several targets gets their changes in order."""

    def __init__(self, entity: metadata.Entity, caller: store.Caller):
        self.entity, self.caller = entity, caller
        self._by_id: dict[uuid.UUID, tuple[dict, dict, dict]] = {}

    def add(self, row: dict, target: dict) -> None:
        record_id = row[self.entity.primary_id]
        original, changes, current = self._by_id.get(record_id, (row, {}, row))
        more, merged = store.prepare_update(entity=self.entity, existing=current, data=target, caller=self.caller)
        self._by_id[record_id] = (original, {**changes, **more}, merged)

    def items(self) -> list[tuple[dict, dict, dict]]:
        return list(self._by_id.values())


def _target_key(entity: metadata.Entity, target: dict, *, required: bool) -> store.RecordKey | None:
    """The record a target addresses: its primary key column, or ``@odata.id`` (``set(id)``, ``set(key='v')``)."""
    reference = target.get("@odata.id")
    if reference is not None:
        referenced, key = store.parse_reference(reference)
        if referenced is not entity:
            raise BadRequest(f"The @odata.id '{reference}' does not address a(n) '{entity.logical_name}' record.")
        primary = target.get(entity.primary_id)
        if primary is not None and key.id is not None and str(primary).lower() != str(key.id):
            raise BadRequest(f"The {entity.primary_id} in the body does not match the @odata.id '{reference}'.")
        return key
    primary = target.get(entity.primary_id)
    if primary is not None:
        try:
            return store.RecordKey(id=uuid.UUID(str(primary)))
        except ValueError:
            raise PayloadError(f"Cannot convert the literal '{primary}' to the expected type 'Edm.Guid'.") from None
    if required:
        raise BadRequest(f"Each target must contain the primary key '{entity.primary_id}' or an @odata.id.")
    return None


def _lookup(key: store.RecordKey) -> tuple:
    return ("id", key.id) if key.id is not None else ("key", key.alternate)


def _existing_rows(entity: metadata.Entity, keys: list[store.RecordKey]) -> dict[tuple, dict]:
    """The existing rows the keys address, read with one query per key kind (per 500 keys)."""
    found: dict[tuple, dict] = {}
    ids = list({key.id for key in keys if key.id is not None})
    manager = store.model_for(entity).objects.using(store.DB)
    for start in range(0, len(ids), CHUNK):
        for row in manager.filter(**{f"{entity.primary_id}__in": ids[start : start + CHUNK]}).values():
            found[("id", row[entity.primary_id])] = row
    by_columns: dict[tuple[str, ...], set] = {}
    for key in keys:
        if key.id is None:
            by_columns.setdefault(tuple(column for column, _ in key.alternate), set()).add(key.alternate)
    for columns, alternates in by_columns.items():
        alternates = list(alternates)
        for start in range(0, len(alternates), CHUNK):
            chunk = alternates[start : start + CHUNK]
            if len(columns) == 1:
                condition = Q(**{f"{columns[0]}__in": [alternate[0][1] for alternate in chunk]})
            else:
                condition = Q()
                for alternate in chunk:
                    condition |= Q(**dict(alternate))
            for row in manager.filter(condition).values():
                found[("key", tuple((column, row[column]) for column in columns))] = row
    return found

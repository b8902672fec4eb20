"""Coupling and decoupling. The synchronization engine (syncjobs) builds on these."""

import uuid

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone

from coupling import selectors
from coupling.models import Coupling
from nav_crm.records import describe_record


@transaction.atomic
def coupling_create(
    *,
    record: models.Model,
    crm_entity: str,
    crm_id: uuid.UUID | str,
    state: str = Coupling.State.COUPLED,
) -> Coupling:
    """Couple ``record`` to the CRM row; refuses a record or row that is coupled already.

    A coupling whose ERP record no longer exists is stale: it is replaced, as BC does.
    """
    crm_id = uuid.UUID(str(crm_id))
    existing = selectors.coupling_for_record(record=record)
    if existing is not None:
        if existing.crm_entity == crm_entity and existing.crm_id == crm_id:
            return existing
        raise ValidationError(
            f"{describe_record(record).capitalize()} is already coupled to {existing.crm_entity} {existing.crm_id}. "
            "Decouple it first."
        )
    taken = selectors.coupling_for_crm_row(crm_entity=crm_entity, crm_id=crm_id)
    if taken is not None:
        owner = taken.erp_model.model_class()
        if owner is not None and owner.objects.filter(system_id=taken.erp_system_id).exists():
            other = owner.objects.get(system_id=taken.erp_system_id)
            raise ValidationError(
                f"The {crm_entity} {crm_id} is already coupled to {describe_record(other)}. Decouple that record first."
            )
        taken.delete()
    try:
        with transaction.atomic():
            return Coupling.objects.create(
                erp_model=ContentType.objects.get_for_model(type(record)),
                erp_system_id=record.system_id,
                crm_entity=crm_entity,
                crm_id=crm_id,
                state=state,
            )
    except IntegrityError:
        # Someone coupled one of the two sides between our checks and the insert.
        raise ValidationError(
            f"{describe_record(record).capitalize()} or the {crm_entity} row was coupled meanwhile."
        ) from None


def coupling_create_for_new_record(
    *, record: models.Model, crm_entity: str, crm_id: uuid.UUID | str, snapshot: dict | None = None
) -> Coupling:
    """Couple a record created just now, in the caller's transaction, to a CRM row: the record cannot be coupled
    yet, so only the row is checked, by the unique constraint (IntegrityError when it is coupled already).
    ``snapshot``: what the pair holds as synchronized, written with it."""
    return Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(type(record)),
        erp_system_id=record.system_id,
        crm_entity=crm_entity,
        crm_id=uuid.UUID(str(crm_id)),
        state=Coupling.State.COUPLED,
        snapshot=snapshot or {},
    )


def coupling_keep_snapshot(*, coupling: Coupling, snapshot: dict, crm_version: int | None = None) -> None:
    """What a feature that synchronizes without field mappings (the sales orders) remembers of the pair after a
    successful synchronization."""
    changes = {
        "snapshot": snapshot,
        "last_synced_at": timezone.now(),
        "last_result": Coupling.Result.SUCCESS,
        "consecutive_failures": 0,
        "last_error": "",
    }
    if crm_version is not None:
        changes["crm_version"] = crm_version
    Coupling.objects.filter(pk=coupling.pk).update(**changes)
    for name, value in changes.items():
        setattr(coupling, name, value)


def couplings_mark_synchronized(*, crm_entity: str, erp_model: type[models.Model], erp_system_ids: list) -> None:
    """Records a feature without field mappings synchronized just now (the orders' progress): their earlier
    failures are over."""
    Coupling.objects.filter(
        erp_model=ContentType.objects.get_for_model(erp_model), erp_system_id__in=erp_system_ids, crm_entity=crm_entity
    ).update(
        last_synced_at=timezone.now(),
        last_result=Coupling.Result.SUCCESS,
        consecutive_failures=0,
        last_error="",
        skipped=False,
    )


def coupling_delete(*, record: models.Model) -> bool:
    """Decouple ``record``; True when there was a coupling to remove."""
    deleted, _ = selectors.couplings_for_model(model=type(record)).filter(erp_system_id=record.system_id).delete()
    return bool(deleted)


def couplings_update_fields(*, couplings: list[Coupling], fields: list[str]) -> None:
    """Write ``fields`` of many couplings: one parameterized UPDATE executed for all of them.

    Django's ``bulk_update`` builds a CASE WHEN per field and row, whose expression resolution
    costs milliseconds per coupling (most of a full sync's time at 10,000 records); an
    ``executemany`` of one prepared statement is a tight loop in the database driver on both
    SQLite and PostgreSQL.
    """
    if not couplings:
        return
    connection = connections[router.db_for_write(Coupling)]
    model_fields = [Coupling._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in model_fields)
    # Only column names from the model's own metadata go into the text; every value is a parameter.
    table, pk = quote(Coupling._meta.db_table), quote(Coupling._meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608
    rows = [
        [field.get_db_prep_save(getattr(coupling, field.attname), connection) for field in model_fields] + [coupling.pk]
        for coupling in couplings
    ]
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        cursor.executemany(sql, rows)

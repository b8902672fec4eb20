"""Coupling and decoupling. The synchronization engine (syncjobs) builds on these."""

import uuid
from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone

from coupling import selectors
from coupling.models import Coupling, OptionCoupling, system_id_of
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
            f"{describe_record(record, capitalize=True)} is already coupled to another Dynamics 365 row. "
            "Decouple it first."
        )
    taken = selectors.coupling_for_crm_row(crm_entity=crm_entity, crm_id=crm_id)
    if taken is not None:
        owner = taken.erp_model.model_class()
        if owner is not None and owner._default_manager.filter(system_id=taken.erp_system_id).exists():
            other = owner._default_manager.get(system_id=taken.erp_system_id)
            raise ValidationError(
                f"That Dynamics 365 row is already coupled to {describe_record(other)}. Decouple that record first."
            )
        taken.delete()
    try:
        with transaction.atomic():
            return Coupling.objects.create(
                erp_model=ContentType.objects.get_for_model(type(record)),
                erp_system_id=system_id_of(record),
                crm_entity=crm_entity,
                crm_id=crm_id,
                state=state,
            )
    except IntegrityError:
        # Someone coupled one of the two sides between our checks and the insert.
        raise ValidationError(
            f"{describe_record(record, capitalize=True)} or the Dynamics 365 row was coupled meanwhile."
        ) from None


def coupling_create_for_new_record(
    *, record: models.Model, crm_entity: str, crm_id: uuid.UUID | str, snapshot: dict | None = None
) -> Coupling:
    """Couple a record created just now, in the caller's transaction, to a CRM row: the record cannot be coupled
    yet, so only the row is checked, by the unique constraint (IntegrityError when it is coupled already).
    ``snapshot``: what the pair holds as synchronized, written with it."""
    return Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(type(record)),
        erp_system_id=system_id_of(record),
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


def coupling_record_failure(
    *,
    erp_model: ContentType | None,
    erp_system_id: uuid.UUID | str | None,
    crm_entity: str,
    crm_id: uuid.UUID | str | None,
    job_id: int,
    message: str,
    fingerprint: str,
) -> None:
    """The coupled record (or CRM row) failed in job ``job_id``: its coupling remembers the failure. Failing with the
    same fingerprint as in its previous synchronization marks it skipped (BC), so normal runs pass over it until
    someone retries it. In the caller's transaction; nothing when the record is not coupled."""
    if erp_model is not None and erp_system_id is not None:
        couplings = Coupling.objects.filter(erp_model=erp_model, erp_system_id=erp_system_id)
    elif crm_entity and crm_id is not None:
        couplings = Coupling.objects.filter(crm_entity=crm_entity, crm_id=crm_id)
    else:
        return
    coupling = couplings.select_for_update().first()
    if coupling is None:
        return
    failed_before = coupling.last_result == Coupling.Result.FAILURE and coupling.last_job_id != job_id
    same_failure = failed_before and coupling.last_error_fingerprint == fingerprint
    coupling.consecutive_failures = coupling.consecutive_failures + 1 if failed_before else 1
    coupling.skipped = coupling.skipped or same_failure
    coupling.last_result = Coupling.Result.FAILURE
    coupling.last_error = message
    coupling.last_error_fingerprint = fingerprint
    coupling.last_job_id = job_id
    coupling.save(
        update_fields=[
            "consecutive_failures",
            "skipped",
            "last_result",
            "last_error",
            "last_error_fingerprint",
            "last_job_id",
            "modified_at",
        ]
    )


def coupling_delete(*, record: models.Model) -> bool:
    """Decouple ``record``; True when there was a coupling to remove."""
    deleted, _ = selectors.couplings_for_model(model=type(record)).filter(erp_system_id=system_id_of(record)).delete()
    return bool(deleted)


def couplings_clear_failures(*, couplings: models.QuerySet[Coupling]) -> int:
    """Couplings retried by hand: no longer skipped, their failure streak starts again."""
    return couplings.update(skipped=False, consecutive_failures=0)


def couplings_delete(*, couplings: models.QuerySet[Coupling]) -> int:
    """Remove the couplings (their records are decoupled); returns how many."""
    deleted, _ = couplings.delete()
    return deleted


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
    model_fields = [_column_field(name) for name in fields]
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


def _column_field(name: str) -> models.Field:
    """A field of Coupling stored in its own column (not a relation's other side)."""
    field = Coupling._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise ValueError(f"Coupling.{name} is not a column: it cannot be written by couplings_update_fields.")
    return field


def couplings_create(*, couplings: list[Coupling], batch_size: int) -> None:
    """Insert couplings made in memory (an ERP → CRM page's new rows, each with its id chosen before sending)."""
    Coupling.objects.bulk_create(couplings, batch_size=batch_size)


def coupling_remove(*, coupling: Coupling) -> None:
    """Remove one coupling: its record and row are no longer coupled (a deletion policy, a leftover)."""
    coupling.delete()


def coupling_reattach(*, coupling: Coupling, record: models.Model) -> None:
    """A deleted ERP record was recreated from its CRM row: the coupling points at the new record."""
    coupling.erp_system_id = system_id_of(record)
    coupling.erp_deleted_at = None
    coupling.erp_deleted_label = ""
    coupling.save(update_fields=["erp_system_id", "erp_deleted_at", "erp_deleted_label", "modified_at"])


def coupling_snapshot_save(*, coupling: Coupling, snapshot: dict) -> None:
    """What the pair holds as last synchronized (a resolved conflict takes the other side's value as base)."""
    Coupling.objects.filter(pk=coupling.pk).update(snapshot=snapshot)
    coupling.snapshot = snapshot


def coupling_recreate_crm_row(*, coupling: Coupling) -> None:
    """Point the coupling at a new id for its deleted CRM row, recorded before anything is sent (state "creating").

    The job then creates the row under that id as the engine creates any row, so a repeat (a second click, a
    rerun after a crash) upserts the same row. A coupling already waiting for its create keeps its id.
    """
    now = timezone.now()
    Coupling.objects.filter(pk=coupling.pk, crm_id=coupling.crm_id, state=Coupling.State.COUPLED).update(
        crm_id=uuid.uuid4(),
        state=Coupling.State.CREATING,
        snapshot={},
        crm_modified_on=None,
        crm_version=None,
        modified_at=now,
    )
    Coupling.objects.filter(pk=coupling.pk).update(skipped=False, consecutive_failures=0, modified_at=now)


def coupling_remove_if_still_deleted(*, coupling: Coupling, erp_system_id: uuid.UUID) -> None:
    """Remove the coupling when it still points at the deleted record (checked again in the same statement)."""
    Coupling.objects.filter(pk=coupling.pk, erp_system_id=erp_system_id).delete()


def couplings_mark_erp_deleted(*, couplings: models.QuerySet[Coupling], label: Callable[[], str]) -> None:
    """The coupled ERP record was deleted: its couplings say so, with its label (gone, it cannot be named later).
    ``label`` is only read for a coupled record: a label may read a related record (one more query)."""
    if couplings.update(erp_deleted_at=timezone.now()):
        couplings.update(erp_deleted_label=label())


def option_coupling_create(
    *, record: models.Model, crm_entity: str, crm_attribute: str, option_value: int, option_label: str
) -> OptionCoupling:
    """Couple an ERP code (a payment term, a shipment method) to an option of a CRM choice column."""
    return OptionCoupling.objects.create(
        erp_model=ContentType.objects.get_for_model(type(record)),
        erp_system_id=system_id_of(record),
        crm_entity=crm_entity,
        crm_attribute=crm_attribute,
        option_value=option_value,
        option_label=option_label,
        last_synced_at=timezone.now(),
    )


def option_coupling_remove(*, coupling: OptionCoupling) -> None:
    coupling.delete()


def option_coupling_synchronized(*, coupling: OptionCoupling, label: str, record: models.Model | None = None) -> None:
    """The option's label as synchronized just now; ``record``: the ERP code it is coupled to from now on (an
    option restored into a new code)."""
    coupling.option_label = label
    coupling.last_synced_at = timezone.now()
    fields = ["option_label", "last_synced_at", "modified_at"]
    if record is not None:
        coupling.erp_system_id = system_id_of(record)
        fields.append("erp_system_id")
    coupling.save(update_fields=fields)

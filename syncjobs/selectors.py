import datetime

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from coupling.models import Coupling
from syncjobs.models import CrmConnection, IntegrationTableMapping, SyncJob, SyncJobError


def crm_connection_get() -> CrmConnection:
    """The saved connection, or an unsaved blank one before the first setup."""
    return CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK).first() or CrmConnection(
        pk=CrmConnection.SINGLETON_PK
    )


def crm_connection_is_enabled() -> bool:
    return CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK, is_enabled=True).exists()


def integration_mappings() -> list[IntegrationTableMapping]:
    """The integration table mappings the setup lets an administrator enable, in dependency order.

    Each has `name` (its code, e.g. "CUSTOMER") and `title` ("Customers ↔ Accounts").
    """
    return mapping_dependency_order()


def mapping_dependency_order(*, enabled_only: bool = False) -> list[IntegrationTableMapping]:
    """Table mappings so that each comes after the mappings it depends on.

    Among mappings whose dependencies are all placed, the lower priority goes first (BC's order:
    users, currencies, units of measure, customers, contacts, items, resources, the rest).
    """
    queryset = IntegrationTableMapping.objects.select_related("erp_model").prefetch_related("depends_on")
    if enabled_only:
        queryset = queryset.filter(is_enabled=True)
    mappings = {mapping.pk: mapping for mapping in queryset}
    waiting_on = {
        pk: {dep.pk for dep in mapping.depends_on.all() if dep.pk in mappings} for pk, mapping in mappings.items()
    }
    ordered: list[IntegrationTableMapping] = []
    while waiting_on:
        ready = [pk for pk, deps in waiting_on.items() if not deps]
        if not ready:
            # A cycle (the services refuse them) must not hide mappings: the rest follow by priority.
            ready = list(waiting_on)
        first = min(ready, key=lambda pk: (mappings[pk].priority, mappings[pk].name))
        ordered.append(mappings[first])
        del waiting_on[first]
        for deps in waiting_on.values():
            deps.discard(first)
    return ordered


def sync_errors() -> QuerySet[SyncJobError]:
    """Error rows with ``is_skipped``: the failed record's coupling is marked skipped (normal runs pass over it)."""
    by_erp_record = Coupling.objects.filter(
        erp_model=OuterRef("erp_model"), erp_system_id=OuterRef("erp_system_id"), skipped=True
    )
    by_crm_row = Coupling.objects.filter(crm_entity=OuterRef("crm_entity"), crm_id=OuterRef("crm_id"), skipped=True)
    return SyncJobError.objects.select_related("job", "mapping").annotate(
        is_skipped=ExpressionWrapper(Q(Exists(by_erp_record)) | Q(Exists(by_crm_row)), output_field=BooleanField())
    )


def finished_jobs_older_than(*, days: int) -> QuerySet[SyncJob]:
    cutoff = timezone.now() - datetime.timedelta(days=days)
    return SyncJob.objects.filter(status__in=SyncJob.FINISHED, created_at__lt=cutoff)

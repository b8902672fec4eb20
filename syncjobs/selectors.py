from syncjobs.models import CrmConnection, IntegrationTableMapping


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

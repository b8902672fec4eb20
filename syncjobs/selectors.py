from syncjobs.models import CrmConnection


def crm_connection_get() -> CrmConnection:
    """The saved connection, or an unsaved blank one before the first setup."""
    return CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK).first() or CrmConnection(
        pk=CrmConnection.SINGLETON_PK
    )


def crm_connection_is_enabled() -> bool:
    return CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK, is_enabled=True).exists()


def integration_mappings() -> list:
    """The integration table mappings the setup lets an administrator enable, in dependency order.

    Each has `name` (its code, e.g. "CUSTOMER") and `title` ("Customers ↔ Accounts"). There are none
    until the synchronization engine defines them.
    """
    return []

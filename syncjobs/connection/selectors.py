"""Reads of the one CRM connection."""

from django.urls import NoReverseMatch, reverse

from syncjobs.models import CrmConnection


def crm_connection_get() -> CrmConnection:
    """The saved connection, or an unsaved blank one before the first setup."""
    return CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK).first() or CrmConnection(
        pk=CrmConnection.SINGLETON_PK
    )


def crm_connection_is_enabled() -> bool:
    return CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK, is_enabled=True).exists()


def connection_page_url() -> str | None:
    try:
        return reverse("setup_wizard:crm_connection")
    except NoReverseMatch:
        return None

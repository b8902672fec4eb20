"""Reads of the one CRM connection."""

import datetime

from django.db.models import Sum
from django.urls import NoReverseMatch, reverse

import dataverse
from syncjobs.models import CrmConnection, CrmThrottling


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


def crm_throttling_since(since: datetime.datetime) -> dataverse.Throttling:
    """The 429 answers Dynamics 365 gave the integration user's clients that closed since then, and the last one."""
    kept = CrmThrottling.objects.filter(last_at__gte=since)
    last = kept.order_by("-last_at").first()
    if last is None:
        return dataverse.Throttling(answers=0, last_at=None, last_retry_after=None)
    answers = kept.aggregate(n=Sum("answers"))["n"]
    return dataverse.Throttling(answers=answers, last_at=last.last_at, last_retry_after=last.last_retry_after)

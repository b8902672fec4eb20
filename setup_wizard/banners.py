"""The home-page banner inviting a sync administrator to connect to Dynamics 365 Sales."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from syncjobs import selectors as syncjobs_selectors

MANAGE_CONNECTION = "syncjobs.manage_connection"


def crm_setup_banner(request) -> SafeString | None:
    if request.path != reverse("home") or not request.user.has_perm(MANAGE_CONNECTION):
        return None
    if syncjobs_selectors.crm_connection_is_enabled():
        return None
    return render_to_string(
        "setup_wizard/_crm_setup_banner.html",
        {"setup_url": reverse("setup_wizard:crm_connection")},
        request=request,
    )

"""The home-page banner offering a sync administrator the assisted setup until the CRM connection is enabled."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from setup_wizard import selectors
from syncjobs import permissions
from syncjobs.connection import selectors as connection_selectors


def crm_setup_banner(request) -> SafeString | None:
    if request.path != reverse("home") or not request.user.has_perm(permissions.MANAGE_CONNECTION):
        return None
    if connection_selectors.crm_connection_is_enabled():
        return None
    return render_to_string(
        "setup_wizard/_crm_setup_banner.html",
        {
            "setup_url": reverse("setup_wizard:crm_connection"),
            "wizard_url": reverse("setup_wizard:wizard"),
            "resume": bool(selectors.wizard_progress_get().completed_steps),
        },
        request=request,
    )

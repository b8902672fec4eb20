"""Reads of the setup pages: who a web service access key belongs to, the assisted setup's progress and
the demo's CRM sandbox details."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from setup_wizard.models import SetupWizardProgress, WebServiceAccessKey
from setup_wizard.services import access_key_digest

# Compared against when the user name is unknown, so that a wrong user name costs the same time
# as a wrong key.
_DUMMY_SALT = "00" * 16
_DUMMY_DIGEST = "00" * 32


def access_key_user(*, username: str, key: str) -> AbstractBaseUser | None:
    """The active user whose unexpired key this is, or None. One answer for every kind of mismatch."""
    user_model = get_user_model()
    record = (
        WebServiceAccessKey.objects.select_related("user")
        .filter(**{f"user__{user_model.USERNAME_FIELD}": username})
        .first()
    )
    salt, expected = (record.key_salt, record.key_digest) if record else (_DUMMY_SALT, _DUMMY_DIGEST)
    matches = hmac.compare_digest(access_key_digest(salt=salt, key=key), expected)
    if not (matches and record is not None and record.user.is_active and not record.is_expired):
        return None
    return record.user


def access_key_of(*, user: AbstractBaseUser) -> WebServiceAccessKey | None:
    return WebServiceAccessKey.objects.filter(user=user).first()


def wizard_progress_get() -> SetupWizardProgress:
    """The saved progress, or an unsaved fresh one before the assisted setup was first used."""
    return SetupWizardProgress.objects.filter(pk=SetupWizardProgress.SINGLETON_PK).first() or SetupWizardProgress(
        pk=SetupWizardProgress.SINGLETON_PK
    )


DEMO_CRM_FILE_NAME = "demo-crm.json"
DEMO_CRM_KEYS = ("url", "authority", "ca_bundle", "client_id", "client_secret", "admin_user", "admin_password")


def demo_crm_info() -> dict | None:
    """The CRM sandbox's details that `make demo` leaves in the data directory (only the demo has the file).

    The ERP never imports the sandbox's code: it reads this JSON file only.
    """
    path = Path(settings.DATA_DIR) / DEMO_CRM_FILE_NAME
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not all(isinstance(info.get(key), str) for key in DEMO_CRM_KEYS):
        return None
    try:
        info["ca_bundle_pem"] = Path(info["ca_bundle"]).read_text()
    except OSError:
        info["ca_bundle_pem"] = ""
    return info


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def crm_is_demo_sandbox(*, server_url: str) -> bool:
    """Whether the connection points at the demo's CRM sandbox."""
    info = demo_crm_info()
    return bool(info and server_url and _origin(info["url"]) == _origin(server_url))

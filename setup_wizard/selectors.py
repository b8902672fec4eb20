"""Reads of the setup pages: who a web service access key belongs to."""

from __future__ import annotations

import hmac

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from setup_wizard.models import WebServiceAccessKey
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

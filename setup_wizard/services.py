"""Writes of the setup pages: web service access keys."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from setup_wizard.models import WebServiceAccessKey

logger = logging.getLogger(__name__)

# 32 random bytes, as NAV's 44-character keys: far beyond guessing, so a fast salted HMAC is
# the right hash (a slow password hash would only slow down every API request).
KEY_BYTES = 32


def access_key_digest(*, salt: str, key: str) -> str:
    return hmac.new(bytes.fromhex(salt), key.encode("utf-8"), hashlib.sha256).hexdigest()


@transaction.atomic
def access_key_generate(
    *, user: AbstractBaseUser, expires_at: datetime.datetime | None = None
) -> tuple[WebServiceAccessKey, str]:
    """Create or replace the user's key ("Change web service key"). Returns the record and the key,
    which is not stored and cannot be shown again."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    key = secrets.token_urlsafe(KEY_BYTES)
    salt = secrets.token_hex(16)
    record, _ = WebServiceAccessKey.objects.select_for_update().get_or_create(
        user=user, defaults={"key_salt": salt, "key_digest": access_key_digest(salt=salt, key=key)}
    )
    record.key_salt = salt
    record.key_digest = access_key_digest(salt=salt, key=key)
    record.created_at = timezone.now()
    record.expires_at = expires_at
    record.full_clean()
    record.save()
    logger.info("Web service access key generated for user %s", user.pk)
    return record, key


def access_key_delete(*, user: AbstractBaseUser) -> None:
    WebServiceAccessKey.objects.filter(user=user).delete()
    logger.info("Web service access key removed for user %s", user.pk)

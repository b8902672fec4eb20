"""Encryption at rest for the secrets the application must keep (the CRM client secret, a private key).

Fernet keys come from NAV_CRM_ENCRYPTION_KEY (comma-separated: the first encrypts, every key
decrypts, which is how a key is rotated); without it, a key generated once into the data
directory (mode 0600) is used, so a default installation never stores a plaintext secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_FILE_NAME = "encryption_key"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys (the key was changed or lost)."""


def _generated_key() -> bytes:
    key_file = Path(settings.DATA_DIR) / KEY_FILE_NAME
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(Fernet.generate_key())
    return key_file.read_bytes().strip()


def _fernet() -> MultiFernet:
    keys = [key.strip().encode("ascii") for key in settings.NAV_CRM_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        keys = [_generated_key()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "NAV_CRM_ENCRYPTION_KEY must hold Fernet keys (32 url-safe base64-encoded bytes), comma-separated; "
            'create one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from exc


def secret_encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The stored secret cannot be decrypted with the configured encryption key "
            "(NAV_CRM_ENCRYPTION_KEY or the generated key file changed). Enter the secret again."
        ) from exc


def secret_reencrypt(token: str) -> str:
    """The same secret encrypted with the current first key (after a new key was put in front)."""
    try:
        return _fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretUnreadable("The stored secret cannot be decrypted with any configured encryption key.") from exc

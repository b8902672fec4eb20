"""Secrets at rest: Fernet with a configured key (rotation with several) or a generated key file."""

import stat
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from syncjobs.connection import crypto, services
from syncjobs.connection import selectors as connection_selectors


def test_without_a_configured_key_one_is_generated_once_into_the_data_directory(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.NAV_CRM_ENCRYPTION_KEYS = []
    token = crypto.secret_encrypt("s3cret")
    key_file = Path(tmp_path) / crypto.KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert crypto.secret_decrypt(token) == "s3cret"
    crypto.secret_encrypt("again")
    assert key_file.read_bytes() == key
    assert "s3cret" not in token


def test_a_configured_key_is_used_and_another_key_cannot_read_the_secret(settings):
    settings.NAV_CRM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = crypto.secret_encrypt("s3cret")
    settings.NAV_CRM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.SecretUnreadable, match="Enter the secret again"):
        crypto.secret_decrypt(token)


def test_rotation_new_key_first_old_key_still_decrypts_and_reencrypting_moves_to_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.NAV_CRM_ENCRYPTION_KEYS = [old]
    token = crypto.secret_encrypt("s3cret")
    settings.NAV_CRM_ENCRYPTION_KEYS = [new, old]
    assert crypto.secret_decrypt(token) == "s3cret"
    rotated = crypto.secret_reencrypt(token)
    settings.NAV_CRM_ENCRYPTION_KEYS = [new]
    assert crypto.secret_decrypt(rotated) == "s3cret"


def test_a_malformed_key_is_a_configuration_error_that_says_how_to_make_one(settings):
    settings.NAV_CRM_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet.generate_key"):
        crypto.secret_encrypt("s3cret")


@pytest.mark.django_db
def test_the_rotation_command_moves_the_stored_secret_to_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.NAV_CRM_ENCRYPTION_KEYS = [old]
    services.connection_save(
        server_url="https://contoso.crm4.dynamics.com",
        authority_url="https://login.microsoftonline.com/contoso.onmicrosoft.com",
        client_id="8f5b3a1c-2d4e-4f60-9a7b-1c2d3e4f5a6b",
        client_secret="s3cret",
    )
    settings.NAV_CRM_ENCRYPTION_KEYS = [new, old]
    out = StringIO()
    call_command("crm_reencrypt_secrets", stdout=out)
    assert "older keys can be removed" in out.getvalue()
    settings.NAV_CRM_ENCRYPTION_KEYS = [new]
    assert crypto.secret_decrypt(connection_selectors.crm_connection_get().client_secret_encrypted) == "s3cret"

    settings.NAV_CRM_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("crm_reencrypt_secrets", stdout=StringIO())


@pytest.mark.django_db
def test_the_rotation_command_without_a_connection_says_there_is_nothing_to_do():
    out = StringIO()
    call_command("crm_reencrypt_secrets", stdout=out)
    assert "nothing to re-encrypt" in out.getvalue()

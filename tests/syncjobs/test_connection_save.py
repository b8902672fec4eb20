"""Saving the connection: validation in plain words, secrets encrypted at rest and never read back."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection as db

from syncjobs.connection import crypto, services
from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import CrmConnection

pytestmark = pytest.mark.django_db

SECRET = "Sup3r~Secret.Value-For-Test"
CLIENT_ID = "8f5b3a1c-2d4e-4f60-9a7b-1c2d3e4f5a6b"


def save(**overrides):
    values = {
        "server_url": "https://contoso.crm4.dynamics.com",
        "authority_url": "https://login.microsoftonline.com/contoso.onmicrosoft.com",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }
    values.update(overrides)
    return services.connection_save(**values)


def errors_of(**overrides) -> dict:
    with pytest.raises(ValidationError) as caught:
        save(**overrides)
    return caught.value.message_dict


def raw_row() -> str:
    """Every column of the connection row as the database holds it."""
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {CrmConnection._meta.db_table}")  # noqa: S608 — our own table name
        return " ".join(str(value) for value in cursor.fetchone())


def test_the_client_secret_is_not_readable_in_the_database():
    save()
    row = raw_row()
    assert SECRET not in row
    assert SECRET.encode().hex() not in row
    stored = CrmConnection.objects.get().client_secret_encrypted
    assert stored and crypto.secret_decrypt(stored) == SECRET


def test_the_private_key_is_not_readable_in_the_database(certificate_pair):
    certificate_pem, key_pem = certificate_pair
    connection = save(
        auth_type=CrmConnection.AuthType.CERTIFICATE,
        client_secret=None,
        certificate_pem=certificate_pem,
        certificate_private_key_pem=key_pem,
    )
    key_body = key_pem.splitlines()[1]
    assert key_body not in raw_row()
    assert len(connection.certificate_thumbprint) == 40
    assert crypto.secret_decrypt(connection.certificate_key_encrypted) == key_pem.strip()


def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it():
    first = save().client_secret_encrypted
    assert save(client_secret="").client_secret_encrypted == first
    replaced = save(client_secret="another-secret").client_secret_encrypted
    assert crypto.secret_decrypt(replaced) == "another-secret"


def test_switching_to_a_certificate_forgets_the_client_secret(certificate_pair):
    save()
    certificate_pem, key_pem = certificate_pair
    connection = save(
        auth_type=CrmConnection.AuthType.CERTIFICATE,
        client_secret=None,
        certificate_pem=certificate_pem,
        certificate_private_key_pem=key_pem,
    )
    assert connection.client_secret_encrypted == ""
    connection = save(client_secret="back-to-a-secret")
    assert (connection.certificate_key_encrypted, connection.certificate_thumbprint, connection.certificate_pem) == (
        "",
        "",
        "",
    )


def test_the_server_url_is_kept_as_the_organization_root():
    assert save(server_url="https://Contoso.crm4.dynamics.com/main.aspx?app=x").server_url == (
        "https://contoso.crm4.dynamics.com"
    )


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"server_url": ""}, "server_url", "Enter the server URL"),
        ({"server_url": "http://contoso.crm4.dynamics.com"}, "server_url", "must start with https://"),
        ({"server_url": "https://"}, "server_url", "Enter a valid https URL"),
        ({"authority_url": "http://login.microsoftonline.com/x"}, "authority_url", "must start with https://"),
        ({"client_id": "my-app"}, "client_id", "a GUID"),
        ({"client_secret": ""}, "client_secret", "Enter the client secret"),
        ({"auth_type": "password"}, "auth_type", "client secret or certificate"),
        ({"ca_bundle_pem": "not a certificate"}, "ca_bundle_pem", "BEGIN CERTIFICATE"),
    ],
)
def test_bad_input_is_refused_field_by_field_and_nothing_is_saved(overrides, field, words):
    errors = errors_of(**overrides)
    assert any(words in message for message in errors[field]), errors
    assert not CrmConnection.objects.exists()


def test_a_certificate_needs_its_matching_rsa_private_key(
    certificate_pair, other_certificate_pair, ec_certificate_pair
):
    certificate_pem, key_pem = certificate_pair
    base = {"auth_type": CrmConnection.AuthType.CERTIFICATE, "client_secret": None}
    assert "Paste the app registration's certificate" in errors_of(**base)["certificate_pem"][0]
    assert (
        "Paste the certificate's private key"
        in errors_of(**base, certificate_pem=certificate_pem)["certificate_private_key_pem"][0]
    )
    mismatch = errors_of(**base, certificate_pem=certificate_pem, certificate_private_key_pem=other_certificate_pair[1])
    assert mismatch["certificate_private_key_pem"] == ["This private key does not belong to the certificate."]
    elliptic = errors_of(
        **base, certificate_pem=ec_certificate_pair[0], certificate_private_key_pem=ec_certificate_pair[1]
    )
    assert "RSA" in elliptic["certificate_private_key_pem"][0]
    garbage = errors_of(**base, certificate_pem=certificate_pem, certificate_private_key_pem="-----BEGIN nothing")
    assert "unencrypted PEM key" in garbage["certificate_private_key_pem"][0]


def test_a_ca_bundle_is_kept_as_text(crm_sandbox):
    pem = Path(crm_sandbox.ca_bundle).read_text()
    assert save(ca_bundle_pem=pem).ca_bundle_pem == pem.strip()


def test_changes_are_refused_while_the_connection_is_enabled():
    connection = save()
    CrmConnection.objects.filter(pk=connection.pk).update(is_enabled=True)
    with pytest.raises(ValidationError, match="Disable the connection before changing it"):
        save(server_url="https://other.crm.dynamics.com")
    assert connection_selectors.crm_connection_get().server_url == "https://contoso.crm4.dynamics.com"


def test_saving_forgets_the_last_test_and_a_new_identity_forgets_the_integration_user():
    connection = save()
    CrmConnection.objects.filter(pk=connection.pk).update(
        last_test_passed=True,
        last_test_results=[{"key": "server"}],
        integration_user_name="# nav_crm Integration",
        integration_user_id="5b3f6a90-0c1e-4d5e-8f7a-1b2c3d4e5f60",
    )
    connection = save(ca_bundle_pem="")
    assert (connection.last_test_passed, connection.last_test_results) == (None, [])
    assert connection.integration_user_name == "# nav_crm Integration"
    connection = save(client_id="0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b")
    assert (connection.integration_user_id, connection.integration_user_name) == (None, "")


def test_the_blank_connection_before_setup_is_not_configured():
    connection = connection_selectors.crm_connection_get()
    assert not connection.is_saved and not connection.is_configured
    assert not connection_selectors.crm_connection_is_enabled()

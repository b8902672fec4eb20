"""Writes for the CRM connection (save it, test it, enable and disable it) and the errors page's restore.

`connection_test` runs the checks an administrator needs in order, each with a plain-words
message and a hint on how to fix it; a check whose prerequisite failed is reported "not run".
`job_errors_restore` brings back the deleted side of failed records (the other error actions,
retry, decouple and delete, are in syncjobs.runs.jobs).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from syncjobs import signals
from syncjobs.connection import crypto
from syncjobs.connection.checks import CheckResult, CheckStatus, checks_run
from syncjobs.models import CrmConnection

logger = logging.getLogger(__name__)


# --- Saving --------------------------------------------------------------------------------------


def _https_url(value: str, field: str, label: str, example: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: f"Enter the {label}, e.g. {example}."})
    parts = urlsplit(value)
    if parts.scheme.lower() == "http":
        raise ValidationError({field: f"The {label} must start with https:// — the CRM is reached only over HTTPS."})
    try:
        URLValidator(schemes=["https"])(value)
    except ValidationError:
        raise ValidationError({field: f"Enter a valid https URL for the {label}, e.g. {example}."}) from None
    return value


def _server_root(url: str) -> str:
    """The organization root (scheme://host[:port]): the Web API path is added by the client."""
    parts = urlsplit(url)
    return f"https://{parts.netloc.lower()}"


def _client_id(value: str) -> str:
    value = (value or "").strip()
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationError(
            {
                "client_id": "The client id is the app registration's Application (client) ID, a GUID such as "
                "8f5b3a1c-2d4e-4f60-9a7b-1c2d3e4f5a6b."
            }
        ) from None


def _certificates(pem: str, field: str, what: str) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(pem.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValidationError(
            {field: f"The {what} must be PEM text: one or more blocks starting with -----BEGIN CERTIFICATE-----."}
        ) from None
    return certificates


def _private_key_pem(pem: str, certificate: x509.Certificate) -> str:
    try:
        key = serialization.load_pem_private_key(pem.strip().encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise ValidationError(
            {
                "certificate_private_key_pem": "The private key must be an unencrypted PEM key "
                "(-----BEGIN PRIVATE KEY-----)."
            }
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValidationError(
            {
                "certificate_private_key_pem": "Microsoft Entra ID signs in apps with RSA certificates; "
                "this key is not RSA."
            }
        )
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != certificate.public_key().public_bytes(encoding, public):
        raise ValidationError({"certificate_private_key_pem": "This private key does not belong to the certificate."})
    return pem.strip()


@transaction.atomic
def connection_save(
    *,
    server_url: str,
    authority_url: str,
    client_id: str,
    auth_type: str = CrmConnection.AuthType.CLIENT_SECRET,
    client_secret: str | None = None,
    certificate_pem: str = "",
    certificate_private_key_pem: str | None = None,
    ca_bundle_pem: str = "",
) -> CrmConnection:
    """Create or update the connection. A blank secret or private key keeps the stored one.

    Refused while the connection is enabled (disable it first). Any change invalidates the last test.
    """
    connection = CrmConnection.objects.select_for_update().filter(pk=CrmConnection.SINGLETON_PK).first()
    connection = connection or CrmConnection(pk=CrmConnection.SINGLETON_PK)
    if connection.is_enabled:
        raise ValidationError("Disable the connection before changing it.")
    errors: dict[str, list[str]] = {}

    def collect(check: Callable[[], object]):
        try:
            return check()
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            return None

    server_url = collect(
        lambda: _https_url(server_url, "server_url", "server URL", "https://contoso.crm4.dynamics.com")
    )
    authority_url = collect(
        lambda: _https_url(
            authority_url, "authority_url", "authority URL", "https://login.microsoftonline.com/<tenant id>"
        )
    )
    client_id = collect(lambda: _client_id(client_id))
    if auth_type not in CrmConnection.AuthType.values:
        errors["auth_type"] = ["Choose client secret or certificate."]
    ca_bundle_pem = (ca_bundle_pem or "").strip()
    if ca_bundle_pem:
        collect(lambda: _certificates(ca_bundle_pem, "ca_bundle_pem", "CA bundle"))

    new_secret = (client_secret or "").strip()
    new_key = (certificate_private_key_pem or "").strip()
    certificate_pem = (certificate_pem or "").strip()
    thumbprint = ""
    if auth_type == CrmConnection.AuthType.CLIENT_SECRET:
        if not new_secret and not connection.has_client_secret:
            errors["client_secret"] = ["Enter the client secret (its Value, not its ID)."]
    elif auth_type == CrmConnection.AuthType.CERTIFICATE:
        if not certificate_pem:
            errors["certificate_pem"] = ["Paste the app registration's certificate (PEM)."]
        else:
            certificates = collect(lambda: _certificates(certificate_pem, "certificate_pem", "certificate"))
            if certificates:
                certificate = certificates[0]
                # Entra identifies the certificate by its SHA-1 thumbprint; SHA-1 here is an identifier, not security.
                thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
                if new_key:
                    new_key = collect(lambda: _private_key_pem(new_key, certificate)) or ""
                elif not connection.has_certificate_key or thumbprint != connection.certificate_thumbprint:
                    errors["certificate_private_key_pem"] = ["Paste the certificate's private key (PEM)."]
    if errors:
        raise ValidationError(errors)

    server_url = _server_root(server_url)
    identity_changed = (server_url, client_id) != (connection.server_url, connection.client_id)
    connection.server_url = server_url
    connection.authority_url = authority_url.rstrip("/")
    connection.client_id = client_id
    connection.auth_type = auth_type
    connection.ca_bundle_pem = ca_bundle_pem
    # Keep only the credential the chosen authentication uses.
    if auth_type == CrmConnection.AuthType.CLIENT_SECRET:
        if new_secret:
            connection.client_secret_encrypted = crypto.secret_encrypt(new_secret)
        connection.certificate_pem = ""
        connection.certificate_thumbprint = ""
        connection.certificate_key_encrypted = ""
    else:
        connection.client_secret_encrypted = ""
        connection.certificate_pem = certificate_pem
        connection.certificate_thumbprint = thumbprint
        if new_key:
            connection.certificate_key_encrypted = crypto.secret_encrypt(new_key)
    if identity_changed:  # another app or organization: another application user
        connection.integration_user_id = None
        connection.integration_user_name = ""
    connection.last_tested_at = None
    connection.last_test_passed = None
    connection.last_test_results = []
    connection.full_clean()
    connection.save()
    return connection


@transaction.atomic
def connection_secrets_reencrypt() -> bool:
    """Re-encrypt the stored secrets with the first configured key, after a new key was put in front.

    Returns whether there was anything to re-encrypt; afterwards the old key can be removed.
    """
    connection = CrmConnection.objects.select_for_update().filter(pk=CrmConnection.SINGLETON_PK).first()
    if connection is None or not (connection.client_secret_encrypted or connection.certificate_key_encrypted):
        return False
    if connection.client_secret_encrypted:
        connection.client_secret_encrypted = crypto.secret_reencrypt(connection.client_secret_encrypted)
    if connection.certificate_key_encrypted:
        connection.certificate_key_encrypted = crypto.secret_reencrypt(connection.certificate_key_encrypted)
    connection.save(update_fields=["client_secret_encrypted", "certificate_key_encrypted", "modified_at"])
    return True


# --- Testing -------------------------------------------------------------------------------------


def connection_test(*, connection: CrmConnection) -> list[CheckResult]:
    """Run every check against the CRM and record the outcome on the connection (when it is saved)."""
    results = checks_run(connection)
    connection.last_tested_at = timezone.now()
    connection.last_test_passed = all(result.passed for result in results)
    connection.last_test_results = [result.as_dict() for result in results]
    if connection.is_saved:
        connection.save(
            update_fields=[
                "integration_user_id",
                "integration_user_name",
                "last_tested_at",
                "last_test_passed",
                "last_test_results",
                "modified_at",
            ]
        )
    logger.info(
        "CRM connection test of %s: %s",
        connection.server_url or "(no URL)",
        ", ".join(f"{result.key}={result.status}" for result in results),
    )
    return results


def connection_enable(*, connection: CrmConnection) -> list[CheckResult]:
    """Enable the connection after every check passed; otherwise ValidationError naming the failed checks."""
    if not connection.is_saved:
        raise ValidationError("Set up and save the connection first.")
    results = connection_test(connection=connection)
    failed = [result.title for result in results if result.status == CheckStatus.FAILED]
    if failed:
        raise ValidationError(
            "The connection can be enabled only when every check passes. Failed: %(failed)s.",
            params={"failed": "; ".join(failed)},
            code="checks_failed",
        )
    # What the features turned on need from the CRM first (sales order processing): a refusal is the user's.
    signals.connection_enabling.send(sender=CrmConnection, connection=connection)
    connection.is_enabled = True
    connection.save(update_fields=["is_enabled", "modified_at"])
    logger.info("CRM connection to %s enabled", connection.server_url)
    return results


def connection_disable(*, connection: CrmConnection) -> CrmConnection:
    if connection.is_enabled:
        connection.is_enabled = False
        connection.save(update_fields=["is_enabled", "modified_at"])
        logger.info("CRM connection to %s disabled", connection.server_url)
    return connection


# --- Synchronization errors: restore the deleted counterpart ----------------------------------------------

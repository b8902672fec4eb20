"""Writes for the CRM connection (save it, test it, enable and disable it) and the errors page's restore.

`connection_test` runs the checks an administrator needs in order, each with a plain-words
message and a hint on how to fix it; a check whose prerequisite failed is reported "not run".
`job_errors_restore` brings back the deleted side of failed records (the other error actions,
retry, decouple and delete, are in syncjobs.jobs).
"""

from __future__ import annotations

import logging
import re
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models, transaction
from django.utils import timezone

import dataverse
from coupling.models import Coupling
from coupling.services import couplings_update_fields
from erp import selectors as erp_selectors
from syncjobs import clients, constants, crypto, jobs, selectors, signals
from syncjobs.models import CrmConnection, Direction, IntegrationFieldMapping, SyncJob, SyncJobError

logger = logging.getLogger(__name__)

TEST_TIMEOUT_SECONDS = 15.0
CHECK_RETRIES = 2


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


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class CheckResult:
    key: str
    title: str
    status: CheckStatus
    message: str
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.status == CheckStatus.PASSED

    def as_dict(self) -> dict:
        return {**asdict(self), "status": str(self.status)}

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        return cls(
            key=data["key"],
            title=data["title"],
            status=CheckStatus(data["status"]),
            message=data.get("message", ""),
            hint=data.get("hint", ""),
        )


# (key, title, the check it needs to have passed), in the order they run.
CHECKS: tuple[tuple[str, str, str | None], ...] = (
    ("server", "Server reachable over HTTPS with a trusted certificate", None),
    ("token", "Access token obtained from the authority", "server"),
    ("whoami", "The CRM answers WhoAmI", "token"),
    ("integration_user", "The integration user is enabled", "whoami"),
    (
        "integration_roles",
        "The integration user holds the integration roles and is not a System Administrator",
        "integration_user",
    ),
    (
        "solution",
        f"Integration solution {constants.INTEGRATION_SOLUTION_NAME} {constants.INTEGRATION_SOLUTION_VERSION} "
        "is installed",
        "integration_user",
    ),
    ("currency", "The local currency (LCY) exists as a CRM transaction currency", "integration_user"),
)
TITLES = {key: title for key, title, _ in CHECKS}


class _Failed(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint


class _CheckRun:
    """State shared by the checks of one run: the client and what earlier checks found out."""

    def __init__(self, connection: CrmConnection):
        self.connection = connection
        self.client: dataverse.Client | None = None
        self.auth: dataverse.TokenProvider | None = None
        self.user_id: str | None = None
        self.user_name: str = ""
        self.role_names: list[str] | None = None

    # Each check returns its success message or raises _Failed.

    def check_server(self) -> str:
        connection = self.connection
        if not connection.server_url:
            raise _Failed(
                "No server URL is set.",
                "Enter the organization URL shown in the Power Platform admin center, "
                "e.g. https://contoso.crm4.dynamics.com.",
            )
        parts = urlsplit(connection.server_url)
        if parts.scheme.lower() != "https":
            raise _Failed(
                f"The server URL {connection.server_url} does not use https://; the CRM is reached only over HTTPS.",
                "Change the server URL to start with https://.",
            )
        host, port = parts.hostname or "", parts.port or 443
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            raise _Failed(
                f"The server name {host} cannot be found (the DNS lookup failed).",
                "Check the spelling of the server URL, and that this machine can resolve internet names.",
            ) from None
        try:
            status = clients.crm_server_probe(connection=connection, timeout=TEST_TIMEOUT_SECONDS)
        except requests.exceptions.SSLError as exc:
            hint = (
                "If the CRM uses a certificate from a private certificate authority, paste that authority's "
                "certificate into 'CA bundle'."
                if not connection.ca_bundle_pem
                else "The CA bundle does not include the authority that issued the server's certificate: "
                "paste the right CA certificate into 'CA bundle'."
            )
            raise _Failed(
                f"The server's TLS certificate is not trusted ({_tls_reason(exc)}); nothing was sent to it.", hint
            ) from None
        except requests.exceptions.Timeout:
            raise _Failed(
                f"{host}:{port} did not answer within {TEST_TIMEOUT_SECONDS:g} seconds.",
                "Check that a firewall or proxy lets this machine reach the CRM.",
            ) from None
        except requests.exceptions.RequestException:
            raise _Failed(
                f"Nothing answers at {host}:{port} (the connection was refused or the host is unreachable).",
                "Check the server URL and its port, and that a firewall or proxy lets this machine reach the CRM.",
            ) from None
        return f"{host}:{port} answered over HTTPS (HTTP {status}) with a trusted certificate."

    def check_token(self) -> str:
        connection = self.connection
        try:
            self.auth = clients.crm_token_provider(connection=connection)
            # The checks only read: a dropped connection or a 503 is retried, as every other read is.
            self.client = clients.crm_client(
                connection=connection, auth=self.auth, timeout=TEST_TIMEOUT_SECONDS, max_retries=CHECK_RETRIES
            )
            self.auth.token()
        except clients.CrmNotConfigured as exc:
            raise _Failed(str(exc), "Fill in the connection and save it.") from None
        except crypto.SecretUnreadable as exc:
            raise _Failed(str(exc), "Enter the client secret (or private key) again and save.") from None
        except dataverse.AuthenticationFailed as exc:
            raise _Failed(*_token_refusal(exc, connection)) from None
        except dataverse.TransportError as exc:
            if "TLS" in exc.message:
                raise _Failed(
                    f"The authority's TLS certificate is not trusted ({_tls_reason(exc)}).",
                    "If the authority uses a private certificate authority, paste its certificate into 'CA bundle'.",
                ) from None
            raise _Failed(
                f"The authority {connection.authority_url} cannot be reached.",
                "Check the authority URL (https://login.microsoftonline.com/<tenant id> for Microsoft Entra ID).",
            ) from None
        return f"The authority issued a token for client id {connection.client_id}."

    def check_whoami(self) -> str:
        try:
            who = self.client.whoami()
        except dataverse.Unauthorized as exc:
            raise _Failed(
                f"The CRM refused the integration app's token (HTTP 401: {_short(exc.message)}).",
                f"Add the app registration (client id {self.connection.client_id}) as an application user of "
                "this CRM environment, and check that the user is enabled.",
            ) from None
        except dataverse.Forbidden as exc:
            raise _Failed(
                f"The CRM refused WhoAmI (HTTP 403: {_short(exc.message)}).",
                "The application user needs a security role: import the integration solution, which assigns it.",
            ) from None
        except dataverse.NotFound:
            raise _Failed(
                f"No Dataverse Web API answers at {self.client.api_url}.",
                "The server URL must be the organization's root URL, e.g. https://contoso.crm4.dynamics.com.",
            ) from None
        except dataverse.DataverseError as exc:
            raise _Failed(*_unexpected(exc)) from None
        self.user_id = who.user_id
        return f"The integration app acts as CRM user {who.user_id}."

    def check_integration_user(self) -> str:
        try:
            row = self.client.retrieve(
                "systemusers",
                self.user_id,
                select=["fullname", "isdisabled"],
                expand={"systemuserroles_association": {"select": ["name"]}},
            )
        except dataverse.Forbidden:
            raise _Failed(
                f"The integration user {self.user_id} has no security role, so it cannot even read its own user "
                "record.",
                f"Import the integration solution (it assigns the roles), or assign the roles "
                f"{_quoted(constants.INTEGRATION_ROLES)} to the application user in the CRM.",
            ) from None
        except dataverse.DataverseError as exc:
            raise _Failed(*_unexpected(exc)) from None
        self.user_name = row.get("fullname") or self.user_id
        self.role_names = sorted(role.get("name", "") for role in row.get("systemuserroles_association") or [])
        if row.get("isdisabled"):
            raise _Failed(
                f"The integration user {self.user_name} is disabled.", "Enable the application user in the CRM."
            )
        return f"The integration user is {self.user_name}."

    def check_integration_roles(self) -> str:
        roles = set(self.role_names or [])
        if constants.SYSTEM_ADMINISTRATOR_ROLE in roles:
            raise _Failed(
                f"The integration user {self.user_name} is a {constants.SYSTEM_ADMINISTRATOR_ROLE}; the integration "
                "must run with only the rights it needs.",
                f"Remove the {constants.SYSTEM_ADMINISTRATOR_ROLE} role from the application user and give it "
                f"{_quoted(constants.INTEGRATION_ROLES)} instead.",
            )
        missing = [role for role in constants.INTEGRATION_ROLES if role not in roles]
        if missing:
            held = _quoted(sorted(roles)) if roles else "no role"
            raise _Failed(
                f"The integration user {self.user_name} lacks the role(s) {_quoted(missing)} (it holds {held}).",
                "Import the integration solution (it creates and assigns the roles), or assign them in the CRM.",
            )
        return f"{self.user_name} holds {_quoted(constants.INTEGRATION_ROLES)}."

    def check_solution(self) -> str:
        expected = constants.INTEGRATION_SOLUTION_VERSION
        name = constants.INTEGRATION_SOLUTION_NAME
        try:
            rows = list(
                self.client.query(
                    "solutions", select=["uniquename", "version"], filter=dataverse.F.eq("uniquename", name), top=1
                )
            )
        except dataverse.DataverseError as exc:
            raise _Failed(*_unexpected(exc)) from None
        if not rows:
            raise _Failed(
                f"The integration solution {name} is not installed in the CRM.",
                "Use 'Import solution' (it needs a CRM administrator's sign-in, which is not kept).",
            )
        installed = rows[0].get("version") or ""
        if _version(installed) is None or _version(installed) < _version(expected):
            raise _Failed(
                f"The integration solution {name} is at version {installed or '(none)'}; version {expected} is needed.",
                "Use 'Import solution' to update it.",
            )
        return f"{name} {installed} is installed."

    def check_currency(self) -> str:
        local_currency = erp_selectors.general_setup().local_currency
        if local_currency is None:
            raise _Failed(
                "The ERP has no local currency (LCY) set.", "Set the local currency in the ERP's general setup."
            )
        code = local_currency.code
        try:
            rows = list(
                self.client.query(
                    "transactioncurrencies",
                    select=["currencyname", "isocurrencycode", "statecode"],
                    filter=dataverse.F.eq("isocurrencycode", code),
                    top=1,
                )
            )
        except dataverse.DataverseError as exc:
            raise _Failed(*_unexpected(exc)) from None
        if not rows:
            raise _Failed(
                f"The CRM has no transaction currency with ISO code {code}, the ERP's local currency.",
                f"Add the currency {code} in the CRM (Settings › Business Management › Currencies).",
            )
        if rows[0].get("statecode") not in (0, None):
            raise _Failed(f"The CRM currency {code} is inactive.", f"Activate the currency {code} in the CRM.")
        return f"The CRM has the currency {code} ({rows[0].get('currencyname', code)})."


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    text = text.split(" Trace ID:")[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(names) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _tls_reason(exc: Exception) -> str:
    match = re.search(r"certificate verify failed: ([^(\]'\"]+)", str(exc))
    return match.group(1).strip() if match else "certificate verification failed"


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def _token_refusal(exc: dataverse.AuthenticationFailed, connection: CrmConnection) -> tuple[str, str]:
    code = (exc.code or "").lower()
    detail = _short(exc.message)
    what = "client secret" if connection.auth_type == CrmConnection.AuthType.CLIENT_SECRET else "certificate"
    if code == "invalid_client":
        hint = (
            "Copy the secret's Value (not its Secret ID) from the app registration's Certificates & secrets; "
            "secrets expire, so create a new one if needed."
            if what == "client secret"
            else "Upload this certificate to the app registration's Certificates & secrets."
        )
        return f"The authority refused the {what} for client id {connection.client_id} ({detail}).", hint
    if code == "unauthorized_client":
        return (
            f"The authority does not know an application with client id {connection.client_id} ({detail}).",
            "Check the client id (the app registration's Application (client) ID) and that the authority URL "
            "names the tenant the app is registered in.",
        )
    if code in {"invalid_tenant", "invalid_request"} and "tenant" in detail.lower():
        return (
            f"The authority does not know the tenant in {connection.authority_url} ({detail}).",
            "Use https://login.microsoftonline.com/<tenant id> with your directory (tenant) id.",
        )
    if code == "invalid_resource":
        return (
            f"The authority does not know {connection.server_url} as a CRM of this tenant ({detail}).",
            "Check that the server URL and the authority URL belong to the same tenant.",
        )
    if code == "authority_error":
        # msal could not read the authority's OpenID configuration; its own text suggests other products' URLs.
        return (
            f"The authority {connection.authority_url} did not answer with its configuration: the tenant is unknown "
            "or the URL is not an identity provider's.",
            "Use https://login.microsoftonline.com/<tenant id> with your directory (tenant) id for Microsoft Entra ID.",
        )
    return f"The authority refused to issue a token ({detail}).", "Check the authority URL, client id and secret."


def _unexpected(exc: dataverse.DataverseError) -> tuple[str, str]:
    if isinstance(exc, dataverse.Forbidden):
        return (
            f"The integration user lacks a privilege (HTTP 403: {_short(exc.message)}).",
            f"Assign the roles {_quoted(constants.INTEGRATION_ROLES)} to the application user "
            "(Import solution does this).",
        )
    if isinstance(exc, dataverse.Throttled):
        return "The CRM is throttling requests (HTTP 429).", "Wait a minute and test again."
    if isinstance(exc, dataverse.TransportError):
        return f"The connection to the CRM failed ({_short(exc.message)}).", "Test again; check the network."
    status = f"HTTP {exc.status}" if exc.status else "no response"
    return f"The CRM answered {status}: {_short(exc.message)}.", "Test again; if it persists, check the CRM's health."


def _run_checks(connection: CrmConnection) -> list[CheckResult]:
    run = _CheckRun(connection)
    results: dict[str, CheckResult] = {}
    try:
        for key, title, needs in CHECKS:
            if needs is not None and not results[needs].passed:
                results[key] = CheckResult(
                    key, title, CheckStatus.NOT_RUN, f"Not run: '{TITLES[needs]}' did not pass.", ""
                )
                continue
            try:
                message = getattr(run, f"check_{key}")()
            except _Failed as failure:
                results[key] = CheckResult(key, title, CheckStatus.FAILED, failure.message, failure.hint)
            else:
                results[key] = CheckResult(key, title, CheckStatus.PASSED, message)
    finally:
        if run.client is not None:
            run.client.close()
    if run.user_id:
        connection.integration_user_id = uuid.UUID(run.user_id)
        connection.integration_user_name = run.user_name
    return list(results.values())


def connection_test(*, connection: CrmConnection) -> list[CheckResult]:
    """Run every check against the CRM and record the outcome on the connection (when it is saved)."""
    results = _run_checks(connection)
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


@dataclass
class RestoreOutcome:
    jobs: list[SyncJob] = field(default_factory=list)
    restored: list[SyncJobError] = field(default_factory=list)
    refused: list[tuple[SyncJobError, str]] = field(default_factory=list)
    # Records that refer to a recreated row: their mappings' next runs send them the new id.
    referring: int = 0


def referring_couplings_resend(*, model: type[models.Model], system_ids: list) -> int:
    """The records that refer to these (a customer's contacts, a price list's items) through a lookup
    send that lookup again with their mapping's next run; returns how many couplings were marked.

    For when the CRM rows of ``system_ids`` get new ids (a deleted row recreated): Dynamics 365 has
    emptied (or still holds the old id in) the referring rows' lookup, while their snapshots say it
    was sent. The lookup's value is dropped from each snapshot and the coupling is marked
    ``deferred_values``, which incremental runs look at whether or not the record changed.
    """
    content_type = ContentType.objects.get_for_model(model)
    lookups = IntegrationFieldMapping.objects.filter(
        transform=IntegrationFieldMapping.Transform.LOOKUP,
        lookup_mapping__erp_model=content_type,
        direction__in=[Direction.TO_CRM, Direction.BIDIRECTIONAL],
        is_enabled=True,
        constant_value="",
        table_mapping__is_enabled=True,
        table_mapping__is_option_mapping=False,
    ).select_related("table_mapping__erp_model")
    records = model._default_manager.filter(system_id__in=system_ids)
    marked = 0
    for lookup in lookups:
        child_model = lookup.table_mapping.erp_model.model_class()
        if lookup.lookup_erp_key:  # a code that names the record (a sales price's sales code)
            keys = records.values_list(lookup.lookup_erp_key, flat=True)
            children = child_model._default_manager.filter(**{f"{lookup.erp_field}__in": keys})
        else:
            children = child_model._default_manager.filter(**{f"{lookup.erp_field}__in": records})
        couplings = list(
            Coupling.objects.filter(
                erp_model=lookup.table_mapping.erp_model, erp_system_id__in=children.values("system_id")
            )
        )
        for coupling in couplings:
            coupling.snapshot.pop(lookup.name, None)
            coupling.deferred_values = True
        couplings_update_fields(couplings=couplings, fields=["snapshot", "deferred_values"])
        marked += len(couplings)
    return marked


def _coupling_recreate_in_crm(*, coupling: Coupling) -> None:
    """Point the coupling at a new id for the deleted row, recorded before anything is sent (state "creating").

    The job then creates the row under that id as the engine creates any row, so a repeat (a
    second click, a rerun after a crash) upserts the same row. A coupling already waiting for
    its create keeps its id for the same reason.
    """
    now = timezone.now()
    Coupling.objects.filter(pk=coupling.pk, crm_id=coupling.crm_id, state=Coupling.State.COUPLED).update(
        crm_id=uuid.uuid4(),
        state=Coupling.State.CREATING,
        snapshot={},
        crm_modified_on=None,
        crm_version=None,
        modified_at=now,
    )
    Coupling.objects.filter(pk=coupling.pk).update(skipped=False, consecutive_failures=0, modified_at=now)


def job_errors_restore(
    *, errors: models.QuerySet[SyncJobError], user=None, client: dataverse.Client | None = None
) -> RestoreOutcome:
    """BC's "Restore" on failed and skipped records: recreate the side of each record's coupling that was deleted.

    Dynamics 365 row deleted → the coupling is re-pointed (see ``_coupling_recreate_in_crm``) and
    a to-Dynamics-365 job for those records creates the rows. ERP record deleted → the leftover
    coupling goes and a from-Dynamics-365 job for those rows creates the ERP records, each with
    its coupling in one transaction (as "Create in ERP" on the uncoupled rows page). Either way
    the engine maps the values. What applies is decided here from both systems as they are now
    (``selectors.error_restore_plans``), not from what the page showed. CRM errors propagate.
    """
    from syncjobs.coupling_ui.services import crm_rows_create_in_erp

    errors = list(errors.select_related("mapping", "mapping__erp_model", "job"))
    if client is None:
        with clients.crm_client() as own_client:
            plans = selectors.error_restore_plans(errors=errors, client=own_client)
    else:
        plans = selectors.error_restore_plans(errors=errors, client=client)
    outcome = RestoreOutcome()
    in_crm: dict[int, list[selectors.ErrorRestorePlan]] = {}
    in_erp: dict[int, list[selectors.ErrorRestorePlan]] = {}
    for error in errors:
        plan = plans[error.pk]
        if not plan.applies:
            outcome.refused.append((error, plan.reason))
            continue
        side = in_crm if plan.side == selectors.RestoreSide.CRM_ROW else in_erp
        side.setdefault(error.mapping_id, []).append(plan)
    for mapping_plans in in_crm.values():
        mapping = mapping_plans[0].error.mapping
        with transaction.atomic():
            for plan in mapping_plans:
                _coupling_recreate_in_crm(coupling=plan.coupling)
            system_ids = sorted({str(plan.erp_system_id) for plan in mapping_plans})
            outcome.referring += referring_couplings_resend(
                model=mapping.erp_model.model_class(), system_ids=system_ids
            )
            outcome.jobs.append(
                jobs.job_create(
                    mapping=mapping,
                    direction=SyncJob.JobDirection.TO_CRM,
                    parameters={"erp_system_ids": system_ids},
                    user=user,
                )
            )
        outcome.restored += [plan.error for plan in mapping_plans]
    for mapping_plans in in_erp.values():
        mapping = mapping_plans[0].error.mapping
        try:
            with transaction.atomic():
                for plan in mapping_plans:
                    if plan.coupling is not None:
                        # Still pointing at the deleted record (checked again in the same statement).
                        Coupling.objects.filter(pk=plan.coupling.pk, erp_system_id=plan.erp_system_id).delete()
                crm_ids = sorted({str(plan.crm_id) for plan in mapping_plans})
                outcome.jobs.append(crm_rows_create_in_erp(mapping=mapping, crm_ids=crm_ids, user=user, restore=True))
        except ValidationError as refusal:
            outcome.refused += [(plan.error, " ".join(refusal.messages)) for plan in mapping_plans]
            continue
        outcome.restored += [plan.error for plan in mapping_plans]
    if outcome.jobs:
        logger.info(
            "Restore deleted counterparts: %s errors, jobs %s", len(outcome.restored), [job.pk for job in outcome.jobs]
        )
    return outcome

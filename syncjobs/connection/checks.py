"""The connection test: each check in the order the setup shows them (server, token, user, roles, solution,
currency, …), with what failed in plain words and what to do about it."""

from __future__ import annotations

import re
import socket
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import requests

import dataverse
from erp import selectors as erp_selectors
from syncjobs import constants
from syncjobs.connection import clients, crypto
from syncjobs.models import CrmConnection

TEST_TIMEOUT_SECONDS = 15.0


CHECK_RETRIES = 2


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


def checks_run(connection: CrmConnection) -> list[CheckResult]:
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

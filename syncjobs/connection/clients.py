"""The one place that builds clients for the CRM: everything that talks to Dataverse starts here.

`crm_client()` builds a `dataverse.Client` from the saved connection (or the one given); the
secrets are decrypted only here, handed to the auth object and never kept elsewhere. When it closes, the
client keeps the throttling it met (CrmThrottling) for the home page's health.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from pathlib import Path

import requests
from django.conf import settings
from django.db import DatabaseError, transaction

import dataverse
from syncjobs.connection import crypto
from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import CrmConnection, CrmThrottling

logger = logging.getLogger(__name__)

CA_BUNDLE_DIR_NAME = "crm_ca_bundles"
THROTTLING_KEPT_FOR = datetime.timedelta(days=7)


class CrmNotConfigured(Exception):
    """The connection lacks what is needed to reach the CRM (URL, authority, client id, credentials)."""


def crm_ca_bundle_path(pem: str) -> str | None:
    """A file holding the CA bundle (requests verifies against a path); named by its content, written once."""
    if not pem.strip():
        return None
    data = pem.strip().encode("ascii") + b"\n"
    directory = Path(settings.DATA_DIR) / CA_BUNDLE_DIR_NAME
    directory.mkdir(exist_ok=True)
    path = directory / f"{hashlib.sha256(data).hexdigest()}.pem"
    if not path.exists():
        partial = path.with_suffix(".tmp")
        partial.write_bytes(data)
        partial.replace(path)
    return str(path)


def crm_token_provider(*, connection: CrmConnection) -> dataverse.TokenProvider:
    """The integration app's credentials (client secret or certificate) as a dataverse auth object."""
    if not connection.is_configured:
        raise CrmNotConfigured(
            "The CRM connection is not set up: server URL, authority URL, client id and credentials are needed."
        )
    try:
        if connection.auth_type == CrmConnection.AuthType.CERTIFICATE:
            return dataverse.CertificateAuth(
                connection.authority_url,
                connection.client_id,
                crypto.secret_decrypt(connection.certificate_key_encrypted),
                connection.certificate_thumbprint,
            )
        return dataverse.ClientSecretAuth(
            connection.authority_url, connection.client_id, crypto.secret_decrypt(connection.client_secret_encrypted)
        )
    except ValueError as exc:  # e.g. an authority that is not https
        raise CrmNotConfigured(str(exc)) from exc


class CrmClient(dataverse.Client):
    """The integration user's client: on closing it keeps the 429 answers it received (one row, only when there
    were any), so that the home page shows the throttling seen by every process, web and workers alike."""

    _throttled_kept = 0

    def close(self) -> None:
        super().close()
        self.keep_throttling()

    def keep_throttling(self) -> None:
        """Keeps the 429 answers received since the last call."""
        throttling = self.stats.throttling()
        kept = self._throttled_kept if throttling.answers >= self._throttled_kept else 0  # the stats were reset
        if throttling.answers == kept or throttling.last_at is None:
            return
        self._throttled_kept = throttling.answers
        try:
            crm_throttling_keep(
                answers=throttling.answers - kept,
                last_at=throttling.last_at,
                last_retry_after=throttling.last_retry_after,
            )
        except DatabaseError:  # e.g. closed in a transaction that failed: the work's own error matters more
            logger.warning("The throttling Dynamics 365 answered with could not be kept", exc_info=True)


def crm_throttling_keep(*, answers: int, last_at: datetime.datetime, last_retry_after: float | None) -> None:
    with transaction.atomic():  # a savepoint: a failure here leaves the caller's transaction usable
        CrmThrottling.objects.filter(last_at__lt=last_at - THROTTLING_KEPT_FOR).delete()
        CrmThrottling.objects.create(answers=answers, last_at=last_at, last_retry_after=last_retry_after)


def crm_client(
    *,
    connection: CrmConnection | None = None,
    auth: dataverse.TokenProvider | None = None,
    timeout: float = 30.0,
    max_retries: int = 5,
) -> CrmClient:
    """A client for the CRM as the integration user. `auth` defaults to the connection's credentials."""
    connection = connection or connection_selectors.crm_connection_get()
    auth = auth or crm_token_provider(connection=connection)
    try:
        return CrmClient(
            connection.server_url,
            auth=auth,
            ca_bundle=crm_ca_bundle_path(connection.ca_bundle_pem),
            timeout=timeout,
            max_retries=max_retries,
        )
    except ValueError as exc:
        raise CrmNotConfigured(str(exc)) from exc


def crm_admin_client(*, connection: CrmConnection, username: str, password: str, timeout: float = 120.0):
    """A client acting as a CRM administrator, for setup steps only; the password is not kept anywhere."""
    if not (connection.server_url and connection.authority_url and connection.client_id):
        raise CrmNotConfigured("Set the server URL, authority URL and client id first.")
    try:
        auth = dataverse.UsernamePasswordAuth(connection.authority_url, connection.client_id, username, password)
        return dataverse.Client(
            connection.server_url, auth=auth, ca_bundle=crm_ca_bundle_path(connection.ca_bundle_pem), timeout=timeout
        )
    except ValueError as exc:
        raise CrmNotConfigured(str(exc)) from exc


def crm_server_probe(*, connection: CrmConnection, timeout: float = 10.0) -> int:
    """One unauthenticated GET of the server's root: proves DNS, TCP and TLS. Returns the HTTP status.

    Raises requests' exceptions (ConnectionError, SSLError, Timeout) for the caller to explain.
    """
    with requests.Session() as session:
        response = session.get(
            connection.server_url,
            verify=crm_ca_bundle_path(connection.ca_bundle_pem) or True,
            timeout=timeout,
            allow_redirects=False,
        )
        return response.status_code


def crm_problem(error: Exception) -> str:
    """What went wrong reaching the CRM, in plain words."""
    if isinstance(error, CrmNotConfigured):
        return f"The connection to Dynamics 365 is not set up. {error}"
    if isinstance(error, dataverse.Unauthorized | dataverse.Forbidden):
        return f"Dynamics 365 refused the integration user: {error}"
    if isinstance(error, dataverse.DataverseError | requests.RequestException):
        return f"Dynamics 365 could not be reached: {error}"
    return str(error)


CRM_ERRORS = (CrmNotConfigured, dataverse.DataverseError, requests.RequestException)

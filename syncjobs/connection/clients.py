"""The one place that builds clients for the CRM: everything that talks to Dataverse starts here.

`crm_client()` builds a `dataverse.Client` from the saved connection (or the one given); the
secrets are decrypted only here, handed to the auth object and never kept elsewhere.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import requests
from django.conf import settings

import dataverse
from syncjobs.connection import crypto
from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import CrmConnection

CA_BUNDLE_DIR_NAME = "crm_ca_bundles"


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


def crm_client(
    *,
    connection: CrmConnection | None = None,
    auth: dataverse.TokenProvider | None = None,
    timeout: float = 30.0,
    max_retries: int = 5,
) -> dataverse.Client:
    """A client for the CRM as the integration user. `auth` defaults to the connection's credentials."""
    connection = connection or connection_selectors.crm_connection_get()
    auth = auth or crm_token_provider(connection=connection)
    try:
        return dataverse.Client(
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

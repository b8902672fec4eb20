"""Clients for the CRM sandbox (started by the `crm_sandbox` fixtures in tests/conftest.py)."""

import uuid

import pytest

from dataverse import Client, ClientSecretAuth, F, UsernamePasswordAuth

# (url, generation): the organizations whose integration user has its role; a restore takes it away.
_prepared: set[tuple[str, int]] = set()


def grant_integration_role(sandbox, role: str = "System Administrator") -> None:
    """What an administrator does once for a new application user: give it a security role."""
    if (sandbox.url, sandbox.generation) in _prepared:
        return
    auth = ClientSecretAuth(sandbox.authority, sandbox.client_id, sandbox.client_secret)
    with Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle) as integration:
        user_id = integration.whoami().user_id
    admin_auth = UsernamePasswordAuth(sandbox.authority, sandbox.client_id, sandbox.admin_user, sandbox.admin_password)
    with Client(sandbox.url, auth=admin_auth, ca_bundle=sandbox.ca_bundle) as admin:
        (role_row,) = admin.query("roles", select=["name"], filter=F.eq("name", role))
        admin.associate("systemusers", user_id, "systemuserroles_association", "roles", role_row["roleid"])
    _prepared.add((sandbox.url, sandbox.generation))


def make_client(sandbox, **options) -> Client:
    grant_integration_role(sandbox)
    auth = ClientSecretAuth(sandbox.authority, sandbox.client_id, sandbox.client_secret)
    options.setdefault("backoff_base", 0.01)
    options.setdefault("backoff_max", 0.2)
    return Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle, **options)


@pytest.fixture
def client(crm_sandbox):
    with make_client(crm_sandbox) as client:
        yield client


@pytest.fixture
def tag():
    """A short unique marker: the session-scoped sandbox keeps other tests' records."""
    return uuid.uuid4().hex[:10]

"""Clients for the CRM sandbox (started by the `crm_sandbox` fixtures in tests/conftest.py)."""

import uuid

import pytest

from dataverse import Client, ClientSecretAuth


def make_client(sandbox, **options) -> Client:
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

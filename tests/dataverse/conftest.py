"""Clients for the CRM sandbox (started by the `crm_sandbox` fixtures in tests/conftest.py)."""

import threading
import uuid

import pytest

from dataverse import Client, ClientSecretAuth
from tests.syncjobs.crm_support import assign_roles

# (url, generation): the organizations whose integration user has its role; a restore takes it away.
_prepared: set[tuple[str, int]] = set()


def grant_integration_role(sandbox, role: str = "System Administrator") -> None:
    """What an administrator does once for a new application user: give it a security role."""
    if (sandbox.url, sandbox.generation) in _prepared:
        return
    assign_roles(sandbox, role)
    _prepared.add((sandbox.url, sandbox.generation))


@pytest.fixture
def crm_sandbox_with(sandbox_states):
    """The client's tests run as an integration user that has System Administrator, given before the test's
    simulated conditions apply (granting it under a throttle of 1 request per 30 s would wait 30 s)."""

    def organization(**conditions):
        server = sandbox_states.organization("system-administrator", grant_integration_role, **conditions)
        _prepared.add((server.url, server.generation))
        return server

    return organization


@pytest.fixture
def crm_sandbox(crm_sandbox_with):
    return crm_sandbox_with()


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
    """A short unique marker for the records a test creates."""
    return uuid.uuid4().hex[:10]


class SandboxClock:
    """A client's clock that waits for nothing: a wait moves the client's time and the sandbox's
    service-protection clock forward together, so Retry-After is honoured without sleeping."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.now = 0.0
        self.slept = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self.now += seconds
            self.slept += seconds
        self.sandbox.advance_clock(seconds)

"""Project-wide fixtures: the CRM sandbox family and what every test starts with.

App-specific fixtures live in tests/<app>/conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings

from crm_sandbox.testing import RunningSandbox, seed_template, start_sandbox


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty default cache: the API token throttle counts requests there
    (per client address, and the test client is always 127.0.0.1), so no test inherits another's.

    The settings configure no CACHES: this is Django's process-local memory cache.
    """
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Django's advice for test suites: PBKDF2's deliberate quarter second per password is spent by every
    user a test creates and every sign-in. What is tested is who may sign in, not the hash's cost."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


# --- CRM sandbox --------------------------------------------------------------------------------
# The sandbox is a separate system (`manage.py crm_sandbox serve`, its own process and SQLite file,
# never the pytest-django test database). One server runs per test session (per xdist worker),
# started from a copy of an organization seeded once. Each test gets a clean organization: the
# server restores a saved snapshot in about 10 ms (crm_sandbox/snapshots.py), with the simulated
# conditions (latency, throttle, faults, token lifetime) the test asks for.
#
#   crm_sandbox            a new organization, as seeded
#   crm_sandbox_with(...)  the same, under simulated conditions: latency_ms=, throttle="N/SECONDS",
#                          fault_rate=, token_lifetime=
#   sandbox                an organization as a finished setup leaves it: both integration roles
#                          given to the integration user, the solution recorded (ready_sandbox)
#   imported_sandbox       the integration solution really imported, both roles given
#   connected              `sandbox` plus the saved, enabled connection the engine uses
#   private_sandbox(...)   a server of the test's own, for restarts and the seed/reset commands

SEEDED = "seeded"


class SandboxStates:
    """The session's server and the snapshots it holds, each made once on first use."""

    def __init__(self, server: RunningSandbox):
        self.server = server
        self.saved = {SEEDED}
        server.snapshot(SEEDED)

    def organization(
        self, name: str = SEEDED, prepare: Callable[[RunningSandbox], None] | None = None, **conditions
    ) -> RunningSandbox:
        """The server with the organization restored to the state ``name`` (made by ``prepare`` from a seeded
        one the first time it is asked for)."""
        if name not in self.saved:
            self.server.restore(SEEDED)
            prepare(self.server)
            self.server.snapshot(name)
            self.saved.add(name)
        self.server.restore(name, **conditions)
        return self.server


@pytest.fixture(scope="session")
def sandbox_template(tmp_path_factory) -> Path:
    """A seeded sandbox data directory no server uses: servers start from copies of it."""
    return seed_template(tmp_path_factory.mktemp("crm_sandbox_template"))


@pytest.fixture(scope="session")
def sandbox_states(sandbox_template, tmp_path_factory) -> SandboxStates:
    server = start_sandbox(tmp_path_factory.mktemp("crm_sandbox"), template=sandbox_template, test_control=True)
    yield SandboxStates(server)
    server.stop()


@pytest.fixture
def crm_sandbox(sandbox_states) -> RunningSandbox:
    """A new organization: url, api_url, authority, ca_bundle, client_id, client_secret, admin_user,
    admin_password, integration_user (+ token(), admin_token(), session())."""
    return sandbox_states.organization()


@pytest.fixture
def crm_sandbox_with(sandbox_states) -> Callable[..., RunningSandbox]:
    """crm_sandbox_with(latency_ms=, throttle="N/SECONDS", fault_rate=, token_lifetime=) -> a new organization
    served under those conditions (until the next test's restore)."""
    return lambda **conditions: sandbox_states.organization(**conditions)


def _ready(server: RunningSandbox) -> None:
    from tests.syncjobs.crm_support import prepare_integration

    prepare_integration(server)


def _imported(server: RunningSandbox) -> None:
    from setup_wizard.solution import build_package
    from syncjobs import constants
    from tests.syncjobs.crm_support import admin_client, assign_roles

    with admin_client(server) as admin:
        admin.import_solution(build_package())
    assign_roles(server, *constants.INTEGRATION_ROLES)


@pytest.fixture
def ready_sandbox(sandbox_states) -> RunningSandbox:
    """An organization in the state a finished setup leaves: roles assigned, solution installed."""
    return sandbox_states.organization("ready", _ready)


@pytest.fixture
def sandbox(ready_sandbox) -> RunningSandbox:
    """The organization the engine's tests synchronize with (``ready_sandbox``)."""
    return ready_sandbox


@pytest.fixture
def imported_sandbox(sandbox_states) -> RunningSandbox:
    """An organization with the integration solution imported and both roles given to the integration user."""
    return sandbox_states.organization("imported", _imported)


@pytest.fixture
def connected(db, sandbox) -> RunningSandbox:
    """``sandbox`` with the saved, enabled connection the engine's crm_client() uses."""
    from tests.syncjobs import engine_support

    engine_support.connect(sandbox)
    return sandbox


@pytest.fixture
def private_sandbox(sandbox_template, tmp_path_factory):
    """private_sandbox(**options) -> a server of the test's own (a copy of the seeded organization), for what
    the shared one must not see: restarts, and the seed and reset commands run against its data directory."""
    started: list[RunningSandbox] = []

    def start(**options) -> RunningSandbox:
        server = start_sandbox(tmp_path_factory.mktemp("crm_sandbox_private"), template=sandbox_template, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

"""Project-wide fixtures. App-specific fixtures live in tests/<app>/conftest.py."""

import pytest

from crm_sandbox.testing import RunningSandbox, start_sandbox

# --- CRM sandbox --------------------------------------------------------------------------------
# The sandbox is a separate system: each fixture starts `manage.py crm_sandbox serve` as its own
# process with a fresh data directory and SQLite file (never the pytest-django test database).


@pytest.fixture(scope="session")
def crm_sandbox(tmp_path_factory) -> RunningSandbox:
    """A seeded sandbox shared by the whole session: url, api_url, authority, ca_bundle, client_id,
    client_secret, admin_user, admin_password, integration_user (+ token(), admin_token(), session())."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("crm_sandbox"))
    yield sandbox
    sandbox.stop()


@pytest.fixture
def crm_sandbox_factory(tmp_path_factory):
    """Starts a private sandbox.

    crm_sandbox_factory(latency_ms=, throttle="N/SECONDS", fault_rate=, token_lifetime=) -> RunningSandbox
    """
    started: list[RunningSandbox] = []

    def start(**options) -> RunningSandbox:
        sandbox = start_sandbox(tmp_path_factory.mktemp("crm_sandbox_private"), **options)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()

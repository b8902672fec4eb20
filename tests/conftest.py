"""Project-wide fixtures. App-specific fixtures live in tests/<app>/conftest.py."""

import pytest
from django.core.cache import cache

from crm_sandbox.testing import RunningSandbox, start_sandbox


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty default cache: the API token throttle counts requests there
    (per client address, and the test client is always 127.0.0.1), so no test inherits another's.

    The settings configure no CACHES: this is Django's process-local memory cache.
    """
    cache.clear()


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

from tests.syncjobs.conftest import certificate_pair, ready_sandbox  # noqa: F401 — shared CRM fixtures

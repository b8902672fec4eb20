from tests.syncjobs.conftest import (  # noqa: F401 — shared CRM fixtures
    certificate_pair,
    private_data_directory,
    ready_sandbox,
)

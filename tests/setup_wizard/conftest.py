from tests.syncjobs.conftest import (  # noqa: F401 — shared fixtures
    certificate_pair,
    private_data_directory,
)

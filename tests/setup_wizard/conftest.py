from pathlib import Path

import pytest

from crm_sandbox.testing import start_sandbox
from setup_wizard.solution import build_package
from syncjobs import constants
from tests.syncjobs.conftest import (  # noqa: F401 — shared CRM fixtures
    certificate_pair,
    private_data_directory,
    ready_sandbox,
)
from tests.syncjobs.crm_support import admin_client, assign_roles


@pytest.fixture(scope="module")
def imported_sandbox(tmp_path_factory):
    """A private sandbox with the integration solution imported and the roles given to the integration user."""
    sandbox = start_sandbox(Path(tmp_path_factory.mktemp("crm_sandbox_imported")))
    with admin_client(sandbox) as admin:
        admin.import_solution(build_package())
    assign_roles(sandbox, *constants.INTEGRATION_ROLES)
    yield sandbox
    sandbox.stop()

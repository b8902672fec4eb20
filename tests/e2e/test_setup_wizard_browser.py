"""In a real browser: a sync administrator walks the assisted setup against a CRM sandbox and enables the connection."""

from pathlib import Path

import pytest

from syncjobs import constants
from syncjobs.connection import selectors as connection_selectors
from tests.e2e import browser_support as browser
from tests.factories import TEST_PASSWORD, UserFactory
from tests.setup_wizard.wizard_support import connection_rows, integration_user_roles
from tests.syncjobs.crm_support import local_currency

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    browser.shot(page, f"setup_wizard_{name}")


def test_walk_the_assisted_setup_and_enable_the_connection(live_server, page, crm_sandbox, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    sandbox = crm_sandbox
    local_currency("USD")
    UserFactory(username="sync.admin", perms=["syncjobs.manage_connection", "erp.view_item"])

    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "sync.admin")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.click("[data-testid=start-wizard]")
    page.wait_for_url(f"{live_server.url}/setup/wizard/connection/")

    # 1. Connection: fill, save and test; the role checks are the next step's business.
    page.fill("#id_server_url", sandbox.url)
    page.fill("#id_authority_url", sandbox.authority)
    page.fill("#id_client_id", sandbox.client_id)
    page.fill("#id_client_secret", sandbox.client_secret)
    page.fill("#id_ca_bundle_pem", Path(sandbox.ca_bundle).read_text())
    page.click("button:has-text('Save and test')")
    page.wait_for_selector("[data-check=whoami][data-status=passed]")
    assert page.locator("[data-check=solution][data-status=next_step]").count() == 1
    shot(page, "1_connection")
    page.click("button:has-text('Next')")
    page.wait_for_url("**/setup/wizard/solution/")

    # 2. Solution: the administrator's sign-in, once.
    page.fill("#id_admin_username", sandbox.admin_user)
    page.fill("#id_admin_password", sandbox.admin_password)
    shot(page, "2_solution")
    page.click("button:has-text('Import solution and assign roles')")
    page.wait_for_url("**/setup/wizard/features/")
    assert "holds the roles Integration administrator, Integration user" in page.inner_text("#messages")

    # 3. Features: item availability with the dedicated user, the OData URL taken from this address.
    assert page.input_value("#id_odata_url") == f"{live_server.url}/odata/v4/"
    page.fill("#id_synchronization_interval_minutes", "15")
    shot(page, "3_features")
    page.click("button:has-text('Next')")
    page.wait_for_url("**/setup/wizard/synchronization/")

    # 4. What to synchronize.
    shot(page, "4_synchronization")
    page.click("button:has-text('Next')")
    page.wait_for_url("**/setup/wizard/summary/")

    # 5. Summary: enable.
    assert "crm-availability" in page.inner_text("[data-testid=summary-availability]")
    shot(page, "5_summary")
    page.click("button:has-text('Enable the connection')")
    page.wait_for_selector("text=The connection is enabled. The setup is finished.")
    shot(page, "6_enabled")

    assert connection_selectors.crm_connection_is_enabled()
    assert integration_user_roles(sandbox) == set(constants.INTEGRATION_ROLES)
    row = connection_rows(sandbox)[0]
    assert row["nav_dynamicsnavodataurl"] == f"{live_server.url}/odata/v4/"
    assert row["nav_dynamicsnavodatausername"] == "crm-availability"
    assert row["nav_dynamicsnavodataaccesskey"]
    page.goto(f"{live_server.url}/")
    assert page.locator("[data-testid=crm-setup-banner]").count() == 0

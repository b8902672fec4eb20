"""The assisted setup's pages: permission, CSRF, step order, resuming, each step's validation, the summary."""

import html
import json
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from setup_wizard import selectors
from setup_wizard.models import SetupWizardProgress
from syncjobs import constants
from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import CrmConnection, IntegrationFieldMapping, IntegrationTableMapping
from tests import factories
from tests.setup_wizard.wizard_support import connection_rows, integration_user_roles, sync_admin_client
from tests.syncjobs.crm_support import local_currency, save_connection

pytestmark = pytest.mark.django_db

RESUME = reverse("setup_wizard:wizard")
SLUGS = ["connection", "solution", "features", "synchronization", "summary"]
STEPS = [reverse("setup_wizard:wizard_step", args=[slug]) for slug in SLUGS]
CONNECTION, SOLUTION, FEATURES, SYNCHRONIZATION, SUMMARY = STEPS
SECRET = "Wizard-Secret~Value.0123456789"


def connection_form(sandbox, **overrides) -> dict:
    data = {
        "action": "test",
        "server_url": sandbox.url,
        "authority_url": sandbox.authority,
        "auth_type": "client_secret",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "ca_bundle_pem": Path(sandbox.ca_bundle).read_text(),
    }
    data.update(overrides)
    return data


def features_form(**overrides) -> dict:
    data = {
        "action": "next",
        "item_availability_enabled": "on",
        "item_availability_user": "",
        "odata_url": "http://testserver/odata/v4/",
        "synchronization_interval_minutes": "30",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def steps_done(*steps: int) -> None:
    SetupWizardProgress.objects.update_or_create(
        pk=1, defaults={"completed_steps": list(steps), "current_step": max(steps) + 1}
    )


def page(response) -> str:
    return html.unescape(response.content.decode())


# --- Permission, CSRF, order ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [RESUME, *STEPS])
def test_anonymous_is_sent_to_the_login_page(url):
    for response in (Client().get(url), Client().post(url, {"action": "next"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [RESUME, *STEPS])
def test_without_the_permission_the_answer_is_403(url):
    client = Client()
    client.force_login(factories.UserFactory(groups=["Sales"]))
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "next"}).status_code == 403


@pytest.mark.parametrize("url", STEPS)
def test_posts_without_the_csrf_token_are_refused(url):
    steps_done(1, 2, 3, 4)
    client = sync_admin_client(enforce_csrf_checks=True)
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "back"}).status_code == 403
    assert selectors.wizard_progress_get().current_step == 5


def test_a_fresh_setup_starts_at_step_1_and_later_steps_wait_for_it():
    client = sync_admin_client()
    assert client.get(RESUME)["Location"] == CONNECTION
    response = client.get(FEATURES, follow=True)
    assert response.redirect_chain == [(CONNECTION, 302)]
    assert "Finish step 1, Connection, first." in page(response)
    assert client.get(reverse("setup_wizard:wizard_step", args=["nowhere"])).status_code == 404
    html = page(client.get(CONNECTION))
    assert 'data-step="1" data-state="current"' in html
    assert 'data-step="3" data-state="upcoming"' in html
    assert "Step 1 of 5 · Connection" in html
    assert re.search(r'value="client_secret"[^>]*checked', html)


# --- Step 1 ---------------------------------------------------------------------------------------------------


def test_step_1_saves_tests_and_shows_what_step_2_will_do_then_moves_on(crm_sandbox):
    client = sync_admin_client()
    response = client.post(CONNECTION, connection_form(crm_sandbox, client_secret=SECRET))
    assert response["Location"] == CONNECTION
    html = page(client.get(CONNECTION))
    assert 'data-check="token" data-status="failed"' in html  # the secret is wrong
    assert SECRET not in html
    next_refused = client.post(CONNECTION, {"action": "next"}, follow=True)
    assert "the server, the access token and WhoAmI checks must pass" in page(next_refused)
    assert selectors.wizard_progress_get().completed_steps == []

    client.post(CONNECTION, connection_form(crm_sandbox))
    html = page(client.get(CONNECTION))
    for check in ("server", "token", "whoami"):
        assert f'data-check="{check}" data-status="passed"' in html
    # Before the solution is imported the role checks fail: shown as the next step, not as an error.
    assert 'data-check="integration_user" data-status="next_step"' in html
    assert 'data-check="solution" data-status="next_step"' in html
    assert "Importing the integration solution (step 2) sets this up." in html

    assert client.post(CONNECTION, {"action": "next"})["Location"] == SOLUTION
    progress = selectors.wizard_progress_get()
    assert progress.completed_steps == [1] and progress.current_step == 2
    # Leaving and coming back resumes at step 2, with step 1 shown as done.
    assert client.get(RESUME)["Location"] == SOLUTION
    assert 'data-step="1" data-state="done"' in page(client.get(SOLUTION))


def test_a_refused_connection_form_shows_the_error_and_keeps_the_progress(crm_sandbox):
    steps_done(1, 2, 3)
    response = sync_admin_client().post(CONNECTION, connection_form(crm_sandbox, server_url="http://insecure.example"))
    assert response.status_code == 200
    assert "must start with https://" in page(response)
    assert selectors.wizard_progress_get().completed_steps == [1, 2, 3]


def test_pointing_step_1_at_another_crm_reopens_the_later_steps(crm_sandbox):
    save_connection(crm_sandbox, server_url="https://127.0.0.1:9")
    steps_done(1, 2, 3)
    sync_admin_client().post(CONNECTION, connection_form(crm_sandbox))
    assert selectors.wizard_progress_get().completed_steps == []


def test_back_goes_to_the_previous_step_and_resuming_returns_there():
    steps_done(1, 2)
    client = sync_admin_client()
    assert client.post(FEATURES, {"action": "back"})["Location"] == SOLUTION
    assert client.get(RESUME)["Location"] == SOLUTION
    assert selectors.wizard_progress_get().completed_steps == [1, 2]


# --- Step 2 ---------------------------------------------------------------------------------------------------


def test_step_2_imports_with_the_administrators_sign_in_then_moves_on(crm_sandbox):
    sandbox = crm_sandbox
    save_connection(sandbox)
    steps_done(1)
    client = sync_admin_client()
    html = page(client.get(SOLUTION))
    assert "NavCrmIntegration 1.1.0.0" in html and "the table “ERP connection”" in html
    assert "nav_connection" not in html  # its name in Dynamics 365's words, not its logical name
    assert 'name="admin_password"' in html

    wrong = client.post(
        SOLUTION, {"action": "import", "admin_username": sandbox.admin_user, "admin_password": "Wrong-Password-123"}
    )
    assert wrong.status_code == 200
    assert "did not accept this administrator's user name and password" in page(wrong)
    assert "Wrong-Password-123" not in page(wrong)

    response = client.post(
        SOLUTION,
        {"action": "import", "admin_username": sandbox.admin_user, "admin_password": sandbox.admin_password},
        follow=True,
    )
    assert response.redirect_chain == [(FEATURES, 302)]
    assert "holds the roles Integration administrator, Integration user" in page(response)
    assert integration_user_roles(sandbox) == set(constants.INTEGRATION_ROLES)
    assert selectors.wizard_progress_get().completed_steps == [1, 2]
    # Coming back, the step says so and Next works without signing in again.
    assert 'data-testid="solution-ready"' in page(client.get(SOLUTION))
    assert client.post(SOLUTION, {"action": "next"})["Location"] == FEATURES


def test_step_2_next_without_the_solution_is_refused(crm_sandbox):
    save_connection(crm_sandbox)
    steps_done(1)
    response = sync_admin_client().post(SOLUTION, {"action": "next"}, follow=True)
    assert "Import the integration solution first" in page(response)
    assert selectors.wizard_progress_get().completed_steps == [1]


# --- Step 3 ---------------------------------------------------------------------------------------------------


def test_step_3_writes_item_availability_into_the_crm_and_saves_the_features(imported_sandbox):
    save_connection(imported_sandbox)
    steps_done(1, 2)
    processor = factories.UserFactory(username="order.desk")
    client = sync_admin_client()
    html = page(client.get(FEATURES))
    assert "http://testserver/odata/v4/" in html
    assert "A dedicated user, crm-availability (may only view items)" in html
    assert "the user's current key stops working" in html

    response = client.post(
        FEATURES,
        features_form(
            sales_order_integration_enabled="on",
            sales_order_processing_user=str(processor.pk),
            synchronization_interval_minutes="10",
        ),
    )
    assert response.status_code == 302, page(response)[-6000:]
    assert response["Location"] == SYNCHRONIZATION
    row = connection_rows(imported_sandbox)[0]
    assert row["nav_dynamicsnavodataurl"] == "http://testserver/odata/v4/"
    assert row["nav_dynamicsnavodatausername"] == "crm-availability"
    assert selectors.access_key_user(username="crm-availability", key=row["nav_dynamicsnavodataaccesskey"])
    connection = connection_selectors.crm_connection_get()
    assert connection.item_availability_user.username == "crm-availability"
    assert connection.sales_order_integration_enabled and connection.sales_order_processing_user == processor
    assert connection.synchronization_interval_minutes == 10


def test_step_3_validates_before_moving_on(imported_sandbox):
    save_connection(imported_sandbox)
    steps_done(1, 2)
    response = sync_admin_client().post(
        FEATURES,
        features_form(odata_url="", sales_order_integration_enabled="on", synchronization_interval_minutes="0"),
    )
    assert response.status_code == 200
    html = page(response)
    assert "Enter the address the CRM reaches the ERP's OData service at." in html
    assert "Choose the ERP user who processes the orders." in html
    assert "greater than or equal to 1" in html
    assert selectors.wizard_progress_get().completed_steps == [1, 2]


def test_step_3_without_item_availability_writes_nothing_to_the_crm(crm_sandbox):
    save_connection(crm_sandbox)
    steps_done(1, 2)
    response = sync_admin_client().post(FEATURES, features_form(item_availability_enabled=None))
    assert response["Location"] == SYNCHRONIZATION
    assert connection_selectors.crm_connection_get().item_availability_user is None


# --- Step 4 ---------------------------------------------------------------------------------------------------


def test_step_4_enables_the_chosen_mappings_and_remembers_the_full_synchronization():
    steps_done(1, 2, 3)
    client = sync_admin_client()
    html = page(client.get(SYNCHRONIZATION))
    assert "Customers ↔ Accounts" in html and "Items ↔ Products" in html
    assert 'name="full_synchronization"' in html
    response = client.post(
        SYNCHRONIZATION, {"action": "next", "mappings": ["CUSTOMER", "CURRENCY"], "full_synchronization": "on"}
    )
    assert response["Location"] == SUMMARY
    assert set(IntegrationTableMapping.objects.filter(is_enabled=True).values_list("name", flat=True)) == {
        "CUSTOMER",
        "CURRENCY",
    }
    progress = selectors.wizard_progress_get()
    assert progress.enabled_mappings == ["CURRENCY", "CUSTOMER"] and progress.full_synchronization_requested
    summary = page(client.get(SUMMARY))
    assert "Currencies → Currencies, Customers ↔ Accounts" in summary  # in dependency order
    assert "Items ↔ Products" not in summary
    assert "a full synchronization was requested" in summary
    # Coming back, the page shows what is enabled now.
    assert page(client.get(SYNCHRONIZATION)).count("checked") == 3


def test_step_4_without_any_mapping_says_so_and_lets_the_user_go_on():
    IntegrationFieldMapping.objects.all().delete()
    IntegrationTableMapping.objects.all().delete()
    steps_done(1, 2, 3)
    client = sync_admin_client()
    html = page(client.get(SYNCHRONIZATION))
    assert 'data-testid="no-mappings"' in html
    assert 'name="full_synchronization"' not in html
    assert client.post(SYNCHRONIZATION, {"action": "next"})["Location"] == SUMMARY
    assert not selectors.wizard_progress_get().full_synchronization_requested


# --- Step 5 ---------------------------------------------------------------------------------------------------


def test_the_summary_enables_only_when_every_check_passes(ready_sandbox):
    save_connection(ready_sandbox)
    steps_done(1, 2, 3, 4)
    client = sync_admin_client()
    html = page(client.get(SUMMARY))
    assert 'data-testid="summary"' in html
    assert f'href="{reverse("setup_wizard:crm_connection")}"' in html
    assert f'href="{reverse("setup_wizard:access_key")}"' in html
    assert 'data-testid="sandbox-link"' not in html  # only when the CRM is the demo's sandbox

    refused = page(client.post(SUMMARY, {"action": "enable"}, follow=True))  # no local currency in the ERP
    assert "only when every check passes" in refused
    assert not connection_selectors.crm_connection_is_enabled()

    local_currency("USD")
    enabled = page(client.post(SUMMARY, {"action": "enable"}, follow=True))
    assert "The connection is enabled. The setup is finished." in enabled
    assert connection_selectors.crm_connection_is_enabled()
    assert selectors.wizard_progress_get().finished_at is not None
    assert "crm-setup-banner" not in page(client.get(reverse("home")))


# --- Demo -----------------------------------------------------------------------------------------------------


def write_demo_file(settings, sandbox) -> None:
    info = {
        "url": sandbox.url,
        "authority": sandbox.authority,
        "ca_bundle": sandbox.ca_bundle,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "admin_user": sandbox.admin_user,
        "admin_password": sandbox.admin_password,
    }
    (Path(settings.DATA_DIR) / "demo-crm.json").write_text(json.dumps(info))


def test_in_the_demo_step_1_is_prefilled_and_the_credentials_are_shown_as_a_hint(settings, crm_sandbox):
    write_demo_file(settings, crm_sandbox)
    client = sync_admin_client()
    html = page(client.get(CONNECTION))
    assert f'value="{crm_sandbox.url}"' in html
    assert f'value="{crm_sandbox.client_id}"' in html
    assert "BEGIN CERTIFICATE" in html
    assert 'data-testid="demo-hint"' in html
    assert crm_sandbox.client_secret in html and crm_sandbox.admin_password in html

    save_connection(crm_sandbox)
    steps_done(1)
    html = page(client.get(SOLUTION))
    assert f'value="{crm_sandbox.admin_user}"' in html
    assert crm_sandbox.admin_password in html  # as the demo hint, never as the field's value
    assert f'value="{crm_sandbox.admin_password}"' not in html
    steps_done(1, 2, 3, 4)
    html = page(client.get(SUMMARY))
    assert f'href="{crm_sandbox.url}sets/products/"' in html
    assert f'href="{crm_sandbox.url}sets/nav_connections/"' in html


def test_without_the_demo_file_there_is_no_hint_and_nothing_is_prefilled(crm_sandbox):
    html = page(sync_admin_client().get(CONNECTION))
    assert 'data-testid="demo-hint"' not in html
    assert crm_sandbox.url not in html


def test_the_home_banner_offers_the_assisted_setup_until_the_connection_is_enabled(crm_sandbox):
    client = sync_admin_client()
    home = page(client.get(reverse("home")))
    assert f'href="{RESUME}"' in home and "Start the assisted setup" in home
    steps_done(1)
    assert "Continue the assisted setup" in page(client.get(reverse("home")))
    save_connection(crm_sandbox)
    CrmConnection.objects.update(is_enabled=True)
    assert "crm-setup-banner" not in page(client.get(reverse("home")))


# --- Import solution on the connection page --------------------------------------------------------------------

IMPORT_ACTION = reverse("setup_wizard:crm_connection_import_solution")


def test_the_connection_pages_import_action_needs_login_permission_post_and_csrf():
    assert Client().post(IMPORT_ACTION)["Location"].startswith(reverse("login"))
    sales = Client()
    sales.force_login(factories.UserFactory(groups=["Sales"]))
    assert sales.post(IMPORT_ACTION).status_code == 403
    assert sync_admin_client().get(IMPORT_ACTION).status_code == 405
    csrf_checked = sync_admin_client(enforce_csrf_checks=True)
    assert csrf_checked.post(IMPORT_ACTION, {"admin_username": "a", "admin_password": "b"}).status_code == 403


def test_the_connection_page_offers_import_solution_once_saved_and_refuses_blank_credentials(crm_sandbox):
    client = sync_admin_client()
    assert "Save the connection first." in page(client.get(reverse("setup_wizard:crm_connection")))
    save_connection(crm_sandbox)
    html = page(client.get(reverse("setup_wizard:crm_connection")))
    assert f'action="{IMPORT_ACTION}"' in html and 'name="admin_password"' in html
    refused = page(client.post(IMPORT_ACTION, {"admin_username": "", "admin_password": ""}, follow=True))
    assert "Enter a CRM administrator's user name and password to import the solution." in refused


def test_a_refused_import_on_the_connection_page_says_why(crm_sandbox):
    save_connection(crm_sandbox)
    refused = page(
        sync_admin_client().post(
            IMPORT_ACTION, {"admin_username": crm_sandbox.admin_user, "admin_password": "Not-It-42"}, follow=True
        )
    )
    assert (
        "The solution was not imported: The CRM did not accept this administrator's user name and password" in refused
    )
    assert "Not-It-42" not in refused

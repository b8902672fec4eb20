"""The connection setup page: permission, CSRF, saving without ever showing the secret, test, enable, disable."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import CrmConnection
from tests import factories
from tests.syncjobs.crm_support import local_currency, save_connection

pytestmark = pytest.mark.django_db

PAGE = reverse("setup_wizard:crm_connection")
ACTIONS = [
    reverse("setup_wizard:crm_connection_test"),
    reverse("setup_wizard:crm_connection_enable"),
    reverse("setup_wizard:crm_connection_disable"),
]
MANAGE = "syncjobs.manage_connection"
SECRET = "Page-Secret~Value.0123456789"


def admin_client(*, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(factories.UserFactory(perms=[MANAGE]))
    return client


def form_data(sandbox, **overrides) -> dict:
    data = {
        "server_url": sandbox.url,
        "authority_url": sandbox.authority,
        "auth_type": "client_secret",
        "client_id": sandbox.client_id,
        "client_secret": SECRET,
        "ca_bundle_pem": Path(sandbox.ca_bundle).read_text(),
    }
    data.update(overrides)
    return data


def test_sync_administrators_hold_the_permission():
    assert Group.objects.get(name="Sync administrators").permissions.filter(codename="manage_connection").exists()
    assert not Group.objects.get(name="Sales").permissions.filter(codename="manage_connection").exists()


@pytest.mark.parametrize("url", [PAGE, *ACTIONS])
def test_anonymous_is_sent_to_the_login_page(url):
    response = Client().post(url) if url in ACTIONS else Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [PAGE, *ACTIONS])
def test_without_the_permission_the_answer_is_403(url):
    client = Client()
    client.force_login(factories.UserFactory(perms=["erp.view_currency"], groups=["Sales"]))
    response = client.post(url) if url in ACTIONS else client.get(url)
    assert response.status_code == 403


def test_the_page_opens_for_the_permission_and_actions_need_post():
    client = admin_client()
    response = client.get(PAGE)
    assert response.status_code == 200
    assert b"Import solution" in response.content
    for url in ACTIONS:
        assert client.get(url).status_code == 405


@pytest.mark.parametrize("url", [PAGE, *ACTIONS])
def test_posts_without_the_csrf_token_are_refused(url, crm_sandbox):
    save_connection(crm_sandbox)
    client = admin_client(enforce_csrf_checks=True)
    response = client.post(url, form_data(crm_sandbox, server_url="https://changed.example.com"))
    assert response.status_code == 403
    assert connection_selectors.crm_connection_get().server_url != "https://changed.example.com"


def test_saving_encrypts_the_secret_and_the_page_never_shows_it_again(crm_sandbox):
    client = admin_client()
    response = client.post(PAGE, form_data(crm_sandbox))
    assert response.status_code == 302
    connection = connection_selectors.crm_connection_get()
    assert connection.has_client_secret and SECRET not in connection.client_secret_encrypted
    page = client.get(PAGE).content.decode()
    assert SECRET not in page
    assert "set — replace" in page
    # Saving again without a secret keeps it.
    assert client.post(PAGE, form_data(crm_sandbox, client_secret="")).status_code == 302
    assert connection_selectors.crm_connection_get().client_secret_encrypted == connection.client_secret_encrypted


def test_a_refused_form_does_not_send_the_secret_or_the_private_key_back(crm_sandbox, certificate_pair):
    certificate_pem, key_pem = certificate_pair
    response = admin_client().post(
        PAGE,
        form_data(
            crm_sandbox,
            server_url="http://insecure.example.com",
            certificate_pem=certificate_pem,
            certificate_private_key_pem=key_pem,
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "must start with https://" in page
    assert SECRET not in page
    assert key_pem.splitlines()[1] not in page
    assert not CrmConnection.objects.exists()


def test_test_connection_shows_every_check_with_its_hint(crm_sandbox):
    save_connection(crm_sandbox, client_secret="wrong")
    client = admin_client()
    response = client.post(ACTIONS[0], follow=True)
    page = response.content.decode()
    assert 'data-check="server" data-status="passed"' in page
    assert 'data-check="token" data-status="failed"' in page
    assert 'data-check="whoami" data-status="not_run"' in page
    assert "Value (not its Secret ID)" in page
    assert "The connection test failed" in page


def test_enable_through_the_page_needs_every_check_then_disable(ready_sandbox):
    save_connection(ready_sandbox)
    client = admin_client()
    page = client.post(ACTIONS[1], follow=True).content.decode()
    assert "only when every check passes" in page
    assert not connection_selectors.crm_connection_is_enabled()

    local_currency("USD")
    page = client.post(ACTIONS[1], follow=True).content.decode()
    assert "The connection is enabled." in page
    assert page.count('data-status="passed"') == 7
    assert "# nav_crm Integration" in page
    assert "Disable the connection to change it." in page
    assert connection_selectors.crm_connection_is_enabled()
    # The form is read-only while enabled: a post changes nothing.
    client.post(PAGE, form_data(ready_sandbox, server_url="https://changed.example.com"))
    assert connection_selectors.crm_connection_get().server_url == ready_sandbox.url.rstrip("/")

    client.post(ACTIONS[2])
    assert not connection_selectors.crm_connection_is_enabled()


def test_test_before_saving_says_so():
    page = admin_client().post(ACTIONS[0], follow=True).content.decode()
    assert "Save the connection before testing it." in page


def test_the_home_banner_and_menu_invite_sync_administrators_until_the_connection_is_enabled(crm_sandbox):
    client = admin_client()
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="crm-setup-banner"' in home
    assert f'href="{PAGE}"' in home

    others = Client()
    others.force_login(factories.UserFactory(groups=["Sales"]))
    home = others.get(reverse("home")).content.decode()
    assert "crm-setup-banner" not in home
    assert f'href="{PAGE}"' not in home

    save_connection(crm_sandbox)
    CrmConnection.objects.update(is_enabled=True)
    assert "crm-setup-banner" not in client.get(reverse("home")).content.decode()

"""Web service access keys: shown once, stored hashed, optional expiry; HTTP Basic and the AccessKey header."""

import base64
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from setup_wizard import selectors, services
from setup_wizard.models import WebServiceAccessKey
from tests import factories
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PAGE = reverse("setup_wizard:access_key")
ENDPOINT = "/api/v1/currencies/"


def basic(username: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode()


def api_get(authorization: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get(ENDPOINT)


@pytest.fixture
def user_with_key():
    user = factories.UserFactory(perms=["erp.view_currency"])
    _, key = services.access_key_generate(user=user)
    return user, key


def test_http_basic_with_user_name_and_key_opens_the_rest_api(user_with_key):
    user, key = user_with_key
    factories.CurrencyFactory(code="EUR")
    response = api_get(basic(user.username, key))
    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["EUR"]


def test_the_access_key_header_opens_the_rest_api(user_with_key):
    user, key = user_with_key
    assert api_get(f"AccessKey {user.username}:{key}").status_code == 200


def test_the_key_gives_only_the_users_own_permissions():
    user = factories.UserFactory(perms=["erp.view_item"])
    _, key = services.access_key_generate(user=user)
    assert api_get(basic(user.username, key)).status_code == 403


def _refusals(user, key) -> dict[str, object]:
    inactive = factories.UserFactory(is_active=False, perms=["erp.view_currency"])
    _, inactive_key = services.access_key_generate(user=inactive)
    expired = factories.UserFactory(perms=["erp.view_currency"])
    _, expired_key = services.access_key_generate(
        user=expired, expires_at=timezone.now() + datetime.timedelta(seconds=5)
    )
    WebServiceAccessKey.objects.filter(user=expired).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    return {
        "wrong key": (user.username, key[:-1] + ("A" if key[-1] != "A" else "B")),
        "unknown user": ("nobody-" + user.username, key),
        "login password instead of the key": (user.username, TEST_PASSWORD),
        "empty key": (user.username, ""),
        "expired key": (expired.username, expired_key),
        "inactive user": (inactive.username, inactive_key),
    }


def test_every_refusal_is_the_same_401(user_with_key):
    user, key = user_with_key
    answers = set()
    for username, wrong in _refusals(user, key).values():
        for authorization in (basic(username, wrong), f"AccessKey {username}:{wrong}"):
            response = api_get(authorization)
            assert response.status_code == 401, (username, authorization)
            answers.add((response.json()["detail"], authorization.split()[0]))
    assert answers == {
        ("Invalid user name or web service access key.", "Basic"),
        ("Invalid user name or web service access key.", "AccessKey"),
    }


def test_a_malformed_access_key_header_is_a_401_that_shows_the_format():
    response = api_get("AccessKey just-a-key")
    assert response.status_code == 401
    assert "AccessKey <user name>:<key>" in response.json()["detail"]


def test_anonymous_api_requests_still_get_401_with_a_challenge():
    response = APIClient().get(ENDPOINT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"]


def test_the_key_is_stored_hashed_and_matched_by_the_selector(user_with_key):
    user, key = user_with_key
    record = WebServiceAccessKey.objects.get(user=user)
    with db.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {WebServiceAccessKey._meta.db_table}")  # noqa: S608 — our own table
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert key not in stored
    assert len(record.key_digest) == 64 and len(record.key_salt) == 32
    assert selectors.access_key_user(username=user.username, key=key) == user
    assert selectors.access_key_user(username=user.username, key=key + "x") is None


def test_a_past_expiry_is_refused():
    with pytest.raises(ValidationError, match="in the future"):
        services.access_key_generate(user=factories.UserFactory(), expires_at=timezone.now())


def test_the_page_needs_a_login():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_generating_on_the_page_shows_the_key_once_and_changing_it_retires_the_old_one():
    user = factories.UserFactory(perms=["erp.view_currency"])
    client = Client()
    client.force_login(user)
    assert "You have no web service access key." in client.get(PAGE).content.decode()

    response = client.post(PAGE, {"action": "generate", "expires_on": ""})
    assert "no-store" in response["Cache-Control"]
    first_key = response.context["new_key"]
    assert first_key and first_key in response.content.decode()
    again = client.get(PAGE).content.decode()
    assert first_key not in again
    assert "It does not expire." in again
    assert "Change web service key" in again
    assert api_get(basic(user.username, first_key)).status_code == 200

    second_key = client.post(PAGE, {"action": "generate", "expires_on": ""}).context["new_key"]
    assert second_key != first_key
    assert api_get(basic(user.username, first_key)).status_code == 401
    assert api_get(basic(user.username, second_key)).status_code == 200


def test_an_expiry_date_from_the_page_ends_with_that_day_and_a_past_date_is_refused():
    user = factories.UserFactory()
    client = Client()
    client.force_login(user)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    client.post(PAGE, {"action": "generate", "expires_on": tomorrow.isoformat()})
    expires_at = WebServiceAccessKey.objects.get(user=user).expires_at
    assert timezone.localtime(expires_at).date() == tomorrow + datetime.timedelta(days=1)
    assert timezone.localtime(expires_at).time() == datetime.time.min

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response = client.post(PAGE, {"action": "generate", "expires_on": yesterday.isoformat()})
    assert "Choose today or a later date." in response.content.decode()
    assert response.context["new_key"] is None
    assert WebServiceAccessKey.objects.get(user=user).expires_at == expires_at


def test_removing_the_key_on_the_page_stops_it(user_with_key):
    user, key = user_with_key
    client = Client()
    client.force_login(user)
    client.post(PAGE, {"action": "remove"})
    assert not WebServiceAccessKey.objects.filter(user=user).exists()
    assert api_get(basic(user.username, key)).status_code == 401


def test_the_page_refuses_posts_without_the_csrf_token():
    user = factories.UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(PAGE, {"action": "generate"}).status_code == 403
    assert not WebServiceAccessKey.objects.filter(user=user).exists()

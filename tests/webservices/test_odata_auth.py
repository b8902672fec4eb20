"""The OData service takes web service access keys only, and every refusal is the same 401."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from setup_wizard.models import WebServiceAccessKey
from setup_wizard.services import access_key_generate
from tests import factories
from tests.factories import TEST_PASSWORD
from tests.webservices.conftest import ITEMS, SERVICE, ODataClient, basic

pytestmark = pytest.mark.django_db


def test_http_basic_with_user_name_and_key_and_the_access_key_header_both_open_the_service(erp_user_with_key):
    user, key = erp_user_with_key
    factories.ItemFactory(no="1000")
    for authorization in (basic(user.username, key), f"AccessKey {user.username}:{key}"):
        response = ODataClient(authorization).get(ITEMS)
        assert response.status_code == 200, authorization
        assert [row["ItemNo"] for row in response.json()["value"]] == ["1000"]


def refusals(user, key) -> dict[str, str | None]:
    expired = factories.UserFactory(perms=["erp.view_item"])
    _, expired_key = access_key_generate(user=expired, expires_at=timezone.now() + datetime.timedelta(minutes=1))
    WebServiceAccessKey.objects.filter(user=expired).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    inactive = factories.UserFactory(perms=["erp.view_item"], is_active=False)
    _, inactive_key = access_key_generate(user=inactive)
    wrong_key = key[:-1] + ("A" if key[-1] != "A" else "B")
    return {
        "no header": None,
        "unknown user": basic("nobody", key),
        "wrong key": basic(user.username, wrong_key),
        "login password instead of the key": basic(user.username, TEST_PASSWORD),
        "expired key": basic(expired.username, expired_key),
        "inactive user": basic(inactive.username, inactive_key),
        "wrong key in the AccessKey header": f"AccessKey {user.username}:{wrong_key}",
        "malformed AccessKey header": "AccessKey just-a-key",
        "malformed Basic header": "Basic not-base64!",
        "bearer token": "Bearer abc",
    }


def test_every_refusal_is_the_same_401_with_a_basic_challenge(erp_user_with_key):
    user, key = erp_user_with_key
    answers = set()
    for reason, authorization in refusals(user, key).items():
        for url in (ITEMS, SERVICE, SERVICE + "$metadata", ITEMS + "('1000')"):
            response = ODataClient(authorization).get(url)
            assert response.status_code == 401, (reason, url)
            answers.add((response.content, response["WWW-Authenticate"], response["Content-Type"]))
    assert len(answers) == 1
    body, challenge, content_type = answers.pop()
    assert challenge == 'Basic realm="nav_crm"'
    assert content_type.startswith("application/json")
    assert b'"code": "Unauthorized"' in body and b"access key" in body


def test_a_signed_in_browser_session_does_not_open_the_service():
    user = factories.UserFactory(perms=["erp.view_item"])
    client = Client()
    client.force_login(user)
    response = client.get(ITEMS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="nav_crm"'


def test_a_key_without_the_permission_to_view_items_is_403():
    user = factories.UserFactory(perms=["erp.view_customer"])
    _, key = access_key_generate(user=user)
    response = ODataClient(basic(user.username, key)).get(ITEMS)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Forbidden"
    assert "may not view items" in response.json()["error"]["message"]


def test_anonymous_writes_are_401_not_a_csrf_page():
    response = Client(enforce_csrf_checks=True).post(ITEMS, data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "Unauthorized"

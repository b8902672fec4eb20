"""The API token endpoint is throttled per client address (password guessing); the rest of the API is not."""

import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from nav_crm.api.throttling import TokenRequestThrottle
from tests import factories
from tests.erp.api_support import API, token_client

pytestmark = pytest.mark.django_db

TOKEN_URL = f"{API}/auth/token/"


@pytest.fixture
def limit() -> int:
    return TokenRequestThrottle().num_requests


@pytest.fixture
def user():
    return factories.UserFactory(username="known")


def ask(client=None, password="wrong password", **extra):
    client = client or APIClient()
    return client.post(TOKEN_URL, {"username": "known", "password": password}, format="json", **extra)


def use_up(limit, client=None, **extra):
    """The allowed failed attempts: each one still reaches the password check (a fresh count per test)."""
    for attempt in range(limit):
        assert ask(client, **extra).status_code == 400, attempt


def assert_throttled(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("Request was throttled.")
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_rate_comes_from_the_settings_and_defaults_to_ten_a_minute(limit):
    assert TokenRequestThrottle().rate == settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api-token"]
    if "API_TOKEN_THROTTLE_RATE" not in os.environ:
        assert (limit, TokenRequestThrottle().duration) == (10, 60)
    assert "DEFAULT_THROTTLE_CLASSES" not in settings.REST_FRAMEWORK  # nothing else is throttled


def test_token_endpoint_answers_429_after_the_allowed_attempts(user, limit):
    # A correct password works within the limit...
    assert ask(password=factories.TEST_PASSWORD).status_code == 200
    use_up(limit - 1)
    # ...and the next attempt is refused without checking the password, right one included.
    assert_throttled(ask())
    assert_throttled(ask(password=factories.TEST_PASSWORD))


def test_the_count_is_per_client_address(user, limit):
    use_up(limit)
    assert_throttled(ask())
    assert ask(password=factories.TEST_PASSWORD, REMOTE_ADDR="192.0.2.7").status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_count(user, limit):
    for n in range(limit):
        assert ask(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code == 400
    assert_throttled(ask(HTTP_X_FORWARDED_FOR="203.0.113.1"))


def test_a_client_with_credentials_of_its_own_is_throttled_as_well(user, limit):
    client = token_client("erp.view_customer")
    use_up(limit, client)
    assert_throttled(ask(client))
    # The rest of the API is not throttled: the same address and client still read.
    for _ in range(limit + 1):
        assert client.get(f"{API}/customers/").status_code == 200

import base64

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.test import Client

from setup_wizard.services import access_key_generate
from tests import factories

SERVICE = "/odata/v4/"
ITEMS = SERVICE + "ProductItemAvailability"


def basic(username: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode()


class ODataClient:
    """Django's test client with an Authorization header on every request."""

    def __init__(self, authorization: str | None):
        self.client = Client(enforce_csrf_checks=True)
        self.authorization = authorization

    def get(self, url: str, data=None, **headers):
        if self.authorization:
            headers.setdefault("HTTP_AUTHORIZATION", self.authorization)
        return self.client.get(url, data, **headers)

    def generic(self, method: str, url: str, **headers):
        if self.authorization:
            headers.setdefault("HTTP_AUTHORIZATION", self.authorization)
        return self.client.generic(method, url, **headers)


@pytest.fixture
def erp_user_with_key():
    user = factories.UserFactory(perms=["erp.view_item"])
    _, key = access_key_generate(user=user)
    return user, key


@pytest.fixture
def odata(erp_user_with_key) -> ODataClient:
    user, key = erp_user_with_key
    return ODataClient(basic(user.username, key))


@pytest.fixture
def erp_live_server(live_server):
    """live_server whose request threads close their database connections after each request.

    With the project's persistent connections (CONN_MAX_AGE) those threads would keep PostgreSQL
    sessions open and the test database could not be dropped at the end of the run. (SQLite's
    in-memory test database is one connection shared with the server, which must stay open.)
    """
    if connections[DEFAULT_DB_ALIAS].vendor == "sqlite":
        yield live_server
        return
    database = connections.settings[DEFAULT_DB_ALIAS]
    kept = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 0
    yield live_server
    database["CONN_MAX_AGE"] = kept

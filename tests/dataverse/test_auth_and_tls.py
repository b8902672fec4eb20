"""Authentication (client secret, password, token cache, expiry, refresh after 401, bad tokens) and TLS."""

import time
import uuid

import certifi
import pytest

from dataverse import (
    AuthenticationFailed,
    Client,
    ClientSecretAuth,
    TransportError,
    Unauthorized,
    UsernamePasswordAuth,
)

from .conftest import grant_integration_role


class FixedToken:
    """A token provider handing out one fixed token, whatever the server says."""

    def __init__(self, value):
        self.value = value
        self.forced_refreshes = 0

    def configure(self, **options):
        pass

    def token(self, *, force_refresh=False):
        self.forced_refreshes += force_refresh
        return self.value


class StickyToken:
    """Keeps its first real token past expiry until the server refuses it, to exercise refresh-after-401."""

    def __init__(self, inner):
        self.inner = inner
        self.current = None

    def configure(self, **options):
        self.inner.configure(**options)

    def token(self, *, force_refresh=False):
        if self.current is None or force_refresh:
            self.current = self.inner.token(force_refresh=force_refresh)
        return self.current


def secret_auth(sandbox, secret=None):
    return ClientSecretAuth(sandbox.authority, sandbox.client_id, secret or sandbox.client_secret)


def test_client_credentials_whoami(crm_sandbox):
    grant_integration_role(crm_sandbox)  # reading systemusers needs a role
    auth = secret_auth(crm_sandbox)
    with Client(crm_sandbox.url, auth=auth, ca_bundle=crm_sandbox.ca_bundle) as client:
        who = client.whoami()
        again = client.whoami()
        user = client.retrieve("systemusers", who.user_id, select=["fullname"])
    assert uuid.UUID(who.user_id) and uuid.UUID(who.organization_id) and uuid.UUID(who.business_unit_id)
    assert again == who
    assert user["systemuserid"] == who.user_id
    assert auth.tokens_acquired == 1  # cached between requests


def test_username_password_acts_as_the_administrator(crm_sandbox):
    admin = UsernamePasswordAuth(
        crm_sandbox.authority, crm_sandbox.client_id, crm_sandbox.admin_user, crm_sandbox.admin_password
    )
    with Client(crm_sandbox.url, auth=admin, ca_bundle=crm_sandbox.ca_bundle) as client:
        admin_id = client.whoami().user_id
    with Client(crm_sandbox.url, auth=secret_auth(crm_sandbox), ca_bundle=crm_sandbox.ca_bundle) as client:
        assert client.whoami().user_id != admin_id
    assert crm_sandbox.admin_password not in repr(admin)


def test_wrong_password_and_wrong_secret_are_refused_without_leaking_them(crm_sandbox):
    wrong = "Wrong-Pa55word-" + uuid.uuid4().hex
    admin = UsernamePasswordAuth(crm_sandbox.authority, crm_sandbox.client_id, crm_sandbox.admin_user, wrong)
    with pytest.raises(AuthenticationFailed) as caught:
        Client(crm_sandbox.url, auth=admin, ca_bundle=crm_sandbox.ca_bundle).whoami()
    assert wrong not in str(caught.value) and wrong not in repr(admin)

    bad_secret = "not-the-secret-" + uuid.uuid4().hex
    auth = secret_auth(crm_sandbox, bad_secret)
    with pytest.raises(AuthenticationFailed) as caught:
        Client(crm_sandbox.url, auth=auth, ca_bundle=crm_sandbox.ca_bundle).whoami()
    assert caught.value.code == "invalid_client"
    assert bad_secret not in str(caught.value) and bad_secret not in repr(auth)


def test_tls_is_verified_with_the_generated_ca_and_refused_without_it(crm_sandbox, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    # The token request (msal) is refused first…
    with pytest.raises(TransportError, match="TLS"):
        Client(crm_sandbox.url, auth=secret_auth(crm_sandbox)).whoami()
    with pytest.raises(TransportError, match="TLS"):
        Client(crm_sandbox.url, auth=secret_auth(crm_sandbox), ca_bundle=certifi.where()).whoami()
    # …and so is the Web API request, even holding a valid token.
    good = secret_auth(crm_sandbox)
    good.configure(resource=crm_sandbox.url, verify=crm_sandbox.ca_bundle, timeout=10)
    client = Client(crm_sandbox.url, auth=FixedToken(good.token()))
    with pytest.raises(TransportError, match="TLS"):
        client.whoami()
    assert client.stats.total == 0
    verified = Client(crm_sandbox.url, auth=FixedToken(good.token()), ca_bundle=crm_sandbox.ca_bundle)
    assert verified.whoami().user_id


def test_expiring_tokens_are_renewed_before_expiry(crm_sandbox_with):
    sandbox = crm_sandbox_with(token_lifetime=2)
    auth = secret_auth(sandbox)
    with Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle) as client:
        client.whoami()
        time.sleep(2.5)
        client.whoami()
        assert client.stats.count(status=401) == 0
    assert auth.tokens_acquired == 2


def test_an_expired_token_is_refreshed_once_after_401(crm_sandbox_with):
    sandbox = crm_sandbox_with(token_lifetime=2)
    inner = secret_auth(sandbox)
    with Client(sandbox.url, auth=StickyToken(inner), ca_bundle=sandbox.ca_bundle) as client:
        client.whoami()
        time.sleep(2.5)
        assert client.whoami().user_id
        assert client.stats.count("GET", 401) == 1
        assert client.stats.count("GET", 200) == 2
    assert inner.tokens_acquired == 2


def test_a_bad_token_raises_unauthorized_after_one_refresh(crm_sandbox):
    provider = FixedToken("eyJhbGciOiJub25lIn0.e30.not-a-token")
    client = Client(crm_sandbox.url, auth=provider, ca_bundle=crm_sandbox.ca_bundle)
    with pytest.raises(Unauthorized) as caught:
        client.whoami()
    assert caught.value.status == 401
    assert provider.forced_refreshes == 1
    assert client.stats.count("GET", 401) == 2


def test_auth_is_bound_to_one_organization(crm_sandbox):
    auth = secret_auth(crm_sandbox)
    Client(crm_sandbox.url, auth=auth, ca_bundle=crm_sandbox.ca_bundle)
    with pytest.raises(ValueError):
        Client("https://other.example.com", auth=auth)


def test_client_refuses_plain_http():
    with pytest.raises(ValueError, match="https"):
        Client("http://org.example.com", auth=FixedToken("x"))

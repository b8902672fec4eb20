"""The Entra-style token endpoint, bearer checks and security roles."""

import msal
import pytest
import requests


def token_request(crm_sandbox, **data):
    return requests.post(crm_sandbox.token_url, data=data, verify=crm_sandbox.ca_bundle, timeout=30)


def test_openid_configuration_points_at_the_token_endpoint(crm_sandbox):
    config = requests.get(
        f"{crm_sandbox.authority}/v2.0/.well-known/openid-configuration", verify=crm_sandbox.ca_bundle, timeout=30
    ).json()
    assert config["token_endpoint"] == crm_sandbox.token_url


def test_client_credentials_grant(crm_sandbox):
    response = token_request(
        crm_sandbox,
        grant_type="client_credentials",
        client_id=crm_sandbox.client_id,
        client_secret=crm_sandbox.client_secret,
        scope=crm_sandbox.scope,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["access_token"]


@pytest.mark.parametrize(
    ("change", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_id": "00000000-0000-0000-0000-000000000001"}, 400, "unauthorized_client", 700016),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type", 70003),
        ({"scope": "https://elsewhere.example/.default"}, 400, "invalid_resource", 500011),
        ({"grant_type": ""}, 400, "invalid_request", 900144),
    ],
)
def test_token_errors_look_like_entra(crm_sandbox, change, status, error, code):
    data = {
        "grant_type": "client_credentials",
        "client_id": crm_sandbox.client_id,
        "client_secret": crm_sandbox.client_secret,
        "scope": crm_sandbox.scope,
        **change,
    }
    response = token_request(crm_sandbox, **data)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_password_grant_and_wrong_password(crm_sandbox):
    ok = token_request(
        crm_sandbox,
        grant_type="password",
        client_id=crm_sandbox.client_id,
        username=crm_sandbox.admin_user,
        password=crm_sandbox.admin_password,
        scope=crm_sandbox.scope,
    )
    assert ok.status_code == 200
    wrong = token_request(
        crm_sandbox,
        grant_type="password",
        client_id=crm_sandbox.client_id,
        username=crm_sandbox.admin_user,
        password="nope",
        scope=crm_sandbox.scope,
    )
    assert wrong.status_code == 400 and wrong.json()["error_codes"] == [50126]


def test_msal_client_credentials(crm_sandbox, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", crm_sandbox.ca_bundle)
    confidential = msal.ConfidentialClientApplication(
        crm_sandbox.client_id,
        client_credential=crm_sandbox.client_secret,
        authority=crm_sandbox.authority,
        instance_discovery=False,
    )
    result = confidential.acquire_token_for_client(scopes=[crm_sandbox.scope])
    assert "access_token" in result, result
    who = crm_sandbox.session(result["access_token"]).get(f"{crm_sandbox.api_url}WhoAmI")
    assert who.status_code == 200


def test_user_realm_discovery_answers_managed(crm_sandbox):
    response = requests.get(
        f"{crm_sandbox.url}common/userrealm/{crm_sandbox.admin_user}?api-version=1.0",
        verify=crm_sandbox.ca_bundle,
        timeout=30,
    )
    assert response.json()["account_type"] == "Managed"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic abc"])
def test_api_without_a_valid_token_is_401_with_a_challenge(crm_sandbox, authorization):
    session = crm_sandbox.session()
    if authorization:
        session.headers["Authorization"] = authorization
    response = session.get(f"{crm_sandbox.api_url}accounts")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_expired_token_is_401(crm_sandbox_with):
    sandbox = crm_sandbox_with(token_lifetime=1)
    session = sandbox.session(sandbox.admin_token())
    assert session.get(f"{sandbox.api_url}WhoAmI").status_code == 200
    sandbox.advance_clock(1.5)
    assert session.get(f"{sandbox.api_url}WhoAmI").status_code == 401


def test_tls_is_refused_without_the_sandbox_ca(crm_sandbox):
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"{crm_sandbox.api_url}WhoAmI", timeout=10)


def test_whoami_identifies_the_caller(crm_sandbox):
    integration = crm_sandbox.session(crm_sandbox.token()).get(f"{crm_sandbox.api_url}WhoAmI").json()
    admin = crm_sandbox.session(crm_sandbox.admin_token()).get(f"{crm_sandbox.api_url}WhoAmI").json()
    assert integration["UserId"] != admin["UserId"]
    assert integration["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
    user = crm_sandbox.session(crm_sandbox.admin_token()).get(
        f"{crm_sandbox.api_url}systemusers({integration['UserId']})?$select=fullname,applicationid"
    )
    assert user.json()["fullname"] == crm_sandbox.integration_user
    assert user.json()["applicationid"] == crm_sandbox.client_id


def test_post_whoami_is_404(crm_sandbox):
    response = crm_sandbox.session(crm_sandbox.admin_token()).post(f"{crm_sandbox.api_url}WhoAmI", json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("No HTTP resource was found that matches the request URI")


def test_integration_user_needs_a_role_given_by_the_administrator(crm_sandbox):
    sandbox = crm_sandbox
    integration = sandbox.session(sandbox.token())
    denied = integration.get(f"{sandbox.api_url}accounts?$top=1")
    assert denied.status_code == 403 and "missing prvReadAccount privilege" in denied.json()["error"]["message"]
    user_id = integration.get(f"{sandbox.api_url}WhoAmI").json()["UserId"]
    assert integration.post(f"{sandbox.api_url}accounts", json={"name": "x"}).status_code == 403
    admin = sandbox.session(sandbox.admin_token())
    role = admin.get(f"{sandbox.api_url}roles?$select=name&$filter=name eq 'Salesperson'").json()["value"][0]
    self_grant = integration.post(
        f"{sandbox.api_url}systemusers({user_id})/systemuserroles_association/$ref",
        json={"@odata.id": f"{sandbox.api_url}roles({role['roleid']})"},
    )
    assert self_grant.status_code == 403
    granted = admin.post(
        f"{sandbox.api_url}systemusers({user_id})/systemuserroles_association/$ref",
        json={"@odata.id": f"{sandbox.api_url}roles({role['roleid']})"},
    )
    assert granted.status_code == 204
    roles = admin.get(f"{sandbox.api_url}systemusers({user_id})/systemuserroles_association?$select=name").json()
    assert [r["name"] for r in roles["value"]] == ["Salesperson"]
    assert integration.get(f"{sandbox.api_url}accounts?$top=1").status_code == 200
    created = integration.post(f"{sandbox.api_url}accounts", json={"name": "by integration"})
    account = integration.get(created.headers["OData-EntityId"]).json()
    assert account["_createdby_value"] == account["_ownerid_value"] == user_id
    assert (
        admin.delete(
            f"{sandbox.api_url}systemusers({user_id})/systemuserroles_association({role['roleid']})/$ref"
        ).status_code
        == 204
    )
    assert integration.get(f"{sandbox.api_url}accounts?$top=1").status_code == 403

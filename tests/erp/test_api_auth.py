"""REST API authentication and permissions: 401 anonymous, 403 without permission, tokens, CSRF."""

import pytest
from rest_framework.test import APIClient

from erp import models
from tests import factories
from tests.erp.api_support import API, session_client, token_client

pytestmark = pytest.mark.django_db

LIST_ENDPOINTS = {
    "currencies": "currency",
    "units-of-measure": "unitofmeasure",
    "salespeople": "salesperson",
    "payment-terms": "paymentterms",
    "shipment-methods": "shipmentmethod",
    "shipping-agents": "shippingagent",
    "customer-price-groups": "customerpricegroup",
    "customers": "customer",
    "contacts": "contact",
    "items": "item",
    "resources": "resource",
    "sales-prices": "salesprice",
    "sales-orders": "salesheader",
    "item-ledger-entries": "itemledgerentry",
    "item-availability": "item",
    "sales-invoices": "salesinvoiceheader",
    "customer-ledger-entries": "custledgerentry",
}


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_anonymous_gets_401_json_with_a_token_challenge(endpoint):
    response = APIClient().get(f"{API}/{endpoint}/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_user_without_the_view_permission_gets_403_json(endpoint):
    client = token_client("erp.add_customer")  # some permission, not the one needed (except for customers)
    if endpoint == "customers":
        client = token_client("erp.view_item")
    response = client.get(f"{API}/{endpoint}/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert "permission" in response.json()["detail"]


@pytest.mark.parametrize(("endpoint", "model_name"), LIST_ENDPOINTS.items())
def test_the_view_permission_opens_the_list(endpoint, model_name):
    response = token_client(f"erp.view_{model_name}").get(f"{API}/{endpoint}/")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_invalid_token_gets_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get(f"{API}/customers/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_view_permission_does_not_allow_writes_and_nothing_is_saved():
    customer = factories.CustomerFactory(name="Before")
    client = token_client("erp.view_customer")
    assert client.post(f"{API}/customers/", {"no": "C1", "name": "New"}, format="json").status_code == 403
    assert client.patch(f"{API}/customers/{customer.no}/", {"name": "After"}, format="json").status_code == 403
    assert client.delete(f"{API}/customers/{customer.no}/").status_code == 403
    customer.refresh_from_db()
    assert customer.name == "Before"
    assert list(models.Customer.objects.values_list("no", flat=True)) == [customer.no]


def test_add_without_view_cannot_read():
    factories.CustomerFactory()
    assert token_client("erp.add_customer").get(f"{API}/customers/").status_code == 403


def test_sales_group_edits_customers_but_may_not_delete_them_or_create_currencies():
    user = factories.UserFactory(groups=["Sales"])
    client = token_client(user=user)
    assert client.get(f"{API}/customers/").status_code == 200
    # Sales may not delete customers, nor create currencies.
    customer = factories.CustomerFactory()
    assert client.delete(f"{API}/customers/{customer.no}/").status_code == 403
    assert client.post(f"{API}/currencies/", {"code": "XTS", "description": "Test"}, format="json").status_code == 403


# --- Token endpoint ------------------------------------------------------------------------


def test_token_endpoint_gives_a_token_that_authenticates():
    user = factories.UserFactory(perms=["erp.view_customer"])
    response = APIClient().post(
        f"{API}/auth/token/", {"username": user.username, "password": factories.TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(f"{API}/customers/").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("known", "wrong password"), ("unknown", factories.TEST_PASSWORD), ("inactive", factories.TEST_PASSWORD)],
)
def test_token_endpoint_refuses_bad_credentials_without_saying_which_part(username, password):
    factories.UserFactory(username="known")
    factories.UserFactory(username="inactive", is_active=False)
    response = APIClient().post(f"{API}/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_token_endpoint_requires_both_fields():
    response = APIClient().post(f"{API}/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_token_endpoint_only_accepts_post():
    response = APIClient().get(f"{API}/auth/token/")
    assert response.status_code == 405
    assert response.json()["detail"] == 'Method "GET" not allowed.'


# --- Session authentication --------------------------------------------------------------------


def test_session_login_authenticates_reads():
    factories.CustomerFactory(no="FSESSION")
    response = session_client("erp.view_customer").get(f"{API}/customers/")
    assert response.status_code == 200
    assert [row["no"] for row in response.json()["results"]] == ["FSESSION"]


def test_session_writes_need_the_csrf_token():
    client = session_client("erp.view_customer", "erp.add_customer", enforce_csrf_checks=True)
    refused = client.post(f"{API}/customers/", {"no": "FCSRF", "name": "No token"}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not models.Customer.objects.filter(no="FCSRF").exists()

    page = client.get(f"{API}/customers/", HTTP_ACCEPT="text/html")  # the browsable API sets the cookie
    assert page.status_code == 200
    csrf_token = client.cookies["csrftoken"].value
    accepted = client.post(
        f"{API}/customers/", {"no": "FCSRF", "name": "With token"}, format="json", HTTP_X_CSRFTOKEN=csrf_token
    )
    assert accepted.status_code == 201, accepted.json()
    assert models.Customer.objects.get(no="FCSRF").name == "With token"


def test_token_writes_need_no_csrf_token():
    client = token_client("erp.add_customer", "erp.view_customer")
    client.handler.enforce_csrf_checks = True
    response = client.post(f"{API}/customers/", {"no": "FTOKEN", "name": "Token"}, format="json")
    assert response.status_code == 201


# --- Errors in JSON ----------------------------------------------------------------------------------


def test_unknown_api_path_is_404_json():
    response = token_client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No API endpoint at this address."}


def test_post_to_an_unknown_api_path_is_404_json_not_a_csrf_page():
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/v1/no-such-thing/", {"a": 1}, format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": "No API endpoint at this address."}


def test_missing_trailing_slash_is_404_json_with_a_hint():
    response = APIClient().get("/api/v1/customers")
    assert response.status_code == 404
    assert response.json()["detail"].endswith("Did you mean /api/v1/customers/ ?")


def test_unknown_record_is_404_json():
    response = token_client("erp.view_customer").get(f"{API}/customers/NOPE/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_api_root_lists_the_resources_to_a_logged_in_user_only():
    assert APIClient().get(f"{API}/").status_code == 401
    response = token_client().get(f"{API}/")
    assert response.status_code == 200
    assert response.json()["customers"].endswith("/api/v1/customers/")
    assert set(response.json()) == set(LIST_ENDPOINTS)


def test_malformed_json_is_400():
    response = token_client("erp.add_customer").post(
        f"{API}/customers/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/customers/a%00b/",
        f"{API}/currencies/a%00/exchange-rates/",
        f"{API}/item-availability/a%00/",
        f"{API}/sales-orders/SO1/lines/99999999999999999999/",
        f"{API}/item-ledger-entries/99999999999999999999999/",
    ],
)
def test_keys_no_record_can_have_are_404_not_500(url):
    # PostgreSQL refuses NUL characters in parameters; oversized numbers overflow its integer columns.
    perms = ["customer", "currencyexchangerate", "item", "salesline", "itemledgerentry"]
    client = token_client(*(f"erp.view_{model}" for model in perms))
    client.raise_request_exception = False
    response = client.get(url)
    assert response.status_code == 404
    assert "detail" in response.json()


@pytest.mark.parametrize("query", [{"search": "a\x00b"}, {"city": "a\x00"}, {"modified_since": "yesterday"}])
def test_query_parameters_no_record_can_match_are_400_not_500(query):
    client = token_client("erp.view_customer")
    client.raise_request_exception = False
    response = client.get(f"{API}/customers/", query)
    assert response.status_code == 400

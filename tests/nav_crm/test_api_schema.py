"""The OpenAPI schema of the REST API and its docs pages (Swagger UI, ReDoc) served from local assets."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests import factories
from tests.erp.api_support import session_client, token_client

pytestmark = pytest.mark.django_db

RESOURCES = [
    "currencies",
    "currencies/{currency_code}/exchange-rates",
    "units-of-measure",
    "salespeople",
    "payment-terms",
    "shipment-methods",
    "shipping-agents",
    "customer-price-groups",
    "customers",
    "contacts",
    "items",
    "items/{item_no}/units-of-measure",
    "resources",
    "sales-prices",
    "sales-orders",
    "sales-orders/{order_no}/lines",
    "item-ledger-entries",
    "item-availability",
]


@pytest.fixture
def schema():
    response = token_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_a_valid_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises on an invalid document


def test_schema_lists_every_resource_with_list_and_detail_paths(schema):
    paths = set(schema["paths"])
    for resource in RESOURCES:
        assert f"/api/v1/{resource}/" in paths, resource
        assert any(re.fullmatch(rf"/api/v1/{re.escape(resource)}/\{{[a-z_]+\}}/", path) for path in paths), resource
    for action in ("release", "reopen", "post-shipment"):
        assert f"/api/v1/sales-orders/{{no}}/{action}/" in paths
    assert "/api/v1/auth/token/" in paths


def test_schema_describes_business_keys_and_authentication(schema):
    customer = schema["components"]["schemas"]["Customer"]["properties"]
    assert customer["currency"]["type"] == "string"  # "EUR", not an id
    assert customer["system_id"] == {"type": "string", "format": "uuid", "readOnly": True}
    assert "id" not in customer
    assert set(schema["components"]["securitySchemes"]) == {
        "tokenAuth",
        "accessKeyBasic",
        "accessKeyHeader",
        "cookieAuth",
    }
    parameters = schema["paths"]["/api/v1/item-availability/"]["get"]["parameters"]
    assert {"in": "query", "name": "as_of"}.items() <= next(p for p in parameters if p["name"] == "as_of").items()


def test_schema_generation_has_no_warnings(tmp_path):
    # --fail-on-warn turns every drf-spectacular warning (an unresolvable type, a naming clash) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/customers/" in (tmp_path / "schema.yaml").read_text()


def test_schema_needs_a_login():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 401


class _AssetReferences(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in {"src", "href", "spec-url"} and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_only_local_assets(page):
    client = session_client()
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    parser = _AssetReferences()
    parser.feed(html)
    assert parser.urls, "the page loads its viewer from somewhere"
    for url in parser.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} references {url}"
        assert url.startswith(("/static/", "/api/schema/")), url
        if url.startswith("/static/"):
            asset = client.get(url)
            assert asset.status_code == 200, url
            asset.close()
    assert not re.search(r"https?://", html), "no absolute URL at all: no CDN, no web fonts, no online validator"


def test_swagger_ui_does_not_call_the_online_validator():
    html = session_client().get("/api/docs/").content.decode()
    assert '"validatorUrl": null' in html


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_need_a_login(page):
    response = APIClient().get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_docs_are_open_to_any_logged_in_user_and_the_schema_with_a_session():
    client = session_client(user=factories.UserFactory())
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("page", "rendered"), [("/api/docs/", ".opblock-tag"), ("/api/redoc/", "[role=menuitem]")])
def test_docs_render_in_a_browser_without_reaching_the_internet(live_server, page, rendered):
    from playwright.sync_api import sync_playwright

    user = factories.UserFactory()
    server = urlsplit(live_server.url).netloc
    requested, failed = [], {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        try:
            browser_page = browser.new_page()
            browser_page.on("request", lambda request: requested.append(request.url))
            browser_page.on("requestfailed", lambda request: failed.update({request.url: request.failure}))
            browser_page.goto(f"{live_server.url}/accounts/login/?next={page}")
            browser_page.fill("input[name=username]", user.username)
            browser_page.fill("input[name=password]", factories.TEST_PASSWORD)
            browser_page.click("[type=submit]")
            browser_page.wait_for_url(f"**{page}")
            browser_page.wait_for_selector(rendered, timeout=20000)
            browser_page.wait_for_load_state("networkidle")
            assert "customers" in browser_page.content()
        finally:
            browser.close()
    assert any(url.endswith("/api/schema/") for url in requested)
    foreign = [url for url in requested if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).netloc != server]
    # ReDoc's bundle always asks for a logo on cdn.redoc.ly; the page's policy must stop it in the browser.
    assert {url: failed.get(url) for url in foreign} == dict.fromkeys(foreign, "csp")


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_forbid_the_browser_to_load_anything_from_elsewhere(page):
    policy = session_client().get(page)["Content-Security-Policy"]
    directives = dict(directive.split(" ", 1) for directive in policy.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["connect-src"] == "'self'"

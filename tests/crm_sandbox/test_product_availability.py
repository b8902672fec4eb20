"""CRM → ERP: the sandbox's product page reads "Availability (from ERP)" live from the ERP's OData service.

A live ERP (pytest-django's live_server), a new organization into which the integration solution's
nav_connection entity is imported, and a nav_connection row pointing at the ERP with a user's web
service access key — then the product page, fetched over HTTPS like a browser would.
"""

import datetime
import re
import uuid
from decimal import Decimal

import pytest

from coupling.services import coupling_create
from crm_sandbox.testing import free_port
from setup_wizard.services import access_key_generate
from tests import factories
from tests.crm_sandbox.test_solutions import ATTRIBUTE, import_solution, package
from tests.webservices.conftest import erp_live_server  # noqa: F401

# erp_live_server: the live ERP closes its database connections after each request (see its docstring).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("erp_live_server")]

# Business Central's names for the connection's OData URL, user name and access key.
CONNECTION_ATTRIBUTES = "".join(
    ATTRIBUTE.format(name=name, type="nvarchar", required="none", mask="", extra="<MaxLength>250</MaxLength>")
    for name in ("nav_dynamicsnavodataurl", "nav_dynamicsnavodatausername", "nav_dynamicsnavodataaccesskey")
)


def create(api, url: str, body: dict) -> str:
    response = api.post(url, json=body)
    assert response.status_code == 204, response.text
    return re.search(r"\(([0-9a-f-]{36})\)$", response.headers["OData-EntityId"]).group(1)


def panel(session, sandbox, product_id: str, **params) -> str:
    response = session.get(f"{sandbox.url}sets/products/{product_id}/", params=params, timeout=30)
    assert response.status_code == 200, response.text
    html = response.text
    assert "Availability (from ERP)" in html
    return html[html.index('id="erp-availability"') :]


def figures(html: str) -> list[tuple[str, Decimal, Decimal]]:
    lines = re.findall(
        r'<tr class="erp-availability-line">\s*<td>([^<]*)</td>\s*<td>[^<]*</td>\s*'
        r'<td class="text-end" data-field="Inventory">([^<]*)</td>\s*'
        r'<td class="text-end" data-field="AvailableQuantity">([^<]*)</td>',
        html,
    )
    return [(no, Decimal(inventory), Decimal(available)) for no, inventory, available in lines]


def test_the_product_page_shows_availability_fetched_from_the_erp(live_server, crm_sandbox):
    posted = datetime.date(2026, 6, 1)
    item = factories.ItemFactory(no="1000")
    factories.ItemLedgerEntryFactory(item=item, quantity=Decimal("10"), posting_date=posted)
    factories.ItemLedgerEntryFactory(item=item, quantity=Decimal("2.5"), posting_date=posted + datetime.timedelta(30))
    order = factories.SalesHeaderFactory(order_date=posted, requested_delivery_date=posted + datetime.timedelta(10))
    factories.SalesLineFactory(order=order, item=item, quantity=Decimal("4"))
    uncoupled = factories.ItemFactory(no="2000")
    factories.ItemLedgerEntryFactory(item=uncoupled, quantity=Decimal("7"), posting_date=posted)
    erp_user = factories.UserFactory(perms=["erp.view_item"])
    _, key = access_key_generate(user=erp_user)

    sandbox = crm_sandbox
    api = sandbox.session(sandbox.admin_token())
    browser = sandbox.session()
    product_id = create(api, f"{sandbox.api_url}products", {"name": "Bicycle", "productnumber": "1000"})
    other_product_id = create(api, f"{sandbox.api_url}products", {"name": "Helmet", "productnumber": "2000"})
    coupling_create(record=item, crm_entity="product", crm_id=product_id)

    listing = browser.get(f"{sandbox.url}sets/products/", timeout=30).text
    assert f'href="/sets/products/{product_id}/"' in listing
    not_configured = panel(browser, sandbox, product_id)
    assert 'data-state="not_configured"' in not_configured and "nav_connection" in not_configured

    imported = import_solution(sandbox, api, package(extra_attribute=CONNECTION_ATTRIBUTES))
    assert imported.status_code == 204, imported.text
    connection_id = create(
        api,
        f"{sandbox.api_url}nav_connections",
        {
            "nav_name": "nav_crm",
            "nav_dynamicsnavodataurl": f"{live_server.url}/odata/v4/",
            "nav_dynamicsnavodatausername": erp_user.username,
            "nav_dynamicsnavodataaccesskey": key,
        },
    )

    coupled = panel(browser, sandbox, product_id)
    assert figures(coupled) == [("1000", Decimal("12.5"), Decimal("8.5"))]
    assert f"{live_server.url}/odata/v4/ProductItemAvailability" in coupled
    assert "Matched by product number" not in coupled
    assert figures(panel(browser, sandbox, product_id, asOfDate="2026-06-05")) == [
        ("1000", Decimal("10"), Decimal("10"))
    ]
    assert figures(panel(browser, sandbox, product_id, asOfDate="2026-06-11")) == [
        ("1000", Decimal("10"), Decimal("6"))
    ]
    assert "is not a date" in panel(browser, sandbox, product_id, asOfDate="June")

    by_number = panel(browser, sandbox, other_product_id)
    assert figures(by_number) == [("2000", Decimal("7"), Decimal("7"))]
    assert "Matched by product number" in by_number
    assert key not in browser.get(f"{sandbox.url}sets/nav_connections/", timeout=30).text

    connection = f"{sandbox.api_url}nav_connections({connection_id})"
    patched = api.patch(connection, json={"nav_dynamicsnavodataaccesskey": "not-the-key"}, headers={"If-Match": "*"})
    assert patched.status_code == 204, patched.text
    refused = panel(browser, sandbox, product_id)
    assert 'data-state="unauthorized"' in refused and "(401)" in refused and figures(refused) == []

    closed = f"http://127.0.0.1:{free_port()}/odata/v4/"
    api.patch(connection, json={"nav_dynamicsnavodataurl": closed}, headers={"If-Match": "*"})
    unreachable = panel(browser, sandbox, product_id)
    assert 'data-state="unreachable"' in unreachable and "could not be reached" in unreachable


def test_a_product_the_erp_does_not_know_says_so(live_server, crm_sandbox):
    erp_user = factories.UserFactory(perms=["erp.view_item"])
    _, key = access_key_generate(user=erp_user)
    sandbox = crm_sandbox
    api = sandbox.session(sandbox.admin_token())
    assert import_solution(sandbox, api, package(extra_attribute=CONNECTION_ATTRIBUTES)).status_code == 204
    create(
        api,
        f"{sandbox.api_url}nav_connections",
        {
            "nav_name": "nav_crm",
            "nav_dynamicsnavodataurl": f"{live_server.url}/odata/v4",
            "nav_dynamicsnavodatausername": erp_user.username,
            "nav_dynamicsnavodataaccesskey": key,
        },
    )
    product_id = create(api, f"{sandbox.api_url}products", {"name": "Unknown", "productnumber": "O'NEIL"})
    html = panel(sandbox.session(), sandbox, product_id)
    assert 'data-state="not_found"' in html and "O&#x27;NEIL" in html
    assert sandbox.session().get(f"{sandbox.url}sets/products/{uuid.uuid4()}/", timeout=30).status_code == 404

"""Every page: 200 for a permitted user, login redirect for anonymous, 403 without the permission."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.erp.pages_support import client_with, client_with_all_but, posted_invoice
from tests.factories import (
    CompanyContactFactory,
    CurrencyFactory,
    CustomerFactory,
    CustomerPriceGroupFactory,
    ItemFactory,
    ResourceFactory,
    SalesHeaderFactory,
    SalesLineFactory,
    SalespersonFactory,
    SalesPriceFactory,
    UnitOfMeasureFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# URL name prefix -> (model name for permissions, factory of one record)
OBJECT_PAGES = {
    "customer": ("customer", CustomerFactory),
    "contact": ("contact", CompanyContactFactory),
    "salesperson": ("salesperson", SalespersonFactory),
    "item": ("item", ItemFactory),
    "resource": ("resource", ResourceFactory),
    "unitofmeasure": ("unitofmeasure", UnitOfMeasureFactory),
    "currency": ("currency", CurrencyFactory),
    "customerpricegroup": ("customerpricegroup", CustomerPriceGroupFactory),
    "salesprice": ("salesprice", SalesPriceFactory),
    "salesorder": ("salesheader", SalesHeaderFactory),
}
PAGE_PERMISSION = {"list": "view", "detail": "view", "create": "add", "edit": "change", "delete": "delete"}
# Posted documents and ledger entries never change: a list, and a detail page when a record maker is given.
READ_ONLY_PAGES = {
    "salesinvoice": ("salesinvoiceheader", posted_invoice),
    "custledgerentry": ("custledgerentry", None),
}

PAGES = (
    [
        pytest.param(f"erp:{prefix}_{page}", prefix, f"erp.{action}_{model_name}", id=f"{prefix}_{page}")
        for prefix, (model_name, _) in OBJECT_PAGES.items()
        for page, action in PAGE_PERMISSION.items()
    ]
    + [
        pytest.param(f"erp:{prefix}_{page}", prefix, f"erp.view_{model_name}", id=f"{prefix}_{page}")
        for prefix, (model_name, make) in READ_ONLY_PAGES.items()
        for page in ("list", "detail")
        if page == "list" or make
    ]
    + [
        pytest.param("erp:item_availability", None, "erp.view_item", id="item_availability"),
        pytest.param("erp:salessetup", None, "erp.view_salessetup", id="salessetup"),
    ]
)


def page_url(url_name: str, prefix: str | None) -> str:
    if url_name.split("_")[-1] in ("detail", "edit", "delete"):
        record = {**OBJECT_PAGES, **READ_ONLY_PAGES}[prefix][1]()
        if prefix == "salesorder":
            SalesLineFactory(order=record)
        return reverse(url_name, args=[record.pk])
    return reverse(url_name)


@pytest.mark.parametrize(("url_name", "prefix", "permission"), PAGES)
def test_page_renders_for_a_user_with_the_permission(url_name, prefix, permission):
    url = page_url(url_name, prefix)
    response = client_with(permission).get(url)
    assert response.status_code == 200
    assert b"<html" in response.content


@pytest.mark.parametrize(("url_name", "prefix", "permission"), PAGES)
def test_page_redirects_anonymous_users_to_login(url_name, prefix, permission):
    url = page_url(url_name, prefix)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(("url_name", "prefix", "permission"), PAGES)
def test_page_is_forbidden_without_its_permission(url_name, prefix, permission):
    url = page_url(url_name, prefix)
    response = client_with_all_but(permission).get(url)
    assert response.status_code == 403
    assert b"You do not have permission" in response.content


def test_home_needs_a_login():
    response = Client().get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_shows_counts_and_recent_orders_for_what_the_user_may_see():
    CustomerFactory.create_batch(3)
    order = SalesHeaderFactory()
    response = client_with("erp.view_customer", "erp.view_salesheader").get(reverse("home"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="count-customers">4<' in content  # three + the order's customer
    assert order.no in content
    assert reverse("erp:customer_list") in content
    assert reverse("erp:item_list") not in content  # no permission on items: no tile, no menu entry
    assert 'href="/api/docs/"' in content


def test_home_of_a_user_without_erp_permissions_says_so():
    client = Client()
    client.force_login(UserFactory())
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"no access to any ERP list" in response.content
    assert response.context["recent_orders"] is None


def test_pages_use_only_local_static_assets():
    content = client_with("erp.view_customer").get(reverse("erp:customer_list")).content.decode()
    assert "/static/js-lib-bootstrap5/css/bootstrap.min.css" in content
    assert "/static/django_htmx/htmx-2.min.js" in content
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "googleapis", "https://"):
        assert cdn not in content


@pytest.mark.parametrize("path", ["/static/js-lib-bootstrap5/css/bootstrap.min.css", "/static/nav_crm/site.js"])
def test_static_assets_are_served_by_the_app(path, live_server):
    import urllib.request

    with urllib.request.urlopen(f"{live_server.url}{path}") as response:  # noqa: S310 - local test server
        assert response.status == 200

"""In a real browser: log in, create a customer through the form, find it in the list."""

import pytest

from erp.models import Customer
from tests.factories import TEST_PASSWORD, CustomerFactory, NoSeriesFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_create_a_customer_and_find_it_in_the_list(live_server, page):
    NoSeriesFactory(code="CUST", prefix="C", width=5)
    UserFactory(username="sales.rep", groups=["Sales"])
    external_requests = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(live_server.url) else external_requests.append(request.url),
    )

    page.goto(f"{live_server.url}/erp/customers/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "sales.rep")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/erp/customers/")

    page.click("text=New")
    page.fill("#id_name", "Browser Bikes Ltd")
    page.fill("#id_city", "Bergen")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Customer C00010 Browser Bikes Ltd created.")

    page.goto(f"{live_server.url}/erp/customers/")
    page.fill("input[name=q]", "browser bikes")
    page.click("button:has-text('Search')")
    page.wait_for_url("**/erp/customers/?*q=browser+bikes*")
    rows = page.locator("table.object-table tbody tr")
    assert rows.count() == 1
    assert "C00010" in rows.first.inner_text()
    assert "Bergen" in rows.first.inner_text()
    assert external_requests == []  # everything, CSS and JS included, came from the app itself


def test_select_all_matching_rows_and_delete_them_in_the_browser(live_server, page):
    CustomerFactory(name="Keeper")
    CustomerFactory.create_batch(30, name="Old lead")
    client_user = UserFactory(username="admin.user", perms=["erp.view_customer", "erp.delete_customer"])
    page.goto(f"{live_server.url}/accounts/login/?next=/erp/customers/%3Fq%3Dold")
    page.fill("#id_username", client_user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/erp/customers/?q=old")

    page.check("[data-select-all]")
    assert page.locator("[data-select-row]:checked").count() == 25
    page.click("[data-select-all-matching]")
    assert page.is_visible("text=All 30 matching customers are selected.")
    page.click("button[value=delete]")
    page.wait_for_selector("text=30 customers (all matching the list's search and filters)")
    page.click("button:has-text('Delete selected')")
    page.wait_for_selector("text=30 customers deleted.")

    assert list(Customer.objects.values_list("name", flat=True)) == ["Keeper"]

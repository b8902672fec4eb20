"""In a real browser, against a CRM sandbox: the integration's health on the home page (issue 13 §5) after a
synchronization — per mapping its state, last run and records out and in over the last 24 hours, the chart of
the last week drawn as SVG on the server (shown with JavaScript turned off), and the connection's own health,
with the throttling Dynamics 365 answered with."""

import re
import uuid

import pytest
from playwright.sync_api import expect

import dataverse
from syncjobs.connection import clients
from tests import factories
from tests.e2e import browser_support as browser
from tests.e2e.browser_support import log_in
from tests.syncjobs import engine_support as support

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THROTTLED = re.compile(
    r"Throttled by Dynamics 365: 1 time in the last 24 hours, last at \d{4}-\d\d-\d\d \d\d:\d\d \(asked to wait \d+ s\)"
)


def test_the_home_page_shows_the_mappings_the_chart_and_the_throttling_without_javascript(live_server, page, connected):
    support.couple_local_currency(connected)
    customer = factories.CustomerFactory(
        name=f"Healthbrowser {uuid.uuid4().hex[:6]}", salesperson=support.couple_john_roberts(connected)
    )
    sent = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})
    assert sent.inserted == 1, support.errors(sent)
    crm_id = support.coupling_of(customer).crm_id
    support.crm_update(connected, "accounts", crm_id, {"address1_city": "Oslo"})
    received = support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(crm_id)]})
    assert received.modified == 1, support.errors(received)
    # From now on Dynamics 365 answers the integration user's second request a minute with 429; a client that
    # does not wait (as a page's) is refused.
    organization = f"health-{uuid.uuid4().hex[:6]}"
    connected.snapshot(organization)
    connected.restore(organization, throttle="1/60")
    with clients.crm_client(max_retries=0) as client:
        client.whoami()
        with pytest.raises(dataverse.Throttled):
            client.whoami()

    without_script = page.context.browser.new_page(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    log_in(without_script, live_server, "/", perms=["syncjobs.view_syncjob", "erp.view_customer"])

    cells = without_script.locator("[data-testid=mapping-health] tr[data-mapping=CUSTOMER] td")
    expect(cells.nth(0)).to_have_text("Customers ↔ Accounts")
    expect(cells.nth(1)).to_have_text("Enabled")
    expect(cells.nth(2)).to_contain_text("Success")
    expect(cells.nth(2).locator("a")).to_have_attribute("href", received.get_absolute_url())
    expect(cells.nth(4)).to_have_text("1")  # out, 24 h
    expect(cells.nth(5)).to_have_text("1")  # in, 24 h
    chart = without_script.locator("[data-testid=activity-chart] svg")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("Records synchronized and errors per hour, last 7 days")
    assert chart.bounding_box()["height"] > 200
    expect(without_script.get_by_test_id("connection-state")).to_have_text("Connection enabled")
    expect(without_script.get_by_test_id("throttling")).to_have_text(THROTTLED)
    browser.shot(without_script, "home_health")

"""In a real browser, against a CRM sandbox: fixing from the synchronization errors page what issue 13 §2 made
fixable in place — a field changed on both sides (the record's conflict page: each side's value and the last
synchronized one, choose per field, synchronize the record) and a parent that is not coupled ("Couple by
match and retry").

The data is set up with services and jobs run here, as a worker would run them; what the browser does runs its
jobs in the request that queues them (django-q2's sync mode).
"""

import uuid

import pytest
from playwright.sync_api import expect

from erp import services as erp_services
from erp.models import Customer
from syncjobs.models import IntegrationTableMapping, SyncJob
from tests import factories
from tests.e2e import browser_support as browser
from tests.e2e.browser_support import log_in
from tests.syncjobs import engine_support as support

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIXER_PERMS = ["syncjobs.view_syncjob", "syncjobs.change_syncjob", "erp.view_customer"]


@pytest.fixture
def customers_can_sync(connected):
    """What a customer needs to go to Dynamics 365 besides its salesperson: the local currency coupled and a
    number series for those created from Dynamics 365."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="E")
    return connected


def error_row(page, customer):
    return page.locator("table.object-table tbody tr", has_text=customer.name)


def test_a_conflict_is_resolved_field_by_field_from_the_errors_page(live_server, page, customers_can_sync):
    sandbox = customers_can_sync
    john = support.couple_john_roberts(sandbox)
    customer = factories.CustomerFactory(
        name=f"Conflictbrowser {uuid.uuid4().hex[:6]}", city="Springfield", salesperson=john
    )
    synced = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})
    assert synced.inserted == 1, support.errors(synced)
    assert support.mapping("CUSTOMER").update_conflict_policy == IntegrationTableMapping.UpdateConflictPolicy.REPORT
    customer.city = "ERP City"
    erp_services.record_save(instance=customer)
    support.crm_update(sandbox, "accounts", support.coupling_of(customer).crm_id, {"address1_city": "CRM City"})
    reported = support.run("CUSTOMER", "both", parameters={"erp_system_ids": [str(customer.system_id)]})
    assert reported.failed == 1, support.errors(reported)
    log_in(page, live_server, "/sync/errors/", perms=FIXER_PERMS)

    error_row(page, customer).get_by_role("link", name="Resolve the conflict").click()
    page.wait_for_url("**/sync/conflicts/**")
    city = page.locator("#conflict-fields tr[data-field=address1_city]")
    expect(city.locator("th")).to_have_text("City")
    expect(city.locator("td[data-side=erp]")).to_have_text("ERP City")
    expect(city.locator("td[data-side=crm]")).to_have_text("CRM City")
    expect(city.locator("td[data-side=base]")).to_have_text("Springfield")
    expect(page.locator("#conflict-fields tbody tr")).to_have_count(1)  # only the field changed on both sides
    city.get_by_label("Use Dynamics 365 value").check()
    browser.shot(page, "errors_1_conflict")
    page.get_by_role("button", name="Synchronize this record").click()

    page.wait_for_url("**/sync/log/*/")
    expect(page.locator("#messages")).to_contain_text(f"Synchronizing {customer} with the values chosen")
    assert SyncJob.objects.latest("pk").status == SyncJob.Status.SUCCESS
    assert Customer.objects.get(pk=customer.pk).city == "CRM City"
    page.goto(f"{live_server.url}/sync/errors/")
    expect(error_row(page, customer)).to_have_count(0)


def test_couple_by_match_and_retry_couples_the_salesperson_and_synchronizes_the_customer(
    live_server, page, customers_can_sync
):
    sandbox = customers_can_sync
    # Not coupled; its e-mail address is that of the Dynamics 365 user John Roberts (SALESPEOPLE matches by it).
    john = factories.SalespersonFactory(code="JR", name="John Roberts", email="john@cronus-demosite.com")
    customer = factories.CustomerFactory(name=f"Dependencybrowser {uuid.uuid4().hex[:6]}", salesperson=john)
    # A full synchronization (for it only) creates the customer's account: it fails on the salesperson.
    failed = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})
    assert failed.failed == 1, support.errors(failed)
    log_in(page, live_server, "/sync/errors/", perms=FIXER_PERMS)

    row = error_row(page, customer)
    expect(row).to_contain_text("Salesperson JR John Roberts must be coupled to a Dynamics 365 user.")
    row.locator("[data-select-row]").check()
    browser.shot(page, "errors_2_dependency")
    page.get_by_role("button", name="Couple by match and retry").click()

    expect(page.locator("#messages")).to_contain_text("1 error coupled by match and retried.")
    expect(page.locator("#messages")).to_contain_text("couple the records they refer to, then synchronize them again")
    # The jobs ran as a worker runs them, once the action was committed: the page shown next is without the row.
    page.goto(f"{live_server.url}/sync/errors/")
    expect(error_row(page, customer)).to_have_count(0)
    assert str(support.coupling_of(john).crm_id) == support.crm_user_id(sandbox, "John Roberts")
    account = support.coupling_of(customer)
    assert account is not None
    assert support.crm_row(sandbox, "accounts", account.crm_id, ["name"])["name"] == customer.name

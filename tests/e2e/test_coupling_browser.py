"""In a real browser, against a CRM sandbox: couple a customer from its list, synchronize it from its page,
and fix failed records from the synchronization errors page (restore a deleted account, retry after a fix).

Jobs run as a django-q2 worker runs them, in the request that queued them (django-q2's sync mode), so the
page the browser lands on already shows their outcome.
"""

import uuid

import pytest

from coupling.models import Coupling
from erp import services as erp_services
from syncjobs.models import SyncJob
from tests import factories
from tests.e2e import browser_support as browser
from tests.e2e.browser_support import log_in
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import crm_support
from tests.syncjobs import engine_support as support

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


COUPLING_USER_PERMS = [
    "erp.view_customer",
    "coupling.add_coupling",
    "coupling.view_coupling",
    "coupling.delete_coupling",
    "syncjobs.add_syncjob",
    "syncjobs.view_syncjob",
]


@pytest.fixture
def ready_to_sync(connected):
    """What a customer needs to go to Dynamics 365: its currency and salesperson coupled, a number series."""
    usd = crm_support.local_currency("USD")
    rows = support.crm_rows(
        connected, "transactioncurrencies", select=["isocurrencycode"], filter=support.F.eq("isocurrencycode", "USD")
    )
    support.couple(usd, "transactioncurrency", rows[0]["transactioncurrencyid"])
    factories.NoSeriesFactory(code="CUST", prefix="B")
    salesperson = factories.SalespersonFactory(code="JR", name="John Roberts")
    support.couple(salesperson, "systemuser", support.crm_user_id(connected, "John Roberts"))
    return salesperson


def synced_customer(salesperson, **values):
    """A customer the engine created in Dynamics 365 (a job run here, as a worker would)."""
    customer = factories.CustomerFactory(salesperson=salesperson, **values)
    job = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})
    assert job.inserted == 1, support.errors(job)
    return customer


def shot(page, name: str) -> None:
    browser.shot(page, f"coupling_{name}")


def test_couple_a_customer_from_its_list_with_an_uncoupled_account_and_sync_erp_data(
    live_server, page, connected, ready_to_sync
):
    tag = uuid.uuid4().hex[:6]
    customer = factories.CustomerFactory(name=f"Listcouple {tag} ERP", city="Bergen", salesperson=ready_to_sync)
    crm_id = cs.create_account(connected, f"Listcouple {tag} CRM", address1_city="Oslo")
    log_in(page, live_server, f"/erp/customers/?q=Listcouple+{tag}", perms=COUPLING_USER_PERMS)

    row = page.locator("table.object-table tbody tr", has_text=customer.name)
    assert "Not coupled" in row.inner_text()
    row.locator("[data-select-row]").check()
    page.click("button[value=crm_couple]")
    page.wait_for_url("**/sync/coupling/*/record/*/")
    page.fill("input[name=q]", f"Listcouple {tag}")
    page.click("button:has-text('Search')")
    page.check(f"#row-{crm_id}")
    page.check("input[name=sync][value=erp]")
    shot(page, "1_couple_page")
    page.click("button:has-text('Couple')")
    page.wait_for_url(f"**{customer.get_absolute_url()}")
    assert "coupled with a Dynamics 365 account" in page.inner_text("#messages")
    assert "Synchronizing: job #" in page.inner_text("#messages")
    assert "Success" in page.inner_text("[data-testid=crm-last-sync]")

    page.goto(f"{live_server.url}/erp/customers/?q=Listcouple+{tag}")
    row = page.locator("table.object-table tbody tr", has_text=customer.name)
    assert "Coupled" in row.inner_text() and "Open in Dynamics 365" in row.inner_text()
    link = row.locator("a:has-text('Open in Dynamics 365')").get_attribute("href")
    assert link.startswith(connected.url.rstrip("/")) and crm_id in link
    shot(page, "2_list_coupled")
    account = support.crm_row(connected, "accounts", crm_id, ["name", "address1_city"])
    assert (account["name"], account["address1_city"]) == (customer.name, "Bergen")  # the ERP's data won


def test_synchronize_now_from_the_detail_page_changes_the_crm_row(live_server, page, connected, ready_to_sync):
    customer = synced_customer(ready_to_sync, name=f"Detailsync {uuid.uuid4().hex[:6]}", city="Springfield")
    crm_id = support.coupling_of(customer).crm_id
    customer.city = "Shelbyville"
    erp_services.record_save(instance=customer)
    log_in(page, live_server, customer.get_absolute_url(), perms=COUPLING_USER_PERMS)

    assert "Coupled" in page.inner_text("[data-testid=crm-coupling-state]")
    assert page.locator("[data-action=crm_couple]").count() == 0
    assert page.locator("[data-action=crm_open]").get_attribute("target") == "_blank"
    page.click("button[data-action=crm_synchronize]")
    page.wait_for_selector("text=1 customer queued for synchronization.")
    assert "Synchronization started: job #" in page.inner_text("#messages")
    assert "Success" in page.inner_text("[data-testid=crm-last-sync]")
    shot(page, "3_detail_synchronized")
    assert support.crm_row(connected, "accounts", crm_id, ["address1_city"])["address1_city"] == "Shelbyville"

    page.click("#messages a:has-text('job #')")
    page.wait_for_url("**/sync/log/*/")
    assert "Success" in page.inner_text("main")


def test_errors_page_restores_an_account_deleted_under_a_coupled_customer(live_server, page, connected, ready_to_sync):
    customer = synced_customer(ready_to_sync, name=f"Restorebrowser {uuid.uuid4().hex[:6]}")
    old_id = support.coupling_of(customer).crm_id
    support.crm_delete(connected, "accounts", old_id)
    failed = support.run("CUSTOMER", "to_crm", parameters={"erp_system_ids": [str(customer.system_id)]})
    assert failed.failed == 1
    log_in(
        page,
        live_server,
        "/sync/errors/",
        perms=["syncjobs.view_syncjob", "syncjobs.change_syncjob", "erp.view_customer"],
    )

    row = page.locator("table.object-table tbody tr", has_text=customer.name)
    assert "coupled to a deleted Dynamics 365 account" in row.inner_text()
    assert row.locator(f"a[href='{customer.get_absolute_url()}']").count() == 1
    # The deleted account is not linked (Dynamics 365 no longer has its page).
    assert "Deleted in Dynamics 365" in row.inner_text() and row.locator(f"a[href*='{old_id}']").count() == 0
    assert "The Dynamics 365 account was deleted: recreate it from the customer." in row.inner_text()
    shot(page, "4_errors_restore")
    row.locator("button[data-restore=crm_row]").click()
    page.wait_for_selector("text=1 error restored.")
    assert "recreates the deleted records" in page.inner_text("#messages")
    assert page.locator("button[data-restore]").count() == 0  # nothing is missing any more

    coupling = support.coupling_of(customer)
    assert coupling.state == Coupling.State.COUPLED and coupling.crm_id != old_id
    assert support.crm_row(connected, "accounts", coupling.crm_id, ["name"])["name"] == customer.name


def test_errors_page_retries_a_skipped_record_after_its_crm_data_was_fixed(live_server, page, connected, ready_to_sync):
    customer = synced_customer(ready_to_sync, name=f"Retrybrowser {uuid.uuid4().hex[:6]}")
    crm_id = support.coupling_of(customer).crm_id
    support.crm_update(connected, "accounts", crm_id, {"emailaddress1": "not an e-mail address"})
    for _ in range(2):  # the same failure twice: the record is skipped
        support.run("CUSTOMER", "from_crm", parameters={"crm_ids": [str(crm_id)]})
    assert support.coupling_of(customer).skipped
    support.crm_update(connected, "accounts", crm_id, {"emailaddress1": "sales@retry.example.com"})
    log_in(
        page,
        live_server,
        "/sync/errors/?is_skipped=true",
        perms=["syncjobs.view_syncjob", "syncjobs.change_syncjob", "erp.view_customer"],
    )

    rows = page.locator("table.object-table tbody tr", has_text=customer.name)
    # One row for the record failing now (it failed twice: "Times" 2), not one per failure.
    assert rows.count() == 1 and "Enter a valid email address." in rows.first.inner_text()
    assert page.locator("button[data-restore]").count() == 0  # both sides exist: nothing to restore
    rows.first.locator("[data-select-row]").check()
    page.click("button[value=retry]")
    page.wait_for_selector("text=1 error retried.")
    assert "synchronizes the records again" in page.inner_text("#messages")
    assert page.locator("table.object-table tbody tr", has_text=customer.name).count() == 0  # no longer skipped

    customer.refresh_from_db()
    assert customer.email == "sales@retry.example.com"
    assert SyncJob.objects.latest("pk").status == SyncJob.Status.SUCCESS
    # Fixed: the record leaves the page of what fails now by itself; its errors stay in the history.
    page.goto(f"{live_server.url}/sync/errors/")
    assert page.locator("table.object-table tbody tr", has_text=customer.name).count() == 0
    page.click("text=All errors (history)")
    page.wait_for_url("**show=all")
    assert page.locator("table.object-table tbody tr", has_text=customer.name).count() == 2

"""Issue 5's done-when, in a real browser on the demo data: the administrator runs the first full
synchronization from its page; a user synchronizes a record both sides changed, decouples it and couples
it again from the list, breaks it (its account deleted in Dynamics 365) and repairs it from the errors
page; ``crm_verify`` finds both sides equal after the full synchronization and again at the end.

Jobs run as a django-q2 worker runs them, in the request that queued them (django-q2's sync mode).
"""

import io

import pytest
from django.core.management import call_command

from coupling.models import Coupling
from erp import services as erp_services
from erp.models import Contact, Customer
from syncjobs.models import FullSyncRun
from tests.e2e.browser_support import log_in, shot
from tests.factories import UserFactory
from tests.syncjobs import engine_support as support

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def crm_verify() -> str:
    """The command's report; it raises CommandError (exit 1) when anything differs."""
    out = io.StringIO()
    try:
        call_command("crm_verify", "--limit", "5", stdout=out)
    finally:
        print(out.getvalue())  # shown by pytest when the test fails
    return out.getvalue()


def click_and_wait(page, selector: str, text: str) -> None:
    page.click(selector)
    page.wait_for_selector(f"#messages >> text={text}")


def test_on_the_demo_data_a_user_couples_synchronizes_breaks_and_repairs_and_both_sides_agree(
    live_server, page, connected
):
    call_command("erp_seed", stdout=io.StringIO())
    admin = UserFactory(is_superuser=True, is_staff=True)
    log_in(page, live_server, "/sync/full-synchronization/", user=admin)

    # The first full synchronization, started from its review page.
    page.click("[data-testid=full-sync-start]")
    page.wait_for_selector("#full-sync-run[data-run-status=finished]")
    shot(page, "demo_1_full_sync")
    assert FullSyncRun.objects.get().status == FullSyncRun.Status.FINISHED
    assert "Both sides agree." in crm_verify()

    # A customer Dynamics 365 already held (coupled by name, not duplicated). Both sides change it.
    coupled = Coupling.objects.filter(crm_entity="account", state=Coupling.State.COUPLED)
    customer = Customer.objects.get(system_id=coupled.order_by("pk").first().erp_system_id)
    account_id = support.coupling_of(customer).crm_id
    connected.advance_clock(1)  # the user's edit comes a second after the synchronization's (modifiedon: seconds)
    support.crm_update(connected, "accounts", account_id, {"telephone1": "+1 555 0199"})
    customer.city = "Walkthrough City"
    erp_services.record_save(instance=customer)

    page.goto(f"{live_server.url}{customer.get_absolute_url()}")
    page.click("button[data-action=crm_synchronize]")
    # Changed on both sides: asked which side's data to use; keeping both merges field by field.
    page.wait_for_selector("#both-changed")
    page.check("input[name=direction][value=both]")
    page.click("form button:has-text('Synchronize')")
    page.wait_for_selector("#messages >> text=queued for synchronization")
    customer.refresh_from_db()
    assert customer.phone == "+1 555 0199"  # the CRM's change came in ...
    assert support.crm_row(connected, "accounts", account_id, ["address1_city"])["address1_city"] == "Walkthrough City"

    # Decouple from the detail page (it asks first), then couple again from the list, choosing its account.
    page.click("button[data-action=crm_decouple]")
    page.click("form button:has-text('Decouple')")
    page.wait_for_selector("#messages >> text=decoupled")
    assert "Not coupled" in page.inner_text("[data-testid=crm-coupling-state]")
    page.goto(f"{live_server.url}/erp/customers/?q={customer.no}")
    row = page.locator("table.object-table tbody tr", has_text=customer.name)
    row.locator("[data-select-row]").check()
    page.click("button[value=crm_couple]")
    page.wait_for_url("**/sync/coupling/*/record/*/")
    page.fill("input[name=q]", customer.name)
    page.click("button:has-text('Search')")
    page.check(f"#row-{account_id}")
    page.check("input[name=sync][value=erp]")
    page.click("button:has-text('Couple')")
    page.wait_for_url(f"**{customer.get_absolute_url()}")
    assert "coupled with a Dynamics 365 account" in page.inner_text("#messages")
    assert str(support.coupling_of(customer).crm_id) == str(account_id)
    shot(page, "demo_2_coupled_again")

    # Broken: the account is deleted in Dynamics 365. Synchronizing fails; the errors page repairs it.
    support.crm_delete(connected, "accounts", account_id)
    page.click("button[data-action=crm_synchronize]")
    page.wait_for_selector("#messages >> text=queued for synchronization")
    page.goto(f"{live_server.url}/sync/errors/")
    row = page.locator("table.object-table tbody tr", has_text=customer.name)
    assert "coupled to a deleted Dynamics 365 account" in row.inner_text()
    shot(page, "demo_3_errors")
    row.locator("button[data-restore=crm_row]").click()
    page.wait_for_selector("text=1 error restored.")
    # Dynamics 365 emptied the account of its contacts when it was deleted: they follow the new account.
    contacts = Contact.objects.filter(company__customer=customer)
    assert contacts.exists()
    assert f"{contacts.count()} record" in page.inner_text("#messages")
    assert "will point to the recreated rows after their mapping's next run" in page.inner_text("#messages")
    coupling = support.coupling_of(customer)
    assert coupling.state == Coupling.State.COUPLED and coupling.crm_id != account_id
    restored = support.crm_row(connected, "accounts", coupling.crm_id, ["name", "address1_city", "telephone1"])
    assert (restored["name"], restored["address1_city"], restored["telephone1"]) == (
        customer.name,
        "Walkthrough City",
        "+1 555 0199",
    )

    # The next scheduled run of CONTACT (the worker's dispatcher) takes them.
    call_command("crm_sync", "run", "CONTACT", "--wait", stdout=io.StringIO())
    for contact in contacts:
        row = support.crm_row(connected, "contacts", support.coupling_of(contact).crm_id, ["parentcustomerid"])
        assert row["_parentcustomerid_value"] == str(coupling.crm_id)

    assert "Both sides agree." in crm_verify()

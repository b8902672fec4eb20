"""Issue 13's done-when, in a real browser on the demo data: a new user breaks records in both systems — an
update conflict, an account deleted in Dynamics 365, a salesperson not coupled, a value too long for Dynamics
365 — and repairs each from the pages (the errors page's actions, the record's conflict page, the record's edit
page), without the command line and without changing a mapping; the errors page is then empty and the home
page's health says so; a full synchronization's preview predicts what its run does, and the next synchronization
of modified records leaves both sides agreeing (crm_verify).

The value too long is a credit limit of 16 digits (Dynamics 365's Money holds 15): every text field of the demo's
mappings is shortened to fit the other side, with a warning rather than an error.

The scene is the demo's after its first full synchronization (the demo walkthrough runs it from its page; it is
run here as a worker runs it). The breaks are made through services, as the users of either system would make
them; what the browser starts runs its jobs in the request that queues them (django-q2's sync mode).
"""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from coupling.models import Coupling
from erp import services as erp_services
from erp.models import Customer, Salesperson
from syncjobs.engine import preview
from syncjobs.models import FullSyncRun, IntegrationTableMapping
from syncjobs.runs import full_sync
from tests.e2e import browser_support as browser
from tests.e2e.browser_support import log_in
from tests.e2e.test_demo_walkthrough_browser import crm_verify
from tests.factories import UserFactory
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import admin_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A user who follows the synchronization day to day: no administrator, no mapping settings.
DAILY_PERMS = [
    "syncjobs.view_syncjob",
    "syncjobs.add_syncjob",
    "syncjobs.change_syncjob",
    "erp.view_customer",
    "erp.change_customer",
]
NEW_COLLEAGUE = ("Sara", "Lindqvist", "sara@cronus-demosite.com")
# 16 digits before the decimal point: the ERP's credit limit takes them, Dynamics 365's Money at most 15.
TOO_LONG_CREDIT_LIMIT = Decimal("1000000000000000")
# Jobs run in the request that queues them: a page after one waits for them (a loaded machine is slow).
JOBS_TIMEOUT_MS = 60_000
# The preview's counts, as the run's totals name them (syncjobs.engine.preview, runs.full_sync_outcome).
TOTALS = {
    "created": ("create_in_crm", "create_in_erp"),
    "updated": ("update",),
    "coupled": ("couple",),
    "failed": ("failed",),
}


@pytest.fixture
def demo(connected):
    """The demo data (`make demo`: erp_seed) after its first full synchronization, run as a worker runs it."""
    call_command("erp_seed", stdout=io.StringIO())
    run = full_sync.full_sync_start(user=UserFactory(is_superuser=True), enqueue=False)
    assert full_sync.full_sync_run(run_id=run.pk).status == FullSyncRun.Status.FINISHED
    return connected


def create_crm_user(sandbox, first: str, last: str, email: str) -> str:
    """A user added in Dynamics 365 by its administrator."""
    with admin_client(sandbox) as admin:
        unit = next(iter(admin.query("businessunits", select=["name"])))["businessunitid"]
        user_id = admin.create(
            "systemusers",
            {
                "firstname": first,
                "lastname": last,
                "domainname": email,
                "internalemailaddress": email,
                "businessunitid@odata.bind": f"/businessunits({unit})",
            },
        )
    return str(user_id).lower()


def said(page, text: str) -> None:
    """The page shown after an action says ``text``: its jobs ran in the request, so allow them the time."""
    expect(page.locator("#messages")).to_contain_text(text, timeout=JOBS_TIMEOUT_MS)


def crm_value(sandbox, record, attribute: str):
    return support.crm_row(sandbox, "accounts", support.coupling_of(record).crm_id, [attribute])[attribute]


def error_row(page, customer):
    return page.locator("table.object-table tbody tr", has_text=customer.name)


def errors_page(page, live_server):
    page.goto(f"{live_server.url}/sync/errors/")


def test_a_new_user_breaks_records_in_both_systems_and_repairs_each_from_the_pages(live_server, page, demo):
    sandbox = demo
    customers = support.mapping("CUSTOMER")
    # The demo's policies: a conflict and a deleted row are left as they are and reported.
    assert customers.update_conflict_policy == IntegrationTableMapping.UpdateConflictPolicy.REPORT
    assert customers.deletion_policy == IntegrationTableMapping.DeletionPolicy.REPORT
    # Salespeople are coupled to users by their e-mail address (the demo's criteria; nothing is set here).
    match_fields = support.mapping("SALESPEOPLE").field_mappings.filter(use_for_match_based_coupling=True)
    assert list(match_fields.values_list("erp_field", flat=True)) == ["email"]
    enabled = IntegrationTableMapping.objects.filter(is_enabled=True).count()
    coupled = Coupling.objects.filter(crm_entity="account", state=Coupling.State.COUPLED).order_by("pk")
    conflicted, deleted, new_rep, too_long, pending = (
        Customer.objects.get(system_id=coupling.erp_system_id) for coupling in coupled[:5]
    )

    # --- Broken, in both systems ---------------------------------------------------------------------------
    sandbox.advance_clock(1)  # the users' edits come a second after the synchronization's (modifiedon: seconds)
    # 1. The city changed in the ERP and in Dynamics 365.
    support.crm_update(sandbox, "accounts", support.coupling_of(conflicted).crm_id, {"address1_city": "Redmond"})
    conflicted.city = "Bellevue"
    erp_services.record_save(instance=conflicted)
    # 2. An account deleted in Dynamics 365.
    deleted_account = support.coupling_of(deleted).crm_id
    support.crm_delete(sandbox, "accounts", deleted_account)
    # 3. A new colleague, a user in Dynamics 365 and a salesperson in the ERP, but not coupled, takes a customer.
    first, last, email = NEW_COLLEAGUE
    sara_user = create_crm_user(sandbox, first, last, email)
    sara = Salesperson.objects.create(code="SL", name=f"{first} {last}", email=email)
    new_rep.salesperson = sara
    erp_services.record_save(instance=new_rep)
    # 4. A credit limit with more digits than Dynamics 365 holds.
    too_long.credit_limit_lcy = TOO_LONG_CREDIT_LIMIT
    erp_services.record_save(instance=too_long)

    # --- The user synchronizes what was modified, and finds four failures ------------------------------------
    log_in(page, live_server, "/sync/full-synchronization/", perms=DAILY_PERMS)
    page.get_by_role("button", name="Synchronize all modified records").click()
    said(page, "Synchronizing the modified records of every enabled mapping")
    errors_page(page, live_server)
    expect(page.locator("table.object-table tbody tr")).to_have_count(4)
    expect(error_row(page, conflicted)).to_contain_text("changed in the ERP and in Dynamics 365")
    expect(error_row(page, deleted)).to_contain_text("coupled to a deleted Dynamics 365 account")
    expect(error_row(page, new_rep)).to_contain_text(f"Salesperson SL {first} {last} must be coupled")
    expect(error_row(page, too_long)).to_contain_text("outside the valid range")
    expect(error_row(page, too_long)).to_contain_text("On the customer's page: Credit limit (LCY).")
    browser.shot(page, "daily_1_errors")

    # 1. The conflict, on the record's conflict page: the ERP's city is kept.
    error_row(page, conflicted).get_by_role("link", name="Resolve the conflict").click()
    page.wait_for_url("**/sync/conflicts/**")
    city = page.locator("#conflict-fields tr[data-field=address1_city]")
    expect(city.locator("td[data-side=erp]")).to_have_text("Bellevue")
    expect(city.locator("td[data-side=crm]")).to_have_text("Redmond")
    city.get_by_label("Use ERP value").check()
    page.get_by_role("button", name="Synchronize this record").click()
    said(page, f"Synchronizing {conflicted} with the values chosen")
    errors_page(page, live_server)
    expect(error_row(page, conflicted)).to_have_count(0)
    assert crm_value(sandbox, conflicted, "address1_city") == "Bellevue"

    # 2. The deleted account, recreated from the customer.
    error_row(page, deleted).locator("button[data-restore=crm_row]").click()
    said(page, "1 error restored.")
    errors_page(page, live_server)
    expect(error_row(page, deleted)).to_have_count(0)
    restored = support.coupling_of(deleted)
    assert restored.state == Coupling.State.COUPLED and restored.crm_id != deleted_account
    assert support.crm_row(sandbox, "accounts", restored.crm_id, ["name"])["name"] == deleted.name

    # 3. The salesperson, coupled to the user of the same e-mail address, then the customer again.
    error_row(page, new_rep).locator("[data-select-row]").check()
    page.get_by_role("button", name="Couple by match and retry").click()
    said(page, "1 error coupled by match and retried.")
    errors_page(page, live_server)
    expect(error_row(page, new_rep)).to_have_count(0)
    assert str(support.coupling_of(sara).crm_id) == sara_user
    assert crm_value(sandbox, new_rep, "_ownerid_value") == sara_user

    # 4. The credit limit, corrected on the customer's edit page, then retried.
    error_row(page, too_long).get_by_role("link", name=too_long.name).click()
    page.wait_for_url(f"**{too_long.get_absolute_url()}")
    page.get_by_role("link", name="Edit").click()
    page.fill("#id_credit_limit_lcy", "1000000")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{too_long.get_absolute_url()}")
    errors_page(page, live_server)
    error_row(page, too_long).locator("[data-select-row]").check()
    page.locator("button[name=action][value=retry]").click()  # the bulk action (not "Retry all")
    said(page, "1 error retried.")
    errors_page(page, live_server)
    expect(error_row(page, too_long)).to_have_count(0)
    assert crm_value(sandbox, too_long, "creditlimit") == 1000000

    # --- Nothing fails now: the errors page is empty, and the home page's health says so ---------------------
    expect(page.locator("h1 .badge")).to_have_text("0")
    expect(page.locator("table.object-table tbody")).to_have_text("No synchronization errors.")
    browser.shot(page, "daily_2_no_errors")
    page.goto(f"{live_server.url}/")
    health = page.locator("[data-testid=mapping-health] tbody tr")
    expect(health).to_have_count(enabled)
    for cell in health.locator("td:nth-child(7)").all():
        expect(cell).to_have_text("0")
    expect(page.locator("[data-testid=mapping-health] a.text-danger")).to_have_count(0)

    # --- A full synchronization's preview predicts its run ---------------------------------------------------
    support.crm_update(sandbox, "accounts", support.coupling_of(pending).crm_id, {"telephone1": "+1 555 0142"})
    page.goto(f"{live_server.url}/sync/full-synchronization/")
    page.get_by_test_id("full-sync-preview").click()
    cards = page.locator("[data-preview-mapping]")
    expect(cards).to_have_count(enabled, timeout=JOBS_TIMEOUT_MS)
    predicted = {
        card.get_attribute("data-preview-mapping"): {
            cell.get_attribute("data-count"): int(cell.inner_text()) for cell in card.locator("td[data-count]").all()
        }
        for card in cards.all()
    }
    # The mapping with the pending change: the one account changed in Dynamics 365 updates its customer.
    in_filter = Customer.objects.filter(**customers.erp_filter).count()
    assert predicted["CUSTOMER"] == {"update": 1, "unchanged": in_filter - 1}, predicted
    updated = page.locator("[data-preview-mapping=CUSTOMER] tr[data-outcome=update]")
    expect(updated).to_contain_text(pending.name)
    expect(updated).to_contain_text("+1 555 0142")
    browser.shot(page, "daily_3_preview")

    page.get_by_test_id("full-sync-start").click()
    said(page, "Full synchronization #")  # the new run's page (the preview's showed the last run)
    expect(page.locator("#full-sync-run")).to_have_attribute("data-run-status", "finished")
    browser.shot(page, "daily_4_full_sync")
    shown = {
        total.get_attribute("data-total"): int(total.locator("strong").inner_text())
        for total in page.locator("#full-sync-run [data-total]").all()
    }
    assert shown == {
        word: sum(counts.get(name, 0) for counts in predicted.values() for name in names)
        for word, names in TOTALS.items()
    }, predicted
    # Mapping by mapping, the run's jobs counted as the preview counts.
    run = FullSyncRun.objects.latest("pk")
    for line in run.lines.select_related("coupling_job", "sync_job"):
        done = preview.job_counts(jobs=[job for job in (line.coupling_job, line.sync_job) if job is not None])
        assert {name: count for name, count in done.items() if count} == predicted[line.mapping_name], line
    pending.refresh_from_db()
    assert pending.phone == "+1 555 0142"

    # The next scheduled synchronization (pressed here) points the restored account's contacts to it, as the
    # restore said: both sides agree.
    page.get_by_role("button", name="Synchronize all modified records").click()
    said(page, "Synchronizing the modified records of every enabled mapping")
    assert "Both sides agree." in crm_verify()

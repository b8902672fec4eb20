"""Issue 11's done-when, in a real browser on the demo data, in both modes: the administrator turns sales orders on
in the assisted setup; a salesperson submits an order in Dynamics 365 (the sandbox's order page); it is created
in the ERP from the "Dynamics 365 sales orders" page (released at once both ways), lowers its item's availability
as the CRM reads it, and is released, shipped and invoiced; the CRM order then shows Invoiced, its invoice and the
posts on its wall.

Jobs run as a django-q2 worker runs them, in the request that queued them (django-q2's sync mode); the
scheduler's dispatch (the worker's, every minute) is called where a minute would pass.
"""

import io
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command

from coupling.models import Coupling
from erp.models import SalesHeader
from setup_wizard import services as setup_services
from setup_wizard.models import SetupWizardProgress
from syncjobs.models import SyncJob
from syncjobs.runs.scheduling import scheduled_sync_dispatch
from tests.e2e.browser_support import log_in, shot
from tests.factories import UserFactory
from tests.syncjobs import engine_support as support

Step = SetupWizardProgress.Step
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _available(page) -> Decimal:
    page.click("#erp-availability button:has-text('Refresh')")
    return Decimal(page.inner_text("#erp-availability [data-field=AvailableQuantity]").strip())


@pytest.mark.parametrize("mode", ["one_way", "two_way"])
def test_an_order_submitted_in_dynamics_365_is_created_released_shipped_and_invoiced_and_the_crm_sees_it(
    live_server, page, connected, mode
):
    call_command("erp_seed", stdout=io.StringIO())
    call_command("crm_sync", "run", "--all", "--full", "--wait", stdout=io.StringIO())
    admin = UserFactory(is_superuser=True, is_staff=True, username="backoffice")
    # The connection and the solution were set up (the `connected` sandbox): the setup resumes at its features.
    setup_services.wizard_steps_done_elsewhere(steps=[Step.CONNECTION, Step.SOLUTION])

    # The assisted setup's features step: item availability and sales orders, processed by the back office.
    log_in(page, live_server, "/setup/wizard/features/", user=admin)
    page.fill("#id_odata_url", f"{live_server.url}/odata/v4/")
    page.check("#id_sales_order_integration_enabled")
    page.check(f"input[name=sales_order_mode][value={mode}]")
    page.select_option("#id_sales_order_processing_user", value=str(admin.pk))
    page.click("button:has-text('Next')")
    page.wait_for_url("**/setup/wizard/synchronization/")
    organization = support.crm_rows(connected, "organizations", select=["issopintegrationenabled"])[0]
    assert organization["issopintegrationenabled"] is (mode == "one_way")  # sales order processing: one way

    crm_url = connected.url.rstrip("/")
    # In Dynamics 365: an Active order of the demo, submitted by a salesperson on its page.
    active = support.crm_rows(
        connected, "salesorders", select=["ordernumber", "name"], filter=support.F.eq("statecode", 0)
    )[0]
    order_id = active["salesorderid"]
    line = support.crm_rows(
        connected,
        "salesorderdetails",
        select=["quantity", "_productid_value"],
        filter=support.F.eq("_salesorderid_value", uuid.UUID(order_id)),
    )[0]
    product_id = line["_productid_value"]
    page.goto(f"{crm_url}/sets/products/{product_id}/")
    available_before = _available(page)
    page.goto(f"{crm_url}/sets/salesorders/{order_id}/")
    page.click("#submit-order")
    page.wait_for_selector("text=Submitted")
    shot(page, f"orders_{mode}_1_submitted_in_crm")

    # In the ERP: the submitted order is listed; Create in ERP.
    page.goto(f"{live_server.url}/sync/sales-orders/")
    row = page.locator("#submitted-orders tbody tr", has_text=active["ordernumber"])
    shot(page, f"orders_{mode}_2_listed")
    row.locator("input[name=crm_id]").check()
    page.click("button[name=create]")
    page.wait_for_selector("#messages >> text=will be created in the ERP")
    intake = SyncJob.objects.get(kind=SyncJob.Kind.ORDER_INTAKE)
    assert (intake.inserted, intake.failed) == (1, 0), support.errors(intake)
    coupling = Coupling.objects.get(crm_entity="salesorder", crm_id=order_id)
    order = SalesHeader.objects.get(system_id=coupling.erp_system_id)
    assert order.your_reference == active["ordernumber"] and order.created_by == admin
    crm = support.crm_row(connected, "salesorders", order_id, ["nav_erpordernumber", "lastbackofficesubmit"])
    assert crm["nav_erpordernumber"] == order.no and crm["lastbackofficesubmit"]

    # The CRM reads the item's availability from the ERP: the new order's demand is in it.
    page.goto(f"{crm_url}/sets/products/{product_id}/")
    assert _available(page) == available_before - Decimal(str(line["quantity"]))

    # Back office: release, ship, invoice, from the order's page.
    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    if mode == "one_way":
        page.click("button:has-text('Release')")
    page.wait_for_selector("[data-testid=order-status] >> text=Released")
    page.click("button:has-text('Post shipment')")
    page.wait_for_selector("#messages")
    page.click("[data-testid=post-invoice] button")
    page.wait_for_selector("[data-testid=order-status] >> text=Closed")
    shot(page, f"orders_{mode}_3_invoiced_in_erp")
    invoice = order.invoices.get()

    # A minute later the scheduler sends the order's progress.
    scheduled_sync_dispatch()

    page.goto(f"{crm_url}/sets/salesorders/{order_id}/")
    body = page.inner_text("body")
    shot(page, f"orders_{mode}_4_invoiced_in_crm")
    assert "Invoiced" in body
    assert invoice.no in body
    for post in (
        "The order status has changed to Released.",
        "A shipment has been created for the order.",
        "An invoice has been created for the order.",
    ):
        assert post in body
    crm = support.crm_row(connected, "salesorders", order_id, ["statecode", "statuscode"])
    assert (crm["statecode"], crm["statuscode"]) == (4, 100003)

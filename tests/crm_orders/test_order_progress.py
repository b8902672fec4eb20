"""An order that came from Dynamics 365 reports its release, shipment and invoices back (issue 11 §3, one way)."""

import uuid
from decimal import Decimal

import pytest

from crm_orders.models import OrderProgress
from crm_orders.progress import PROCESSING_STATUS
from erp import services as erp_services
from erp.models import SalesHeader
from syncjobs.models import SyncJob
from syncjobs.runs.scheduling import scheduled_sync_dispatch
from tests import factories
from tests.crm_orders import order_support as orders
from tests.syncjobs import engine_support as support


@pytest.fixture
def world(connected):
    return orders.build_world(connected)


@pytest.fixture
def taken_over(world):
    order_id = orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        lines=[
            orders.product_line(world.item_product_id, 4, "25.00"),
            orders.product_line(world.resource_product_id, 1, "80.00"),
        ],
    )
    job = orders.take_over()
    assert job.inserted == 1, support.errors(job)
    return order_id, SalesHeader.objects.get()


def _wall(sandbox, order_id) -> list[str]:
    rows = support.crm_rows(
        sandbox,
        "posts",
        select=["text", "_regardingobjectid_value"],
        filter=support.F.eq("_regardingobjectid_value", uuid.UUID(order_id)),
    )
    return sorted(row["text"] for row in rows)


def test_release_shipment_and_invoice_go_to_the_order_as_posts_processing_status_and_state(world, taken_over):
    order_id, order = taken_over
    factories.ItemLedgerEntryFactory(item=world.item, quantity=Decimal("10"))

    erp_services.sales_order_release(order=order)
    assert orders.send_progress().status == SyncJob.Status.SUCCESS
    crm = orders.crm_order(world.sandbox, order_id)
    assert crm["nav_processingstatus"] == PROCESSING_STATUS["released"]
    assert _wall(world.sandbox, order_id) == ["The order status has changed to Released."]

    erp_services.sales_order_post_shipment(order=order)
    orders.send_progress()
    assert orders.crm_order(world.sandbox, order_id)["nav_processingstatus"] == PROCESSING_STATUS["shipped"]

    invoice = erp_services.sales_order_post_invoice(order=order)
    job = orders.send_progress()

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    crm = orders.crm_order(world.sandbox, order_id)
    assert (crm["statecode"], crm["statuscode"]) == (4, 100003)  # Invoiced
    assert crm["nav_processingstatus"] == PROCESSING_STATUS["invoiced"]
    assert _wall(world.sandbox, order_id) == [
        "A shipment has been created for the order.",
        "An invoice has been created for the order.",
        "The order status has changed to Released.",
    ]
    invoices = support.crm_rows(
        world.sandbox,
        "invoices",
        select=["invoicenumber", "_salesorderid_value", "_customerid_value", "totalamount"],
        filter=support.F.eq("_salesorderid_value", uuid.UUID(order_id)),
    )
    assert [(row["invoicenumber"], row["_customerid_value"]) for row in invoices] == [(invoice.no, world.account_id)]
    assert Decimal(str(invoices[0]["totalamount"])) == invoice.amount == Decimal("180.00")
    lines = support.crm_rows(
        world.sandbox,
        "invoicedetails",
        select=["quantity", "priceperunit", "extendedamount", "_productid_value", "productdescription"],
        filter=support.F.eq("_invoiceid_value", uuid.UUID(invoices[0]["invoiceid"])),
    )
    assert sorted(Decimal(str(row["extendedamount"])) for row in lines) == [Decimal("80"), Decimal("100")]
    assert not OrderProgress.objects.filter(sent_at__isnull=True).exists()


def test_a_progress_job_repeated_after_a_crash_writes_nothing_twice(world, taken_over):
    order_id, order = taken_over
    erp_services.sales_order_release(order=order)
    orders.send_progress()
    OrderProgress.objects.update(sent_at=None)  # as if the job had died before marking them sent

    again = orders.send_progress()

    assert again.status == SyncJob.Status.SUCCESS, support.errors(again)
    assert _wall(world.sandbox, order_id) == ["The order status has changed to Released."]


def test_an_order_deleted_in_dynamics_365_costs_one_error_row_and_the_others_go_on(world, taken_over):
    order_id, order = taken_over
    other_id = orders.submit_order(
        world.sandbox, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 1, 40)]
    )
    orders.take_over()
    other = SalesHeader.objects.exclude(pk=order.pk).get()
    erp_services.sales_order_release(order=order)
    erp_services.sales_order_release(order=other)
    support.crm_delete(world.sandbox, "salesorders", order_id)

    job = orders.send_progress()

    assert (job.status, job.failed) == (SyncJob.Status.ERROR, 1)
    assert job.errors.get().erp_label == f"sales order {order.no}"
    assert orders.crm_order(world.sandbox, other_id)["nav_processingstatus"] == PROCESSING_STATUS["released"]
    assert OrderProgress.objects.filter(sent_at__isnull=True).get().order == order


def test_an_order_of_the_erps_own_reports_nothing(world):
    order = factories.SalesHeaderFactory(sell_to_customer=world.customer)
    factories.SalesLineFactory(order=order, item=world.item, quantity=Decimal("1"))

    erp_services.sales_order_release(order=order)

    assert not OrderProgress.objects.exists()


def test_the_scheduler_queues_the_order_jobs_when_due(world, taken_over):
    _, order = taken_over
    erp_services.sales_order_release(order=order)

    created = scheduled_sync_dispatch()

    kinds = [job.kind for job in created]
    assert SyncJob.Kind.ORDER_PROGRESS in kinds
    # The intake ran a moment ago: not due again before its interval.
    assert SyncJob.Kind.ORDER_INTAKE not in kinds


def test_an_order_whose_progress_failed_leaves_the_errors_page_once_it_is_sent(world, taken_over):

    from syncjobs.errors import selectors

    order_id, order = taken_over
    erp_services.sales_order_release(order=order)
    # Dynamics 365 refuses the order for a while (a plug-in, say): simulated by deleting it, then restoring it.
    row = support.crm_row(world.sandbox, "salesorders", order_id, ["name"])
    support.crm_delete(world.sandbox, "salesorders", order_id)
    failed = orders.send_progress()
    assert failed.failed == 1
    assert list(selectors.current_sync_errors().values_list("job_id", flat=True)) == [failed.pk]
    with support.admin_client(world.sandbox) as admin:
        admin.create(
            "salesorders",
            {"name": row["name"], "customerid_account@odata.bind": f"/accounts({world.account_id})"},
            id=order_id,
        )

    sent = orders.send_progress()

    assert (sent.status, sent.failed) == (SyncJob.Status.SUCCESS, 0), support.errors(sent)
    assert not selectors.current_sync_errors().exists()

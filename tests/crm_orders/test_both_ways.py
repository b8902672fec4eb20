"""Sales orders both ways (issue 11 §3, BC's bidirectional sales orders), against the sandbox."""

import uuid
from decimal import Decimal

import pytest

from crm_orders.models import OrderProgress
from erp import services as erp_services
from erp.models import SalesHeader, SalesLine
from syncjobs.models import CrmConnection, SyncJob
from tests import factories
from tests.crm_orders import order_support as orders
from tests.syncjobs import engine_support as support


@pytest.fixture
def world(connected):
    return orders.build_world(connected, mode=CrmConnection.SalesOrderMode.TWO_WAY)


def _crm_lines(sandbox, order_id) -> list[tuple]:
    rows = support.crm_rows(
        sandbox,
        "salesorderdetails",
        select=[
            "quantity",
            "priceperunit",
            "manualdiscountamount",
            "quantityshipped",
            "sequencenumber",
            "_productid_value",
        ],
        filter=support.F.eq("_salesorderid_value", uuid.UUID(order_id)),
    )
    return sorted(
        (
            row["_productid_value"],
            Decimal(str(row["quantity"])).normalize(),
            Decimal(str(row["priceperunit"])).normalize(),
        )
        for row in rows
    )


def _crm_order(sandbox, order_id) -> dict:
    return support.crm_row(
        sandbox,
        "salesorders",
        order_id,
        ["statecode", "statuscode", "totalamount", "nav_erpordernumber", "freightamount", "versionnumber"],
    )


@pytest.fixture
def taken(world):
    order_id = orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        lines=[
            orders.product_line(world.item_product_id, 4, "25.00"),
            orders.product_line(world.resource_product_id, 1, "80"),
        ],
    )
    job = orders.take_over()
    assert job.inserted == 1, support.errors(job)
    assert orders.send_progress().status == SyncJob.Status.SUCCESS
    return order_id, SalesHeader.objects.get()


def test_a_submitted_order_becomes_a_released_erp_order_and_its_erp_prices_go_back(world, taken):
    order_id, order = taken

    assert order.status == SalesHeader.Status.RELEASED
    crm = _crm_order(world.sandbox, order_id)
    assert crm["nav_erpordernumber"] == order.no
    assert Decimal(str(crm["totalamount"])) == Decimal("180.00")
    assert crm["statecode"] == 1  # still submitted: Dynamics 365's order is in the ERP's hands


def test_a_second_run_takes_nothing_for_a_change_and_the_order_stays_released(world, taken):
    order_id, order = taken
    modified = order.modified_at

    again = orders.take_over()

    assert (again.inserted, again.modified, again.failed) == (0, 0, 0), support.errors(again)
    order.refresh_from_db()
    assert order.modified_at == modified and order.status == SalesHeader.Status.RELEASED
    assert not OrderProgress.objects.filter(sent_at__isnull=True).exists()


def test_a_change_in_dynamics_365_reopens_the_erp_order_updates_its_lines_and_releases_it_again(world, taken):
    order_id, order = taken
    lines = support.crm_rows(
        world.sandbox,
        "salesorderdetails",
        select=["_productid_value"],
        filter=support.F.eq("_salesorderid_value", uuid.UUID(order_id)),
    )
    lamp_line = next(row for row in lines if row["_productid_value"] == world.item_product_id)
    hour_line = next(row for row in lines if row["_productid_value"] == world.resource_product_id)
    world.sandbox.advance_clock(1)
    with support.admin_client(world.sandbox) as salesperson:
        salesperson.update("salesorderdetails", uuid.UUID(lamp_line["salesorderdetailid"]), {"quantity": "6"})
        salesperson.delete("salesorderdetails", uuid.UUID(hour_line["salesorderdetailid"]))
        salesperson.create(
            "salesorderdetails",
            {
                "salesorderid@odata.bind": f"/salesorders({order_id})",
                **orders.product_line(world.resource_product_id, 2, "75"),
            },
        )

    job = orders.take_over()

    assert (job.modified, job.failed) == (1, 0), support.errors(job)
    order.refresh_from_db()
    assert order.status == SalesHeader.Status.RELEASED
    assert sorted((line.no, line.quantity, line.unit_price) for line in order.lines.all()) == sorted(
        [(world.item.no, Decimal("6"), Decimal("25.00")), (world.resource.no, Decimal("2"), Decimal("75.00"))]
    )
    assert orders.send_progress().status == SyncJob.Status.SUCCESS
    assert orders.take_over().modified == 0  # the ERP's write-back is not a change


def test_an_erp_change_goes_to_dynamics_365_at_release_with_new_and_deleted_lines(world, taken):
    order_id, order = taken
    erp_services.sales_order_reopen(order=order)
    resource_line = order.lines.get(type=SalesLine.Type.RESOURCE)
    erp_services.sales_line_delete(line=resource_line)
    lamp = order.lines.get()
    lamp.unit_price = Decimal("22.50")
    erp_services.sales_line_save(line=lamp)
    chair = factories.ItemFactory(description="Chair", unit_price=Decimal("90"))
    with support.admin_client(world.sandbox) as admin:
        unit = next(iter(admin.query("uoms", select=["uomid"], filter=support.F.eq("isschedulebaseuom", True))))
        chair_product = admin.create(
            "products",
            {
                "name": "Chair",
                "productnumber": "P-CHAIR",
                "producttypecode": 1,
                "defaultuomid@odata.bind": f"/uoms({unit['uomid']})",
            },
        )
    support.couple(chair, "product", chair_product)
    erp_services.sales_line_save(
        line=SalesLine(order=order, type=SalesLine.Type.ITEM, item=chair, quantity=Decimal("1"))
    )
    erp_services.sales_order_release(order=order)

    job = orders.send_progress()

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert _crm_lines(world.sandbox, order_id) == sorted(
        [(world.item_product_id, Decimal("4"), Decimal("22.5")), (chair_product, Decimal("1"), Decimal("90"))]
    )
    assert Decimal(str(_crm_order(world.sandbox, order_id)["totalamount"])) == Decimal("180.00")
    assert orders.take_over().modified == 0


def test_a_completely_shipped_order_is_fulfilled_and_after_its_invoice_invoiced(world, taken):
    order_id, order = taken
    erp_services.sales_order_post_shipment(order=order)
    assert orders.send_progress().status == SyncJob.Status.SUCCESS
    crm = _crm_order(world.sandbox, order_id)
    assert (crm["statecode"], crm["statuscode"]) == (3, 100001)  # Fulfilled, Complete
    shipped = support.crm_rows(
        world.sandbox,
        "salesorderdetails",
        select=["quantityshipped"],
        filter=support.F.eq("_salesorderid_value", uuid.UUID(order_id)),
    )
    assert sorted(Decimal(str(row["quantityshipped"])) for row in shipped) == [Decimal("1"), Decimal("4")]

    erp_services.sales_order_post_invoice(order=order)
    job = orders.send_progress()

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    crm = _crm_order(world.sandbox, order_id)
    assert (crm["statecode"], crm["statuscode"]) == (4, 100003)
    assert support.crm_rows(
        world.sandbox,
        "invoices",
        select=["invoicenumber"],
        filter=support.F.eq("_salesorderid_value", uuid.UUID(order_id)),
    )


def test_a_change_to_an_invoiced_erp_order_is_one_clear_error(world, taken):
    order_id, order = taken
    erp_services.sales_order_post_shipment(order=order)
    erp_services.sales_order_post_invoice(order=order)
    world.sandbox.advance_clock(1)
    with support.admin_client(world.sandbox) as salesperson:
        salesperson.update("salesorders", uuid.UUID(order_id), {"description": "One more thing"})

    job = orders.take_over()

    assert job.failed == 1
    assert f"Sales order {order.no} is fully invoiced and closed in the ERP" in job.errors.get().message


def test_switching_to_both_ways_turns_dynamics_365_sales_order_processing_off(connected):
    from setup_wizard import services as setup_services

    orders.build_world(connected)  # one way: processing on
    connection = CrmConnection.objects.get()

    setup_services.connection_features_save(
        connection=connection,
        sales_order_integration_enabled=True,
        sales_order_mode=CrmConnection.SalesOrderMode.TWO_WAY,
        sales_order_processing_user=connection.sales_order_processing_user,
        synchronization_interval_minutes=30,
    )

    organization = support.crm_rows(connected, "organizations", select=["issopintegrationenabled"])[0]
    assert organization["issopintegrationenabled"] is False
    assert CrmConnection.objects.get().sales_orders_both_ways

"""The world an order from Dynamics 365 needs: a coupled customer, item and resource, sales order processing on,
and orders a salesperson submits (as the sandbox's administrator, who is not an integration user)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Permission

from crm_orders import services as order_services
from erp import selectors as erp_selectors
from erp.models import Customer, Item, Resource
from syncjobs.connection import clients
from syncjobs.models import CrmConnection, SyncJob
from syncjobs.runs import jobs
from tests import factories
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import admin_client


@dataclass
class OrderWorld:
    sandbox: object
    customer: Customer
    account_id: str
    item: Item
    item_product_id: str
    resource: Resource
    resource_product_id: str
    user: object


def processing_user():
    user = factories.UserFactory(username="order.desk")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_salesheader", "view_salesheader"]))
    return user


def build_world(sandbox, *, mode: str = CrmConnection.SalesOrderMode.ONE_WAY) -> OrderWorld:
    """The tests' own orders only: the seeded ones (some submitted, for the demo) are deleted first."""
    with admin_client(sandbox) as admin:
        for row in list(admin.query("salesorders", select=["salesorderid"])):
            admin.delete("salesorders", uuid.UUID(row["salesorderid"]))
    support.couple_local_currency(sandbox)
    for code in ("SO", "CUST"):
        factories.NoSeriesFactory(code=code, prefix=f"{code}-")
    customer = factories.CustomerFactory(name="Order Desk Ltd")
    item = factories.ItemFactory(description="Desk lamp", unit_price=Decimal("40.00"))
    resource = factories.ResourceFactory(name="Installation hour", unit_price=Decimal("80.00"))
    with admin_client(sandbox) as admin:
        account_id = admin.create("accounts", {"name": "Order Desk Ltd"})
        item_product_id = admin.create(
            "products", {"name": "Desk lamp", "productnumber": "P-LAMP", "producttypecode": 1}
        )
        resource_product_id = admin.create(
            "products", {"name": "Installation hour", "productnumber": "P-INST", "producttypecode": 3}
        )
    support.couple(customer, "account", account_id)
    support.couple(item, "product", item_product_id)
    support.couple(resource, "product", resource_product_id)
    user = processing_user()
    connection = CrmConnection.objects.get()
    connection.sales_order_integration_enabled = True
    connection.sales_order_mode = mode
    connection.sales_order_processing_user = user
    connection.save()
    if connection.sales_order_processing_in_crm:
        with clients.crm_client(connection=connection) as client:
            order_services.sales_order_processing_enable(client=client, connection=connection)
    return OrderWorld(sandbox, customer, account_id, item, item_product_id, resource, resource_product_id, user)


def sales_setup(*, write_in: Item | None = None, freight: Item | None = None):
    setup = erp_selectors.sales_setup()
    setup.write_in_item, setup.freight_item = write_in, freight
    setup.save()
    return setup


def submit_order(
    sandbox,
    *,
    customer: str,
    lines: list[dict],
    customer_set: str = "accounts",
    notes: list[dict] | None = None,
    **fields,
) -> str:
    """A salesperson's order: created Active with its lines, then submitted. Returns its id."""
    with admin_client(sandbox) as admin:
        order_id = admin.create(
            "salesorders",
            {
                "name": fields.pop("name", "Lamps for the office"),
                f"customerid_{customer_set[:-1]}@odata.bind": f"/{customer_set}({customer})",
                **fields,
            },
        )
        for note in notes or []:
            admin.create("annotations", {"objectid_salesorder@odata.bind": f"/salesorders({order_id})", **note})
        for sequence, line in enumerate(lines, start=1):
            admin.create(
                "salesorderdetails",
                {"salesorderid@odata.bind": f"/salesorders({order_id})", "sequencenumber": sequence * 10, **line},
            )
        admin.update("salesorders", uuid.UUID(order_id), {"statecode": 1, "statuscode": 3})
    return order_id


def product_line(product_id: str, quantity, price, **extra) -> dict:
    return {
        "productid@odata.bind": f"/products({product_id})",
        "quantity": str(quantity),
        "priceperunit": str(price),
        "ispriceoverridden": True,
        **extra,
    }


def take_over(crm_ids: list[str] | None = None) -> SyncJob:
    job = order_services.order_intake_job_create(crm_ids=crm_ids, enqueue=False)
    return jobs.job_run(job_id=job.pk)


def send_progress() -> SyncJob:
    job = order_services.order_progress_job_create(enqueue=False)
    return jobs.job_run(job_id=job.pk)


def crm_order(sandbox, order_id: str) -> dict:
    return support.crm_row(
        sandbox,
        "salesorders",
        order_id,
        [
            "statecode",
            "statuscode",
            "lastbackofficesubmit",
            "nav_erpordernumber",
            "nav_processingstatus",
            "ordernumber",
        ],
    )

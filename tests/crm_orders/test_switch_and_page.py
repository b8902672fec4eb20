"""Turning sales order integration on and off (the setup's switch, enabling the connection), and the
"Dynamics 365 sales orders" page."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from setup_wizard import services as setup_services
from syncjobs.connection import services as sync_services
from syncjobs.models import CrmConnection, SyncJob
from tests import factories
from tests.crm_orders import order_support as orders
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import integration_user_id


def _organization(sandbox) -> dict:
    return support.crm_rows(sandbox, "organizations", select=["issopintegrationenabled"])[0]


def _save_features(connection, enabled: bool, user=None):
    return setup_services.connection_features_save(
        connection=connection,
        sales_order_integration_enabled=enabled,
        sales_order_processing_user=user,
        synchronization_interval_minutes=30,
    )


def test_the_setups_switch_turns_on_sales_order_processing_in_dynamics_365(connected):
    connection = CrmConnection.objects.get()
    assert _organization(connected)["issopintegrationenabled"] is False

    _save_features(connection, True, orders.processing_user())

    assert _organization(connected)["issopintegrationenabled"] is True
    user = support.crm_row(connected, "systemusers", integration_user_id(connected), ["isintegrationuser"])
    assert user["isintegrationuser"] is True
    assert CrmConnection.objects.get().sales_order_integration_enabled


def test_switched_on_before_the_connection_is_enabled_it_is_turned_on_when_it_is(connected):
    support.couple_local_currency(connected)
    connection = CrmConnection.objects.get()
    connection.is_enabled = False
    connection.save()
    _save_features(connection, True, orders.processing_user())
    assert _organization(connected)["issopintegrationenabled"] is False

    sync_services.connection_enable(connection=CrmConnection.objects.get())

    assert _organization(connected)["issopintegrationenabled"] is True


def test_turning_it_off_is_refused_while_dynamics_365_holds_submitted_orders(connected):
    world = orders.build_world(connected)
    orders.submit_order(connected, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 1, 40)])
    connection = CrmConnection.objects.get()

    with pytest.raises(ValidationError) as refused:
        _save_features(connection, False)

    assert "You cannot turn off sales order integration while Dynamics 365 holds submitted orders" in str(refused.value)
    assert CrmConnection.objects.get().sales_order_integration_enabled
    assert _organization(connected)["issopintegrationenabled"] is True


def test_turning_it_off_with_no_submitted_order_turns_processing_off(connected):
    orders.build_world(connected)

    _save_features(CrmConnection.objects.get(), False)

    assert _organization(connected)["issopintegrationenabled"] is False
    assert not CrmConnection.objects.get().sales_order_integration_enabled


@pytest.fixture
def order_desk(client, connected):
    world = orders.build_world(connected)
    user = factories.UserFactory(username="desk")
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="process_crm_orders"))
    client.force_login(user)
    return world


def test_the_page_lists_the_submitted_orders_and_creates_the_chosen_ones_in_the_erp(client, order_desk):
    world = order_desk
    first = orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        name="First",
        lines=[orders.product_line(world.item_product_id, 1, 40)],
    )
    orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        name="Second",
        lines=[orders.product_line(world.item_product_id, 1, 40)],
    )
    url = reverse("crm_orders:submitted_orders")

    page = client.get(url)

    assert page.status_code == 200
    body = page.content.decode()
    assert "First" in body and "Second" in body and "Order Desk Ltd" in body

    response = client.post(url, {"crm_id": [first], "create": ""}, follow=True)

    job = SyncJob.objects.get(kind=SyncJob.Kind.ORDER_INTAKE)
    assert job.parameters == {"crm_ids": [first]}
    assert "1 chosen order will be created in the ERP" in response.content.decode()


def test_the_page_shows_an_orders_last_error_with_the_link_to_fix_it(client, order_desk):
    world = order_desk
    with support.admin_client(world.sandbox) as admin:
        chair = admin.create("products", {"name": "Chair", "productnumber": "P-CHAIR", "producttypecode": 1})
    orders.submit_order(world.sandbox, customer=world.account_id, lines=[orders.product_line(chair, 1, 90)])
    orders.take_over()

    body = client.get(reverse("crm_orders:submitted_orders")).content.decode()

    assert "The product Chair on line 1 is not coupled to an item" in body
    # The link to where it is fixed, for those who may open that page (the uncoupled products).
    assert "Couple products" not in body
    user = factories.UserFactory(username="desk")
    user.user_permissions.add(Permission.objects.get(codename="view_coupling"))
    client.force_login(user)
    assert "Couple products" in client.get(reverse("crm_orders:submitted_orders")).content.decode()


def test_the_page_needs_the_permission(client, connected):
    client.force_login(factories.UserFactory(username="nobody"))
    assert client.get(reverse("crm_orders:submitted_orders")).status_code == 403


def test_automatic_creation_is_saved_from_the_page(client, order_desk):
    client.post(
        reverse("crm_orders:submitted_orders"),
        {"save_automatic": "", "auto_create_sales_orders": "", "sales_order_interval_minutes": "15"},
    )
    connection = CrmConnection.objects.get()
    assert (connection.auto_create_sales_orders, connection.sales_order_interval_minutes) == (False, 15)


def test_values_left_out_on_the_page_are_the_erps_own_in_the_next_orders(client, order_desk):
    from decimal import Decimal

    from erp.models import SalesHeader

    world = order_desk
    world.item.unit_price = Decimal("55.00")
    world.item.save()
    kept_order_fields = ["requested_delivery_date", "your_reference", "work_description", "notes", "freight"]
    response = client.post(
        reverse("crm_orders:submitted_orders"),
        {"save_fields": "", "order_fields": kept_order_fields, "line_fields": ["line_discount", "unit_of_measure"]},
        follow=True,
    )
    assert "The values taken over from Dynamics 365 orders are saved." in response.content.decode()
    assert set(CrmConnection.objects.get().sales_order_fields_left_out) >= {"unit_price", "external_document_no"}
    orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        name="Left out",
        lines=[orders.product_line(world.item_product_id, 2, "39.90")],
    )

    job = orders.take_over()

    assert job.inserted == 1, support.errors(job)
    order = SalesHeader.objects.get()
    assert order.external_document_no == ""  # not taken
    assert order.lines.get().unit_price == Decimal("55.00")  # the ERP's price, not the CRM's 39.90
    page = client.get(reverse("crm_orders:submitted_orders")).content.decode()
    assert 'value="unit_price"' in page and 'value="external_document_no"' in page


def test_the_scheduler_creates_orders_automatically_every_interval_and_not_when_turned_off(connected):
    import datetime

    from django.utils import timezone

    from syncjobs.runs.scheduling import scheduled_sync_dispatch

    orders.build_world(connected)
    assert [job.kind for job in scheduled_sync_dispatch() if job.mapping_id is None] == [SyncJob.Kind.ORDER_INTAKE]
    SyncJob.objects.filter(kind=SyncJob.Kind.ORDER_INTAKE).update(
        status=SyncJob.Status.SUCCESS, finished_at=timezone.now()
    )
    later = timezone.now() + datetime.timedelta(minutes=4)
    assert not [job for job in scheduled_sync_dispatch(now=later) if job.mapping_id is None]  # within 5 minutes
    due = timezone.now() + datetime.timedelta(minutes=5, seconds=1)
    assert [job.kind for job in scheduled_sync_dispatch(now=due) if job.mapping_id is None] == [
        SyncJob.Kind.ORDER_INTAKE
    ]

    SyncJob.objects.filter(kind=SyncJob.Kind.ORDER_INTAKE).update(
        status=SyncJob.Status.SUCCESS, finished_at=timezone.now() - datetime.timedelta(hours=1)
    )
    CrmConnection.objects.update(auto_create_sales_orders=False)
    assert not [job for job in scheduled_sync_dispatch() if job.mapping_id is None]

"""Orders submitted in Dynamics 365 become ERP sales orders (issue 11 §3, one way), against the sandbox."""

import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from coupling import selectors as coupling_selectors
from erp.models import SalesHeader, SalesLine
from syncjobs.models import SyncJob, SyncJobError
from tests import factories
from tests.crm_orders import order_support as orders
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import admin_client


@pytest.fixture
def world(connected):
    return orders.build_world(connected)


def test_a_submitted_order_becomes_an_open_erp_order_with_its_lines_and_dynamics_365_learns_its_number(world):
    write_in = factories.ItemFactory(no="WRITE-IN", description="Written in")
    freight = factories.ItemFactory(no="FREIGHT", description="Freight")
    orders.sales_setup(write_in=write_in, freight=freight)
    order_id = orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        name="Lamps for the office",
        freightamount="12.50",
        requestdeliveryby="2027-01-15T00:00:00Z",
        lines=[
            orders.product_line(world.item_product_id, 3, "39.90", manualdiscountamount="5.00"),
            orders.product_line(world.resource_product_id, 2, "80"),
            {"productdescription": "Gift wrapping", "isproductoverridden": True, "quantity": "1", "priceperunit": "4"},
        ],
    )

    job = orders.take_over()

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert (job.inserted, job.failed) == (1, 0)
    order = SalesHeader.objects.get()
    crm = orders.crm_order(world.sandbox, order_id)
    assert order.sell_to_customer == world.customer
    assert order.status == SalesHeader.Status.OPEN
    assert order.your_reference == crm["ordernumber"]
    assert order.external_document_no == "Lamps for the office"
    assert str(order.requested_delivery_date) == "2027-01-15"
    assert order.created_by == world.user
    lines = list(order.lines.order_by("line_no"))
    assert [(line.type, line.no, line.quantity, line.unit_price) for line in lines] == [
        (SalesLine.Type.ITEM, world.item.no, Decimal("3"), Decimal("39.90")),
        (SalesLine.Type.RESOURCE, world.resource.no, Decimal("2"), Decimal("80.00")),
        (SalesLine.Type.ITEM, "WRITE-IN", Decimal("1"), Decimal("4.00")),
        (SalesLine.Type.ITEM, "FREIGHT", Decimal("1"), Decimal("12.50")),
    ]
    assert lines[0].line_discount_amount == Decimal("5.00")
    assert lines[0].line_amount == Decimal("114.70")
    assert lines[2].description == "Gift wrapping"
    assert coupling_selectors.coupling_for_record(record=order).crm_id == uuid.UUID(order_id)
    assert crm["nav_erpordernumber"] == order.no
    assert crm["lastbackofficesubmit"] is not None
    assert crm["statecode"] == 1  # still submitted: the ERP works on it


def test_a_second_run_never_creates_an_order_twice_even_when_dynamics_365_was_not_told(world):
    order_id = orders.submit_order(
        world.sandbox, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 1, 40)]
    )
    assert orders.take_over().inserted == 1
    # The first run's write-back is lost (as after a crash between the ERP's commit and it).
    from syncjobs.connection import clients

    with clients.crm_client() as client:
        client.update("salesorders", uuid.UUID(order_id), {"lastbackofficesubmit": None, "nav_erpordernumber": None})

    again = orders.take_over()

    assert (again.inserted, again.unchanged, again.failed) == (0, 1, 0)
    assert SalesHeader.objects.count() == 1
    assert orders.crm_order(world.sandbox, order_id)["nav_erpordernumber"] == SalesHeader.objects.get().no


def test_one_bad_order_costs_one_error_row_and_is_created_once_its_product_is_coupled(world):
    with admin_client(world.sandbox) as admin:
        chair_id = admin.create("products", {"name": "Chair", "productnumber": "P-CHAIR", "producttypecode": 1})
    bad = orders.submit_order(world.sandbox, customer=world.account_id, lines=[orders.product_line(chair_id, 1, 90)])
    good = orders.submit_order(
        world.sandbox, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 1, 40)]
    )

    first = orders.take_over()

    assert (first.status, first.inserted, first.failed) == (SyncJob.Status.ERROR, 1, 1)
    error = SyncJobError.objects.get(job=first)
    assert error.crm_id == uuid.UUID(bad)
    assert "The product Chair on line 1 is not coupled to an item" in error.message
    assert error.fix_url.endswith("/uncoupled/") and error.fix_label == "Couple products"
    assert orders.crm_order(world.sandbox, good)["nav_erpordernumber"]
    assert orders.crm_order(world.sandbox, bad)["lastbackofficesubmit"] is None

    support.couple(factories.ItemFactory(description="Chair"), "product", chair_id)
    second = orders.take_over()

    assert (second.status, second.inserted, second.failed) == (SyncJob.Status.SUCCESS, 1, 0)
    assert SalesHeader.objects.count() == 2


def test_an_order_placed_on_a_contact_is_the_order_of_the_contacts_account(world):
    with admin_client(world.sandbox) as admin:
        contact_id = admin.create(
            "contacts",
            {"lastname": "Buyer", "parentcustomerid_account@odata.bind": f"/accounts({world.account_id})"},
        )
    orders.submit_order(
        world.sandbox,
        customer=contact_id,
        customer_set="contacts",
        lines=[orders.product_line(world.item_product_id, 1, 40)],
    )

    job = orders.take_over()

    assert job.inserted == 1, support.errors(job)
    assert SalesHeader.objects.get().sell_to_customer == world.customer


def _lone_contact(sandbox):
    with admin_client(sandbox) as admin:
        return admin.create("contacts", {"lastname": "Loner"})


def _uncoupled_account(sandbox):
    with admin_client(sandbox) as admin:
        return admin.create("accounts", {"name": "Prospect Inc"})


def _misc_product(sandbox):
    with admin_client(sandbox) as admin:
        return admin.create("products", {"name": "Handling fee", "productnumber": "P-FEE", "producttypecode": 2})


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("contact without account", "Buyer Loner, who doesn't belong to an account"),
        ("account not coupled", "There is no customer coupled to the account Prospect Inc"),
        ("write-in without setup", "Line 1 is a write-in product (“Gift wrapping”). Choose the write-in item"),
        ("freight without setup", "freight amount of 9.00. Choose the freight item in the sales setup"),
        ("unsupported product type", "is of the type Miscellaneous Charges, which the ERP cannot take"),
        ("order discount above the lines", "The order's discount 100.00 is more than its lines' amount 40.00"),
    ],
)
def test_each_refusal_says_what_to_fix(world, case, expected):
    lamp = orders.product_line(world.item_product_id, 1, 40)
    customer, customer_set, lines, fields = world.account_id, "accounts", [lamp], {}
    if case == "contact without account":
        customer, customer_set = _lone_contact(world.sandbox), "contacts"
        expected = expected.replace("Buyer ", "")
    elif case == "account not coupled":
        customer = _uncoupled_account(world.sandbox)
    elif case == "write-in without setup":
        lines = [{"productdescription": "Gift wrapping", "isproductoverridden": True, "quantity": "1"}]
    elif case == "freight without setup":
        fields = {"freightamount": "9"}
    elif case == "unsupported product type":
        lines = [orders.product_line(_misc_product(world.sandbox), 1, 5)]
    elif case == "order discount above the lines":
        fields = {"discountamount": "100"}
    orders.submit_order(world.sandbox, customer=customer, customer_set=customer_set, lines=lines, **fields)

    job = orders.take_over()

    assert (job.inserted, job.failed) == (0, 1)
    message = SyncJobError.objects.get(job=job).message
    assert expected in message
    assert not SalesHeader.objects.exists()


def test_terms_ship_to_address_and_description_come_with_the_order(world):
    from django.contrib.contenttypes.models import ContentType

    from coupling.models import OptionCoupling
    from erp.models import PaymentTerms

    net45 = factories.PaymentTermsFactory(code="45 DAYS", due_date_days=45)
    OptionCoupling.objects.create(
        erp_model=ContentType.objects.get_for_model(PaymentTerms),
        erp_system_id=net45.system_id,
        crm_entity="account",
        crm_attribute="paymenttermscode",
        option_value=3,
    )
    orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        paymenttermscode=3,
        shipto_name="Warehouse 2",
        shipto_line1="1 Dock Road",
        shipto_city="Leeds",
        description="Deliver to the back door.",
        lines=[orders.product_line(world.item_product_id, 1, 40)],
        notes=[
            {"subject": "Call first", "notetext": "Ask for Sam."},
            {"filename": "po.pdf", "documentbody": "JVBERi0="},
        ],
    )

    job = orders.take_over()

    assert job.inserted == 1, support.errors(job)
    order = SalesHeader.objects.get()
    assert order.payment_terms == net45
    assert (order.ship_to_name, order.ship_to_address, order.ship_to_city) == ("Warehouse 2", "1 Dock Road", "Leeds")
    assert order.work_description == "Deliver to the back door."
    assert [note.text for note in order.notes.all()] == ["Call first\nAsk for Sam."]  # not the attachment


def test_payment_terms_not_coupled_are_one_clear_error(world):
    orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        paymenttermscode=4,
        lines=[orders.product_line(world.item_product_id, 1, 40)],
    )

    job = orders.take_over()

    assert job.failed == 1
    assert "The order's payment terms “Net 60” are not coupled to any in the ERP" in job.errors.get().message


def test_the_orders_own_discount_is_spread_over_its_lines_so_both_totals_agree(world):
    order_id = orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        discountamount="10",
        discountpercentage="10",
        lines=[
            orders.product_line(world.item_product_id, 3, "39.90", manualdiscountamount="5.00"),
            orders.product_line(world.resource_product_id, 2, "80"),
        ],
    )

    job = orders.take_over()

    assert job.inserted == 1, support.errors(job)
    lines = list(SalesHeader.objects.get().lines.order_by("line_no"))
    assert [line.line_discount_amount for line in lines] == [Decimal("20.65"), Decimal("21.82")]
    crm = support.crm_row(world.sandbox, "salesorders", order_id, ["totalamountlessfreight"])
    assert sum(line.line_amount for line in lines) == Decimal(str(crm["totalamountlessfreight"])) == Decimal("237.23")


def test_crm_sync_orders_creates_the_orders_and_exits_1_when_one_failed(world, capsys):
    orders.submit_order(
        world.sandbox, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 2, 40)]
    )
    orders.submit_order(world.sandbox, customer=_uncoupled_account(world.sandbox), lines=[])

    with pytest.raises(CommandError) as failed:
        call_command("crm_sync", "orders", "--wait")

    assert failed.value.returncode == 1
    out = capsys.readouterr().out
    assert "Sales orders from Dynamics 365" in out
    assert SalesHeader.objects.count() == 1


def test_the_order_jobs_read_in_pages_and_write_back_in_bulk(world):
    for _ in range(5):
        orders.submit_order(
            world.sandbox, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 1, 40)] * 3
        )

    job = orders.take_over()

    assert job.inserted == 5, support.errors(job)
    # The page of orders (lines expanded), the products they name, the write-back: whatever the number of orders.
    assert job.http_requests <= 4


def test_a_name_too_long_for_the_external_document_no_is_shortened_with_a_warning_row(world):
    from syncjobs.models import SyncJobWarning

    long_name = "Lamps, desks and chairs for the new office on the third floor"
    orders.submit_order(
        world.sandbox,
        customer=world.account_id,
        name=long_name,
        lines=[orders.product_line(world.item_product_id, 1, 40)],
    )

    job = orders.take_over()

    order = SalesHeader.objects.get()
    assert order.external_document_no == long_name[:35]
    warning = SyncJobWarning.objects.get(job=job)
    assert (warning.erp_system_id, warning.field) == (order.system_id, "external document no.")
    assert (
        warning.erp_label == f"sales order {order.no}" and "shortened to fit the ERP's 35 characters" in warning.message
    )

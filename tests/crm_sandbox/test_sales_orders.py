"""Sales order processing as Dataverse does it: amounts, states, the integration switch, invoices and posts."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from dataverse import Client, ClientSecretAuth, F
from dataverse.errors import DataverseError, NotFound
from tests.syncjobs.crm_support import admin_client

READ_ONLY_MESSAGE = (
    "This order has been submitted to the back office and can't be changed. "
    "Only an integration user can change a submitted order."
)


# --- Helpers --------------------------------------------------------------------------------------------------


def integration_client(sandbox) -> Client:
    auth = ClientSecretAuth(sandbox.authority, sandbox.client_id, sandbox.client_secret)
    return Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle, max_retries=0)


@pytest.fixture
def admin(sandbox):
    """The organization's administrator: a salesperson's rights, never an integration user."""
    with admin_client(sandbox) as client:
        yield client


@pytest.fixture
def integration(sandbox):
    """The integration's application user (both integration roles), with "Integration user mode" on."""
    with integration_client(sandbox) as client:
        set_integration_user(sandbox, client.whoami().user_id, True)
        yield client


def set_integration_user(sandbox, user_id: str, value: bool) -> None:
    with admin_client(sandbox) as admin:
        admin.update("systemusers", user_id, {"isintegrationuser": value})


def set_sop(admin: Client, enabled: bool) -> None:
    organization = next(iter(admin.query("organizations", select=["name"])))
    admin.update("organizations", organization["organizationid"], {"issopintegrationenabled": enabled})


def new_order(client: Client, **extra) -> str:
    return client.create(
        "salesorders",
        {
            "name": f"Order {uuid.uuid4().hex[:6]}",
            "customerid_account@odata.bind": "/accounts(accountnumber='C0000010')",
            "pricelevelid@odata.bind": "/pricelevels(name='Default Price List')",
            **extra,
        },
    )


def add_line(client: Client, order_id: str, **values) -> str:
    body = {"salesorderid@odata.bind": f"/salesorders({order_id})", **values}
    if "productid@odata.bind" not in body:
        body.setdefault("isproductoverridden", True)
        body.setdefault("productdescription", "Write-in")
    return client.create("salesorderdetails", body)


def order(client: Client, order_id: str) -> dict:
    return client.retrieve("salesorders", order_id)


def submit(client: Client, order_id: str) -> None:
    client.update("salesorders", order_id, {"statecode": 1, "statuscode": 3})


def refused(call) -> DataverseError:
    with pytest.raises(DataverseError) as caught:
        call()
    return caught.value


def assert_read_only(error: DataverseError) -> None:
    assert error.status == 400
    assert error.message == READ_ONLY_MESSAGE
    assert re.fullmatch(r"0x8004[0-9a-f]{4}", error.code)


# --- Columns, amounts and states ------------------------------------------------------------------------------


def test_new_columns_have_dataverse_defaults(sandbox, admin, integration):
    organization = next(iter(admin.query("organizations", select=["issopintegrationenabled"])))
    assert organization["issopintegrationenabled"] is False
    me = admin.retrieve("systemusers", admin.whoami().user_id, select=["isintegrationuser"])
    assert me["isintegrationuser"] is False
    app_user = admin.retrieve("systemusers", integration.whoami().user_id, select=["isintegrationuser"])
    assert app_user["isintegrationuser"] is True


def test_line_and_order_amounts_follow_dataverse_price_calculation(sandbox, admin):
    order_id = new_order(admin, freightamount=10, discountpercentage=10, discountamount=5)
    add_line(admin, order_id, quantity=2, priceperunit=100, manualdiscountamount=20, tax=9)
    add_line(admin, order_id, quantity=4, priceperunit=25, volumediscountamount=5, tax=4)
    lines = list(admin.query("salesorderdetails", filter=F.eq("_salesorderid_value", order_id)))
    by_price = {line["priceperunit"]: line for line in lines}
    assert by_price[100]["baseamount"] == 200 and by_price[100]["extendedamount"] == 189  # 200 - 20 + 9
    assert by_price[25]["baseamount"] == 100 and by_price[25]["extendedamount"] == 84  # 100 - 4×5 + 4
    assert [line["lineitemnumber"] for line in sorted(lines, key=lambda r: r["lineitemnumber"])] == [1, 2]
    totals = order(admin, order_id)
    assert totals["totallineitemamount"] == 260  # 180 + 80, before tax
    assert totals["totallineitemdiscountamount"] == 40  # 20 + 4×5
    assert totals["totaldiscountamount"] == 31  # 5 + 10 % of 260
    assert totals["totalamountlessfreight"] == 229
    assert totals["totaltax"] == 13
    assert totals["totalamount"] == 252  # 229 + 10 freight + 13 tax


def test_list_price_is_looked_up_and_computed_totals_win_over_written_ones(sandbox, admin):
    order_id = new_order(admin)
    add_line(
        admin,
        order_id,
        quantity=3,
        **{"productid@odata.bind": "/products(productnumber='I000090')", "uomid@odata.bind": _base_unit(admin)},
    )
    line = next(iter(admin.query("salesorderdetails", filter=F.eq("_salesorderid_value", order_id))))
    assert line["priceperunit"] == 49.87 and line["extendedamount"] == pytest.approx(149.61)
    assert line["salesorderdetailname"] == "ATHENS Desk Lamp, birch"
    admin.update("salesorders", order_id, {"totalamount": 1, "totaltax": 1, "totallineitemamount": 1})
    assert order(admin, order_id)["totalamount"] == pytest.approx(149.61)
    assert order(admin, order_id)["totaltax"] == 0


def _base_unit(client: Client) -> str:
    unit = next(iter(client.query("uoms", select=["name"], filter=F.eq("name", "Primary Unit"))))
    return f"/uoms({unit['uomid']})"


def test_order_states_and_status_reasons_must_match(sandbox, admin):
    order_id = new_order(admin)
    for state, status in ((0, 3), (1, 1), (2, 100001), (3, 4), (4, 100001)):
        error = refused(
            lambda s=state, r=status: admin.update("salesorders", order_id, {"statecode": s, "statuscode": r})
        )
        assert error.status == 400 and error.code == "0x8004431a", (state, status)
    admin.update("salesorders", order_id, {"statecode": 0, "statuscode": 2})
    assert (order(admin, order_id)["statecode"], order(admin, order_id)["statuscode"]) == (0, 2)
    submit(admin, order_id)
    assert (order(admin, order_id)["statecode"], order(admin, order_id)["statuscode"]) == (1, 3)


def test_new_order_columns_are_written_and_read(sandbox, admin):
    order_id = new_order(
        admin,
        billto_name="Litware",
        billto_line1="1 Main St",
        billto_city="San Francisco",
        billto_postalcode="94105",
        billto_country="US",
        shipto_name="Litware dock",
        shippingmethodcode=4,
        freighttermscode=1,
        submitdate="2026-01-02T03:04:05Z",
        lastbackofficesubmit="2026-01-03T00:00:00Z",
    )
    row = order(admin, order_id)
    assert row["billto_city"] == "San Francisco" and row["shipto_name"] == "Litware dock"
    assert (row["shippingmethodcode"], row["freighttermscode"]) == (4, 1)
    assert row["lastbackofficesubmit"] == "2026-01-03T00:00:00Z"
    error = refused(lambda: admin.update("salesorders", order_id, {"freighttermscode": 3}))
    assert error.status == 400
    line_id = add_line(admin, order_id, quantity=5, priceperunit=1, quantityshipped=2, sequencenumber=7)
    line = admin.retrieve("salesorderdetails", line_id)
    assert (line["quantityshipped"], line["sequencenumber"], line["producttypecode"]) == (2, 7, 1)


# --- Sales order processing integration ------------------------------------------------------------------------


def test_without_the_switch_a_submitted_order_stays_writable(sandbox, admin):
    order_id = new_order(admin)
    line_id = add_line(admin, order_id, quantity=1, priceperunit=10)
    submit(admin, order_id)
    admin.update("salesorders", order_id, {"description": "changed"})
    admin.update("salesorderdetails", line_id, {"quantity": 2})
    assert order(admin, order_id)["totalamount"] == 20


def test_a_submitted_order_is_read_only_to_a_salesperson(sandbox, admin, integration):
    set_sop(admin, True)
    order_id = new_order(admin)
    line_id = add_line(admin, order_id, quantity=1, priceperunit=10)
    submit(admin, order_id)  # an Active order may be submitted by anyone

    assert_read_only(refused(lambda: admin.update("salesorders", order_id, {"description": "x"})))
    assert_read_only(refused(lambda: admin.set_state("salesorders", order_id, 0, 1)))
    assert_read_only(refused(lambda: add_line(admin, order_id, quantity=1, priceperunit=1)))
    assert_read_only(refused(lambda: admin.update("salesorderdetails", line_id, {"quantity": 5})))
    assert_read_only(refused(lambda: admin.delete("salesorderdetails", line_id)))
    assert admin.retrieve("salesorderdetails", line_id)["quantity"] == 1

    # The integration user may change it, and take it back to Active for the salesperson.
    integration.update("salesorders", order_id, {"description": "from the ERP"})
    integration.update("salesorderdetails", line_id, {"quantityshipped": 1})
    integration.set_state("salesorders", order_id, 0, 1)
    admin.update("salesorders", order_id, {"description": "editable again"})


def test_an_integration_user_writes_prices_and_totals_itself(sandbox, admin, integration):
    set_sop(admin, True)
    order_id = new_order(admin, freightamount=5)
    line_id = add_line(admin, order_id, quantity=2, priceperunit=10)
    submit(admin, order_id)
    assert order(admin, order_id)["totalamount"] == 25

    integration.update(
        "salesorderdetails",
        line_id,
        {"priceperunit": 12, "baseamount": 24, "tax": 4.8, "extendedamount": 28.8, "quantity": 2},
    )
    line = admin.retrieve("salesorderdetails", line_id)
    assert (line["priceperunit"], line["baseamount"], line["extendedamount"], line["tax"]) == (12, 24, 28.8, 4.8)
    assert order(admin, order_id)["totalamount"] == 25  # no recomputation for a submitted order
    integration.update(
        "salesorders",
        order_id,
        {
            "totalamount": 33.8,
            "totallineitemamount": 24,
            "totalamountlessfreight": 24,
            "totaltax": 4.8,
            "discountamount": 0,
        },
    )
    totals = order(admin, order_id)
    assert (totals["totalamount"], totals["totallineitemamount"], totals["totaltax"]) == (33.8, 24, 4.8)

    # An integration user's line on an Active order: no list price looked up either.
    active_id = new_order(admin)
    new_line = add_line(
        integration,
        active_id,
        quantity=1,
        baseamount=7,
        extendedamount=7,
        **{"productid@odata.bind": "/products(productnumber='I000090')", "uomid@odata.bind": _base_unit(admin)},
    )
    line = admin.retrieve("salesorderdetails", new_line)
    assert line["priceperunit"] is None and line["extendedamount"] == 7
    assert order(admin, active_id)["totalamount"] == 0


def test_without_the_switch_integration_users_get_computed_amounts(sandbox, admin, integration):
    order_id = new_order(admin)
    line_id = add_line(integration, order_id, quantity=2, priceperunit=10, extendedamount=999)
    assert admin.retrieve("salesorderdetails", line_id)["extendedamount"] == 20
    integration.update("salesorders", order_id, {"totalamount": 1})
    assert order(admin, order_id)["totalamount"] == 20


# --- FulfillSalesOrder and CancelSalesOrder ---------------------------------------------------------------------


def close_body(order_id: str, status: int) -> dict:
    return {
        "OrderClose": {
            "@odata.type": "Microsoft.Dynamics.CRM.orderclose",
            "salesorderid@odata.bind": f"/salesorders({order_id})",
            "subject": "Shipped by the ERP",
        },
        "Status": status,
    }


def test_fulfill_sales_order(sandbox, admin, integration):
    order_id = new_order(admin)
    submit(admin, order_id)
    assert integration.action("FulfillSalesOrder", close_body(order_id, 100002)) is None
    row = order(admin, order_id)
    assert (row["statecode"], row["statuscode"]) == (3, 100002)

    error = refused(lambda: integration.action("FulfillSalesOrder", close_body(order_id, 100001)))
    assert error.status == 400  # already fulfilled
    other = new_order(admin)
    assert refused(lambda: integration.action("FulfillSalesOrder", close_body(other, 3))).status == 400
    with pytest.raises(NotFound):
        integration.action("FulfillSalesOrder", close_body(str(uuid.uuid4()), 100001))


def test_fulfill_and_cancel_refuse_closed_orders_and_follow_the_read_only_rule(sandbox, admin, integration):
    canceled = new_order(admin)
    admin.action("CancelSalesOrder", close_body(canceled, -1))
    assert (order(admin, canceled)["statecode"], order(admin, canceled)["statuscode"]) == (2, 4)
    assert refused(lambda: admin.action("FulfillSalesOrder", close_body(canceled, 100001))).status == 400
    invoiced = new_order(admin)
    admin.set_state("salesorders", invoiced, 4, 100003)
    assert refused(lambda: admin.action("FulfillSalesOrder", close_body(invoiced, 100001))).status == 400
    assert refused(lambda: admin.action("CancelSalesOrder", close_body(invoiced, 4))).status == 400

    set_sop(admin, True)
    submitted = new_order(admin)
    submit(admin, submitted)
    assert_read_only(refused(lambda: admin.action("FulfillSalesOrder", close_body(submitted, 100001))))
    integration.action("FulfillSalesOrder", close_body(submitted, 100001))
    assert order(admin, submitted)["statecode"] == 3


# --- Invoices and posts ---------------------------------------------------------------------------------------


def test_invoice_with_lines_computes_totals_and_links_its_order(sandbox, admin):
    order_id = new_order(admin)
    invoice = admin.create(
        "invoices",
        {
            "name": "Invoice for the order",
            "customerid_account@odata.bind": "/accounts(accountnumber='C0000010')",
            "salesorderid@odata.bind": f"/salesorders({order_id})",
            "pricelevelid@odata.bind": "/pricelevels(name='Default Price List')",
            "freightamount": 3,
        },
        return_representation=True,
    )
    assert re.fullmatch(r"INV-\d{5}-[0-9A-F]{6}", invoice["invoicenumber"])
    assert (invoice["statecode"], invoice["statuscode"]) == (0, 1)
    invoice_id = invoice["invoiceid"]
    line_id = admin.create(
        "invoicedetails",
        {
            "invoiceid@odata.bind": f"/invoices({invoice_id})",
            "productid@odata.bind": "/products(productnumber='I000090')",
            "uomid@odata.bind": _base_unit(admin),
            "quantity": 2,
            "tax": 1,
        },
    )
    line = admin.retrieve("invoicedetails", line_id)
    assert line["invoicedetailname"] == "ATHENS Desk Lamp, birch" and line["lineitemnumber"] == 1
    assert line["extendedamount"] == pytest.approx(100.74)
    assert admin.retrieve("invoices", invoice_id)["totalamount"] == pytest.approx(103.74)
    by_number = admin.retrieve("invoices", {"invoicenumber": invoice["invoicenumber"]}, select=["name"])
    assert by_number["invoiceid"] == invoice_id
    linked = admin.retrieve(
        "salesorders", order_id, select=["name"], expand={"order_invoices": {"select": ["invoicenumber"]}}
    )
    assert [row["invoicenumber"] for row in linked["order_invoices"]] == [invoice["invoicenumber"]]
    admin.set_state("invoices", invoice_id, 2, 100002)
    assert refused(lambda: admin.set_state("invoices", invoice_id, 3, 100001)).status == 400
    admin.create(
        "annotations",
        {"subject": "Note", "objectid_invoice@odata.bind": f"/invoices({invoice_id})"},
    )
    admin.delete("invoices", invoice_id)
    with pytest.raises(NotFound):
        admin.retrieve("invoicedetails", line_id)
    assert not list(admin.query("annotations", filter=F.eq("_objectid_value", invoice_id)))


def test_posts_are_immutable_and_go_with_their_record(sandbox, admin):
    order_id = new_order(admin)
    post = admin.create(
        "posts",
        {
            "text": "The order status has changed to Released.",
            "regardingobjectid_salesorder@odata.bind": f"/salesorders({order_id})",
        },
        return_representation=True,
    )
    assert (post["source"], post["type"]) == (2, 7)
    assert post["_regardingobjectid_value"] == order_id
    error = refused(lambda: admin.update("posts", post["postid"], {"text": "changed"}))
    assert error.status == 400
    assert refused(lambda: admin.create("posts", {"text": "no regarding"})).status == 400
    auto = admin.create(
        "posts",
        {
            "text": "auto",
            "source": 1,
            "type": 3,
            "regardingobjectid_account@odata.bind": "/accounts(accountnumber='C0000010')",
        },
    )
    admin.delete("posts", auto)
    admin.delete("salesorders", order_id)
    with pytest.raises(NotFound):
        admin.retrieve("posts", post["postid"])


# --- Seed and the sandbox's order page ---------------------------------------------------------------------------


def test_seed_has_active_orders_of_erp_items(sandbox, admin):
    active = list(admin.query("salesorders", select=["ordernumber"], filter=F.eq("statecode", 0)))
    assert len(active) >= 2
    for row in active:
        lines = list(
            admin.query(
                "salesorderdetails",
                filter=F.eq("_salesorderid_value", row["salesorderid"]),
                expand={"productid": {"select": ["productnumber"]}},
            )
        )
        assert lines and all(line["productid"]["productnumber"].startswith("I0000") for line in lines)
    submitted = list(admin.query("salesorders", select=["ordernumber"], filter=F.eq("statecode", 1)))
    assert len(submitted) >= 3


def page(sandbox, path: str, method: str = "get") -> requests.Response:
    session = sandbox.session()
    with session:
        return getattr(session, method)(f"{sandbox.url.rstrip('/')}{path}", allow_redirects=True, timeout=30)


def test_order_page_shows_the_order_and_submits_it_as_a_salesperson(sandbox, admin, integration):
    set_sop(admin, True)
    order_id = new_order(admin, freightamount=4)
    add_line(admin, order_id, quantity=3, priceperunit=10, quantityshipped=1, productdescription="Assembly")
    invoice_id = admin.create(
        "invoices",
        {
            "name": "First invoice",
            "customerid_account@odata.bind": "/accounts(accountnumber='C0000010')",
            "salesorderid@odata.bind": f"/salesorders({order_id})",
        },
    )
    for text in ("older post", "newer post"):
        admin.create("posts", {"text": text, "regardingobjectid_salesorder@odata.bind": f"/salesorders({order_id})"})
    admin.create(
        "annotations",
        {
            "subject": "Call",
            "notetext": "customer called",
            "objectid_salesorder@odata.bind": f"/salesorders({order_id})",
        },
    )

    html = page(sandbox, f"/sets/salesorders/{order_id}/").text
    assert "Litware Trading" in html and "Assembly" in html and "customer called" in html
    assert "Active · New" in html and 'id="submit-order"' in html
    assert f"/sets/invoices/{invoice_id}/" in html
    assert html.index("newer post") < html.index("older post")
    assert "34.00" in html  # 30 + 4 freight

    submitted = page(sandbox, f"/sets/salesorders/{order_id}/submit/", method="post")
    assert submitted.status_code == 200
    assert "Submitted · In Progress" in submitted.text and 'id="submit-order"' not in submitted.text
    row = order(admin, order_id)
    assert (row["statecode"], row["statuscode"]) == (1, 3) and row["submitdate"]
    assert row["_modifiedby_value"] == admin.whoami().user_id  # a salesperson, not the integration
    assert_read_only(refused(lambda: admin.update("salesorders", order_id, {"description": "x"})))

    invoice_page = page(sandbox, f"/sets/invoices/{invoice_id}/").text
    assert "First invoice" in invoice_page and "No lines." in invoice_page

"""crm_verify compares the orders from Dynamics 365 and their lines with the ERP's (issue 11 §4)."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from erp import services as erp_services
from erp.models import SalesHeader
from tests.crm_orders import order_support as orders


@pytest.fixture
def world(connected):
    return orders.build_world(connected)


def _verify(*names):
    try:
        call_command("crm_verify", *names, "--json")
    except CommandError as error:
        return error.returncode


def test_taken_over_orders_agree_then_an_erp_edit_of_a_line_is_a_difference(world, capsys):
    orders.submit_order(
        world.sandbox, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 2, "40.00")]
    )
    orders.take_over()
    order = SalesHeader.objects.get()
    erp_services.sales_order_release(order=order)
    orders.send_progress()

    assert _verify("SALES ORDERS") is None
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["ok"] and report["mappings"][0]["counts"]["same"] == 1

    erp_services.sales_order_reopen(order=order)
    line = order.lines.get()
    line.quantity = Decimal("3")
    erp_services.sales_line_save(line=line)

    assert _verify("SALES ORDERS") == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    fields = [item["field"] for item in report["mappings"][0]["differences"]]
    assert fields == ["lines"]


def test_submitted_orders_not_taken_over_are_listed_as_expected(world, capsys):
    orders.submit_order(
        world.sandbox, customer=world.account_id, lines=[orders.product_line(world.item_product_id, 1, 40)]
    )

    assert _verify() is None  # every mapping, and the orders since the integration is on
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    sales_orders = [m for m in report["mappings"] if m["mapping"] == "SALES ORDERS"][0]
    assert sales_orders["counts"]["uncoupled_crm"] == 1 and sales_orders["uncoupled_crm_expected"]

"""`manage.py crm_verify`: pairs compared field by field, uncoupled records, dangling couplings, rows coupled twice."""

import io
import json
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command

from coupling.models import Coupling
from erp.models import Customer
from syncjobs.models import IntegrationFieldMapping
from tests import factories
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import admin_client, prepare_integration

COLUMNS = [
    "mapping",
    "checked",
    "same",
    "differing",
    "shortened",
    "uncoupled_erp",
    "uncoupled_crm",
    "dangling",
    "coupled_twice",
]


def _seeded_rows_outside_the_filters(sandbox) -> None:
    # The seeded accounts are customers and products sales items; these tests count rows, so only
    # their own are in the mappings' filters.
    prepare_integration(sandbox)
    with admin_client(sandbox) as admin:
        for account in list(admin.query("accounts", select=["accountid"])):
            admin.update("accounts", account["accountid"], {"customertypecode": None})
        for product in list(admin.query("products", select=["productid"])):
            admin.update("products", product["productid"], {"producttypecode": None})


@pytest.fixture
def sandbox(sandbox_states):
    """A new organization per test, ready for the integration, whose seeded rows are outside the mappings' filters:
    a full run brings in every account of the filter, and the checks see all rows."""
    return sandbox_states.organization("verify", _seeded_rows_outside_the_filters)


def create_account(sandbox, name: str) -> str:
    """An account a user creates in Dynamics 365, within the CUSTOMER mapping's CRM filter."""
    with admin_client(sandbox) as admin:
        return admin.create("accounts", {"name": name, "customertypecode": 3})


@pytest.fixture
def synced(connected):
    """Two customers created in the CRM by a full CUSTOMER run; both sides in sync."""
    support.couple_local_currency(connected)
    salesperson = support.couple_john_roberts(connected)
    customers = [
        factories.CustomerFactory(name="Verify One Ltd", city="Springfield", salesperson=salesperson),
        # No salesperson: the account's owner (a field never written empty) is not a difference.
        factories.CustomerFactory(name="Verify Two Ltd", city="Shelbyville"),
    ]
    job = support.run("CUSTOMER", "both", full=True)
    assert job.status == "success", support.errors(job)
    return customers


def crm_verify(*args) -> tuple[int, str]:
    """(exit status, standard output)."""
    out = io.StringIO()
    try:
        call_command("crm_verify", *args, stdout=out)
    except CommandError as error:
        if error.returncode != 1:
            raise
        return 1, out.getvalue()
    return 0, out.getvalue()


def summary(output: str) -> dict[str, str]:
    header, row = output.splitlines()[:2]
    assert header.split() == COLUMNS
    return dict(zip(COLUMNS, row.split(), strict=True))


def test_after_a_full_sync_both_sides_agree(synced):
    status, output = crm_verify("customer")

    assert status == 0, output
    assert summary(output) == {
        "mapping": "CUSTOMER",
        "checked": "2",
        "same": "2",
        "differing": "0",
        "shortened": "0",
        "uncoupled_erp": "0",
        "uncoupled_crm": "0",
        "dangling": "0",
        "coupled_twice": "0",
    }
    assert output.rstrip().endswith("Both sides agree.")


def test_a_field_changed_in_the_crm_is_a_difference_naming_the_field_and_both_values(connected, synced):
    coupling = support.coupling_of(synced[0])
    support.crm_update(connected, "accounts", coupling.crm_id, {"address1_city": "Capital City"})

    status, output = crm_verify("CUSTOMER")

    assert status == 1
    assert (summary(output)["checked"], summary(output)["same"], summary(output)["differing"]) == ("2", "1", "1")
    assert (
        f'  {synced[0]} ↔ account {coupling.crm_id}: address1_city: ERP city = "Springfield", '
        'Dynamics 365 address1_city = "Capital City"'
    ) in output.splitlines()


def test_values_the_engine_cannot_compute_are_a_difference(synced):
    helen = factories.SalespersonFactory(code="HR", name="Helen Ray")
    Customer.objects.filter(pk=synced[1].pk).update(salesperson=helen)

    status, output = crm_verify("CUSTOMER")

    assert status == 1
    assert summary(output)["differing"] == "1"
    coupling = support.coupling_of(synced[1])
    assert (
        f"  {synced[1]} ↔ account {coupling.crm_id}: The ERP values cannot be computed: "
        "Salesperson HR Helen Ray must be coupled to a Dynamics 365 user."
    ) in output.splitlines()


def test_pairs_outside_both_filters_are_not_compared(connected, synced):
    """The engine keeps a pair equal while the ERP record is in the ERP filter or the CRM row in the CRM filter."""
    coupling = support.coupling_of(synced[0])
    Customer.objects.filter(pk=synced[0].pk).update(blocked=Customer.Blocked.ALL)
    support.crm_update(connected, "accounts", coupling.crm_id, {"address1_city": "Capital City"})
    assert crm_verify("CUSTOMER")[0] == 1  # the CRM row is still in the CRM filter

    support.crm_update(connected, "accounts", coupling.crm_id, {"customertypecode": 1})
    status, output = crm_verify("CUSTOMER")

    assert status == 0, output
    assert (summary(output)["checked"], summary(output)["same"]) == ("1", "1")
    assert "CUSTOMER: 1 coupled pair outside both filters was not compared." in output.splitlines()


def test_one_way_fields_and_constants_must_be_equal_too(connected, synced):
    """creditlimit only goes to the CRM; a constant sent to the CRM compares with the constant."""
    customer_mapping = support.mapping("CUSTOMER")
    IntegrationFieldMapping.objects.create(
        table_mapping=customer_mapping,
        name="customertypecode",
        position=99,
        crm_attribute="customertypecode",
        constant_value="3",
        direction="to_crm",
    )
    assert support.run("CUSTOMER", "to_crm", full=True).status == "success"
    assert crm_verify("CUSTOMER")[0] == 0
    coupling = support.coupling_of(synced[0])
    support.crm_update(connected, "accounts", coupling.crm_id, {"creditlimit": 1, "customertypecode": 1})

    status, output = crm_verify("CUSTOMER", "--json")

    assert status == 1
    report = json.loads(output.splitlines()[-1])
    found = {(d["field"], d["erp_value"], d["crm_value"], d["constant"]) for d in report["mappings"][0]["differences"]}
    assert found == {("creditlimit", "10000", "1", None), ("customertypecode", "3", "1", "3")}


def test_uncoupled_erp_customer_and_crm_account_are_listed(connected, synced):
    lonely = factories.CustomerFactory(name="Only In The ERP")
    account_id = create_account(connected, "Only In Dynamics")

    status, output = crm_verify("CUSTOMER")

    # "Synchronize only coupled records" is on: the mapping's runs leave them alone.
    assert status == 0
    assert (summary(output)["uncoupled_erp"], summary(output)["uncoupled_crm"]) == ("1", "1")
    lines = output.splitlines()
    assert lines[
        lines.index("CUSTOMER: 1 uncoupled ERP record (expected: synchronize only coupled records is on)") + 1
    ] == (f"  {lonely}")
    assert f'  account {account_id} "Only In Dynamics"' in lines

    support.mapping("CUSTOMER", sync_only_coupled=False)
    status, output = crm_verify("CUSTOMER")
    assert status == 1
    assert "CUSTOMER: 1 uncoupled ERP record\n" in output
    assert "CUSTOMER: 1 uncoupled Dynamics 365 row\n" in output


def test_a_side_deleted_leaves_a_dangling_coupling(connected, synced):
    gone_in_crm, gone_in_erp = synced
    crm_coupling = support.coupling_of(gone_in_crm)
    erp_coupling = support.coupling_of(gone_in_erp)
    support.crm_delete(connected, "accounts", crm_coupling.crm_id)
    Customer.objects.filter(pk=gone_in_erp.pk).delete()
    both_gone = Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(Customer),
        erp_system_id=uuid.uuid4(),
        crm_entity="account",
        crm_id=uuid.uuid4(),
    )
    waiting = factories.CustomerFactory(name="Create Pending")
    pending = support.couple(waiting, "account", uuid.uuid4())
    Coupling.objects.filter(pk=pending.pk).update(state=Coupling.State.CREATING)

    status, output = crm_verify("CUSTOMER")

    assert status == 1
    assert summary(output)["dangling"] == "4"
    lines = output.splitlines()
    assert f"  {gone_in_crm} ↔ account {crm_coupling.crm_id}: The Dynamics 365 account no longer exists." in lines
    assert f"  customer (deleted) ↔ account {erp_coupling.crm_id}: The customer no longer exists." in lines
    assert (
        f"  customer (deleted) ↔ account {both_gone.crm_id}: "
        "Both the customer and the Dynamics 365 account no longer exist."
    ) in lines
    assert (
        f"  {waiting} ↔ account {pending.crm_id}: "
        "The Dynamics 365 account was never created: its create is pending (the next run sends it)."
    ) in lines


def test_a_crm_row_with_two_couplings_is_coupled_twice(connected, synced):
    """The coupling table is unique per (entity, id): only the entity spelled another way couples a row twice."""
    coupling = support.coupling_of(synced[0])
    other = factories.CustomerFactory(name="Second Claimant")
    Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(Customer),
        erp_system_id=other.system_id,
        crm_entity="Account",
        crm_id=coupling.crm_id,
    )

    status, output = crm_verify("CUSTOMER", "--json")

    assert status == 1
    mapping_report = json.loads(output.splitlines()[-1])["mappings"][0]
    assert mapping_report["counts"]["coupled_twice"] == 1
    [twice] = mapping_report["coupled_twice"]
    assert twice["crm_id"] == str(coupling.crm_id)
    assert str(synced[0]) in twice["message"] and str(other) in twice["message"]


def test_a_crm_row_in_the_filter_of_one_mapping_coupled_through_another_is_coupled_twice(connected):
    """ITEM-PRODUCT and RESOURCE-PRODUCT share the product entity: a resource's product in the items' filter."""
    product = support.crm_rows(connected, "products", select=["name"])[0]
    support.crm_update(connected, "products", product["productid"], {"producttypecode": 1})
    support.couple(factories.ResourceFactory(), "product", product["productid"])

    status, output = crm_verify("ITEM-PRODUCT")

    assert status == 1
    assert (summary(output)["uncoupled_crm"], summary(output)["coupled_twice"]) == ("0", "1")
    assert (
        f'  product {product["productid"]} "{product["name"]}": It is in the CRM filter of ITEM-PRODUCT but coupled '
        "through RESOURCE-PRODUCT: two mappings claim it."
    ) in output.splitlines()


def test_json_lists_every_enabled_record_mapping_and_caps_each_kind(connected, synced):
    for customer in synced:
        support.crm_update(connected, "accounts", support.coupling_of(customer).crm_id, {"telephone1": "changed"})

    status, output = crm_verify("--json", "--limit", "1")

    assert status == 1
    report = json.loads(output.splitlines()[-1])
    assert report["ok"] is False
    assert [m["mapping"] for m in report["mappings"]] == [
        "SALESPEOPLE", "CURRENCY", "UNIT OF MEASURE", "CUSTOMER", "CONTACT", "ITEM-PRODUCT", "RESOURCE-PRODUCT",
        "CUSTPRCGRP-PRICE", "SALESPRC-PRODPRICE",
    ]  # fmt: skip
    customer = report["mappings"][3]
    assert (customer["counts"]["differing"], len(customer["differences"]), customer["more"]["differences"]) == (2, 1, 1)

    status, output = crm_verify("CUSTOMER", "--limit", "1")
    assert "  …and 1 more" in output.splitlines()


def test_unknown_mapping_is_an_error_naming_the_known_ones(db):
    with pytest.raises(CommandError, match=r"No mapping named NOPE\. The mappings are: SALESPEOPLE, .*CUSTOMER"):
        call_command("crm_verify", "CUSTOMER", "NOPE")
    with pytest.raises(CommandError, match="PAYMENT TERMS couples ERP codes to option values"):
        call_command("crm_verify", "payment terms")
    with pytest.raises(CommandError, match="--limit must be 0 or more"):
        call_command("crm_verify", "--limit", "-1")

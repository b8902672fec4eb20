"""Records that come from Dynamics 365: their ERP-only values go back, and rows another table owns stay put."""

import uuid

import pytest

from coupling.models import Coupling
from erp.models import Customer, Item
from syncjobs.models import SyncJob
from tests import factories
from tests.syncjobs import engine_support as support


@pytest.fixture
def connected(connected):
    support.couple_local_currency(connected)
    return connected


def test_a_customer_created_from_an_account_sends_its_erp_only_values_in_the_same_job(connected):
    factories.NoSeriesFactory(code="CUST", prefix="C")
    with support.admin_client(connected) as admin:
        account_id = admin.create("accounts", {"name": "Born In CRM Ltd", "customertypecode": 3})

    first = support.run("CUSTOMER", "both", full=True)

    assert first.status == SyncJob.Status.SUCCESS, support.errors(first)
    customer = Customer.objects.get(name="Born In CRM Ltd")
    assert support.coupling_of(customer).crm_id == uuid.UUID(str(account_id))
    # The credit limit goes only to Dynamics 365 and the account never had one: the job sends it before it
    # ends (crm_verify finds both sides equal right after the job).
    row = support.crm_row(connected, "accounts", account_id, ["creditlimit"])
    assert row["creditlimit"] is not None
    assert float(row["creditlimit"]) == float(customer.credit_limit_lcy)
    second = support.run("CUSTOMER", "both", full=True)
    assert second.modified == 0, support.errors(second)


def test_a_product_coupled_to_a_resource_is_not_created_as_an_item(connected):
    with support.admin_client(connected) as admin:
        product_id = admin.create(
            "products",
            {"name": "Installation hour", "productnumber": "R-INSTALL", "producttypecode": 1},
        )
    resource = factories.ResourceFactory(name="Installation hour")
    support.couple(resource, "product", product_id)

    job = support.run("ITEM-PRODUCT", "from_crm", full=True, parameters={})

    assert job.status != SyncJob.Status.FAILED, support.errors(job)
    assert not Item.objects.filter(description="Installation hour").exists()
    messages = [m for m in support.errors(job) if str(product_id) in m]
    assert messages and "coupled to resource" in messages[0] and "ITEM-PRODUCT" in messages[0], support.errors(job)
    assert Coupling.objects.filter(crm_entity="product", crm_id=product_id).count() == 1

""" "Changed on both sides" (asked before Synchronize now) tells a real two-sided change from the engine's own write.

The repro: the CRM's modified-on time was not stored when the engine itself created or updated the row, so a
real two-sided change of a row the engine had created was not asked about, and an ERP-only change after the
engine had updated the row was.
"""

import pytest
from django.test import Client
from django.urls import reverse

from erp.models import Customer
from syncjobs.connection import clients
from syncjobs.engine import crm_queries
from syncjobs.models import SyncJob
from tests import factories
from tests.syncjobs import engine_support as support


@pytest.fixture
def created_by_the_engine(connected):
    """A customer whose account the engine created (to Dynamics 365 only)."""
    support.couple_local_currency(connected)
    customer = factories.CustomerFactory(name="Both Sides Ltd", city="Springfield", salesperson=None)
    job = support.run("CUSTOMER", "to_crm", full=True)
    assert job.status == SyncJob.Status.SUCCESS and job.inserted == 1, support.errors(job)
    return customer


def changed_on_both_sides(customer) -> list:
    with clients.crm_client() as client:
        return crm_queries.changed_on_both_sides(
            client=client, mapping=support.mapping("CUSTOMER"), records=[Customer.objects.get(pk=customer.pk)]
        )


def edit_in_the_erp(customer, city: str) -> None:
    customer = Customer.objects.get(pk=customer.pk)
    customer.city = city
    customer.save()


def test_a_row_the_engine_created_then_changed_on_both_sides_is_asked_about(connected, created_by_the_engine):
    connected.advance_clock(1)  # a user's edit a second later (Dataverse answers modifiedon in whole seconds)
    support.crm_update(connected, "accounts", support.coupling_of(created_by_the_engine).crm_id, {"telephone1": "1"})
    edit_in_the_erp(created_by_the_engine, "Shelbyville")

    assert changed_on_both_sides(created_by_the_engine) == [created_by_the_engine]


def test_a_change_in_the_erp_only_after_the_engine_updated_the_row_is_not(connected, created_by_the_engine):
    edit_in_the_erp(created_by_the_engine, "Capital City")
    sent = support.run("CUSTOMER", "to_crm", parameters={"erp_system_ids": [str(created_by_the_engine.system_id)]})
    assert sent.modified == 1, support.errors(sent)
    edit_in_the_erp(created_by_the_engine, "Ogdenville")

    assert changed_on_both_sides(created_by_the_engine) == []


def test_asked_which_side_to_use_keeping_both_merges_field_by_field(connected, created_by_the_engine):
    connected.advance_clock(1)
    support.crm_update(connected, "accounts", support.coupling_of(created_by_the_engine).crm_id, {"telephone1": "9"})
    edit_in_the_erp(created_by_the_engine, "Shelbyville")
    browser = Client()
    browser.force_login(factories.UserFactory(is_superuser=True))

    response = browser.post(
        reverse("coupling:synchronize", args=[support.mapping("CUSTOMER").pk]),
        {"system_id": [str(created_by_the_engine.system_id)], "direction": "both", "back": "/"},
    )

    assert response.status_code == 302
    job = SyncJob.objects.order_by("-pk").first()
    assert (job.direction, job.parameters) == ("both", {"erp_system_ids": [str(created_by_the_engine.system_id)]})

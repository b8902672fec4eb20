"""Deleting a coupled ERP record says so, and what the next synchronization will do in Dynamics 365 (issue 13 §2).

The ERP's delete confirmation page shows the notice the coupling registers for it (nav_crm.ui's delete panels):
the row it is coupled with, by its name as last synchronized, and the effect of the mapping's deletion policy.
"""

import uuid

import pytest
from django.urls import reverse

from erp.models import Customer
from syncjobs.models import IntegrationTableMapping
from tests import factories
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

Deletion = IntegrationTableMapping.DeletionPolicy
NOTICE = 'data-testid="crm-delete-notice"'


def delete_page(record, *perms) -> str:
    model = record._meta.model_name
    client = cs.client_with(f"erp.view_{model}", f"erp.delete_{model}", *perms)
    response = client.get(reverse(f"erp:{model}_delete", args=[record.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def coupled_customer(db):
    customer = factories.CustomerFactory(name="Adatum Corporation")
    coupling = support.couple(customer, "account", uuid.uuid4())
    coupling.snapshot = {"name": "Adatum Corp. (CRM)", "creditlimit": "5000"}
    coupling.save(update_fields=["snapshot"])
    return customer


@pytest.mark.parametrize(
    ("policy", "effect"),
    [
        (Deletion.PROPAGATE, "the next synchronization will delete the account too."),
        (Deletion.DEACTIVATE, "the next synchronization will deactivate the account and remove the coupling."),
        (Deletion.DECOUPLE, "the next synchronization will remove the coupling; the account stays in Dynamics 365"),
        (Deletion.RESTORE, "the next synchronization will restore the customer from the account"),
        (Deletion.REPORT, "the next synchronization will report it on the synchronization errors page"),
    ],
)
def test_the_delete_page_of_a_coupled_customer_says_what_happens_to_the_account(coupled_customer, policy, effect):
    support.mapping("CUSTOMER", deletion_policy=policy)

    page = delete_page(coupled_customer)

    assert NOTICE in page
    assert "This customer is coupled with the Dynamics 365 account <strong>Adatum Corp. (CRM)</strong>" in page
    assert f"After deleting it, {effect}" in page


def test_an_uncoupled_record_has_no_notice(db):
    customer = factories.CustomerFactory()
    page = delete_page(customer)
    assert "Delete customer" in page and NOTICE not in page


def test_a_coupled_contact_without_its_name_in_the_snapshot_is_named_by_its_kind(db):
    contact = factories.ContactFactory()
    support.couple(contact, "contact", uuid.uuid4())
    support.mapping("CONTACT", deletion_policy=Deletion.DECOUPLE)

    page = delete_page(contact)

    assert "This contact is coupled with the Dynamics 365 contact." in page
    assert "the next synchronization will remove the coupling" in page


def test_a_disabled_mapping_says_nothing_happens_in_dynamics(coupled_customer):
    support.mapping("CUSTOMER", is_enabled=False)

    page = delete_page(coupled_customer)

    assert "No enabled mapping synchronizes customers: the account stays as it is." in page


def test_deleting_still_works_from_the_page(coupled_customer):
    client = cs.client_with("erp.view_customer", "erp.delete_customer")
    response = client.post(reverse("erp:customer_delete", args=[coupled_customer.pk]))
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=coupled_customer.pk).exists()

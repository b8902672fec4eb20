"""Lookups the demo's first full synchronization meets before their records are coupled."""

import uuid

from syncjobs.models import SyncJob
from tests import factories
from tests.syncjobs import engine_support as support


def test_a_primary_contact_not_coupled_yet_is_left_out_then_sent_once_coupled(connected):
    salesperson = support.couple_john_roberts(connected)
    contact = factories.ContactFactory(first_name="Pat", last_name="Primary")
    customer = factories.CustomerFactory(name="Deferred Contact Ltd", salesperson=salesperson, primary_contact=contact)

    first = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})

    # CUSTOMER runs before CONTACT: the customer goes out without its primary contact, it does not fail.
    assert (first.status, first.inserted, first.failed) == (SyncJob.Status.SUCCESS, 1, 0), support.errors(first)
    account_id = support.coupling_of(customer).crm_id
    assert support.crm_row(connected, "accounts", account_id, ["primarycontactid"])["_primarycontactid_value"] is None
    coupling = support.coupling_of(customer)
    assert "primarycontactid" not in coupling.snapshot and coupling.deferred_values

    # A user edits the account: its empty primary contact is not taken for a change to bring in.
    support.crm_update(connected, "accounts", account_id, {"telephone1": "+1 555 0100"})
    both = support.run("CUSTOMER", "from_crm")
    assert both.status == SyncJob.Status.SUCCESS, support.errors(both)
    customer.refresh_from_db()
    assert (customer.phone, customer.primary_contact) == ("+1 555 0100", contact)

    contact_crm_id = uuid.uuid4()
    with support.admin_client(connected) as admin:
        admin.upsert("contacts", contact_crm_id, {"firstname": "Pat", "lastname": "Primary"})
    support.couple(contact, "contact", contact_crm_id)
    # An incremental run: the customer did not change, its coupling says a value waits.
    second = support.run("CUSTOMER", "to_crm")

    assert (second.status, second.modified) == (SyncJob.Status.SUCCESS, 1), support.errors(second)
    row = support.crm_row(connected, "accounts", account_id, ["primarycontactid"])
    assert row["_primarycontactid_value"] == str(contact_crm_id)
    assert not support.coupling_of(customer).deferred_values


def test_a_new_price_list_gets_the_local_currency(connected):
    support.couple_local_currency(connected)
    currency_id = support.crm_currency_id(connected, "USD")
    group = factories.CustomerPriceGroupFactory(code="DEFERRED")

    job = support.run("CUSTPRCGRP-PRICE", "to_crm", full=True, parameters={"erp_system_ids": [str(group.system_id)]})

    assert (job.status, job.inserted) == (SyncJob.Status.SUCCESS, 1), support.errors(job)
    row = support.crm_row(connected, "pricelevels", support.coupling_of(group).crm_id, ["transactioncurrencyid"])
    assert row["_transactioncurrencyid_value"] == currency_id


def test_a_customer_coupled_to_an_existing_account_gets_its_primary_contact_once_coupled(connected):
    """Match-based coupling: the account exists with no primary contact; the contact is not coupled yet."""
    contact = factories.ContactFactory(first_name="Max", last_name="Matched")
    customer = factories.CustomerFactory(name="Matched Account Ltd", primary_contact=contact)
    with support.admin_client(connected) as admin:
        account_id = admin.create("accounts", {"name": "Matched Account Ltd", "customertypecode": 3})
    support.couple(customer, "account", account_id)

    first = support.run("CUSTOMER", "to_crm", full=True, parameters={"erp_system_ids": [str(customer.system_id)]})

    assert first.status == SyncJob.Status.SUCCESS, support.errors(first)
    assert support.coupling_of(customer).deferred_values  # the account's empty value is no answer
    customer.refresh_from_db()
    assert customer.primary_contact == contact

    contact_crm_id = uuid.uuid4()
    with support.admin_client(connected) as admin:
        admin.upsert("contacts", contact_crm_id, {"firstname": "Max", "lastname": "Matched"})
    support.couple(contact, "contact", contact_crm_id)
    second = support.run("CUSTOMER", "to_crm")

    assert second.status == SyncJob.Status.SUCCESS, support.errors(second)
    row = support.crm_row(connected, "accounts", account_id, ["primarycontactid"])
    assert row["_primarycontactid_value"] == str(contact_crm_id)

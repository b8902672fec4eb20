"""The sandbox's organization mirrors part of the ERP demo company, so coupling by match has work to do."""

import pytest
from django.core.management import call_command

from crm_sandbox import seed
from erp.models import Contact, Customer, Item, Salesperson

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp_demo():
    call_command("erp_seed", verbosity=0)


def test_accounts_match_erp_customers_by_number_and_name(erp_demo):
    shared = [(number, name) for number, name, *_ in seed.ACCOUNTS if not number.startswith("CRM-")]
    assert len(shared) >= 10
    for number, name in shared:
        assert Customer.objects.filter(no=number, name=name).exists(), number


def test_products_match_erp_items_by_number_and_description(erp_demo):
    shared = [(number, name) for number, name, _ in seed.PRODUCTS if not number.startswith("CRM-")]
    assert len(shared) >= 10
    for number, name in shared:
        assert Item.objects.filter(no=number, description=name).exists(), number


def test_users_match_erp_salespeople_and_contacts_match_erp_persons(erp_demo):
    for first, last, email in seed.SALESPEOPLE:
        assert Salesperson.objects.filter(name=f"{first} {last}", email=email).exists(), email
    for first, last, account_number, email in seed.CONTACTS:
        if account_number.startswith("CRM-"):
            continue
        assert Contact.objects.filter(
            first_name=first, last_name=last, email=email, company__customer__no=account_number
        ).exists(), email

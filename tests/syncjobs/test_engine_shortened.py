"""Values too long for the ERP: shortened on their way in, remembered as such, never written back shortened.

The fault campaign's repro: an account with a 250-character address and a 50-character telephone, a full
CUSTOMER run (the ERP keeps 100 and 30 characters), then incremental runs overwrote the CRM's full values
with the ERP's shortened copies, and crm_verify called both sides equal.
"""

import pytest
from django.test import Client

from erp.models import Customer
from syncjobs.connection import clients
from syncjobs.engine import verification
from syncjobs.models import SyncJob, SyncJobWarning
from tests import factories
from tests.factories import UserFactory
from tests.syncjobs import engine_support as support
from tests.syncjobs.coupling_support import create_account

LONG_ADDRESS = ("Unit 7, The Old Brewery Yard, " * 9)[:250]
LONG_PHONE = "+44 20 7946 0958 ext. 4455 (switchboard, ask Dana)"


@pytest.fixture
def long_account(connected):
    """A CRM account whose address and telephone are longer than the ERP's fields, brought in by a full run."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    account_id = create_account(connected, "Long Values Ltd", address1_line1=LONG_ADDRESS, telephone1=LONG_PHONE)
    job = support.run("CUSTOMER", "both", full=True)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    # The accounts the full run brought in send their ERP-only values (credit limit…) once: the run in
    # which the shortened copies used to overwrite the full values.
    settle = support.run("CUSTOMER", "both")
    assert settle.status == SyncJob.Status.SUCCESS, support.errors(settle)
    return account_id


def crm_values(sandbox, account_id) -> tuple[str, str]:
    row = support.crm_row(sandbox, "accounts", account_id, ["address1_line1", "telephone1"])
    return row["address1_line1"], row["telephone1"]


def verify_customers():
    with clients.crm_client() as client:
        return verification.mapping_verify(mapping=support.mapping("CUSTOMER"), client=client)


def test_a_value_too_long_for_the_erp_is_never_written_back_shortened(connected, long_account):
    customer = Customer.objects.get(name="Long Values Ltd")
    assert (customer.address, customer.phone) == (LONG_ADDRESS[:100], LONG_PHONE[:30])

    job = support.run("CUSTOMER", "both")
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert (job.modified, job.failed) == (0, 0)

    assert len(LONG_ADDRESS) == 250 and len(LONG_PHONE) == 50
    assert crm_values(connected, long_account) == (LONG_ADDRESS, LONG_PHONE)
    customer.refresh_from_db()
    assert (customer.address, customer.phone) == (LONG_ADDRESS[:100], LONG_PHONE[:30])


def test_a_record_changed_in_another_field_sends_that_field_only(connected, long_account):
    customer = Customer.objects.get(name="Long Values Ltd")
    customer.city = "Reading"
    customer.save()

    job = support.run("CUSTOMER", "to_crm")

    assert job.status == SyncJob.Status.SUCCESS and job.modified == 1, support.errors(job)
    assert crm_values(connected, long_account) == (LONG_ADDRESS, LONG_PHONE)
    assert support.crm_row(connected, "accounts", long_account, ["address1_city"])["address1_city"] == "Reading"


def test_each_shortened_value_has_a_warning_row_naming_the_record_and_the_field(connected, long_account):
    customer = Customer.objects.get(name="Long Values Ltd")
    warnings = SyncJobWarning.objects.filter(erp_system_id=customer.system_id).order_by("field")

    assert [(w.field, w.erp_label, str(w.crm_id)) for w in warnings] == [
        ("address", f"customer {customer}", long_account),
        ("phone no.", f"customer {customer}", long_account),
    ]
    assert warnings[0].message == (
        f"Customer {customer}: the address from Dynamics 365 has 250 characters and was shortened to the ERP's "
        "100. Dynamics 365 keeps the full value: the shortened copy is not sent back unless the field is changed "
        "in the ERP."
    )
    assert warnings[0].job.mapping_name == "CUSTOMER"


def test_crm_verify_lists_shortened_fields_as_their_own_kind_not_as_differences(connected, long_account):
    result = verify_customers()

    assert not result.has_problems
    assert result.differences.count == 0
    shortened = sorted((item["field"], item["erp_value"], item["crm_value"]) for item in result.shortened.items)
    address, phone = (
        next(f.name for f in support.mapping("CUSTOMER").field_mappings.all() if f.crm_attribute == attribute)
        for attribute in ("address1_line1", "telephone1")
    )
    assert shortened == sorted([(address, LONG_ADDRESS[:100], LONG_ADDRESS), (phone, LONG_PHONE[:30], LONG_PHONE)])
    assert result.counts()["shortened"] == 2


def test_a_shortened_field_the_erp_user_changes_goes_out_whole(connected, long_account):
    customer = Customer.objects.get(name="Long Values Ltd")
    customer.address = "1 New Street"
    customer.save()

    job = support.run("CUSTOMER", "both")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert crm_values(connected, long_account) == ("1 New Street", LONG_PHONE)
    result = verify_customers()
    assert [item["erp_value"] for item in result.shortened.items] == [LONG_PHONE[:30]]


def test_a_shortened_field_changed_again_in_the_crm_is_shortened_again_and_still_not_sent_back(connected, long_account):
    other = ("Warehouse 12, Riverside Industrial Estate, " * 5)[:180]
    support.crm_update(connected, "accounts", long_account, {"address1_line1": other})

    first = support.run("CUSTOMER", "both")
    second = support.run("CUSTOMER", "both")

    assert first.modified == 1 and second.modified == 0, support.errors(first) + support.errors(second)
    assert Customer.objects.get(name="Long Values Ltd").address == other[:100]
    assert crm_values(connected, long_account) == (other, LONG_PHONE)


def test_an_account_named_only_spaces_is_refused_by_the_erp_and_keeps_its_name_in_the_crm(connected):
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    account_id = create_account(connected, "   ")

    job = support.run("CUSTOMER", "both", full=True)

    assert not Customer.objects.filter(name__regex=r"^\s*$").exists()
    errors = list(job.errors.filter(crm_id=account_id).values_list("message", flat=True))
    assert errors == ["The ERP refused the values from Dynamics 365: Name: Must not be blank (spaces only)."]
    assert support.crm_row(connected, "accounts", account_id, ["name"])["name"] == "   "


def test_the_jobs_page_lists_its_warnings_with_the_record_and_the_field(connected, long_account):
    warning = SyncJobWarning.objects.get(field="address")
    browser = Client()
    browser.force_login(UserFactory(groups=["Sync administrators"]))

    page = browser.get(warning.job.get_absolute_url())

    assert page.status_code == 200
    html = page.content.decode()
    assert "Warnings" in html and "phone no." in html
    customer = Customer.objects.get(name="Long Values Ltd")
    assert f'<a href="{customer.get_absolute_url()}">customer {customer}</a>' in html
    assert "has 250 characters and was shortened to the ERP&#x27;s 100" in html


def test_an_e_mail_address_the_erp_refuses_once_shortened_says_to_correct_it_in_dynamics_365(connected):
    """Shortened to the ERP's 80 characters, a longer address is no longer one: the error says so, and where the
    full value is to be corrected (the ERP would only hold the shortened copy)."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    address = f"{'dana.whitfield-longname' * 3}@sales-department.example.com"  # 98 characters
    account_id = create_account(connected, "Long Mail Ltd", emailaddress1=address)

    job = support.run("CUSTOMER", "both", full=True)

    [message] = job.errors.filter(crm_id=account_id).values_list("message", flat=True)
    assert message.startswith("The ERP refused the values from Dynamics 365: E-mail: Enter a valid email address.")
    assert message.endswith(
        f"The e-mail from Dynamics 365 has {len(address)} characters, more than the ERP's 80: "
        "correct it in Dynamics 365."
    )

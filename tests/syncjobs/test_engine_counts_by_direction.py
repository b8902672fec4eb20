"""A job both ways keeps the counters of each direction apart (Business Central shows two jobs): "inserted 2"
says on which side."""

from django.test import Client

from erp.models import Customer
from syncjobs.models import SyncJob
from tests import factories
from tests.syncjobs import engine_support as support
from tests.syncjobs.coupling_support import create_account


def test_each_direction_has_its_own_counters_on_the_job_and_its_page(connected):
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    salesperson = support.couple_john_roberts(connected)
    support.mapping("CUSTOMER", sync_only_coupled=False, crm_filter="customertypecode eq 3 and name eq 'From CRM Ltd'")
    factories.CustomerFactory(name="From ERP Ltd", salesperson=salesperson)
    create_account(connected, "From CRM Ltd")

    job = support.run("CUSTOMER", "both")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert Customer.objects.filter(name="From CRM Ltd").exists()
    assert job.inserted == 2
    assert job.counts_by_direction["to_crm"]["inserted"] == 1
    assert job.counts_by_direction["from_crm"]["inserted"] == 1
    assert [label for label, _ in job.direction_counts()] == ["ERP → Dynamics 365", "Dynamics 365 → ERP"]

    browser = Client()
    browser.force_login(factories.UserFactory(groups=["Sync administrators"]))
    html = browser.get(job.get_absolute_url()).content.decode()
    assert "data-direction-counts" in html
    assert "ERP → Dynamics 365" in html and "Dynamics 365 → ERP" in html


def test_a_job_one_way_has_no_per_direction_table(connected):
    support.couple_local_currency(connected)
    factories.CustomerFactory(name="One Way Ltd", salesperson=support.couple_john_roberts(connected))

    job = support.run("CUSTOMER", "to_crm", full=True)

    assert job.inserted >= 1 and job.counts_by_direction == {} and job.direction_counts() == []

""" "Synchronize now" on chosen records works on those records only: not the change feed, not other failed records.

The repro: the CRM → ERP pass of a job for chosen records still read the change feed and retried every failed
coupling, so another record got an error row in that job and could become skipped.
"""

import pytest

from erp.models import Customer
from syncjobs.models import SyncJob, SyncJobError
from tests import factories
from tests.syncjobs import engine_support as support


@pytest.fixture
def two_customers(connected):
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    salesperson = support.couple_john_roberts(connected)
    chosen = factories.CustomerFactory(name="Chosen Ltd", city="Springfield", salesperson=salesperson)
    other = factories.CustomerFactory(name="Other Ltd", city="Springfield", salesperson=salesperson)
    for _ in range(2):  # the full run, then the one that settles the accounts it brought in
        job = support.run("CUSTOMER", "both", full=True)
        assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    return chosen, other


@pytest.mark.parametrize("side", ["erp", "crm"])
def test_a_job_for_chosen_records_touches_those_records_only(connected, two_customers, side):
    chosen, other = two_customers
    chosen_row = support.coupling_of(chosen).crm_id
    other_row = support.coupling_of(other).crm_id
    support.crm_update(connected, "accounts", chosen_row, {"address1_city": "Chosen City"})
    support.crm_update(connected, "accounts", other_row, {"address1_city": "Other City"})
    support.mapping("CUSTOMER", update_conflict_policy="crm_wins")

    parameters = {"erp_system_ids": [str(chosen.system_id)]} if side == "erp" else {"crm_ids": [str(chosen_row)]}
    job = support.run("CUSTOMER", "both", parameters=parameters)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert not SyncJobError.objects.filter(job=job).exists()
    # Its counters count the chosen record only (issue 13 §1: not "1 chosen" and "Unchanged 47").
    assert {c: getattr(job, c) for c in SyncJob.COUNTERS if getattr(job, c)} == {"modified": 1}
    assert Customer.objects.get(pk=chosen.pk).city == "Chosen City"
    assert Customer.objects.get(pk=other.pk).city == "Springfield"
    assert support.coupling_of(other).last_job_id != job.pk
    # An ordinary run then takes the other record's change: it was there to be taken.
    later = support.run("CUSTOMER", "both")
    assert later.pk != job.pk and Customer.objects.get(pk=other.pk).city == "Other City", support.errors(later)

"""A full run's ERP → CRM pass keeps where it stands; a job taken over after its worker died starts there."""

from decimal import Decimal

import pytest

from syncjobs.engine import to_crm
from syncjobs.models import IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs
from tests import factories
from tests.syncjobs import engine_support as support


@pytest.fixture
def customers(connected, monkeypatch):
    support.couple_local_currency(connected)
    monkeypatch.setattr(to_crm, "WRITE_PAGE_SIZE", 2)  # five pages of two
    return [factories.CustomerFactory(credit_limit_lcy=Decimal(100 + n)) for n in range(10)]


def test_a_full_run_keeps_the_last_settled_record_as_its_checkpoint(customers):
    job = support.run("CUSTOMER", "to_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert job.checkpoint[to_crm.CHECKPOINT] == max(customer.pk for customer in customers)


def test_a_job_taken_over_starts_after_its_checkpoint_and_sends_the_rest(customers):
    job = jobs.job_create(
        mapping=IntegrationTableMapping.objects.get(name="CUSTOMER"), direction="to_crm", full=True, enqueue=False
    )
    # The worker that had it died after the first three pages were settled.
    SyncJob.objects.filter(pk=job.pk).update(checkpoint={to_crm.CHECKPOINT: customers[5].pk})

    job = jobs.job_run(job_id=job.pk)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert job.inserted == 4  # the records after the checkpoint, not the six before it
    assert all(support.coupling_of(customer) is not None for customer in customers[6:])
    assert all(support.coupling_of(customer) is None for customer in customers[:6])

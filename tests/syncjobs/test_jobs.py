"""The jobs API: create and enqueue after commit, claim once, progress, errors, finish, uncoupling."""

import datetime
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone

from coupling.models import Coupling
from erp.models import Customer
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests.factories import CustomerFactory, UserFactory
from tests.queue_support import queued_job_ids

pytestmark = pytest.mark.django_db


def mapping(name: str = "CUSTOMER") -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


def new_job(**options) -> SyncJob:
    options.setdefault("direction", SyncJob.JobDirection.TO_CRM)
    return jobs.job_create(mapping=options.pop("mapping", mapping()), enqueue=False, **options)


def couple(customer: Customer, **fields) -> Coupling:
    return Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(Customer),
        erp_system_id=customer.system_id,
        crm_entity="account",
        crm_id=uuid.uuid4(),
        **fields,
    )


@pytest.fixture
def handler(monkeypatch):
    """Registers a handler for synchronization jobs; returns the list of jobs it ran."""
    ran: list[SyncJob] = []

    def register(function=None):
        def run(*, job, report):
            ran.append(job)
            if function is not None:
                function(job=job)

        monkeypatch.setitem(jobs.JOB_HANDLERS, SyncJob.Kind.SYNCHRONIZATION, run)
        return ran

    return register


# --- create / enqueue -----------------------------------------------------------------------------------


def test_a_job_is_queued_only_when_its_transaction_commits(django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = jobs.job_create(mapping=mapping(), direction="both", full=True, user=user)
        assert queued_job_ids() == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert queued_job_ids() == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.mapping_name, job.direction, job.full, job.created_by) == (
        SyncJob.Status.PENDING,
        "CUSTOMER",
        "both",
        True,
        user,
    )


def test_a_job_created_without_enqueue_is_not_queued(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        new_job()
    assert queued_job_ids() == []


def test_a_direction_the_mapping_does_not_allow_is_refused():
    one_way = mapping()
    IntegrationTableMapping.objects.filter(pk=one_way.pk).update(direction="to_crm")
    one_way.refresh_from_db()
    with pytest.raises(ValidationError) as refusal:
        jobs.job_create(mapping=one_way, direction="from_crm", enqueue=False)
    assert "is not possible" in refusal.value.message_dict["direction"][0]
    with pytest.raises(ValidationError):
        jobs.job_create(mapping=one_way, direction="sideways", enqueue=False)
    assert not SyncJob.objects.exists()


# --- claim / run ----------------------------------------------------------------------------------------


def test_a_job_is_claimed_once():
    job = new_job()
    first = jobs.job_claim(job_id=job.pk)
    assert first is not None and first.status == SyncJob.Status.RUNNING
    assert first.started_at is not None and first.heartbeat_at is not None and ":" in first.worker
    assert jobs.job_claim(job_id=job.pk) is None


def test_a_second_delivery_runs_nothing(handler):
    ran = handler()
    job = new_job()
    assert jobs.job_run(job_id=job.pk).status == SyncJob.Status.SUCCESS
    assert jobs.job_run(job_id=job.pk).status == SyncJob.Status.SUCCESS
    assert [j.pk for j in ran] == [job.pk]


def test_a_handler_exception_marks_the_job_failed_with_a_plain_message(handler):
    def explode(*, job):
        jobs.job_progress(job=job, inserted=2)
        raise RuntimeError("the CRM hung up")

    handler(explode)
    job = jobs.job_run(job_id=new_job().pk)
    assert job.status == SyncJob.Status.FAILED
    assert job.message == "The job stopped: RuntimeError: the CRM hung up"
    assert job.inserted == 2 and job.finished_at is not None


def test_finishing_keeps_the_message_the_handler_wrote(handler):
    def warn(*, job):
        SyncJob.objects.filter(pk=job.pk).update(message="Name of C1 was trimmed to 160 characters.")

    handler(warn)
    job = jobs.job_run(job_id=new_job().pk)
    assert (job.status, job.message) == (SyncJob.Status.SUCCESS, "Name of C1 was trimmed to 160 characters.")


def test_a_job_whose_mapping_was_deleted_fails_saying_so(handler):
    ran = handler()
    job = new_job()
    SyncJob.objects.filter(pk=job.pk).update(mapping=None)
    job = jobs.job_run(job_id=job.pk)
    assert (job.status, job.message) == (SyncJob.Status.FAILED, "The mapping CUSTOMER no longer exists.")
    assert ran == []


def test_finish_is_success_without_failures_and_error_with_them(handler):
    handler(lambda *, job: jobs.job_progress(job=job, modified=3, unchanged=1))
    job = jobs.job_run(job_id=new_job().pk)
    assert (job.status, job.modified, job.unchanged, job.failed) == (SyncJob.Status.SUCCESS, 3, 1, 0)

    handler(lambda *, job: jobs.job_record_error(job=job, mapping=job.mapping, message="Name is too long."))
    job = jobs.job_run(job_id=new_job().pk)
    assert (job.status, job.failed) == (SyncJob.Status.ERROR, 1)
    assert job.finished_at >= job.started_at


# --- progress / checkpoint ------------------------------------------------------------------------------


def test_progress_increments_are_not_lost_between_callers_holding_stale_copies():
    job = new_job()
    first_copy, second_copy = SyncJob.objects.get(pk=job.pk), SyncJob.objects.get(pk=job.pk)
    jobs.job_progress(job=first_copy, inserted=2, http_requests=3, total=10, done=4)
    jobs.job_progress(job=second_copy, inserted=5, modified=1, http_requests=1, done=7)
    job.refresh_from_db()
    assert (job.inserted, job.modified, job.http_requests) == (7, 1, 4)
    assert (job.progress_done, job.progress_total) == (7, 10)
    assert job.heartbeat_at is not None


def test_progress_refuses_an_unknown_counter():
    with pytest.raises(TypeError, match="created"):
        jobs.job_progress(job=new_job(), created=1)


def test_progress_beats_the_heart():
    job = new_job()
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    jobs.job_progress(job=job)
    job.refresh_from_db()
    assert job.heartbeat_at > long_ago


def test_a_checkpoint_is_stored():
    job = new_job()
    jobs.job_checkpoint(job=job, checkpoint={"erp_after": "2026-01-01T00:00:00Z", "page": 3})
    assert SyncJob.objects.get(pk=job.pk).checkpoint == {"erp_after": "2026-01-01T00:00:00Z", "page": 3}


# --- errors and the skipped mark -----------------------------------------------------------------------


def test_an_error_row_links_both_sides_and_counts_as_failed():
    customer = CustomerFactory()
    crm_id = uuid.uuid4()
    job = new_job()
    error = jobs.job_record_error(
        job=job, mapping=job.mapping, message="Name is required.", details="400 {...}", record=customer, crm_id=crm_id
    )
    error.refresh_from_db()
    assert error.erp_model == ContentType.objects.get_for_model(Customer)
    assert error.erp_system_id == customer.system_id
    assert str(customer) in error.erp_label
    assert (error.crm_entity, error.crm_id, error.details) == ("account", crm_id, "400 {...}")
    assert len(error.fingerprint) == 64
    assert SyncJob.objects.get(pk=job.pk).failed == 1


def test_the_same_failure_has_the_same_fingerprint_and_another_failure_another():
    job = new_job()
    one = jobs.job_record_error(job=job, mapping=job.mapping, message="Name  is required.")
    same = jobs.job_record_error(job=job, mapping=job.mapping, message="Name is required.")
    other = jobs.job_record_error(job=job, mapping=job.mapping, message="Phone is too long.")
    assert one.fingerprint == same.fingerprint != other.fingerprint
    assert SyncJob.objects.get(pk=job.pk).failed == 3


def test_a_record_failing_the_same_way_in_two_jobs_in_a_row_is_skipped():
    customer = CustomerFactory()
    coupling = couple(customer)
    first, second = new_job(), new_job()
    jobs.job_record_error(job=first, mapping=first.mapping, message="Name is required.", record=customer)
    coupling.refresh_from_db()
    assert (coupling.skipped, coupling.consecutive_failures, coupling.last_result) == (False, 1, "failure")
    assert coupling.last_job_id == first.pk

    jobs.job_record_error(job=second, mapping=second.mapping, message="Name is required.", record=customer)
    coupling.refresh_from_db()
    assert (coupling.skipped, coupling.consecutive_failures) == (True, 2)
    assert coupling.last_error == "Name is required."


def test_a_record_failing_differently_each_time_is_not_skipped():
    customer = CustomerFactory()
    coupling = couple(customer)
    for message in ("Name is required.", "Phone is too long."):
        job = new_job()
        jobs.job_record_error(job=job, mapping=job.mapping, message=message, record=customer)
    coupling.refresh_from_db()
    assert (coupling.skipped, coupling.consecutive_failures) == (False, 2)


def test_a_success_in_between_restarts_the_streak():
    customer = CustomerFactory()
    coupling = couple(customer, last_result=Coupling.Result.SUCCESS)
    job = new_job()
    jobs.job_record_error(job=job, mapping=job.mapping, message="Name is required.", record=customer)
    coupling.refresh_from_db()
    assert (coupling.skipped, coupling.consecutive_failures) == (False, 1)


def test_a_from_crm_error_finds_the_coupling_by_crm_row():
    customer = CustomerFactory()
    coupling = couple(customer)
    for _ in range(2):
        job = new_job(direction="from_crm")
        jobs.job_record_error(
            job=job, mapping=job.mapping, message="Unknown country.", crm_entity="account", crm_id=coupling.crm_id
        )
    coupling.refresh_from_db()
    assert coupling.skipped


# --- uncoupling -----------------------------------------------------------------------------------------


def test_an_uncoupling_job_decouples_the_chosen_records():
    customers = CustomerFactory.create_batch(3)
    for customer in customers:
        couple(customer)
    job = new_job(kind=SyncJob.Kind.UNCOUPLING, parameters={"erp_system_ids": [str(customers[0].system_id)]})
    job = jobs.job_run(job_id=job.pk)
    assert (job.status, job.uncoupled, job.progress_done, job.progress_total) == (SyncJob.Status.SUCCESS, 1, 1, 1)
    assert set(Coupling.objects.values_list("erp_system_id", flat=True)) == {c.system_id for c in customers[1:]}


def test_an_uncoupling_job_by_crm_ids():
    customers = CustomerFactory.create_batch(2)
    couplings = [couple(customer) for customer in customers]
    job = new_job(kind=SyncJob.Kind.UNCOUPLING, parameters={"crm_ids": [str(couplings[1].crm_id)]})
    assert jobs.job_run(job_id=job.pk).uncoupled == 1
    assert list(Coupling.objects.values_list("pk", flat=True)) == [couplings[0].pk]


def test_an_uncoupling_job_without_records_decouples_the_whole_mapping_only():
    customers = CustomerFactory.create_batch(2)
    for customer in customers:
        couple(customer)
    other_table = Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(SyncJobError),
        erp_system_id=uuid.uuid4(),
        crm_entity="contact",
        crm_id=uuid.uuid4(),
    )
    job = jobs.job_run(job_id=new_job(kind=SyncJob.Kind.UNCOUPLING).pk)
    assert job.uncoupled == 2
    assert list(Coupling.objects.all()) == [other_table]

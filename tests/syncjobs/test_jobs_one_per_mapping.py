"""One mapping, one job at a time: a job that finds another job of its mapping running waits for it, shown as
waiting with what it waits for, and runs when that one ends — on any number of workers and both databases.

The fault campaign's repro: a full synchronization's CUSTOMER job overlapped a manual CUSTOMER job on another
worker, and one died with "UNIQUE constraint failed: coupling_coupling.crm_entity, coupling_coupling.crm_id".
"""

import datetime
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from syncjobs.mappings.services import mapping_reset_to_defaults
from syncjobs.models import FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import full_sync, jobs, leases
from tests.queue_support import queued_job_ids


def mapping(name: str = "CUSTOMER") -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


def new_job(name: str = "CUSTOMER", **options) -> SyncJob:
    options.setdefault("direction", SyncJob.JobDirection.TO_CRM)
    return jobs.job_create(mapping=mapping(name), enqueue=False, **options)


@pytest.fixture
def handler(monkeypatch):
    """Synchronization jobs run this handler: it records the job and runs ``during`` while the job runs."""
    ran: list[int] = []

    def register(during=None):
        def run(*, job, report):
            ran.append(job.pk)
            if during is not None:
                during(job)

        monkeypatch.setitem(jobs.JOB_HANDLERS, SyncJob.Kind.SYNCHRONIZATION, run)
        return ran

    return register


@pytest.mark.django_db
def test_a_job_of_a_mapping_with_a_running_job_waits_for_it_and_says_so(django_capture_on_commit_callbacks):
    running = jobs.job_claim(job_id=new_job(full=True).pk)
    second = new_job(direction=SyncJob.JobDirection.BOTH)

    assert jobs.job_claim(job_id=second.pk) is None

    second.refresh_from_db()
    assert (second.status, second.waiting_for_id) == (SyncJob.Status.PENDING, running.pk)
    assert second.message == f"Waiting for job #{running.pk} of this mapping to finish."
    assert mapping().lease_job_id == running.pk


@pytest.mark.django_db
def test_jobs_of_other_mappings_run_meanwhile():
    jobs.job_claim(job_id=new_job("CUSTOMER").pk)

    assert jobs.job_claim(job_id=new_job("CONTACT").pk) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("ending", ["finish", "fail"])
def test_when_the_running_job_ends_the_waiting_job_is_queued_and_runs(
    handler, django_capture_on_commit_callbacks, ending
):
    ran = handler()
    running = jobs.job_claim(job_id=new_job(full=True).pk)
    waiting = new_job()
    jobs.job_run(job_id=waiting.pk)
    assert ran == []

    with django_capture_on_commit_callbacks(execute=True):
        if ending == "finish":
            jobs.job_finish(job=running)
        else:
            jobs.job_fail(job=running, message="The worker stopped.")

    assert waiting.pk in queued_job_ids()
    waiting.refresh_from_db()
    assert (waiting.waiting_for_id, waiting.message) == (None, "")
    assert jobs.job_run(job_id=waiting.pk).status == SyncJob.Status.SUCCESS
    assert ran == [waiting.pk]
    assert mapping().lease_job_id is None


@pytest.mark.django_db
def test_a_lease_left_by_a_job_that_ended_without_giving_it_back_is_taken():
    gone = new_job()
    SyncJob.objects.filter(pk=gone.pk).update(status=SyncJob.Status.CANCELLED)
    IntegrationTableMapping.objects.filter(pk=mapping().pk).update(lease_job=gone)

    assert jobs.job_claim(job_id=new_job().pk) is not None


@pytest.mark.django_db
def test_a_job_handed_to_a_new_worker_after_its_worker_died_keeps_its_lease():
    running = jobs.job_claim(job_id=new_job(full=True).pk)
    SyncJob.objects.filter(pk=running.pk).update(status=SyncJob.Status.PENDING, worker="")  # what the reaper does
    other = new_job()

    assert jobs.job_claim(job_id=other.pk) is None  # waits: the re-queued job still holds the mapping
    assert jobs.job_claim(job_id=running.pk) is not None


@pytest.mark.django_db
def test_a_cancelled_full_synchronization_gives_back_the_mappings_its_jobs_held(django_capture_on_commit_callbacks):
    run = FullSyncRun.objects.create(status=FullSyncRun.Status.PENDING)
    line = run.lines.create(mapping=mapping(), position=1, mapping_name="CUSTOMER", recommendation="full")
    held = jobs.job_claim(job_id=new_job(full=True).pk)
    SyncJob.objects.filter(pk=held.pk).update(status=SyncJob.Status.PENDING, worker="")
    line.sync_job = held
    line.save()
    waiting = new_job()
    jobs.job_claim(job_id=waiting.pk)

    with django_capture_on_commit_callbacks(execute=True):
        full_sync.full_sync_cancel(run=run)

    assert mapping().lease_job_id is None
    assert waiting.pk in queued_job_ids()


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_two_full_jobs_of_one_mapping_never_run_them_at_the_same_time(handler):
    """Two threads with their own database connections stand for two workers: the second claims while the first
    runs. (SQLite's in-memory test database is one connection: there the same claims are made in turn.)"""
    if not IntegrationTableMapping.objects.exists():  # a transactional test before this one flushed them
        mapping_reset_to_defaults()
    first, second = new_job(full=True), new_job(full=True, direction=SyncJob.JobDirection.BOTH)
    first_inside, second_tried = threading.Event(), threading.Event()
    running_now: list[int] = []
    most_at_once = []

    def during(job):
        running_now.append(job.pk)
        most_at_once.append(len(running_now))
        if job.pk == first.pk:
            first_inside.set()
            second_tried.wait(timeout=20)
        running_now.remove(job.pk)

    ran = handler(during)

    def worker(job_id, then: threading.Event | None = None):
        try:
            jobs.job_run(job_id=job_id)
        finally:
            if then is not None:
                then.set()
            connections.close_all()

    if connection.vendor == "sqlite":
        jobs.job_claim(job_id=first.pk)
        assert jobs.job_run(job_id=second.pk).status == SyncJob.Status.PENDING
        return

    one = threading.Thread(target=worker, args=(first.pk,))
    one.start()
    assert first_inside.wait(timeout=20)
    two = threading.Thread(target=worker, args=(second.pk, second_tried))
    two.start()
    for thread in (one, two):
        thread.join(timeout=30)

    assert most_at_once == [1], "two jobs of one mapping ran at the same time"
    assert ran == [first.pk]
    second.refresh_from_db()
    assert second.status == SyncJob.Status.PENDING  # it waited, and was queued again when the first ended
    assert jobs.job_run(job_id=second.pk).status == SyncJob.Status.SUCCESS
    assert ran == [first.pk, second.pk]


@pytest.mark.django_db
def test_a_job_run_in_the_foreground_waits_for_the_running_one_then_runs(handler):
    ran = handler()
    running = jobs.job_claim(job_id=new_job(full=True).pk)
    foreground = new_job()
    told, waits = [], []

    def sleep(seconds):
        waits.append(seconds)
        jobs.job_finish(job=running)  # meanwhile, the other worker's job ends

    finished = jobs.job_run_to_end(job_id=foreground.pk, on_wait=told.append, sleep=sleep)

    assert finished.status == SyncJob.Status.SUCCESS and ran == [foreground.pk]
    assert [job.waiting_for_id for job in told] == [running.pk] and waits == [jobs.FOREGROUND_POLL_SECONDS]


@pytest.mark.django_db
def test_the_reaper_queues_a_job_still_waiting_for_one_that_has_ended(django_capture_on_commit_callbacks):
    running = jobs.job_claim(job_id=new_job(full=True).pk)
    waiting = new_job()
    jobs.job_claim(job_id=waiting.pk)
    # The job ended without the wake-up reaching the queue (a lost message, a purged queue).
    SyncJob.objects.filter(pk=running.pk).update(status=SyncJob.Status.SUCCESS)

    with django_capture_on_commit_callbacks(execute=True):
        requeued, _ = jobs.job_reap_stale()

    assert requeued == [waiting.pk] and waiting.pk in queued_job_ids()
    waiting.refresh_from_db()
    assert waiting.waiting_for_id is None


@pytest.mark.django_db(transaction=True)
def test_a_running_jobs_heart_beats_from_its_own_thread_while_a_long_page_runs():
    """A page that takes longer than STALE_AFTER would otherwise make a live job look dead."""
    if not IntegrationTableMapping.objects.exists():  # a transactional test before this one flushed them
        mapping_reset_to_defaults()
    job = jobs.job_claim(job_id=new_job().pk)
    old = timezone.now() - datetime.timedelta(hours=1)
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=old)

    with leases.Heartbeat(SyncJob, job.pk, interval=0.05):
        deadline = time.monotonic() + 10
        while SyncJob.objects.get(pk=job.pk).heartbeat_at == old:
            assert time.monotonic() < deadline, "no beat"
            time.sleep(0.02)

    assert jobs.job_reap_stale() == ([], [])

"""django-q2 tasks: the job task, the reaper of stale jobs and its schedule, a real worker process."""

import datetime
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from syncjobs import tasks
from syncjobs.models import IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs, leases
from tests.queue_support import queued_job_ids

pytestmark = pytest.mark.django_db

MANAGE = Path(settings.BASE_DIR) / "manage.py"


def new_job(**options) -> SyncJob:
    return jobs.job_create(
        mapping=IntegrationTableMapping.objects.get(name="CUSTOMER"), direction="to_crm", enqueue=False, **options
    )


def running_job(*, heartbeat_minutes_ago: float, attempts: int = 0) -> SyncJob:
    job = new_job()
    SyncJob.objects.filter(pk=job.pk).update(
        status=SyncJob.Status.RUNNING,
        worker="gone:1",
        attempts=attempts,
        started_at=timezone.now() - datetime.timedelta(hours=1),
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=heartbeat_minutes_ago),
    )
    return SyncJob.objects.get(pk=job.pk)


# --- reaper ---------------------------------------------------------------------------------------------


def test_a_running_job_whose_heartbeat_stopped_is_requeued(django_capture_on_commit_callbacks):
    job = running_job(heartbeat_minutes_ago=30)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reap_stale_jobs() == "re-queued 1, failed 0"
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == (SyncJob.Status.PENDING, 1, "")
    assert job.started_at is not None
    assert queued_job_ids() == [job.pk]


def test_a_requeued_job_resumes_from_its_checkpoint(monkeypatch, django_capture_on_commit_callbacks):
    seen: list[dict] = []
    monkeypatch.setitem(
        jobs.JOB_HANDLERS, SyncJob.Kind.SYNCHRONIZATION, lambda *, job, report: seen.append(job.checkpoint)
    )
    job = running_job(heartbeat_minutes_ago=30)
    jobs.job_checkpoint(job=job, checkpoint={"page": 7})
    SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_reap_stale()
    assert tasks.run_sync_job(job.pk) == SyncJob.Status.SUCCESS
    assert seen == [{"page": 7}]


def test_a_job_with_a_recent_heartbeat_is_left_alone():
    job = running_job(heartbeat_minutes_ago=0.5)  # two missed beats: slow, not dead yet
    assert jobs.job_reap_stale() == ([], [])
    job.refresh_from_db()
    assert (job.status, job.attempts) == (SyncJob.Status.RUNNING, 0)


def test_a_job_whose_workers_died_too_often_is_failed_with_a_plain_message():
    job = running_job(heartbeat_minutes_ago=30, attempts=jobs.MAX_ATTEMPTS - 1)
    assert jobs.job_reap_stale() == ([], [job.pk])
    job.refresh_from_db()
    assert job.status == SyncJob.Status.FAILED
    assert job.message.startswith(f"The worker running this job stopped responding {jobs.MAX_ATTEMPTS} times")
    assert job.finished_at is not None
    assert queued_job_ids() == []


def test_finished_and_pending_jobs_are_not_reaped():
    finished = running_job(heartbeat_minutes_ago=60)
    SyncJob.objects.filter(pk=finished.pk).update(status=SyncJob.Status.SUCCESS)
    new_job()
    assert jobs.job_reap_stale() == ([], [])


def test_the_reaper_is_scheduled_every_minute():
    schedule = Schedule.objects.get(func="syncjobs.tasks.reap_stale_jobs")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


def test_a_killed_workers_job_is_handed_on_within_two_minutes(django_capture_on_commit_callbacks):
    """Killed right before a beat, a job is stale STALE_AFTER after its last one; the reaper, every minute, sees
    it within the next minute: at most HEARTBEAT_SECONDS + STALE_AFTER + one minute from the kill."""
    worst = datetime.timedelta(seconds=leases.HEARTBEAT_SECONDS) + leases.STALE_AFTER + datetime.timedelta(minutes=1)
    assert worst <= datetime.timedelta(minutes=2)
    job = running_job(heartbeat_minutes_ago=(leases.STALE_AFTER.total_seconds() + 1) / 60)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.job_reap_stale() == ([job.pk], [])


# --- the job task ---------------------------------------------------------------------------------------


def test_the_task_runs_the_job_through_django_q(monkeypatch):
    ran: list[int] = []
    monkeypatch.setitem(jobs.JOB_HANDLERS, SyncJob.Kind.SYNCHRONIZATION, lambda *, job, report: ran.append(job.pk))
    job = new_job()
    async_task("syncjobs.tasks.run_sync_job", job.pk, sync=True)
    async_task("syncjobs.tasks.run_sync_job", job.pk, sync=True)
    assert ran == [job.pk]
    assert SyncJob.objects.get(pk=job.pk).status == SyncJob.Status.SUCCESS


# --- a real worker --------------------------------------------------------------------------------------


def _manage(environment: dict, *args: str, timeout: float = 60) -> str:
    result = subprocess.run(  # noqa: S603 — our own manage.py with fixed arguments
        [sys.executable, str(MANAGE), *args],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


ENQUEUE_UNCOUPLING = """
import uuid
from django.contrib.contenttypes.models import ContentType
from coupling.models import Coupling
from erp.models import Customer
from syncjobs.runs import jobs
from syncjobs.models import IntegrationTableMapping
customers = ContentType.objects.get_for_model(Customer)
for _ in range(3):
    Coupling.objects.create(erp_model=customers, erp_system_id=uuid.uuid4(), crm_entity="account", crm_id=uuid.uuid4())
mapping = IntegrationTableMapping.objects.get(name="CUSTOMER")
job = jobs.job_create(mapping=mapping, direction="to_crm", kind="uncoupling")
jobs.job_enqueue(job=job)  # a second delivery of the same job
print(job.pk)
"""


@pytest.mark.timeout(120)
def test_a_queued_job_is_run_by_a_django_q_worker_process(tmp_path):
    """The ORM broker carries the job's key to a qcluster process, which runs the job once."""
    database = tmp_path / "worker.sqlite3"
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "NAV_CRM_DATA_DIR": str(tmp_path),
        "Q_WORKERS": "1",
        "PYTHONWARNINGS": "ignore",
    }
    environment.pop("REDIS_URL", None)
    _manage(environment, "migrate", "--verbosity", "0", timeout=120)
    job_id = int(_manage(environment, "shell", "--no-imports", "-c", ENQUEUE_UNCOUPLING).split()[-1])

    log = (tmp_path / "qcluster.log").open("w")
    worker = subprocess.Popen(  # noqa: S603 — our own manage.py with fixed arguments
        [sys.executable, str(MANAGE), "qcluster"], env=environment, cwd=settings.BASE_DIR, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        row = None
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as connection:
                row = connection.execute(
                    "SELECT status, uncoupled, worker FROM syncjobs_syncjob WHERE id = ?", (job_id,)
                ).fetchone()
                queued = connection.execute("SELECT COUNT(*) FROM django_q_ormq").fetchone()[0]
            if row[0] in SyncJob.FINISHED and queued == 0:
                break
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
    assert row is not None and row[:2] == (SyncJob.Status.SUCCESS, 3), (tmp_path / "qcluster.log").read_text()
    assert row[2] and row[2] != f"{os.uname().nodename}:{os.getpid()}"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT COUNT(*) FROM coupling_coupling").fetchone()[0] == 0

"""`manage.py crm_sync`: run one mapping or all, queued or in the foreground, and status."""

import io

import pytest
from django.core.management import CommandError, call_command

from syncjobs.mappings.selectors import mapping_dependency_order
from syncjobs.models import IntegrationTableMapping, SyncJob
from syncjobs.runs import jobs
from tests.queue_support import queued_payloads

pytestmark = pytest.mark.django_db


def crm_sync(*args) -> str:
    out = io.StringIO()
    call_command("crm_sync", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def handler(monkeypatch):
    """The synchronization handler for these tests: counts, and fails records of mappings in `failing`."""
    ran: list[SyncJob] = []
    failing: set[str] = set()

    def run(*, job, report):
        ran.append(job)
        jobs.job_progress(job=job, inserted=2, unchanged=5, http_requests=3, total=7, done=7)
        if job.mapping_name in failing:
            jobs.job_record_error(job=job, mapping=job.mapping, message="Name is required.")

    monkeypatch.setitem(jobs.JOB_HANDLERS, SyncJob.Kind.SYNCHRONIZATION, run)
    return ran, failing


def test_run_queues_a_job_and_prints_its_id(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = crm_sync("run", "customer", "--direction", "to", "--full")
    job = SyncJob.objects.get()
    assert output == f"Queued job #{job.pk}: CUSTOMER to dynamics 365.\n"
    assert (job.mapping_name, job.direction, job.full, job.status) == ("CUSTOMER", "to_crm", True, "pending")
    assert [(p["func"], p["args"]) for p in queued_payloads()] == [("syncjobs.tasks.run_sync_job", (job.pk,))]


def test_run_without_a_direction_takes_the_mappings_directions(django_capture_on_commit_callbacks):
    IntegrationTableMapping.objects.filter(name="CURRENCY").update(direction="to_crm")
    with django_capture_on_commit_callbacks(execute=True):
        crm_sync("run", "CUSTOMER")
        crm_sync("run", "CURRENCY")
    assert dict(SyncJob.objects.values_list("mapping_name", "direction")) == {"CUSTOMER": "both", "CURRENCY": "to_crm"}


def test_run_wait_runs_in_the_foreground_and_prints_the_counters(handler):
    ran, _ = handler
    output = crm_sync("run", "CUSTOMER", "--wait")
    job = SyncJob.objects.get()
    assert [j.pk for j in ran] == [job.pk] and job.status == SyncJob.Status.SUCCESS
    header, row = output.splitlines()[:2]
    assert header.split() == [
        "job", "mapping", "direction", "status", "inserted", "modified", "deleted", "unchanged",
        "skipped", "failed", "coupled", "uncoupled", "http", "duration",
    ]  # fmt: skip
    assert row.split()[:13] == [
        f"#{job.pk}",
        "CUSTOMER",
        "both",
        "success",
        "2",
        "0",
        "0",
        "5",
        "0",
        "0",
        "0",
        "0",
        "3",
    ]
    assert queued_payloads() == []


def test_run_wait_exits_1_when_records_failed(handler):
    _, failing = handler
    failing.add("CUSTOMER")
    with pytest.raises(CommandError, match="1 record failed") as failure:
        crm_sync("run", "CUSTOMER", "--wait")
    assert failure.value.returncode == 1
    assert SyncJob.objects.get().status == SyncJob.Status.ERROR


def test_run_wait_exits_1_when_the_job_could_not_run(monkeypatch):
    def explode(*, job, report):
        raise RuntimeError("CRM unreachable")

    monkeypatch.setitem(jobs.JOB_HANDLERS, SyncJob.Kind.SYNCHRONIZATION, explode)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 job could not run") as failure:
        call_command("crm_sync", "run", "CUSTOMER", "--wait", stdout=out)
    assert failure.value.returncode == 1
    assert "The job stopped: RuntimeError: CRM unreachable" in out.getvalue()


def test_run_all_runs_every_enabled_mapping_in_dependency_order(handler):
    ran, failing = handler
    IntegrationTableMapping.objects.filter(name="RESOURCE-PRODUCT").update(is_enabled=False)
    expected = [m.name for m in mapping_dependency_order(enabled_only=True)]
    assert "RESOURCE-PRODUCT" not in expected and len(expected) > 3
    failing.add(expected[1])
    with pytest.raises(CommandError) as failure:
        crm_sync("run", "--all", "--wait")
    assert failure.value.returncode == 1
    assert [job.mapping_name for job in ran] == expected
    assert not any(job.full for job in ran)


def test_run_all_without_wait_queues_one_task_that_keeps_the_order(handler, django_capture_on_commit_callbacks):
    ran, _ = handler
    with django_capture_on_commit_callbacks(execute=True):
        output = crm_sync("run", "--all")
    created = list(SyncJob.objects.order_by("pk"))
    assert len(output.splitlines()) == len(created) > 3
    [payload] = queued_payloads()
    assert payload["func"] == "syncjobs.tasks.run_sync_jobs_in_order"
    assert payload["args"] == ([job.pk for job in created],)
    from syncjobs.tasks import run_sync_jobs_in_order

    assert set(run_sync_jobs_in_order(*payload["args"])) == {SyncJob.Status.SUCCESS}
    assert [job.mapping_name for job in ran] == [m.name for m in mapping_dependency_order(enabled_only=True)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run",), "Name one mapping"),
        (("run", "CUSTOMER", "--all"), "Name one mapping"),
        (("run", "NOPE"), "No mapping named NOPE. The mappings are: "),
        (("run", "--all", "--direction", "to"), "--direction applies to one mapping"),
        (("status", "--limit", "0"), "--limit must be 1 or more"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        crm_sync(*args)
    assert not SyncJob.objects.exists()


def test_a_direction_the_mapping_does_not_synchronize_is_refused():
    IntegrationTableMapping.objects.filter(name="CURRENCY").update(direction="to_crm")
    with pytest.raises(CommandError, match="is not possible"):
        crm_sync("run", "CURRENCY", "--direction", "from", "--wait")
    assert not SyncJob.objects.exists()


def test_run_all_with_nothing_enabled_says_so():
    IntegrationTableMapping.objects.update(is_enabled=False)
    with pytest.raises(CommandError, match="No integration table mapping is enabled"):
        crm_sync("run", "--all")


def test_status_lists_recent_jobs_with_their_counters(handler):
    _, failing = handler
    failing.add("CONTACT")
    assert crm_sync("status") == "No synchronization jobs yet.\n"
    crm_sync("run", "CUSTOMER", "--wait")
    with pytest.raises(CommandError):
        crm_sync("run", "CONTACT", "--wait")
    lines = crm_sync("status").splitlines()
    assert lines[0].split()[-2:] == ["created", "message"]
    assert [line.split()[1:4] for line in lines[1:]] == [["CONTACT", "both", "error"], ["CUSTOMER", "both", "success"]]
    assert len(crm_sync("status", "--limit", "1").splitlines()) == 2

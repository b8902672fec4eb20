"""The home page shows the integration's health (issue 13 §5): per mapping state, last and next run, records in
and out in the last 24 hours, what fails now, what is skipped; a chart of the last week; the last full
synchronization's progress; the connection's state: its token and the throttling Dynamics 365 answered with."""

import datetime
import re
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone

import dataverse
from coupling.models import Coupling
from erp.models import Customer
from syncjobs.connection import clients
from syncjobs.engine.context import RunContext
from syncjobs.models import CrmThrottling, FullSyncLine, FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import health, jobs
from tests.factories import CustomerFactory, UserFactory
from tests.syncjobs.crm_support import save_connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def follower():
    client = Client()
    client.force_login(UserFactory(perms=["syncjobs.view_syncjob", "erp.view_customer"]))
    return client


def _finished_job(name: str, direction: str, **counters) -> SyncJob:
    job = jobs.job_create(mapping=IntegrationTableMapping.objects.get(name=name), direction=direction, enqueue=False)
    SyncJob.objects.filter(pk=job.pk).update(status=SyncJob.Status.SUCCESS, finished_at=timezone.now(), **counters)
    job.refresh_from_db()
    return job


def test_records_in_and_out_per_mapping_count_each_pass_of_a_job_both_ways():
    _finished_job("CUSTOMER", "to_crm", inserted=3, modified=2)
    both = _finished_job("CUSTOMER", "both", inserted=1)
    SyncJob.objects.filter(pk=both.pk).update(
        counts_by_direction={"to_crm": {"modified": 4}, "from_crm": {"inserted": 1, "deleted": 1}}
    )
    _finished_job("CONTACT", "from_crm", inserted=7)

    rows = {row.mapping.name: row for row in health.mappings_health()}

    assert (rows["CUSTOMER"].records_out, rows["CUSTOMER"].records_in) == (9, 2)
    assert (rows["CONTACT"].records_out, rows["CONTACT"].records_in) == (0, 7)
    assert rows["CUSTOMER"].last_job.pk == both.pk


def test_failing_now_and_skipped_are_counted_per_mapping():
    customer = CustomerFactory()
    Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(Customer),
        erp_system_id=customer.system_id,
        crm_entity="account",
        crm_id=uuid.uuid4(),
        skipped=True,
    )
    job = _finished_job("CUSTOMER", "to_crm")
    jobs.job_record_error(job=job, mapping=job.mapping, message="Phone is too long.", record=customer)
    jobs.job_record_error(job=job, mapping=job.mapping, message="Phone is too long.", record=customer)

    row = {row.mapping.name: row for row in health.mappings_health()}["CUSTOMER"]

    assert (row.failing_now, row.skipped) == (1, 1)  # one record failing (twice), one coupling skipped


def test_the_chart_counts_records_and_errors_per_hour_and_needs_no_script():
    now = timezone.now()
    _finished_job("CUSTOMER", "to_crm", inserted=5)

    hours, written, errors = health.activity_per_hour(now=now)
    svg = health.activity_chart(now=now)

    assert len(hours) == 7 * 24 + 1 and sum(written) == 5 and sum(errors) == 0
    assert svg.startswith("<svg") and "<script" not in svg
    assert "Records synchronized" in svg


def test_the_home_page_shows_it_to_those_who_follow_the_synchronization(follower, crm_sandbox):
    save_connection(crm_sandbox)
    _finished_job("CUSTOMER", "to_crm", inserted=2)
    run = FullSyncRun.objects.create(status=FullSyncRun.Status.RUNNING)
    mapping = IntegrationTableMapping.objects.get(name="CUSTOMER")
    FullSyncLine.objects.create(run=run, position=1, mapping=mapping, mapping_name="CUSTOMER", status="success")
    FullSyncLine.objects.create(run=run, position=2, mapping=mapping, mapping_name="CONTACT", status="waiting")

    page = follower.get("/").content.decode()

    assert 'id="integration-health"' in page and 'data-testid="mapping-health"' in page
    assert "Customers" in page and "<svg" in page
    assert "1 of 2 mappings done" in page
    others = Client()
    others.force_login(UserFactory(perms=["erp.view_customer"]))
    assert 'id="integration-health"' not in others.get("/").content.decode()


def test_a_week_old_job_is_not_in_the_last_24_hours():
    job = _finished_job("CUSTOMER", "to_crm", inserted=4)
    SyncJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - datetime.timedelta(days=2))

    row = {row.mapping.name: row for row in health.mappings_health()}["CUSTOMER"]

    assert row.records_out == 0


def test_the_home_page_shows_the_throttling_dynamics_365_answered_with(follower, crm_sandbox_with, settings):
    settings.TIME_ZONE = "America/New_York"  # the time is shown in the local time
    save_connection(crm_sandbox_with(throttle="2/30"))
    with clients.crm_client(max_retries=0) as client:
        client.whoami()
    assert not CrmThrottling.objects.exists()  # a client that was not throttled keeps nothing
    assert "No throttling in the last 24 hours" in follower.get("/").content.decode()

    # Another client (as a worker's job would be) is refused twice, given up on at once (no retries).
    with clients.crm_client(max_retries=0) as client:
        client.whoami()
        for _ in range(2):
            with pytest.raises(dataverse.Throttled):
                client.whoami()

    page = follower.get("/").content.decode()
    shown = re.search(r"Throttled by Dynamics 365: (.*?)</span>", page).group(1)
    last_at = timezone.localtime(CrmThrottling.objects.get().last_at).strftime("%Y-%m-%d %H:%M")
    waited = re.fullmatch(rf"2 times in the last 24 hours, last at {last_at} \(asked to wait (\d+) s\)", shown)
    assert waited and 1 <= int(waited.group(1)) <= 30, shown


def test_a_running_job_keeps_the_throttling_it_met_at_each_page_not_only_when_it_ends(crm_sandbox_with):
    save_connection(crm_sandbox_with(throttle="2/30"))
    mapping = IntegrationTableMapping.objects.get(name="CUSTOMER")
    job = jobs.job_claim(job_id=jobs.job_create(mapping=mapping, direction="to_crm", enqueue=False).pk)
    with clients.crm_client(max_retries=0) as client:
        ctx = RunContext(
            job=job,
            mapping=mapping,
            client=client,
            started_at=timezone.now(),
            attributes={},
            change_tracking=False,
            report=jobs.JobReport(job),
        )
        refused = 0
        for _ in range(4):  # two answered within the limit, then two refused (given up on at once)
            try:
                client.whoami()
            except dataverse.Throttled:
                refused += 1
        assert refused == 2

        ctx.flush()  # a page's counters handed to the job

        assert CrmThrottling.objects.get().answers == 2  # while the client is still open
    assert CrmThrottling.objects.get().answers == 2  # closing does not count them twice


def test_throttling_older_than_24_hours_is_left_out_and_the_token_is_that_of_the_last_test(follower, crm_sandbox):
    connection = save_connection(crm_sandbox)
    now = timezone.now()
    CrmThrottling.objects.create(answers=5, last_at=now - datetime.timedelta(hours=25), last_retry_after=300)
    CrmThrottling.objects.create(answers=1, last_at=now - datetime.timedelta(hours=2), last_retry_after=7.5)
    connection.last_test_results = [
        {"key": "server", "title": "Server", "status": "passed", "message": "", "hint": ""},
        {"key": "token", "title": "Token", "status": "failed", "message": "The client secret is wrong.", "hint": ""},
    ]
    connection.save(update_fields=["last_test_results"])

    throttling = health.connection_health(now=now).throttling
    page = follower.get("/").content.decode()

    assert (throttling.answers, throttling.last_retry_after) == (1, 7.5)
    assert "Throttled by Dynamics 365: 1 time in the last 24 hours" in page and "(asked to wait 7.5 s)" in page
    assert "No access token at the last test: The client secret is wrong." in page

"""The synchronization log: list with filters, the live job page, deleting old entries."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def new_job(name: str = "CUSTOMER", **fields) -> SyncJob:
    job = jobs.job_create(
        mapping=IntegrationTableMapping.objects.get(name=name),
        direction=fields.pop("direction", "to_crm"),
        enqueue=False,
    )
    if fields:
        SyncJob.objects.filter(pk=job.pk).update(**fields)
        job.refresh_from_db()
    return job


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(groups=["Sync administrators"]))
    return client


def test_the_log_and_job_pages_need_the_view_permission(client):
    job = new_job()
    urls = [
        reverse("syncjobs:job_list"),
        job.get_absolute_url(),
        reverse("syncjobs:job_status", args=[job.pk]),
        reverse("syncjobs:error_list"),
    ]
    for url in urls:
        assert client.get(url)["Location"].startswith(reverse("login")), url
    client.force_login(UserFactory(perms=["syncjobs.manage_mappings"]))
    for url in urls + [reverse("syncjobs:jobs_delete_old")]:
        assert client.get(url).status_code == 403, url
    viewer = Client()
    viewer.force_login(UserFactory(perms=["syncjobs.view_syncjob"]))
    for url in urls:
        assert viewer.get(url).status_code == 200, url
    assert viewer.get(reverse("syncjobs:jobs_delete_old")).status_code == 403


def test_the_log_lists_jobs_with_their_counters_and_duration(admin_client):
    started = timezone.now() - datetime.timedelta(minutes=3, seconds=5)
    new_job(
        status=SyncJob.Status.ERROR,
        inserted=11,
        modified=22,
        failed=3,
        http_requests=47,
        started_at=started,
        finished_at=started + datetime.timedelta(minutes=2, seconds=4),
    )
    page = admin_client.get(reverse("syncjobs:job_list")).content.decode()
    assert "Synchronization log" in page
    assert "Finished with errors" in page and "text-bg-warning" in page
    # The counters that counted something, in one cell that fits the screen; the technical ones on request.
    for value in (">11</span> inserted", ">22</span> modified", ">3</span> failed", "2:04", "To Dynamics 365"):
        assert value in page, value
    assert ">47<" not in page
    admin_client.post(reverse("syncjobs:job_list"), {"table_columns": "1", "column": ["number", "http_requests"]})
    assert ">47<" in admin_client.get(reverse("syncjobs:job_list")).content.decode()


def test_the_log_filters_by_mapping_status_direction_and_date(admin_client):
    customer = new_job("CUSTOMER", status=SyncJob.Status.SUCCESS)
    contact = new_job("CONTACT", status=SyncJob.Status.FAILED, direction="from_crm")
    old = new_job("CURRENCY", status=SyncJob.Status.SUCCESS)
    SyncJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))

    def listed(**query) -> set[int]:
        response = admin_client.get(reverse("syncjobs:job_list"), query)
        return {job.pk for job in response.context["table"].page.object_list.data}

    assert listed() == {customer.pk, contact.pk, old.pk}
    assert listed(mapping=customer.mapping_id) == {customer.pk}
    assert listed(status="failed") == {contact.pk}
    assert listed(direction="from_crm") == {contact.pk}
    since = (timezone.localdate() - datetime.timedelta(days=7)).isoformat()
    assert listed(created_at_after=since) == {customer.pk, contact.pk}
    until = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    assert listed(created_at_before=until) == {old.pk}


def test_the_job_page_shows_counters_progress_and_the_jobs_errors(admin_client):
    job = new_job(status=SyncJob.Status.RUNNING, progress_done=25, progress_total=100, inserted=7)
    jobs.job_record_error(job=job, mapping=job.mapping, message="Name is required.", details="HTTP 400 trace")
    other = new_job()
    jobs.job_record_error(job=other, mapping=other.mapping, message="Another job's failure.")
    page = admin_client.get(job.get_absolute_url()).content.decode()
    assert 'aria-valuenow="25"' in page and "25 / 100" in page
    assert '<dd data-counter="inserted">7</dd>' in page
    assert '<dd data-counter="failed">1</dd>' in page
    assert "Name is required." in page and "HTTP 400 trace" in page
    assert "Another job&#x27;s failure." not in page and "Another job's failure." not in page


def test_a_running_jobs_status_polls_every_two_seconds_and_a_finished_one_stops(admin_client):
    job = new_job(status=SyncJob.Status.RUNNING, heartbeat_at=timezone.now())
    status_url = reverse("syncjobs:job_status", args=[job.pk])
    page = admin_client.get(job.get_absolute_url()).content.decode()
    assert f'hx-get="{status_url}" hx-trigger="every 2s"' in page

    jobs.job_progress(job=job, modified=4, total=10, done=6, http_requests=3)
    partial = admin_client.get(status_url, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert 'hx-trigger="every 2s"' in body and "6 / 10" in body and "Last heartbeat" in body
    assert '<dd data-counter="modified">4</dd>' in body and '<dd data-counter="http_requests">3</dd>' in body
    assert "HX-Refresh" not in partial

    jobs.job_finish(job=job)
    partial = admin_client.get(status_url, headers={"HX-Request": "true"})
    assert "hx-trigger" not in partial.content.decode()
    assert partial["HX-Refresh"] == "true"
    assert "hx-trigger" not in admin_client.get(job.get_absolute_url()).content.decode()


def test_a_failed_job_shows_its_message(admin_client):
    job = new_job(status=SyncJob.Status.FAILED, message="The job stopped: RuntimeError: boom")
    page = admin_client.get(job.get_absolute_url()).content.decode()
    assert "The job stopped: RuntimeError: boom" in page and "text-bg-danger" in page


def test_deleting_old_entries_asks_first_then_deletes_finished_jobs_and_their_errors(admin_client):
    old_done = new_job(status=SyncJob.Status.ERROR)
    jobs.job_record_error(job=old_done, mapping=old_done.mapping, message="Old failure.")
    old_running = new_job(status=SyncJob.Status.RUNNING)
    recent = new_job(status=SyncJob.Status.SUCCESS)
    SyncJob.objects.filter(pk__in=[old_done.pk, old_running.pk]).update(
        created_at=timezone.now() - datetime.timedelta(days=31)
    )
    url = reverse("syncjobs:jobs_delete_old")
    assert admin_client.get(url).status_code == 200

    confirm = admin_client.post(url, {"days": "30"})
    assert confirm.status_code == 200
    assert "1 finished synchronization job older than 30 days" in confirm.content.decode()
    assert SyncJob.objects.count() == 3

    response = admin_client.post(url, {"days": "30", "confirmed": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("syncjobs:job_list")
    assert set(SyncJob.objects.values_list("pk", flat=True)) == {old_running.pk, recent.pk}
    assert not SyncJobError.objects.exists()


def test_deleting_old_entries_refuses_a_bad_number_of_days(admin_client):
    new_job(status=SyncJob.Status.SUCCESS)
    for days in ("", "-1", "ten"):
        response = admin_client.post(reverse("syncjobs:jobs_delete_old"), {"days": days, "confirmed": "1"})
        assert response.status_code == 200
        assert response.context["form"].errors["days"], days
    assert SyncJob.objects.count() == 1


def test_deleting_old_entries_needs_csrf():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(groups=["Sync administrators"]))
    response = client.post(reverse("syncjobs:jobs_delete_old"), {"days": "0", "confirmed": "1"})
    assert response.status_code == 403

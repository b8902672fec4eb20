"""The synchronization errors page: links to both sides, skipped mark, retry, retry all, decouple, delete."""

import datetime
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from coupling.models import Coupling
from erp.models import Customer
from syncjobs.models import CrmConnection, IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

ERRORS_URL = "/sync/errors/"


def new_job(direction: str = "to_crm") -> SyncJob:
    mapping = IntegrationTableMapping.objects.get(name="CUSTOMER")
    return jobs.job_create(mapping=mapping, direction=direction, enqueue=False)


def couple(customer: Customer) -> Coupling:
    return Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(Customer),
        erp_system_id=customer.system_id,
        crm_entity="account",
        crm_id=uuid.uuid4(),
    )


def fail(customer: Customer | None = None, *, message: str = "Name is required.", **options) -> SyncJobError:
    job = options.pop("job", None) or new_job(options.pop("direction", "to_crm"))
    return jobs.job_record_error(job=job, mapping=job.mapping, message=message, record=customer, **options)


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(groups=["Sync administrators"]))
    return client


def test_the_errors_page_url():
    assert reverse("syncjobs:error_list") == ERRORS_URL


def test_an_error_links_the_erp_record_and_the_crm_row_in_the_dynamics_web_client(admin_client):
    CrmConnection.objects.create(pk=CrmConnection.SINGLETON_PK, server_url="https://contoso.crm4.dynamics.com")
    customer = CustomerFactory()
    coupling = couple(customer)
    error = fail(customer, crm_id=coupling.crm_id, details="HTTP 400\n{'error': 'x'}")
    page = admin_client.get(ERRORS_URL).content.decode()
    assert f'href="{customer.get_absolute_url()}"' in page
    assert (
        f'href="https://contoso.crm4.dynamics.com/main.aspx?etn=account&amp;id={coupling.crm_id}&amp;pagetype=entityrecord"'
        in page
    )
    assert "Open in Dynamics 365" in page
    assert "Name is required." in page and "<summary>Details</summary>" in page and "HTTP 400" in page
    assert f'href="{error.job.get_absolute_url()}"' in page


def test_an_error_whose_erp_record_is_gone_says_so(admin_client):
    customer = CustomerFactory()
    fail(customer)
    Customer.objects.filter(pk=customer.pk).delete()
    assert "(no longer exists)" in admin_client.get(ERRORS_URL).content.decode()


def test_a_skipped_record_is_marked_and_can_be_filtered(admin_client):
    skipped, other = CustomerFactory.create_batch(2)
    couple(skipped)
    couple(other)
    fail(skipped)
    latest = fail(skipped)
    fine = fail(other, message="Phone is too long.")
    response = admin_client.get(ERRORS_URL, {"is_skipped": "true"})
    assert {e.pk for e in response.context["table"].page.object_list.data} == {latest.pk}
    response = admin_client.get(ERRORS_URL, {"is_skipped": "false"})
    assert {e.pk for e in response.context["table"].page.object_list.data} == {fine.pk}


def test_retry_clears_the_skipped_mark_and_starts_a_job_for_those_records(
    admin_client, django_capture_on_commit_callbacks
):
    customers = CustomerFactory.create_batch(3)
    couplings = [couple(customer) for customer in customers]
    for customer in customers:
        fail(customer)
        fail(customer)
    assert Coupling.objects.filter(skipped=True).count() == 3
    chosen = SyncJobError.objects.filter(erp_system_id__in=[customers[0].system_id, customers[1].system_id])
    before = set(SyncJob.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(ERRORS_URL, {"action": "retry", "pk": [e.pk for e in chosen]}, follow=True)
    assert "2 errors retried." in response.content.decode()  # each record's current error (not its history)
    retry = SyncJob.objects.exclude(pk__in=before).get()
    assert (retry.mapping_name, retry.direction, retry.status, retry.created_by) == (
        "CUSTOMER",
        "to_crm",
        SyncJob.Status.PENDING,
        response.context["user"],
    )
    assert retry.parameters == {"erp_system_ids": sorted(str(c.system_id) for c in customers[:2])}
    for coupling, still_skipped in zip(couplings, (False, False, True), strict=True):
        coupling.refresh_from_db()
        assert (coupling.skipped, coupling.consecutive_failures == 0) == (still_skipped, not still_skipped)
    assert f"#{retry.pk}</a> synchronizes the records again." in response.content.decode()
    # The retry runs in the background: the message links its live progress (the fixed rows leave after it).
    assert f'<a href="/sync/log/progress/?jobs={retry.pk}">Follow their progress</a>' in response.content.decode()


def test_retry_all_covers_every_error_of_the_filtered_set(admin_client):
    first, second = CustomerFactory.create_batch(2)
    crm_only = uuid.uuid4()
    fail(first)
    from_crm_job = new_job("from_crm")
    fail(second, job=from_crm_job)
    fail(message="Unknown country.", job=from_crm_job, crm_entity="account", crm_id=crm_only)
    before = set(SyncJob.objects.values_list("pk", flat=True))
    url = f"{ERRORS_URL}?job={from_crm_job.pk}"
    admin_client.post(url, {"action": "retry", "select_all_matching": "1"})
    created = SyncJob.objects.exclude(pk__in=before)
    assert {(job.direction, tuple(sorted(job.parameters))) for job in created} == {
        ("from_crm", ("crm_ids", "erp_system_ids"))
    }
    assert created.get().parameters == {"erp_system_ids": [str(second.system_id)], "crm_ids": [str(crm_only)]}
    page = admin_client.get(url).content.decode()
    assert "Retry all 2" in page


def test_retry_refuses_an_error_without_a_record(admin_client):
    error = fail()
    response = admin_client.post(ERRORS_URL, {"action": "retry", "pk": [error.pk]}, follow=True)
    assert "It names no record to retry" in response.content.decode()


def test_decouple_removes_the_coupling_after_confirmation(admin_client):
    coupled, uncoupled = CustomerFactory.create_batch(2)
    couple(coupled)
    errors = [fail(coupled), fail(uncoupled)]
    data = {"action": "decouple", "pk": [e.pk for e in errors]}
    confirm = admin_client.post(ERRORS_URL, data)
    assert confirm.status_code == 200 and Coupling.objects.count() == 1
    response = admin_client.post(ERRORS_URL, {**data, "confirmed": "1"}, follow=True)
    page = response.content.decode()
    assert "1 error decoupled." in page and "The record is not coupled." in page
    assert not Coupling.objects.exists()


def test_decouple_an_error_whose_erp_record_is_gone_removes_the_leftover_coupling(admin_client):
    customer = CustomerFactory()
    couple(customer)
    error = fail(customer)
    Customer.objects.filter(pk=customer.pk).delete()
    admin_client.post(ERRORS_URL, {"action": "decouple", "pk": [error.pk], "confirmed": "1"})
    assert not Coupling.objects.exists()


def test_delete_removes_the_error_rows_only(admin_client):
    customer = CustomerFactory()
    couple(customer)
    error, kept = fail(customer), fail(customer, message="Other.")
    admin_client.post(f"{ERRORS_URL}?show=all", {"action": "delete", "pk": [error.pk], "confirmed": "1"})
    assert list(SyncJobError.objects.all()) == [kept]
    assert Coupling.objects.count() == 1 and SyncJob.objects.count() == 2


def test_viewers_cannot_act_on_errors():
    customer = CustomerFactory()
    couple(customer)
    error = fail(customer)
    viewer = Client()
    viewer.force_login(UserFactory(perms=["syncjobs.view_syncjob"]))
    page = viewer.get(ERRORS_URL).content.decode()
    assert "Retry all" not in page and 'value="decouple"' not in page
    for action in ("retry", "decouple", "delete"):
        response = viewer.post(ERRORS_URL, {"action": action, "pk": [error.pk], "confirmed": "1"})
        assert response.status_code == 403, action
    assert SyncJobError.objects.count() == 1 and Coupling.objects.count() == 1


def test_the_page_lists_what_fails_now_one_row_per_record_with_since_and_times(admin_client):
    failing, fixed = CustomerFactory.create_batch(2)
    couple(failing)
    fixed_coupling = couple(fixed)
    first = fail(failing)
    fail(failing)
    latest = fail(failing, message="Name is required.")
    fail(fixed)
    # The fixed record synchronized successfully after its error: its row leaves the page by itself.
    Coupling.objects.filter(pk=fixed_coupling.pk).update(
        last_result=Coupling.Result.SUCCESS, last_synced_at=timezone.now() + datetime.timedelta(seconds=1)
    )

    response = admin_client.get(ERRORS_URL)

    rows = list(response.context["table"].page.object_list.data)
    assert [row.pk for row in rows] == [latest.pk]
    assert (rows[0].times, rows[0].since) == (3, first.created_at)
    history = admin_client.get(ERRORS_URL, {"show": "all"}).context["table"].paginator.count
    assert history == 4

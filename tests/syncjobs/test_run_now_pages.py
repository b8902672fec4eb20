""" "Synchronize modified records" now (issue 13 §3): per mapping and for all, on the mappings pages and the full
synchronization page; refusals, permission and CSRF; the live list of the jobs started for all."""

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import CrmConnection, FullSyncLine, FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import full_sync, jobs
from syncjobs.tasks import run_sync_jobs_in_order
from tests.factories import UserFactory
from tests.queue_support import queued_payloads

pytestmark = pytest.mark.django_db

RUN_NOW = ("syncjobs.add_syncjob",)
# Everything the pages need, and every other job permission: still not the one to start jobs.
PAGES = ("syncjobs.manage_mappings", "syncjobs.view_syncjob", "syncjobs.change_syncjob")
LIST = reverse("syncjobs:mapping_list")
ALL = reverse("syncjobs:mappings_synchronize_all")
FULL_SYNC_PAGE = reverse("syncjobs:full_sync")
ALL_BUTTON = f'action="{ALL}"'


def mapping(name: str) -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


def synchronize_url(name: str) -> str:
    return reverse("syncjobs:mapping_synchronize", args=[mapping(name).pk])


def client_with(*perms: str, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(UserFactory(perms=list(perms)))
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def connection_enabled():
    CrmConnection.objects.update_or_create(pk=CrmConnection.SINGLETON_PK, defaults={"is_enabled": True})


@pytest.fixture
def review_without_crm(monkeypatch):
    """The full synchronization page's review with made-up counts: no Dynamics 365 needed."""

    def review(*, client=None):
        return [
            full_sync.ReviewLine(
                mapping=m, erp_count=0, crm_count=0, recommendation=FullSyncLine.Recommendation.NONE, reason=""
            )
            for m in mapping_selectors.mapping_dependency_order(enabled_only=True)
        ]

    monkeypatch.setattr(full_sync, "full_sync_review", review)


@pytest.fixture
def handler(monkeypatch):
    """The synchronization handler: counts a little, runs nothing against Dynamics 365."""
    ran: list[str] = []

    def run(*, job, report):
        ran.append(job.mapping_name)
        jobs.job_progress(job=job, modified=1, unchanged=2, total=3, done=3)

    monkeypatch.setitem(jobs.JOB_HANDLERS, SyncJob.Kind.SYNCHRONIZATION, run)
    return ran


# --- The buttons ----------------------------------------------------------------------------------------------


def test_the_buttons_show_for_users_who_may_start_jobs(review_without_crm):
    IntegrationTableMapping.objects.filter(name="RESOURCE-PRODUCT").update(is_enabled=False)
    client = client_with(*PAGES, *RUN_NOW)

    content = client.get(LIST).content.decode()
    assert ALL_BUTTON in content and "Synchronize all modified records" in content
    assert f'formaction="{synchronize_url("CUSTOMER")}"' in content  # the row's button, in the list's form
    assert synchronize_url("RESOURCE-PRODUCT") not in content  # a disabled mapping has none

    content = client.get(mapping("CUSTOMER").get_absolute_url()).content.decode()
    assert f'action="{synchronize_url("CUSTOMER")}"' in content and "Synchronize modified records" in content
    assert (
        synchronize_url("RESOURCE-PRODUCT")
        not in client.get(mapping("RESOURCE-PRODUCT").get_absolute_url()).content.decode()
    )

    content = client.get(FULL_SYNC_PAGE).content.decode()
    assert ALL_BUTTON in content
    for enabled in mapping_selectors.mapping_dependency_order(enabled_only=True):
        assert f'formaction="{synchronize_url(enabled.name)}"' in content, enabled.name


def test_the_buttons_do_not_show_without_the_permission(review_without_crm):
    client = client_with(*PAGES)
    pages = (LIST, mapping("CUSTOMER").get_absolute_url(), FULL_SYNC_PAGE)
    for page in pages:
        content = client.get(page).content.decode()
        assert ALL_BUTTON not in content and synchronize_url("CUSTOMER") not in content, page
        assert "Synchronize all modified records" not in content and "Synchronize modified records" not in content


def test_while_a_full_synchronization_runs_its_page_offers_no_run_now():
    FullSyncRun.objects.create(status=FullSyncRun.Status.RUNNING)
    content = client_with(*PAGES, *RUN_NOW).get(FULL_SYNC_PAGE).content.decode()
    assert ALL_BUTTON not in content


# --- Starting -------------------------------------------------------------------------------------------------


def test_one_mapping_gets_an_incremental_job_and_its_live_page(connection_enabled, django_capture_on_commit_callbacks):
    IntegrationTableMapping.objects.filter(name="CURRENCY").update(direction="to_crm")
    client = client_with(*PAGES, *RUN_NOW)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(synchronize_url("CUSTOMER"), {"back": LIST})
        client.post(synchronize_url("CURRENCY"))
    customer, currency = SyncJob.objects.order_by("pk")
    assert (customer.mapping, customer.kind, customer.direction, customer.full, customer.status) == (
        mapping("CUSTOMER"),
        SyncJob.Kind.SYNCHRONIZATION,
        SyncJob.JobDirection.BOTH,
        False,
        SyncJob.Status.PENDING,
    )
    assert currency.direction == SyncJob.JobDirection.TO_CRM  # each mapping in its own directions
    assert customer.created_by is not None and not customer.parameters  # every modified record, none chosen
    assert [(p["func"], p["args"]) for p in queued_payloads()] == [
        ("syncjobs.tasks.run_sync_job", (customer.pk,)),
        ("syncjobs.tasks.run_sync_job", (currency.pk,)),
    ]
    # To the job's page, which follows it live.
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    page = client.get(response["Location"])
    assert f'of CUSTOMER: job <a href="{customer.get_absolute_url()}">#{customer.pk}</a>' in messages_of(page)[0]
    assert reverse("syncjobs:job_status", args=[customer.pk]) in page.content.decode()


def test_all_mappings_get_their_jobs_in_dependency_order_in_one_task_and_a_live_list(
    connection_enabled, handler, django_capture_on_commit_callbacks
):
    IntegrationTableMapping.objects.filter(name="RESOURCE-PRODUCT").update(is_enabled=False)
    expected = [m.name for m in mapping_selectors.mapping_dependency_order(enabled_only=True)]
    assert "RESOURCE-PRODUCT" not in expected and len(expected) > 3
    client = client_with(*PAGES, *RUN_NOW)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ALL, {"back": FULL_SYNC_PAGE})

    created = list(SyncJob.objects.order_by("pk"))
    assert [job.mapping_name for job in created] == expected
    assert {(job.kind, job.full, job.status) for job in created} == {
        (SyncJob.Kind.SYNCHRONIZATION, False, SyncJob.Status.PENDING)
    }
    assert all(job.direction == job.mapping.job_direction for job in created)
    [payload] = queued_payloads()
    assert payload["func"] == "syncjobs.tasks.run_sync_jobs_in_order"
    assert payload["args"] == ([job.pk for job in created],)

    # To the list of those jobs, which refreshes itself while any runs, as the job page does.
    progress = f"{reverse('syncjobs:jobs_progress')}?jobs={','.join(str(job.pk) for job in created)}"
    assert response.status_code == 302 and response["Location"] == progress
    page = client.get(progress)
    content = page.content.decode()
    assert f"{len(created)} jobs" in " ".join(messages_of(page))
    assert [f'data-job="{job.pk}"' in content for job in created] == [True] * len(created)
    assert content.index(f'data-mapping="{expected[0]}"') < content.index(f'data-mapping="{expected[-1]}"')
    assert 'data-running="true"' in content and 'hx-trigger="every 2s"' in content

    run_sync_jobs_in_order(*payload["args"])
    assert handler == expected
    partial = client.get(progress, headers={"HX-Request": "true"}).content.decode()
    assert partial.startswith('<div id="jobs-progress"') and "<html" not in partial
    assert 'data-running="false"' in partial and "hx-trigger" not in partial
    assert partial.count('data-job-status="success"') == len(created)


def test_all_includes_the_sales_order_jobs_as_crm_sync_run_all_does(
    connection_enabled, django_capture_on_commit_callbacks
):
    CrmConnection.objects.update(sales_order_integration_enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        client_with(*PAGES, *RUN_NOW).post(ALL)
    from_page = list(SyncJob.objects.order_by("pk").values_list("mapping_name", "kind"))
    assert from_page[-1][1] == SyncJob.Kind.ORDER_INTAKE
    assert [name for name, kind in from_page[:-1]] == [
        m.name for m in mapping_selectors.mapping_dependency_order(enabled_only=True)
    ]
    [payload] = queued_payloads()
    assert len(payload["args"][0]) == len(from_page)

    SyncJob.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("crm_sync", "run", "--all", stdout=io.StringIO())
    assert list(SyncJob.objects.order_by("pk").values_list("mapping_name", "kind")) == from_page


# --- Refusals -------------------------------------------------------------------------------------------------


def test_refused_while_the_connection_is_disabled(django_capture_on_commit_callbacks):
    CrmConnection.objects.update_or_create(pk=CrmConnection.SINGLETON_PK, defaults={"is_enabled": False})
    client = client_with(*PAGES, *RUN_NOW)
    with django_capture_on_commit_callbacks(execute=True):
        one = client.post(synchronize_url("CUSTOMER"), {"back": LIST}, follow=True)
        every = client.post(ALL, {"back": FULL_SYNC_PAGE})
    assert one.redirect_chain[-1][0] == LIST  # back to the page the button was on
    assert "The connection to Dynamics 365 is disabled: enable it first." in messages_of(one)
    assert every["Location"] == FULL_SYNC_PAGE
    assert not SyncJob.objects.exists() and queued_payloads() == []


def test_refused_for_a_disabled_mapping(connection_enabled):
    IntegrationTableMapping.objects.filter(name="CONTACT").update(is_enabled=False)
    response = client_with(*PAGES, *RUN_NOW).post(synchronize_url("CONTACT"), follow=True)
    assert response.redirect_chain[-1][0] == mapping("CONTACT").get_absolute_url()
    assert "The mapping CONTACT is disabled: enable it first to synchronize it." in messages_of(response)
    assert not SyncJob.objects.exists()


def test_refused_while_a_full_synchronization_runs_for_the_mapping(connection_enabled):
    run = FullSyncRun.objects.create(status=FullSyncRun.Status.RUNNING)
    FullSyncLine.objects.create(
        run=run, position=1, mapping=mapping("CUSTOMER"), mapping_name="CUSTOMER", recommendation="full"
    )
    client = client_with(*PAGES, *RUN_NOW)
    one = client.post(synchronize_url("CUSTOMER"), {"back": LIST}, follow=True)
    assert f"Full synchronization #{run.pk} is running for CUSTOMER" in " ".join(messages_of(one))
    every = client.post(ALL, {"back": LIST}, follow=True)
    assert f"Full synchronization #{run.pk} is running" in " ".join(messages_of(every))
    assert not SyncJob.objects.exists()

    # A mapping the run does not hold may run; once the run has ended, every mapping may.
    assert client.post(synchronize_url("CONTACT"))["Location"] == SyncJob.objects.get().get_absolute_url()
    FullSyncRun.objects.update(status=FullSyncRun.Status.FINISHED)
    client.post(synchronize_url("CUSTOMER"))
    assert list(SyncJob.objects.order_by("pk").values_list("mapping_name", flat=True)) == ["CONTACT", "CUSTOMER"]


def test_a_foreign_back_address_is_not_followed():
    response = client_with(*PAGES, *RUN_NOW).post(ALL, {"back": "https://elsewhere.example/"})
    assert response["Location"] == LIST


def test_without_the_log_permission_the_start_goes_back_to_the_page(connection_enabled):
    client = client_with("syncjobs.manage_mappings", *RUN_NOW)
    assert client.post(synchronize_url("CUSTOMER"), {"back": LIST})["Location"] == LIST
    assert client.post(ALL, {"back": LIST})["Location"] == LIST
    assert SyncJob.objects.filter(kind=SyncJob.Kind.SYNCHRONIZATION).count() > 1


# --- Permission and CSRF ----------------------------------------------------------------------------------------


def test_starting_needs_the_permission_csrf_and_a_post(connection_enabled):
    for url in (synchronize_url("CUSTOMER"), ALL):
        assert client_with(*PAGES).post(url).status_code == 403, url
        assert client_with(*PAGES, *RUN_NOW, csrf=True).post(url).status_code == 403, url
        assert client_with(*PAGES, *RUN_NOW).get(url).status_code == 405, url
        anonymous = Client().post(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login")), url
    assert not SyncJob.objects.exists()

    # With the token (as the pages' forms send it) it starts.
    client = client_with(*PAGES, *RUN_NOW, csrf=True)
    client.get(LIST)
    client.post(synchronize_url("CUSTOMER"), {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert SyncJob.objects.get().mapping_name == "CUSTOMER"


def test_the_progress_list_needs_the_log_permission_and_existing_jobs():
    job = jobs.job_create(mapping=mapping("CUSTOMER"), direction=SyncJob.JobDirection.BOTH, enqueue=False)
    url = f"{reverse('syncjobs:jobs_progress')}?jobs={job.pk}"
    assert client_with(*RUN_NOW, "syncjobs.manage_mappings").get(url).status_code == 403
    viewer = client_with("syncjobs.view_syncjob")
    assert viewer.get(url).status_code == 200
    assert viewer.get(f"{reverse('syncjobs:jobs_progress')}?jobs=nope,{job.pk + 1}").status_code == 404

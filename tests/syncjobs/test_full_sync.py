"""Full synchronization: the review's recommendations, the coordinator, ``crm_sync run --all --full``, the
review page and the assisted setup's finish, against a real CRM sandbox."""

import datetime
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from coupling.models import Coupling
from erp.models import Customer
from setup_wizard.models import SetupWizardProgress
from syncjobs import tasks
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import CrmConnection, FullSyncLine, FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import full_sync, jobs
from tests import factories
from tests.queue_support import queued_payloads
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import local_currency

Recommendation = FullSyncLine.Recommendation
NOTHING_IN_CRM = "name eq 'no such row anywhere'"
PAGE = reverse("syncjobs:full_sync")
START = reverse("syncjobs:full_sync_start")


def enable_only(*names: str) -> None:
    IntegrationTableMapping.objects.exclude(name__in=names).update(is_enabled=False)
    IntegrationTableMapping.objects.filter(name__in=names).update(is_enabled=True)


def review_by_name(**kwargs) -> dict[str, full_sync.ReviewLine]:
    return {line.mapping.name: line for line in full_sync.full_sync_review(**kwargs)}


def crm_sync(*args) -> str:
    out = io.StringIO()
    call_command("crm_sync", *args, stdout=out)
    return out.getvalue()


# --- Review -----------------------------------------------------------------------------------------------


def test_recommendations_follow_what_each_side_holds(connected):
    factories.CustomerFactory(name="Review Both Sides Co")
    support.mapping("CUSTOMER", crm_filter="statecode eq 0")  # the sandbox's accounts have no customer type
    factories.ItemFactory()
    support.mapping("ITEM-PRODUCT", crm_filter="productnumber eq 'NO-SUCH-PRODUCT'")
    support.mapping("RESOURCE-PRODUCT", crm_filter="productnumber eq 'NO-SUCH-PRODUCT'")
    accounts = support.crm_rows(connected, "accounts", select=["name"], filter=support.F.eq("statecode", 0))

    with clients.crm_client() as client:
        lines = review_by_name(client=client)
        asked = client.stats.count("GET")

    assert list(lines) == [m.name for m in mapping_selectors.mapping_dependency_order(enabled_only=True)]
    customer = lines["CUSTOMER"]
    assert (customer.recommendation, customer.erp_count) == (Recommendation.COUPLE, 1)
    assert customer.crm_count == len(accounts) > 0
    assert lines["ITEM-PRODUCT"].recommendation == Recommendation.FULL  # only the ERP holds items
    assert (lines["ITEM-PRODUCT"].erp_count, lines["ITEM-PRODUCT"].crm_count) == (1, 0)
    assert lines["RESOURCE-PRODUCT"].recommendation == Recommendation.NONE  # neither side
    assert lines["PAYMENT TERMS"].recommendation == Recommendation.FULL  # option mappings always run full
    assert lines["PAYMENT TERMS"].crm_count is None
    # The sandbox's users are the only salespeople: they are created in the ERP.
    assert lines["SALESPEOPLE"].recommendation == Recommendation.FULL
    # One request per mapping with CRM rows (one row and the count), never the whole table.
    assert asked == len([line for line in lines.values() if not line.mapping.is_option_mapping])


def test_currency_runs_full_only_when_dynamics_holds_just_its_base_currency(connected):
    local_currency("USD")
    assert review_by_name()["CURRENCY"].recommendation == Recommendation.COUPLE  # USD, EUR and GBP
    support.mapping("CURRENCY", crm_filter="isocurrencycode eq 'USD'")
    line = review_by_name()["CURRENCY"]
    assert (line.recommendation, line.crm_count) == (Recommendation.FULL, 1)


def test_salespeople_already_in_the_erp_are_coupled_not_created_again(connected):
    factories.SalespersonFactory(email="helen@cronus-demosite.com")
    assert review_by_name()["SALESPEOPLE"].recommendation == Recommendation.COUPLE


def test_a_mapping_to_couple_without_match_fields_is_not_started_nor_are_its_dependants(connected):
    enable_only("CUSTOMER", "CONTACT")
    factories.CustomerFactory()
    support.mapping("CUSTOMER", crm_filter="statecode eq 0").field_mappings.update(use_for_match_based_coupling=False)
    line = review_by_name()["CUSTOMER"]
    assert line.recommendation == Recommendation.COUPLE and "coupling criteria of CUSTOMER" in line.problem
    # Asking to couple it anyway is refused; a full synchronization (or skip) may be chosen instead.
    with pytest.raises(ValidationError, match="CUSTOMER: coupling needs match fields"):
        full_sync.full_sync_start(overrides={"CUSTOMER": "couple", "CONTACT": "full"}, enqueue=False)
    assert not FullSyncRun.objects.exists()

    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(overrides={"CONTACT": "full"}, enqueue=False).pk)
    customer, contact = run.lines.order_by("position")
    assert customer.status == FullSyncLine.Status.SKIPPED and "coupling criteria of CUSTOMER" in customer.message
    assert (contact.status, contact.message) == (FullSyncLine.Status.SKIPPED, "Not started: CUSTOMER did not finish.")
    assert not SyncJob.objects.exists()


def test_bad_overrides_are_refused_by_name(connected):
    with pytest.raises(ValidationError) as refused:
        full_sync.full_sync_start(overrides={"NOPE": "full", "CUSTOMER": "delete", "PAYMENT TERMS": "couple"})
    text = " ".join(refused.value.messages)
    assert "NOPE is not an enabled mapping" in text and "“delete” is not a choice" in text
    assert "PAYMENT TERMS is an option mapping" in text
    assert not FullSyncRun.objects.exists()


def test_a_start_needs_the_connection_enabled(connected):
    CrmConnection.objects.update(is_enabled=False)
    with pytest.raises(ValidationError, match="Enable the connection"):
        full_sync.full_sync_start()


# --- The coordinator ----------------------------------------------------------------------------------------


def test_a_second_start_while_one_runs_is_refused_and_the_flags_clear_at_the_end(
    connected, django_capture_on_commit_callbacks
):
    enable_only("CURRENCY", "UNIT OF MEASURE")
    with django_capture_on_commit_callbacks(execute=True):
        run = full_sync.full_sync_start()
    [payload] = queued_payloads()
    assert (payload["func"], payload["args"]) == ("syncjobs.tasks.run_full_synchronization", (run.pk,))
    assert set(IntegrationTableMapping.objects.filter(full_sync_running=True).values_list("name", flat=True)) == {
        "CURRENCY",
        "UNIT OF MEASURE",
    }
    with pytest.raises(ValidationError, match=f"already running \\(#{run.pk}"):
        full_sync.full_sync_start()
    assert FullSyncRun.objects.count() == 1

    assert tasks.run_full_synchronization(run.pk) == FullSyncRun.Status.FINISHED
    assert tasks.run_full_synchronization(run.pk) == FullSyncRun.Status.FINISHED  # a second delivery does nothing
    assert not IntegrationTableMapping.objects.filter(full_sync_running=True).exists()
    assert SyncJob.objects.filter(kind=SyncJob.Kind.SYNCHRONIZATION).count() == 2
    full_sync.full_sync_start(enqueue=False)  # and a new one may start


def test_a_failed_mapping_stops_its_dependants_and_the_flags_still_clear(connected):
    enable_only("CUSTOMER", "CONTACT")
    factories.CustomerFactory(name="Failing Coupling Co")
    support.mapping("CUSTOMER", crm_filter="statecode eq 0")
    run = full_sync.full_sync_start(enqueue=False)
    assert list(run.lines.values_list("mapping_name", "recommendation")) == [
        ("CUSTOMER", Recommendation.COUPLE),
        ("CONTACT", Recommendation.FULL),  # only Dynamics 365 holds contacts
    ]
    # Someone clears CUSTOMER's coupling criteria before the worker gets to it.
    support.mapping("CUSTOMER").field_mappings.update(use_for_match_based_coupling=False)

    run = full_sync.full_sync_run(run_id=run.pk)

    assert run.status == FullSyncRun.Status.FINISHED
    customer, contact_line = run.lines.order_by("position")
    assert customer.status == FullSyncLine.Status.FAILED and "choose the coupling criteria" in customer.message
    assert customer.coupling_job.status == SyncJob.Status.FAILED and customer.sync_job is None
    assert contact_line.status == FullSyncLine.Status.SKIPPED
    assert contact_line.message == "Not started: CUSTOMER did not finish."
    assert contact_line.coupling_job is None and contact_line.sync_job is None
    assert "1 failed, 1 skipped" in run.message
    assert not IntegrationTableMapping.objects.filter(full_sync_running=True).exists()


def test_a_run_nobody_picked_up_can_be_cancelled_and_frees_its_mappings(connected):
    enable_only("CURRENCY")
    run = full_sync.full_sync_start(enqueue=False)
    assert full_sync.full_sync_is_abandoned(run=run)
    full_sync.full_sync_cancel(run=run)
    run.refresh_from_db()
    assert run.status == FullSyncRun.Status.CANCELLED
    assert run.lines.get().status == FullSyncLine.Status.SKIPPED
    assert not IntegrationTableMapping.objects.filter(full_sync_running=True).exists()
    assert full_sync.full_sync_run(run_id=run.pk).status == FullSyncRun.Status.CANCELLED  # a late worker does nothing


def test_a_run_whose_worker_died_is_handed_on_and_resumes_where_it_stopped(
    connected, django_capture_on_commit_callbacks
):
    enable_only("CURRENCY", "UNIT OF MEASURE")
    run = full_sync.full_sync_start(enqueue=False)
    # A worker claimed it, finished CURRENCY, then died before UNIT OF MEASURE.
    done = jobs.job_create(mapping=support.mapping("CURRENCY"), direction="to_crm", full=True, enqueue=False)
    SyncJob.objects.filter(pk=done.pk).update(status=SyncJob.Status.SUCCESS, finished_at=timezone.now())
    run.lines.filter(mapping_name="CURRENCY").update(status=FullSyncLine.Status.SUCCESS, sync_job=done)
    alive = timezone.now()
    FullSyncRun.objects.filter(pk=run.pk).update(status=FullSyncRun.Status.RUNNING, worker="gone:1", heartbeat_at=alive)

    # While it still shows signs of life nobody takes it over.
    assert full_sync.full_sync_resume_abandoned() == []
    assert tasks.run_full_synchronization(run.pk) == FullSyncRun.Status.RUNNING
    assert not full_sync.full_sync_is_abandoned(run=FullSyncRun.objects.get(pk=run.pk))

    FullSyncRun.objects.filter(pk=run.pk).update(heartbeat_at=alive - datetime.timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        assert full_sync.full_sync_resume_abandoned() == [run.pk]
    [payload] = queued_payloads()
    assert tasks.run_full_synchronization(*payload["args"]) == FullSyncRun.Status.FINISHED

    run.refresh_from_db()
    assert run.worker != "gone:1"
    assert run.lines.get(mapping_name="CURRENCY").sync_job_id == done.pk  # not run again
    assert run.lines.get(mapping_name="UNIT OF MEASURE").status != FullSyncLine.Status.WAITING
    assert SyncJob.objects.filter(mapping_name="CURRENCY").count() == 1
    assert not IntegrationTableMapping.objects.filter(full_sync_running=True).exists()


# --- crm_sync run --all --full ------------------------------------------------------------------------------


def test_run_all_full_on_demo_data_couples_the_accounts_dynamics_holds_instead_of_duplicating(connected):
    call_command("erp_seed", stdout=io.StringIO())
    accounts_before = support.crm_rows(connected, "accounts", select=["name", "accountnumber"])
    seeded = {row["accountnumber"]: row["accountid"] for row in accounts_before if row.get("accountnumber")}
    for account_id in seeded.values():  # customers in Dynamics 365 too (the CUSTOMER mapping's filter)
        support.crm_update(connected, "accounts", account_id, {"customertypecode": 3})
    demo_customers = Customer.objects.filter(no__in=seeded, **support.mapping("CUSTOMER").erp_filter)
    assert demo_customers.count() >= 5

    in_filter = list(Customer.objects.filter(**support.mapping("CUSTOMER").erp_filter))
    unmatched = [customer for customer in in_filter if customer.no not in seeded]

    out = io.StringIO()
    call_command("crm_sync", "run", "--all", "--full", "--wait", stdout=out)  # raises when a record failed

    # What Dynamics 365 held is coupled, not duplicated; the demo customers it did not hold are
    # created there (the mapping's "create new if no match").
    accounts_after = support.crm_rows(connected, "accounts", select=["name"])
    names_after = [row["name"] for row in accounts_after]
    assert all(names_after.count(row["name"]) == 1 for row in accounts_before)
    assert len(accounts_after) == len(accounts_before) + len(unmatched)
    for customer in unmatched:
        assert support.coupling_of(customer).state == Coupling.State.COUPLED, customer.no
    for customer in demo_customers:
        coupling = support.coupling_of(customer)
        assert coupling is not None and coupling.state == Coupling.State.COUPLED, customer.no
        assert str(coupling.crm_id).lower() == str(seeded[customer.no]).lower()
    run = FullSyncRun.objects.get()
    assert run.status == FullSyncRun.Status.FINISHED
    line = run.lines.get(mapping_name="CUSTOMER")
    assert line.recommendation == Recommendation.COUPLE
    assert line.coupling_job.coupled == demo_customers.count()
    assert line.sync_job.full is False  # the coupled records only, from scratch
    assert not IntegrationTableMapping.objects.filter(full_sync_running=True).exists()
    # The coupling jobs are in the printed counters too, before their mapping's synchronization.
    output = out.getvalue()
    rows = [row.split() for row in output.splitlines() if row.startswith("#") and "CUSTOMER" in row.split()[:2]]
    coupling_row, sync_row = rows[:2]
    assert coupling_row[0] == f"#{line.coupling_job.pk}" and sync_row[0] == f"#{line.sync_job.pk}"
    assert coupling_row[10] == str(demo_customers.count())  # the coupled counter
    assert re.search(r"^CUSTOMER +\d+ +\d+ +Couple records$", output, re.MULTILINE)
    # The demo's done-when: after the full synchronization alone, crm_verify finds nothing to report
    # (it raises CommandError, exit 1, when anything differs or is left uncoupled that should not be).
    verified = io.StringIO()
    call_command("crm_verify", stdout=verified)
    assert "Both sides agree." in verified.getvalue()
    # Price list items (no name to match on) were matched by price list and product, not skipped.
    prices = run.lines.get(mapping_name="SALESPRC-PRODPRICE")
    assert prices.status == FullSyncLine.Status.SUCCESS and prices.sync_job.failed == 0


def test_lookups_coupled_only_by_a_later_mapping_are_sent_before_the_run_ends(connected):
    """CUSTOMER runs before CONTACT: a customer's primary contact goes out in a pass after every line."""
    enable_only("CUSTOMER", "CONTACT")
    support.mapping("CUSTOMER", crm_filter=NOTHING_IN_CRM)
    support.mapping("CONTACT", crm_filter="lastname eq 'no such row anywhere'")
    factories.NoSeriesFactory(code="CONT", prefix="CT")
    customer = factories.CustomerFactory(name="Deferred Full Sync Ltd")
    company = factories.CompanyContactFactory(customer=customer)
    person = factories.ContactFactory(last_name="Deferredfull", company=company)
    Customer.objects.filter(pk=customer.pk).update(primary_contact=person)

    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)

    assert run.status == FullSyncRun.Status.FINISHED, run.message
    customer_line, contact_line = run.lines.order_by("position")
    assert (customer_line.status, contact_line.status) == (FullSyncLine.Status.SUCCESS, FullSyncLine.Status.SUCCESS)
    assert customer_line.deferred_job.modified == 1 and contact_line.deferred_job is None
    account = support.crm_row(connected, "accounts", support.coupling_of(customer).crm_id, ["primarycontactid"])
    assert account["_primarycontactid_value"] == str(support.coupling_of(person).crm_id)
    assert not support.coupling_of(customer).deferred_values
    assert full_sync.full_sync_jobs(run=run)[-1] == customer_line.deferred_job


# --- The page -----------------------------------------------------------------------------------------------


def test_the_page_needs_the_permission_and_shows_the_review(connected):
    assert Client().get(PAGE).status_code == 302  # to the login page
    assert cs.client_with().get(PAGE).status_code == 403
    viewer = cs.client_with("syncjobs.view_syncjob")
    response = viewer.get(PAGE)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="full-sync-review"' in content
    for mapping in mapping_selectors.mapping_dependency_order(enabled_only=True):
        assert f'data-mapping="{mapping.name}"' in content
    assert 'data-testid="full-sync-start"' not in content  # seeing is not starting
    assert viewer.post(START).status_code == 403
    assert not FullSyncRun.objects.exists()


def test_the_page_says_when_dynamics_cannot_be_asked(connected):
    CrmConnection.objects.update(server_url="https://127.0.0.1:9/")
    content = cs.client_with("syncjobs.view_syncjob").get(PAGE).content.decode()
    assert 'data-testid="crm-problem"' in content and "Dynamics 365 could not be asked what it holds" in content


def test_start_from_the_page_with_a_choice_per_line_then_follow_it(connected, django_capture_on_commit_callbacks):
    enable_only("CURRENCY", "UNIT OF MEASURE")
    unit_of_measure = support.mapping("UNIT OF MEASURE")
    admin = cs.client_with("syncjobs.view_syncjob", "syncjobs.change_syncjob", csrf=True)
    content = admin.get(PAGE).content.decode()
    assert 'data-testid="full-sync-start"' in content
    assert f'name="line-{unit_of_measure.pk}"' in content
    assert admin.post(START, {f"line-{unit_of_measure.pk}": "skip"}).status_code == 403  # no CSRF token

    token = admin.cookies["csrftoken"].value
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(START, {f"line-{unit_of_measure.pk}": "skip", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == PAGE
    run = FullSyncRun.objects.get()
    assert dict(run.lines.values_list("mapping_name", "recommendation")) == {
        "CURRENCY": Recommendation.COUPLE,
        "UNIT OF MEASURE": Recommendation.SKIP,
    }
    assert run.created_by is not None
    assert [p["func"] for p in queued_payloads()] == ["syncjobs.tasks.run_full_synchronization"]

    # While it runs the page follows it live and offers no second start.
    content = admin.get(PAGE).content.decode()
    assert reverse("syncjobs:full_sync_status", args=[run.pk]) in content and 'hx-trigger="every' in content
    assert 'data-testid="full-sync-start"' not in content
    again = admin.post(START, {"csrfmiddlewaretoken": token}, follow=True).content.decode()
    assert "already running" in again
    status = reverse("syncjobs:full_sync_status", args=[run.pk])
    assert "HX-Refresh" not in admin.get(status, headers={"HX-Request": "true"})

    full_sync.full_sync_run(run_id=run.pk)
    assert admin.get(status, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    content = admin.get(PAGE).content.decode()
    assert 'data-run-status="finished"' in content and 'data-testid="full-sync-start"' in content
    currency = run.lines.get(mapping_name="CURRENCY")
    for job in (currency.coupling_job, currency.sync_job):
        assert job.get_absolute_url() in content  # the line's jobs, and the last job of CURRENCY to Dynamics 365


def test_the_sync_pages_and_the_connection_page_link_to_it(connected):
    admin = cs.client_with(
        "syncjobs.view_syncjob", "syncjobs.manage_mappings", "syncjobs.manage_connection", "erp.view_customer"
    )
    for url in (
        reverse("syncjobs:job_list"),
        reverse("syncjobs:mapping_list"),
        reverse("setup_wizard:crm_connection"),
    ):
        assert f'href="{PAGE}"' in admin.get(url).content.decode(), url


# --- The assisted setup -------------------------------------------------------------------------------------


def test_finishing_the_assisted_setup_starts_the_full_synchronization_asked_for(
    connected, django_capture_on_commit_callbacks
):
    enable_only("CURRENCY")
    local_currency("USD")  # one of the checks the enabling runs
    summary = reverse("setup_wizard:wizard_step", args=["summary"])
    client = cs.client_with("syncjobs.manage_connection")

    def finish(*, full_synchronization: bool) -> str:
        CrmConnection.objects.update(is_enabled=False)
        SetupWizardProgress.objects.update_or_create(
            pk=1,
            defaults={
                "completed_steps": [1, 2, 3, 4],
                "current_step": 5,
                "full_synchronization_requested": full_synchronization,
            },
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(summary, {"action": "enable"}, follow=True)
        assert connection_selectors.crm_connection_is_enabled()
        return response.content.decode()

    assert "full synchronization" not in finish(full_synchronization=False).lower()
    assert not FullSyncRun.objects.exists()

    content = finish(full_synchronization=True)
    run = FullSyncRun.objects.get()
    assert run.created_by is not None and list(run.lines.values_list("mapping_name", flat=True)) == ["CURRENCY"]
    assert [p["args"] for p in queued_payloads()] == [(run.pk,)]
    assert "The full synchronization you asked for runs in the background" in content

    # Finished again while it still runs: the setup is done, the second start is refused and said so.
    content = finish(full_synchronization=True)
    assert "The full synchronization did not start: A full synchronization is already running" in content
    assert FullSyncRun.objects.count() == 1

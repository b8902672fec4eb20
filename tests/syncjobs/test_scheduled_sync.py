"""Recurring synchronization: the every-minute dispatcher queues each enabled mapping's incremental run when
it is due, once, only while the connection is enabled; the mappings page shows the next run."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from syncjobs import tasks
from syncjobs.mappings.selectors import mapping_dependency_order
from syncjobs.models import CrmConnection, IntegrationTableMapping, SyncJob
from syncjobs.runs import scheduling
from tests import factories
from tests.queue_support import queued_payloads
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

pytestmark = pytest.mark.django_db


@pytest.fixture
def enabled_connection():
    CrmConnection.objects.update_or_create(pk=CrmConnection.SINGLETON_PK, defaults={"is_enabled": True})


def finish_all(*, minutes_ago: int) -> None:
    """Every job ran and finished this long ago."""
    SyncJob.objects.update(
        status=SyncJob.Status.SUCCESS, finished_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )


def dispatch(django_capture_on_commit_callbacks) -> list[SyncJob]:
    with django_capture_on_commit_callbacks(execute=True):
        return scheduling.scheduled_sync_dispatch()


def test_the_dispatcher_is_scheduled_every_minute():
    schedule = Schedule.objects.get(func="syncjobs.tasks.dispatch_scheduled_synchronizations")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


def test_nothing_is_queued_while_the_connection_is_disabled(django_capture_on_commit_callbacks):
    CrmConnection.objects.update_or_create(pk=CrmConnection.SINGLETON_PK, defaults={"is_enabled": False})
    assert dispatch(django_capture_on_commit_callbacks) == []
    assert not SyncJob.objects.exists() and queued_payloads() == []
    CrmConnection.objects.all().delete()  # never set up
    assert tasks.dispatch_scheduled_synchronizations() == "none due"


def test_mappings_that_never_ran_are_due_in_dependency_order_and_queued_once(
    enabled_connection, django_capture_on_commit_callbacks
):
    IntegrationTableMapping.objects.filter(name="RESOURCE-PRODUCT").update(is_enabled=False)
    created = dispatch(django_capture_on_commit_callbacks)
    expected = [m.name for m in mapping_dependency_order(enabled_only=True)]
    assert [job.mapping_name for job in created] == expected and "RESOURCE-PRODUCT" not in expected
    assert all(not job.full and job.kind == SyncJob.Kind.SYNCHRONIZATION for job in created)
    directions = dict(SyncJob.objects.values_list("mapping_name", "direction"))
    assert (directions["CUSTOMER"], directions["SALESPEOPLE"], directions["CURRENCY"]) == ("both", "from_crm", "to_crm")
    [payload] = queued_payloads()
    assert (payload["func"], payload["args"]) == ("syncjobs.tasks.run_sync_jobs_in_order", ([j.pk for j in created],))

    # A minute later the jobs are still queued or running: nothing is queued twice.
    assert dispatch(django_capture_on_commit_callbacks) == []
    SyncJob.objects.filter(mapping_name="CUSTOMER").update(status=SyncJob.Status.RUNNING)
    assert dispatch(django_capture_on_commit_callbacks) == []
    assert SyncJob.objects.count() == len(expected) and len(queued_payloads()) == 1


def test_a_mapping_is_due_its_interval_after_its_last_job_finished(
    enabled_connection, django_capture_on_commit_callbacks
):
    IntegrationTableMapping.objects.update(sync_interval_minutes=30)
    IntegrationTableMapping.objects.filter(name="CURRENCY").update(sync_interval_minutes=5)
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(sync_interval_minutes=10)
    dispatch(django_capture_on_commit_callbacks)
    finish_all(minutes_ago=10)

    created = dispatch(django_capture_on_commit_callbacks)

    assert [job.mapping_name for job in created] == ["CURRENCY", "CUSTOMER"]  # 5 and 10 minutes are up, 30 are not
    assert queued_payloads()[-1]["func"] == "syncjobs.tasks.run_sync_jobs_in_order"
    finish_all(minutes_ago=10)
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(sync_interval_minutes=30)
    [alone] = dispatch(django_capture_on_commit_callbacks)
    assert alone.mapping_name == "CURRENCY"
    last = queued_payloads()[-1]
    assert (last["func"], last["args"]) == ("syncjobs.tasks.run_sync_job", (alone.pk,))


def test_disabled_mappings_and_mappings_under_a_full_synchronization_wait(
    enabled_connection, django_capture_on_commit_callbacks
):
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(is_enabled=False)
    IntegrationTableMapping.objects.filter(name="CONTACT").update(full_sync_running=True)
    names = [job.mapping_name for job in dispatch(django_capture_on_commit_callbacks)]
    assert "CUSTOMER" not in names and "CONTACT" not in names and "CURRENCY" in names


def test_the_task_reports_what_it_queued(enabled_connection):
    IntegrationTableMapping.objects.exclude(name="CURRENCY").update(is_enabled=False)
    assert tasks.dispatch_scheduled_synchronizations() == "queued 1: CURRENCY"
    assert tasks.dispatch_scheduled_synchronizations() == "none due"


def test_a_dispatched_job_synchronizes_against_the_crm(connected, django_capture_on_commit_callbacks):
    """What the dispatcher queues is a plain incremental job the worker runs: a coupled currency's change
    reaches Dynamics 365."""
    IntegrationTableMapping.objects.exclude(name="CURRENCY").update(is_enabled=False)
    [gbp] = support.crm_rows(
        connected,
        "transactioncurrencies",
        select=["currencyname"],
        filter=support.F.eq("isocurrencycode", "GBP"),
    )
    currency = factories.CurrencyFactory(code="GBP", description="Pound sterling (scheduled)", symbol="£")
    support.couple(currency, "transactioncurrency", gbp["transactioncurrencyid"])
    [job] = dispatch(django_capture_on_commit_callbacks)
    [payload] = queued_payloads()
    status = tasks.run_sync_job(*payload["args"])
    job.refresh_from_db()
    assert status == SyncJob.Status.SUCCESS, support.errors(job)
    job.refresh_from_db()
    assert job.modified == 1, support.errors(job)
    row = support.crm_row(connected, "transactioncurrencies", gbp["transactioncurrencyid"], ["currencyname"])
    assert row["currencyname"] == "Pound sterling (scheduled)"
    # Done just now: not due again before its interval is up.
    assert dispatch(django_capture_on_commit_callbacks) == []


def test_the_mappings_page_shows_the_next_run(enabled_connection):
    IntegrationTableMapping.objects.update(sync_interval_minutes=30)
    currency = IntegrationTableMapping.objects.get(name="CURRENCY")
    finished = timezone.now() - datetime.timedelta(minutes=10)
    SyncJob.objects.create(
        mapping=currency, mapping_name="CURRENCY", direction="to_crm", status="success", finished_at=finished
    )
    IntegrationTableMapping.objects.filter(name="CONTACT").update(full_sync_running=True)
    admin = cs.client_with("syncjobs.manage_mappings")
    content = admin.get(reverse("syncjobs:mapping_list"), {"per_page": 100}).content.decode()
    assert "Next run" in content
    expected = timezone.localtime(finished + datetime.timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")
    assert expected in content  # CURRENCY: 30 minutes after its last job
    assert "Due now" in content and "After the full synchronization" in content
    CrmConnection.objects.update(is_enabled=False)
    assert "Connection disabled" in admin.get(reverse("syncjobs:mapping_list")).content.decode()


def run_finished(name: str, *, minutes_ago: int, **counters) -> SyncJob:
    """A synchronization job of the mapping that finished this long ago with these counters."""
    mapping = IntegrationTableMapping.objects.get(name=name)
    return SyncJob.objects.create(
        mapping=mapping,
        mapping_name=name,
        direction=SyncJob.JobDirection.BOTH,
        status=SyncJob.Status.SUCCESS,
        finished_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        **counters,
    )


def due_names() -> list[str]:
    return [mapping.name for mapping in scheduling.scheduled_sync_due()]


def test_a_mapping_idle_for_its_inactivity_timeout_runs_once_per_timeout_until_an_erp_change_wakes_it(
    enabled_connection,
):
    IntegrationTableMapping.objects.exclude(name="CUSTOMER").update(is_enabled=False)
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(
        sync_interval_minutes=30, inactivity_timeout_minutes=120, erp_watermark=timezone.now()
    )
    customer = factories.CustomerFactory()  # changed before the watermark below: already taken in
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(erp_watermark=timezone.now())
    # Its last change was found 200 minutes ago; the runs since found nothing to do.
    run_finished("CUSTOMER", minutes_ago=200, modified=3)
    run_finished("CUSTOMER", minutes_ago=45)
    assert due_names() == []  # its 30 minutes are up, but it is idle: next at 45 - 120 minutes from now
    mapping = IntegrationTableMapping.objects.get(name="CUSTOMER")
    state = scheduling.schedule_states()[mapping.pk]
    next_run = scheduling.mapping_next_run(mapping=mapping, state=state, connection_enabled=True)
    assert "idle: nothing to do for 120 min" in next_run.label
    assert next_run.at == state.last_sync_finished_at + datetime.timedelta(minutes=120)

    # A change in the ERP wakes it at its normal interval.
    customer.name = "Woken Up Ltd"
    customer.save()
    assert due_names() == ["CUSTOMER"]

    # Once the timeout is up it runs anyway (changes made only in Dynamics 365).
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(erp_watermark=timezone.now())
    assert due_names() == []
    SyncJob.objects.filter(mapping_name="CUSTOMER", modified=3).update(
        finished_at=timezone.now() - datetime.timedelta(minutes=400)
    )
    SyncJob.objects.filter(mapping_name="CUSTOMER", modified=0).update(
        finished_at=timezone.now() - datetime.timedelta(minutes=125)
    )
    state = scheduling.schedule_states()[mapping.pk]
    assert scheduling.mapping_is_idle(mapping=IntegrationTableMapping.objects.get(name="CUSTOMER"), state=state)
    assert due_names() == ["CUSTOMER"]


def test_a_mapping_that_found_something_within_its_timeout_keeps_its_interval(enabled_connection):
    IntegrationTableMapping.objects.exclude(name="CUSTOMER").update(is_enabled=False)
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(
        sync_interval_minutes=30, inactivity_timeout_minutes=120, erp_watermark=timezone.now()
    )
    run_finished("CUSTOMER", minutes_ago=100, inserted=1)
    run_finished("CUSTOMER", minutes_ago=40)
    assert due_names() == ["CUSTOMER"]

"""Conflicts per record (issue 13 §2), against a real CRM sandbox.

A field changed on both sides under the policy *Leave both and report* is an error whose row (errors page,
record's Dynamics 365 panel) leads to the record's conflict page: per field the ERP value, the Dynamics 365
value and the last synchronized one, *Use ERP value* / *Use Dynamics 365 value*, and *Synchronize this record*,
which makes both systems hold the chosen values without changing the mapping's policy.
"""

import re

import pytest
from django.urls import reverse

from erp.models import Customer
from syncjobs.errors import selectors
from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests import factories
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

Policy = IntegrationTableMapping.UpdateConflictPolicy
RESOLVER = ("syncjobs.view_syncjob", "syncjobs.change_syncjob", "erp.view_customer")


@pytest.fixture
def synced_customer(connected):
    """A customer and its account, in sync both ways (as test_engine_both_ways' fixture)."""
    support.couple_local_currency(connected)
    factories.NoSeriesFactory(code="CUST", prefix="C")
    customer = factories.CustomerFactory(
        name="Conflict Corp",
        city="Springfield",
        phone="+1 555 000 0001",
        salesperson=support.couple_john_roberts(connected),
    )
    job = support.run("CUSTOMER", "both", full=True)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    settle = support.run("CUSTOMER", "both")
    assert settle.status == SyncJob.Status.SUCCESS, support.errors(settle)
    return Customer.objects.get(pk=customer.pk)


@pytest.fixture
def conflict(connected, synced_customer) -> SyncJobError:
    """City and phone changed in both systems, to different values: the run reports the record."""
    assert support.mapping("CUSTOMER").update_conflict_policy == Policy.REPORT
    crm_id = support.coupling_of(synced_customer).crm_id
    synced_customer.city = "ERP City"
    synced_customer.phone = "+1 555 111 1111"
    synced_customer.save()
    support.crm_update(connected, "accounts", crm_id, {"address1_city": "CRM City", "telephone1": "+1 555 222 2222"})
    job = support.run("CUSTOMER", "both", parameters={"erp_system_ids": [str(synced_customer.system_id)]})
    assert job.failed == 1, support.errors(job)
    return SyncJobError.objects.get(job=job)


def page_url(customer) -> str:
    return reverse("syncjobs:record_conflict", args=[support.mapping("CUSTOMER").pk, customer.system_id])


def cells(content: str, field: str) -> dict[str, str]:
    row = re.search(rf'<tr data-field="{field}">(.*?)</tr>', content, re.S).group(1)
    found = dict(re.findall(r'<td data-side="(\w+)"[^>]*>(.*?)</td>', row, re.S))
    found["label"] = re.search(r'<th scope="row">(.*?)</th>', row, re.S).group(1)
    return found


def test_the_conflict_page_shows_each_side_and_the_last_synchronized_value(connected, synced_customer, conflict):
    browser = cs.client_with(*RESOLVER)

    content = browser.get(page_url(synced_customer)).content.decode()

    assert cells(content, "address1_city") == {
        "label": "City",
        "erp": "ERP City",
        "crm": "CRM City",
        "base": "Springfield",
    }
    assert cells(content, "telephone1") == {
        "label": "Phone no.",
        "erp": "+1 555 111 1111",
        "crm": "+1 555 222 2222",
        "base": "+1 555 000 0001",
    }
    assert 'name="use-address1_city" value="erp"' in content and "Use Dynamics 365 value" in content
    assert "Synchronize this record" in content
    assert 'data-field="name"' not in content  # a field nobody changed is not in conflict


def test_the_errors_page_and_the_records_panel_lead_to_the_conflict_page(connected, synced_customer, conflict):
    browser = cs.client_with(*RESOLVER)
    url = page_url(synced_customer)

    assert conflict.fix_url == url
    errors_page = browser.get(reverse("syncjobs:error_list")).content.decode()
    assert f'<a href="{url}">Resolve the conflict</a>' in errors_page
    panel = browser.get(synced_customer.get_absolute_url()).content.decode()
    assert f'<a href="{url}">Resolve the conflict</a>' in panel


def test_synchronize_this_record_makes_both_systems_hold_the_values_chosen(connected, synced_customer, conflict):
    browser = cs.client_with(*RESOLVER, csrf=True)
    url = page_url(synced_customer)
    page = browser.get(url)
    token = re.search(r'name="token" value="(\w+)"', page.content.decode()).group(1)
    crm_id = support.coupling_of(synced_customer).crm_id
    before = set(SyncJob.objects.values_list("pk", flat=True))

    response = browser.post(
        url,
        {
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
            "token": token,
            "use-address1_city": "crm",
            "use-telephone1": "erp",
        },
    )

    job = SyncJob.objects.exclude(pk__in=before).get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.parameters == {"erp_system_ids": [str(synced_customer.system_id)]}
    finished = jobs.job_run(job_id=job.pk)
    assert finished.status == SyncJob.Status.SUCCESS and finished.failed == 0, support.errors(finished)
    synced_customer.refresh_from_db()
    assert (synced_customer.city, synced_customer.phone) == ("CRM City", "+1 555 111 1111")
    row = support.crm_row(connected, "accounts", crm_id, ["address1_city", "telephone1"])
    assert (row["address1_city"], row["telephone1"]) == ("CRM City", "+1 555 111 1111")
    assert not selectors.current_sync_errors().filter(erp_system_id=synced_customer.system_id).exists()
    assert support.mapping("CUSTOMER").update_conflict_policy == Policy.REPORT  # the mapping is as it was
    again = support.run("CUSTOMER", "both", parameters={"erp_system_ids": [str(synced_customer.system_id)]})
    assert (again.failed, again.modified) == (0, 0), support.errors(again)


def test_every_conflicting_field_needs_a_choice_and_values_changed_since_are_shown_again(
    connected, synced_customer, conflict
):
    browser = cs.client_with(*RESOLVER)
    url = page_url(synced_customer)
    token = re.search(r'name="token" value="(\w+)"', browser.get(url).content.decode()).group(1)

    half = browser.post(url, {"token": token, "use-address1_city": "crm"})
    assert half.status_code == 400 and "Choose which value to use for Phone no." in half.content.decode()

    support.crm_update(connected, "accounts", support.coupling_of(synced_customer).crm_id, {"address1_city": "Later"})
    stale = browser.post(url, {"token": token, "use-address1_city": "crm", "use-telephone1": "erp"})
    assert stale.status_code == 400 and "The values changed since the page was shown" in stale.content.decode()
    assert cells(stale.content.decode(), "address1_city")["crm"] == "Later"
    assert not SyncJob.objects.filter(parameters__erp_system_ids=[str(synced_customer.system_id)], status="pending")


def test_the_page_needs_the_permission_to_change_jobs_and_a_csrf_token(connected, synced_customer, conflict):
    url = page_url(synced_customer)
    viewer = cs.client_with("syncjobs.view_syncjob", "erp.view_customer")
    assert viewer.get(url).status_code == 403
    assert viewer.post(url, {"use-address1_city": "crm", "use-telephone1": "erp"}).status_code == 403
    no_token = cs.client_with(*RESOLVER, csrf=True)
    assert no_token.post(url, {"use-address1_city": "crm", "use-telephone1": "erp"}).status_code == 403
    assert support.coupling_of(synced_customer).snapshot["address1_city"] == "Springfield"

"""The coupling on the ERP's detail pages: its panel and the Couple / Synchronize now / Decouple / Open buttons."""

import pytest

from coupling.models import Coupling
from erp.models import Customer
from syncjobs.models import SyncJob
from syncjobs.runs import jobs
from tests import factories
from tests.erp.pages_support import messages_of
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

# Every ERP table a default record mapping synchronizes, with the permission to see its pages.
MAPPED = [
    ("CUSTOMER", factories.CustomerFactory, "erp.view_customer"),
    ("CONTACT", factories.ContactFactory, "erp.view_contact"),
    ("SALESPEOPLE", factories.SalespersonFactory, "erp.view_salesperson"),
    ("CURRENCY", factories.CurrencyFactory, "erp.view_currency"),
    ("UNIT OF MEASURE", factories.UnitOfMeasureFactory, "erp.view_unitofmeasure"),
    ("ITEM-PRODUCT", factories.ItemFactory, "erp.view_item"),
    ("RESOURCE-PRODUCT", factories.ResourceFactory, "erp.view_resource"),
    ("CUSTPRCGRP-PRICE", factories.CustomerPriceGroupFactory, "erp.view_customerpricegroup"),
    ("SALESPRC-PRODPRICE", factories.SalesPriceFactory, "erp.view_salesprice"),
]
COUPLING_PERMS = ("coupling.add_coupling", "coupling.delete_coupling", "syncjobs.add_syncjob")


def actions_on(page: str) -> set[str]:
    return {name for name in ("crm_couple", "crm_synchronize", "crm_decouple", "crm_open") if f'"{name}"' in page}


@pytest.mark.parametrize(("mapping_name", "factory", "view_perm"), MAPPED, ids=[m[0] for m in MAPPED])
def test_every_mapped_table_has_the_panel_and_the_couple_button(db, mapping_name, factory, view_perm):
    record = factory()
    page = cs.client_with(view_perm, *COUPLING_PERMS).get(record.get_absolute_url()).content.decode()
    assert 'data-testid="crm-coupling-panel"' in page
    assert "Not coupled" in page and f"{mapping_name} (" in page
    assert actions_on(page) == {"crm_couple"}


def test_a_coupled_record_shows_its_row_its_last_synchronization_and_the_buttons_that_apply(connected):
    crm_id = cs.create_account(connected, "Detail Coupled Ltd")
    customer = factories.CustomerFactory(name="Detail Coupled Ltd")
    coupling = support.couple(customer, "account", crm_id)
    job = jobs.job_create(mapping=support.mapping("CUSTOMER"), direction="to_crm", enqueue=False)
    jobs.job_record_error(job=job, mapping=job.mapping, message="Phone is too long.", record=customer)

    viewer = cs.client_with("erp.view_customer", "syncjobs.view_syncjob", *COUPLING_PERMS)
    page = viewer.get(customer.get_absolute_url()).content.decode()
    assert actions_on(page) == {"crm_synchronize", "crm_decouple", "crm_open"}
    open_url = f"{connected.url.rstrip('/')}/main.aspx?etn=account&amp;id={coupling.crm_id}&amp;pagetype=entityrecord"
    assert f'href="{open_url}" data-action="crm_open" target="_blank"' in page
    assert "Coupled</span> with a Dynamics 365 account" in page  # its words, not the row's id
    # What fails now, as the errors page shows it: since when, how many times; the job with that job's time.
    assert "Failing" in page and "Phone is too long." in page and f"job #{job.pk}" in page
    assert "1 time." in page and 'data-testid="crm-last-job-time"' in page


def test_the_panel_says_success_again_once_the_record_synchronized_after_its_error(connected):
    from django.utils import timezone

    from coupling.models import Coupling

    customer = factories.CustomerFactory(name="Detail Fixed Ltd")
    coupling = support.couple(customer, "account", cs.create_account(connected, "Detail Fixed Ltd"))
    job = jobs.job_create(mapping=support.mapping("CUSTOMER"), direction="to_crm", enqueue=False)
    jobs.job_record_error(job=job, mapping=job.mapping, message="Phone is too long.", record=customer)
    Coupling.objects.filter(pk=coupling.pk).update(
        last_result=Coupling.Result.SUCCESS, last_synced_at=timezone.now() + timezone.timedelta(seconds=1)
    )

    page = cs.client_with("erp.view_customer", *COUPLING_PERMS).get(customer.get_absolute_url()).content.decode()

    assert "Success" in page and "Phone is too long." not in page


def test_buttons_need_their_permissions_and_the_panel_only_the_page(connected):
    customer = factories.CustomerFactory()
    support.couple(customer, "account", cs.create_account(connected, "Detail Viewer Co"))
    viewer = cs.client_with("erp.view_customer")
    page = viewer.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="crm-coupling-panel"' in page
    assert actions_on(page) == {"crm_open"}  # a link, like the list's column
    for action in ("crm_synchronize", "crm_decouple"):
        assert viewer.post(customer.get_absolute_url(), {"action": action}).status_code == 403, action
    assert support.coupling_of(customer) is not None and not SyncJob.objects.exists()


def test_couple_goes_to_the_coupling_page_of_the_record(connected):
    customer = factories.CustomerFactory()
    response = cs.client_with("erp.view_customer", *COUPLING_PERMS).post(
        customer.get_absolute_url(), {"action": "crm_couple"}
    )
    expected = f"/sync/coupling/{support.mapping('CUSTOMER').pk}/record/{customer.system_id}/"
    assert response.status_code == 302 and response["Location"] == expected


def test_synchronize_now_starts_a_job_for_the_record_and_comes_back(connected):
    customer = factories.CustomerFactory(name="Detail Sync Co")
    support.couple(customer, "account", cs.create_account(connected, "Detail Sync Co"))
    client = cs.client_with("erp.view_customer", *COUPLING_PERMS)
    response = client.post(customer.get_absolute_url(), {"action": "crm_synchronize"}, follow=True)
    assert response.redirect_chain[-1][0] == customer.get_absolute_url()
    job = SyncJob.objects.get()
    assert (job.mapping_name, job.direction, job.parameters) == (
        "CUSTOMER",
        "both",
        {"erp_system_ids": [str(customer.system_id)]},
    )
    text = " ".join(messages_of(response))
    assert f"#{job.pk}" in text and "1 customer queued for synchronization." in text


def test_decouple_asks_first_then_decouples_and_comes_back(connected):
    customer = factories.CustomerFactory()
    support.couple(customer, "account", cs.create_account(connected, "Detail Decouple Co"))
    client = cs.client_with("erp.view_customer", *COUPLING_PERMS)
    asked = client.post(customer.get_absolute_url(), {"action": "crm_decouple"})
    assert asked.status_code == 200 and "Neither side is deleted." in asked.content.decode()
    assert Coupling.objects.exists()
    done = client.post(customer.get_absolute_url(), {"action": "crm_decouple", "confirmed": "1"}, follow=True)
    assert "1 customer decoupled." in messages_of(done)
    assert not Coupling.objects.exists()
    assert actions_on(done.content.decode()) == {"crm_couple"}


def test_no_panel_where_the_table_is_not_synchronized_and_the_record_never_was(db):
    support.mapping("CUSTOMER", is_enabled=False)
    customer = factories.CustomerFactory()
    page = cs.client_with("erp.view_customer", *COUPLING_PERMS).get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="crm-coupling-panel"' not in page and not actions_on(page)
    assert Customer.objects.count() == 1

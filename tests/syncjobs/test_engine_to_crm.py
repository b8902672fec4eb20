"""ERP → CRM: creates safe to repeat, bulk writes with failure isolation, lookups, options, trimming, echo."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from coupling.models import Coupling, OptionCoupling
from dataverse import F
from syncjobs.engine import outcomes
from syncjobs.models import SyncJob, SyncJobError
from tests import factories
from tests.syncjobs import engine_support as support

ACCOUNT_COLUMNS = ["name", "address1_city", "telephone1", "creditlimit", "paymenttermscode", "accountid"]


@pytest.fixture
def john(connected):
    return support.couple_john_roberts(connected)


def test_full_run_creates_accounts_with_owner_and_couples_them(connected, john):
    customer = factories.CustomerFactory(name="Engine Alpha Ltd", city="Springfield", salesperson=john)

    job = support.run("CUSTOMER", "to_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, job.message
    assert (job.inserted, job.coupled, job.failed) == (1, 1, 0)
    coupling = support.coupling_of(customer)
    assert coupling.state == Coupling.State.COUPLED
    row = support.crm_row(connected, "accounts", coupling.crm_id, ["name", "address1_city", "creditlimit", "ownerid"])
    assert row["name"] == "Engine Alpha Ltd"
    assert row["address1_city"] == "Springfield"
    assert float(row["creditlimit"]) == 10000.0
    assert row["_ownerid_value"] == support.crm_user_id(connected, "John Roberts")
    assert coupling.snapshot["name"] == "Engine Alpha Ltd"


def test_parent_not_coupled_fails_the_record_naming_the_parent(connected):
    salesperson = factories.SalespersonFactory(code="HR", name="Helen Ray")
    customer = factories.CustomerFactory(name="Engine Orphan", salesperson=salesperson)

    job = support.run("CUSTOMER", "to_crm", full=True)

    assert job.status == SyncJob.Status.ERROR
    error = SyncJobError.objects.get(job=job)
    assert error.message == "Salesperson HR Helen Ray must be coupled to a Dynamics 365 user."
    assert error.erp_system_id == customer.system_id
    assert (
        error.details == f"Customer {customer} refers to it as its Salesperson. Couple it first (Salespeople ← Users)."
    )
    couple_page = reverse("coupling:record", args=[support.mapping("SALESPEOPLE").pk, salesperson.system_id])
    assert (error.fix_url, error.fix_label) == (couple_page, "Couple salesperson HR Helen Ray")
    assert support.coupling_of(customer) is None
    assert not support.crm_rows(connected, "accounts", select=["name"], filter=F.eq("name", "Engine Orphan"))


def test_crash_after_the_crm_create_then_rerun_makes_no_duplicate(connected, john, monkeypatch):
    customer = factories.CustomerFactory(name="Engine Crash Test", salesperson=john)

    def crash(couplings):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(outcomes, "save_successes", crash)
    crashed = support.run("CUSTOMER", "to_crm", full=True)
    assert crashed.status == SyncJob.Status.FAILED
    pending = support.coupling_of(customer)
    assert pending.state == Coupling.State.CREATING
    assert len(support.crm_rows(connected, "accounts", select=["name"], filter=F.eq("name", "Engine Crash Test"))) == 1

    monkeypatch.undo()
    rerun = support.run("CUSTOMER", "to_crm")

    assert rerun.status == SyncJob.Status.SUCCESS, rerun.message
    rows = support.crm_rows(connected, "accounts", select=["name"], filter=F.eq("name", "Engine Crash Test"))
    assert [row["accountid"] for row in rows] == [str(pending.crm_id)]
    assert support.coupling_of(customer).state == Coupling.State.COUPLED


def test_one_bad_record_among_a_thousand(connected):
    unit = factories.UnitOfMeasureFactory(code="PCS")
    support.couple(unit, "uomschedule", _unit_group(connected, "PCS"))
    items = factories.ItemFactory.create_batch(1000, base_unit_of_measure=unit)
    bad = items[500]
    # Dataverse's money columns stop at 922,337,203,685,477: the ERP allows more, the CRM refuses it.
    type(bad).objects.filter(pk=bad.pk).update(unit_price=Decimal("1000000000000000.00"))

    job = support.run("ITEM-PRODUCT", "to_crm", full=True)

    assert job.status == SyncJob.Status.ERROR
    assert (job.inserted, job.failed) == (999, 1)
    error = SyncJobError.objects.get(job=job)
    assert error.erp_system_id == bad.system_id
    assert "price" in error.message
    assert support.coupling_of(bad).last_result == Coupling.Result.FAILURE
    numbers = {row["productnumber"] for row in support.crm_rows(connected, "products", select=["productnumber"])}
    assert {item.no for item in items} - numbers == {bad.no}
    # Bulk first: two pages of UpsertMultiple and one replay $batch, not one request per record.
    assert job.http_requests < 20


def test_a_value_dynamics_365_refuses_is_named_as_the_records_page_names_its_field(connected, john):
    support.couple_local_currency(connected)
    # 16 digits: the ERP's credit limit takes them, Dynamics 365's money column stops at 922,337,203,685,477.
    customer = factories.CustomerFactory(name="Engine Credit Ltd", salesperson=john)
    type(customer).objects.filter(pk=customer.pk).update(credit_limit_lcy=Decimal("1000000000000000"))

    job = support.run("CUSTOMER", "to_crm", full=True)

    error = SyncJobError.objects.get(job=job, erp_system_id=customer.system_id)
    assert error.message.startswith("Dynamics 365 refused the account: ")
    assert "'creditlimit'" in error.message  # Dynamics 365's own words stay
    # ... and the field to correct is named as the customer's page names it.
    assert error.message.endswith(" On the customer's page: Credit limit (LCY).")


def _unit_group(sandbox, code: str) -> str:
    with support.admin_client(sandbox) as admin:
        rows = list(admin.query("uomschedules", select=["name"], filter=F.eq("name", code)))
        if rows:
            return rows[0]["uomscheduleid"]
        return admin.create("uomschedules", {"name": code, "baseuomname": code})


def test_option_values_are_sent_and_unmapped_ones_reported(connected, john):
    net30 = factories.PaymentTermsFactory(code="NET30")
    cod = factories.PaymentTermsFactory(code="COD")
    OptionCoupling.objects.create(
        erp_model=_content_type(net30),
        erp_system_id=net30.system_id,
        crm_entity="account",
        crm_attribute="paymenttermscode",
        option_value=1,
    )
    good = factories.CustomerFactory(name="Engine Net30", salesperson=john, payment_terms=net30)
    bad = factories.CustomerFactory(name="Engine COD", salesperson=john, payment_terms=cod)

    job = support.run("CUSTOMER", "to_crm", full=True)

    row = support.crm_row(connected, "accounts", support.coupling_of(good).crm_id, ["paymenttermscode"])
    assert row["paymenttermscode"] == 1
    error = SyncJobError.objects.get(job=job)
    assert error.erp_system_id == bad.system_id
    assert "Payment terms COD has no coupled value" in error.message


def _content_type(record):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(type(record))


def test_a_new_currency_is_created_in_dynamics_with_its_exchange_rate_or_fails_saying_it_has_none(connected):
    """Dynamics 365 requires transactioncurrency.exchangerate: units of the currency per one of its base currency
    (the ERP's local currency); the ERP keeps LCY per unit of the currency, as Business Central does."""
    support.couple_local_currency(connected)
    chf = factories.CurrencyFactory(code="CHF", description="Swiss franc", symbol="Fr.")
    factories.CurrencyExchangeRateFactory(
        currency=chf, starting_date=datetime.date(2020, 1, 1), exchange_rate=Decimal("1.250000")
    )
    nok = factories.CurrencyFactory(code="NOK", description="Norwegian krone", symbol="kr")

    job = support.run("CURRENCY", "to_crm", full=True)

    (row,) = support.crm_rows(
        connected, "transactioncurrencies", select=["exchangerate"], filter=support.F.eq("isocurrencycode", "CHF")
    )
    assert Decimal(str(row["exchangerate"])) == Decimal("0.8")
    assert support.coupling_of(chf).crm_id.hex == row["transactioncurrencyid"].replace("-", "")
    (error,) = [e for e in job.errors.all() if e.erp_system_id == nok.system_id]
    assert error.message.startswith("Currency NOK has no exchange rate on ")
    assert error.message.endswith(": Dynamics 365 needs one to create it.")
    assert nok.get_absolute_url() in error.details
    assert not support.crm_rows(
        connected, "transactioncurrencies", select=["isocurrencycode"], filter=support.F.eq("isocurrencycode", "NOK")
    )


def test_a_value_trimmed_to_fit_dynamics_365_gets_a_warning_row_naming_the_record_and_the_field(connected, john):
    from syncjobs.models import IntegrationFieldMapping, SyncJobWarning

    # The city goes to a column of 20 characters here (a customized organization, say), trimmed by the mapping.
    IntegrationFieldMapping.objects.filter(table_mapping__name="CUSTOMER", erp_field="city").update(
        crm_attribute="address1_postalcode", transform=IntegrationFieldMapping.Transform.TRIM
    )
    IntegrationFieldMapping.objects.filter(table_mapping__name="CUSTOMER", erp_field="post_code").delete()
    customer = factories.CustomerFactory(salesperson=john, city="Llanfairpwllgwyngyllgogery")

    job = support.run("CUSTOMER", "to_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    warning = SyncJobWarning.objects.get(job=job)
    assert (warning.erp_system_id, warning.field) == (customer.system_id, "city")
    assert "was trimmed to 20 characters" in warning.message

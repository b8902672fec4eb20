"""Option mappings (payment terms, shipment methods, shipping agents ↔ account option sets) and blank currencies (LCY).

Each test gets a clean organization ready for the integration (tests/conftest.py); the ERP database is
rolled back after each test.
"""

import pytest

from coupling.models import OptionCoupling
from erp.models import Customer, PaymentTerms, ShipmentMethod, ShippingAgent
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import Direction, IntegrationTableMapping, SyncJob, SyncJobError
from syncjobs.runs import jobs
from tests import factories
from tests.syncjobs import crm_support
from tests.syncjobs import engine_support as support

Policy = IntegrationTableMapping.DeletionPolicy


@pytest.fixture
def john(connected):
    return support.couple_john_roberts(connected)


def option_set(sandbox, attribute: str) -> dict[int, str]:
    with support.admin_client(sandbox) as admin:
        return admin.option_set("account", attribute)


def coupled_values(model) -> dict[str, int]:
    couplings = {c.erp_system_id: c.option_value for c in OptionCoupling.objects.all()}
    return {record.code: couplings[record.system_id] for record in model.objects.all() if record.system_id in couplings}


def counters(job: SyncJob) -> dict[str, int]:
    return {name: getattr(job, name) for name in SyncJob.COUNTERS if getattr(job, name)}


def test_erp_codes_are_coupled_to_the_options_with_their_label(connected):
    factories.PaymentTermsFactory(code="NET 30")
    factories.PaymentTermsFactory(code="NET 45")

    job = support.run("PAYMENT TERMS", "to_crm")
    again = support.run("PAYMENT TERMS", "to_crm")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert counters(job) == {"coupled": 2}
    assert coupled_values(PaymentTerms) == {"NET 30": 1, "NET 45": 3}
    # Matched without regard to case, and the CRM's labels stay as they are.
    options = option_set(connected, "paymenttermscode")
    assert (options[1], options[3]) == ("Net 30", "Net 45")
    assert counters(again) == {"unchanged": 2}
    assert 0 < job.http_requests <= 2


def test_a_code_without_an_option_gets_a_new_one_that_accounts_then_carry(connected, john):
    cod = factories.PaymentTermsFactory(code="COD")
    customer = factories.CustomerFactory(name="Options Cash Ltd", salesperson=john, payment_terms=cod)

    job = support.run("PAYMENT TERMS", "to_crm")
    accounts = support.run("CUSTOMER", "to_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert counters(job) == {"inserted": 1, "coupled": 1}
    value = coupled_values(PaymentTerms)["COD"]
    assert value >= 100_000_000
    assert option_set(connected, "paymenttermscode")[value] == "COD"
    assert accounts.status == SyncJob.Status.SUCCESS, support.errors(accounts)
    row = support.crm_row(connected, "accounts", support.coupling_of(customer).crm_id, ["paymenttermscode"])
    assert row["paymenttermscode"] == value


def test_a_renamed_code_or_description_renames_its_option(connected):
    method = factories.ShipmentMethodFactory(code="FOB", description="Free on board")
    support.run("SHIPMENT METHOD", "to_crm")
    assert coupled_values(ShipmentMethod) == {"FOB": 1}

    method.code = "FOB DEST"
    method.save()
    renamed = support.run("SHIPMENT METHOD", "to_crm")

    assert counters(renamed) == {"modified": 1}
    assert option_set(connected, "address1_freighttermscode")[1] == "FOB DEST"
    assert OptionCoupling.objects.get(erp_system_id=method.system_id).option_label == "FOB DEST"

    label = support.mapping("SHIPMENT METHOD").field_mappings.get(crm_attribute="label")
    label.erp_field = "description"
    label.save()
    described = support.run("SHIPMENT METHOD", "to_crm")

    assert counters(described) == {"modified": 1}
    assert option_set(connected, "address1_freighttermscode")[1] == "Free on board"


def test_from_dynamics_365_options_become_erp_codes(connected):
    support.mapping("SHIPPING AGENT", direction=Direction.FROM_CRM)
    dhl = factories.ShippingAgentFactory(code="DHL", description="DHL Express")

    job = support.run("SHIPPING AGENT", "from_crm")

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert counters(job) == {"inserted": 6, "coupled": 7}
    assert coupled_values(ShippingAgent) == {
        "AIRBORNE": 1,
        "DHL": 2,
        "FEDEX": 3,
        "UPS": 4,
        "POSTAL MAI": 5,  # cut to the code's ten characters
        "FULL LOAD": 6,
        "WILL CALL": 7,
    }
    assert ShippingAgent.objects.get(code="POSTAL MAI").description == "Postal Mail"
    dhl.refresh_from_db()
    assert dhl.description == "DHL Express"

    with support.admin_client(connected) as admin:
        admin.update_option_value("account", "address1_shippingmethodcode", 4, "UPS Ground")
    relabelled = support.run("SHIPPING AGENT", "from_crm")

    assert counters(relabelled) == {"modified": 1, "unchanged": 6}
    assert coupled_values(ShippingAgent)["UPS GROUND"] == 4


def test_an_option_label_the_erp_refuses_is_a_failed_record(connected):
    support.mapping("PAYMENT TERMS", direction=Direction.FROM_CRM)

    job = support.run("PAYMENT TERMS", "from_crm")

    assert job.status == SyncJob.Status.ERROR
    assert job.failed == 1
    error = SyncJobError.objects.get(job=job)
    assert "2% 10, Net 30" in error.message and "code" in error.message
    assert error.erp_label == "option “2% 10, Net 30” (2) of account.paymenttermscode"
    assert error.erp_model.model_class() is PaymentTerms
    assert {"NET 30": 1, "NET 45": 3, "NET 60": 4}.items() <= coupled_values(PaymentTerms).items()
    assert 2 not in coupled_values(PaymentTerms).values()


def test_no_matching_option_without_create_new_fails_the_record(connected):
    support.mapping("PAYMENT TERMS", create_new_if_no_match=False)
    odd = factories.PaymentTermsFactory(code="XYZ")

    job = support.run("PAYMENT TERMS", "to_crm")

    assert job.status == SyncJob.Status.ERROR
    error = SyncJobError.objects.get(job=job)
    assert error.message == "No option of account.paymenttermscode matches Payment terms XYZ."
    assert error.erp_system_id == odd.system_id
    assert "XYZ" not in option_set(connected, "paymenttermscode").values()


def test_a_deleted_erp_code_is_decoupled_and_its_option_kept(connected):
    net60 = factories.PaymentTermsFactory(code="NET 60")
    support.run("PAYMENT TERMS", "to_crm")
    net60.delete()

    job = support.run("PAYMENT TERMS", "to_crm")

    assert counters(job) == {"uncoupled": 1}
    assert not OptionCoupling.objects.exists()
    assert option_set(connected, "paymenttermscode")[4] == "Net 60"


def test_propagated_deletion_removes_an_option_no_account_uses(connected, john):
    support.mapping("PAYMENT TERMS", deletion_policy=Policy.PROPAGATE)
    unused = factories.PaymentTermsFactory(code="UNUSED")
    used = factories.PaymentTermsFactory(code="USED")
    customer = factories.CustomerFactory(name="Options Used Terms", salesperson=john, payment_terms=used)
    support.run("PAYMENT TERMS", "to_crm")
    support.run("CUSTOMER", "to_crm", full=True)
    values = coupled_values(PaymentTerms)
    customer.payment_terms = None  # the ERP lets go of it; the account in Dynamics 365 still has it
    customer.save()
    unused.delete()
    used.delete()

    job = support.run("PAYMENT TERMS", "to_crm")

    assert counters(job) == {"deleted": 1, "uncoupled": 1}
    options = option_set(connected, "paymenttermscode")
    assert values["UNUSED"] not in options and options[values["USED"]] == "USED"
    assert not OptionCoupling.objects.exists()
    assert "“USED”" in job.message and "still use it" in job.message


def test_option_mappings_run_before_customers_and_as_jobs(connected):
    names = [mapping.name for mapping in mapping_selectors.mapping_dependency_order(enabled_only=True)]
    for name in ("PAYMENT TERMS", "SHIPMENT METHOD", "SHIPPING AGENT"):
        assert names.index(name) < names.index("CUSTOMER")
        job = jobs.job_create(mapping=support.mapping(name), direction="to_crm", enqueue=False)
        assert jobs.job_run(job_id=job.pk).status == SyncJob.Status.SUCCESS


# --- Blank currency = local currency (LCY) -------------------------------------------------------------------------


def account_currency(sandbox, customer) -> str:
    row = support.crm_row(sandbox, "accounts", support.coupling_of(customer).crm_id, ["transactioncurrencyid"])
    return row["_transactioncurrencyid_value"]


def test_blank_currency_without_lcy_is_the_organizations_base_currency(connected, john):
    customer = factories.CustomerFactory(name="Options Base Currency", salesperson=john, currency=None)

    created = support.run("CUSTOMER", "to_crm", full=True)
    again = support.run("CUSTOMER", "to_crm", full=True)

    assert created.status == again.status == SyncJob.Status.SUCCESS, support.errors(created) + support.errors(again)
    # The seeded base currency.
    assert account_currency(connected, customer) == support.crm_currency_id(connected, "USD")
    # The CRM's value is what the blank stands for: nothing to bring back, nothing to send.
    assert counters(again) == {"unchanged": 1}
    customer.refresh_from_db()
    assert customer.currency is None


def test_blank_currency_is_the_coupled_local_currency(connected, john):
    support.couple_local_currency(connected, "EUR")
    customer = factories.CustomerFactory(name="Options Euro Ltd", salesperson=john, currency=None)

    job = support.run("CUSTOMER", "to_crm", full=True)

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert account_currency(connected, customer) == support.crm_currency_id(connected, "EUR")


def test_blank_currency_with_an_uncoupled_lcy_names_it(connected, john):
    euro = crm_support.local_currency("EUR")
    customer = factories.CustomerFactory(name="Options Uncoupled LCY", salesperson=john, currency=None)

    job = support.run("CUSTOMER", "to_crm", full=True)

    error = SyncJobError.objects.get(job=job)
    assert error.message == "Currency EUR (the local currency) must be coupled to a Dynamics 365 currency."
    assert error.erp_system_id == customer.system_id
    assert "CURRENCY mapping" in error.details
    assert euro.code == "EUR"


def test_an_account_in_the_local_currency_becomes_a_customer_with_a_blank_currency(connected):
    factories.NoSeriesFactory(code="CUST", prefix="C")
    usd = support.crm_currency_id(connected, "USD")
    with support.admin_client(connected) as admin:
        account_id = admin.create(
            "accounts",
            {
                "name": "Options From Dynamics",
                "customertypecode": 3,
                "transactioncurrencyid@odata.bind": f"/transactioncurrencies({usd})",
            },
        )

    job = support.run("CUSTOMER", "from_crm", full=True, parameters={"crm_ids": [account_id]})

    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert job.inserted == 1
    assert Customer.objects.get(name="Options From Dynamics").currency is None


def test_an_option_deleted_in_dynamics_365_is_reported_or_restored(connected):
    gone = factories.PaymentTermsFactory(code="GONE")
    support.run("PAYMENT TERMS", "to_crm")
    value = coupled_values(PaymentTerms)["GONE"]
    with support.admin_client(connected) as admin:
        admin.delete_option_value("account", "paymenttermscode", value)

    reported = support.run("PAYMENT TERMS", "to_crm")
    support.mapping("PAYMENT TERMS", deletion_policy=Policy.RESTORE)
    restored = support.run("PAYMENT TERMS", "to_crm")

    assert reported.status == SyncJob.Status.ERROR
    assert SyncJobError.objects.get(job=reported).message == (
        f"The option {value} of account.paymenttermscode coupled to payment terms GONE was deleted in Dynamics 365."
    )
    assert counters(restored) == {"inserted": 1}
    assert option_set(connected, "paymenttermscode")[value] == "GONE"
    assert coupled_values(PaymentTerms) == {gone.code: value}

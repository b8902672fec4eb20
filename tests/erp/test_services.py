"""Number series and the generic record_save / record_delete services."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from erp import services
from erp.models import Contact, Currency, Customer, Item, NoSeries, Resource, SalesHeader
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def number_series():
    return {
        code: factories.NoSeriesFactory(code=code, prefix=prefix, width=width)
        for code, prefix, width in [
            ("CUST", "C", 5),
            ("CONT", "CT", 6),
            ("ITEM", "", 4),
            ("RES", "R", 4),
            ("SO", "SO", 5),
        ]
    }


def test_no_series_next_formats_and_advances_by_the_increment(number_series):
    assert services.no_series_next(series_code="CUST") == "C00010"
    assert services.no_series_next(series_code="CUST") == "C00020"
    assert NoSeries.objects.get(code="CUST").last_number == 20


def test_no_series_next_grows_past_the_width():
    factories.NoSeriesFactory(code="SHORT", prefix="S", width=2, last_number=95, increment_by=10)
    assert services.no_series_next(series_code="SHORT") == "S105"


def test_no_series_reserve_draws_a_batch_with_one_update(number_series):
    with CaptureQueriesContext(connection) as queries:
        numbers = services.no_series_reserve(series_code="SO", count=3)
    assert [q["sql"].split()[0] for q in queries.captured_queries if q["sql"].startswith("UPDATE")] == ["UPDATE"]
    assert numbers == ["SO00010", "SO00020", "SO00030"]
    assert services.no_series_next(series_code="SO") == "SO00040"


def test_no_series_refuses_an_unknown_series_and_an_empty_batch(number_series):
    with pytest.raises(ValidationError, match="There is no number series NOPE"):
        services.no_series_next(series_code="NOPE")
    with pytest.raises(ValidationError, match="at least one number"):
        services.no_series_reserve(series_code="SO", count=0)


def test_no_series_refuses_numbers_longer_than_the_no_field():
    factories.NoSeriesFactory(code="LONG", prefix="LONGPREFIX", width=11)
    with pytest.raises(ValidationError, match="run past 20 characters"):
        services.no_series_next(series_code="LONG")
    assert NoSeries.objects.get(code="LONG").last_number == 0


@pytest.mark.django_db(transaction=True)
def test_no_series_next_hands_out_unique_numbers_to_concurrent_callers():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("an in-memory SQLite test database is shared by one connection; see the PostgreSQL run")
    factories.NoSeriesFactory(code="CONC", prefix="X", width=6)
    drawn, errors = [], []

    def draw():
        try:
            for _ in range(10):
                drawn.append(services.no_series_next(series_code="CONC"))
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(drawn) == [f"X{n:06d}" for n in range(10, 410, 10)]


@pytest.mark.parametrize(
    ("model_factory", "model", "expected"),
    [
        (lambda: Customer(name="Adatum"), Customer, "C00010"),
        (lambda: Contact(type="person", first_name="Ann", last_name="Lee"), Contact, "CT000010"),
        (lambda: Item(description="Bike", base_unit_of_measure=factories.UnitOfMeasureFactory()), Item, "0010"),
        (
            lambda: Resource(name="Lina", base_unit_of_measure=factories.UnitOfMeasureFactory()),
            Resource,
            "R0010",
        ),
        (
            lambda: SalesHeader(sell_to_customer=factories.CustomerFactory(), order_date="2026-01-05"),
            SalesHeader,
            "SO00010",
        ),
    ],
)
def test_record_save_numbers_new_records_from_their_series(number_series, model_factory, model, expected):
    record = services.record_save(instance=model_factory())
    assert record.pk
    assert model.objects.get(pk=record.pk).no == expected


def test_record_save_skips_a_number_someone_typed_in_already(number_series):
    factories.CustomerFactory(no="C00010")
    assert services.record_save(instance=Customer(name="Next")).no == "C00020"


def test_record_save_keeps_a_typed_number_upper_cased(number_series):
    customer = services.record_save(instance=Customer(no=" c-77 ", name="Typed"))
    assert customer.no == "C-77"
    assert NoSeries.objects.get(code="CUST").last_number == 0


def test_record_save_fills_the_person_name_from_first_and_last(number_series):
    person = services.record_save(instance=Contact(type="person", first_name="Ann", last_name="Lee"))
    assert person.name == "Ann Lee"


def test_record_save_refuses_invalid_input_and_gives_the_number_back(number_series):
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=Customer(name="", email="not-an-email"))
    assert set(error.value.message_dict) == {"name", "email"}
    assert NoSeries.objects.get(code="CUST").last_number == 0
    assert not Customer.objects.exists()


def test_record_save_refuses_a_duplicate_code_and_a_too_long_code():
    factories.UnitOfMeasureFactory(code="BOX")
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=factories.UnitOfMeasureFactory.build(code="box"))
    assert "already exists" in str(error.value.message_dict["code"])
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=factories.UnitOfMeasureFactory.build(code="ELEVENCHARS"))
    assert "at most 10 characters" in str(error.value.message_dict["code"])


def test_record_save_upper_cases_a_currency_code():
    currency = services.record_save(instance=Currency(code=" eur ", description="Euro"))
    assert currency.code == "EUR"
    with pytest.raises(ValidationError, match="three letters"):
        services.record_save(instance=Currency(code="EU1", description="Bad"))


def test_record_save_refuses_a_series_that_does_not_exist():
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=Customer(name="No series"))
    assert "There is no number series CUST" in error.value.message_dict["no"][0]


def test_record_save_updates_and_bumps_modified_at():
    customer = factories.CustomerFactory()
    before = customer.modified_at
    customer.name = "Renamed"
    services.record_save(instance=customer)
    customer.refresh_from_db()
    assert customer.name == "Renamed"
    assert customer.modified_at > before


def test_record_save_refuses_negative_amounts_and_quantities():
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=factories.ItemFactory.build(unit_price=Decimal("-1")))
    assert error.value.message_dict["unit_price"] == ["Must not be negative."]
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=factories.ResourceFactory.build(capacity=Decimal("-5")))
    assert error.value.message_dict["capacity"] == ["Must not be negative."]


def test_record_save_refuses_a_primary_contact_of_another_customer():
    other = factories.CustomerFactory()
    contact = factories.ContactFactory(company=factories.CompanyContactFactory(customer=other))
    with pytest.raises(ValidationError, match="belongs to another customer"):
        services.record_save(instance=factories.CustomerFactory.build(no="NEW1", primary_contact=contact))


def test_record_save_refuses_a_sales_price_for_an_unknown_code():
    price = factories.SalesPriceFactory.build(item=factories.ItemFactory(), sales_type="customer", sales_code="nope")
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=price)
    assert error.value.message_dict["sales_code"] == ["There is no customer NOPE."]
    price.sales_type, price.sales_code = "customer_price_group", "RETAIL"
    with pytest.raises(ValidationError, match="There is no customer price group RETAIL"):
        services.record_save(instance=price)
    price.sales_type = "all_customers"
    with pytest.raises(ValidationError, match="Leave the sales code empty"):
        services.record_save(instance=price)


def test_record_save_refuses_a_sales_price_with_an_unknown_currency():
    price = factories.SalesPriceFactory.build(item=factories.ItemFactory(), currency_id=999999)
    with pytest.raises(ValidationError) as error:
        services.record_save(instance=price)
    assert "currency" in error.value.message_dict


def test_record_save_refuses_a_sales_price_ending_before_it_starts():
    price = factories.SalesPriceFactory.build(
        item=factories.ItemFactory(), starting_date="2026-02-01", ending_date="2026-01-31"
    )
    with pytest.raises(ValidationError, match="ending date is before the starting date"):
        services.record_save(instance=price)


def test_record_delete_removes_an_unused_record():
    unit = factories.UnitOfMeasureFactory()
    services.record_delete(instance=unit)
    assert not type(unit).objects.filter(pk=unit.pk).exists()


def test_record_delete_names_what_uses_the_record():
    customer = factories.CustomerFactory(name="Adatum")
    for no in ["SO1", "SO2", "SO3", "SO4"]:
        factories.SalesHeaderFactory(no=no, sell_to_customer=customer)
    with pytest.raises(ValidationError) as error:
        services.record_delete(instance=customer)
    assert error.value.messages == [
        f"Customer {customer} cannot be deleted: it is used by 4 sales orders (SO1, SO2, SO3 and 1 more)."
    ]
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_item_ledger_entries_are_immutable():
    entry = factories.ItemLedgerEntryFactory()
    entry.quantity = Decimal("5")
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.record_save(instance=entry)
    with pytest.raises(ValidationError, match="cannot be deleted"):
        services.record_delete(instance=entry)

"""The benchmark's baseline mode: the same engine, each record written by its own request."""

from decimal import Decimal

import pytest

from dataverse import F
from syncjobs.models import SyncJob, SyncJobError
from tests import factories
from tests.syncjobs import engine_support as support

PER_RECORD = {"one_request_per_record": True}


@pytest.fixture
def unit(connected):
    unit = factories.UnitOfMeasureFactory(code="PCS")
    with support.admin_client(connected) as admin:
        rows = list(admin.query("uomschedules", select=["name"], filter=F.eq("name", "PCS")))
        group = (
            rows[0]["uomscheduleid"] if rows else admin.create("uomschedules", {"name": "PCS", "baseuomname": "PCS"})
        )
    support.couple(unit, "uomschedule", group)
    return unit


def _products(sandbox, items) -> dict[str, tuple[str, Decimal]]:
    numbers = {item.no for item in items}
    rows = support.crm_rows(sandbox, "products", select=["productnumber", "name", "price"])
    return {
        row["productnumber"]: (row["name"], Decimal(str(row["price"])))
        for row in rows
        if row["productnumber"] in numbers
    }


def test_creates_and_updates_write_the_same_rows_with_one_request_each(sandbox, unit):
    bulk_items = factories.ItemFactory.create_batch(30, base_unit_of_measure=unit, description="Bulk")
    bulk = support.run("ITEM-PRODUCT", "to_crm", full=True)
    type(bulk_items[0]).objects.filter(pk__in=[i.pk for i in bulk_items]).update(description="Done")
    single_items = factories.ItemFactory.create_batch(30, base_unit_of_measure=unit, description="Single")

    single = support.run("ITEM-PRODUCT", "to_crm", full=True, parameters=PER_RECORD)

    assert bulk.status == single.status == SyncJob.Status.SUCCESS, (bulk.message, single.message)
    assert (bulk.inserted, single.inserted, single.modified) == (30, 30, 30)
    # Both read the metadata and the unit group's base unit, and (full runs) the ids of the rows, to find
    # the deleted ones; the bulk run wrote its 30 rows in one UpsertMultiple, this one read the 30 coupled
    # rows (one query) and wrote 30 creates and 30 updates.
    assert bulk.http_requests == 2 + 1 + 1
    assert single.http_requests == 2 + 1 + 1 + 30 + 30
    written = _products(sandbox, bulk_items + single_items)
    assert {number for number, (name, _price) in written.items() if name == "Done"} == {i.no for i in bulk_items}
    assert {number: written[number] for number in (i.no for i in single_items)} == {
        i.no: ("Single", i.unit_price) for i in single_items
    }


def test_a_refused_record_fails_alone(sandbox, unit):
    items = factories.ItemFactory.create_batch(5, base_unit_of_measure=unit)
    bad = items[2]
    type(bad).objects.filter(pk=bad.pk).update(unit_price=Decimal("1000000000000000.00"))

    job = support.run("ITEM-PRODUCT", "to_crm", full=True, parameters=PER_RECORD)

    assert job.status == SyncJob.Status.ERROR
    assert (job.inserted, job.failed) == (4, 1)
    assert SyncJobError.objects.get(job=job).erp_system_id == bad.system_id
    assert set(_products(sandbox, items)) == {i.no for i in items} - {bad.no}

"""Blocked items and resources ↔ inactive products (issue 12 §5), as BC's CRM Int. Table Subscriber does it:
a blocked item retires its product (statecode Retired 1, statuscode Retired 2), an unblocked one activates it
(Active 0 / Active 1), a product in any state but Active blocks its item, and nothing blocked or inactive
is created on the other side (BC's filters: Blocked=No, Active)."""

import importlib

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from coupling.models import Coupling
from dataverse import F
from erp.models import Item
from syncjobs.models import IntegrationFieldMapping, SyncJob
from tests import factories
from tests.syncjobs import engine_support as support

ACTIVE = {"statecode": 0, "statuscode": 1}
RETIRED = {"statecode": 1, "statuscode": 2}


def _unit_group(sandbox, code: str) -> str:
    with support.admin_client(sandbox) as admin:
        rows = list(admin.query("uomschedules", select=["name"], filter=F.eq("name", code)))
        if rows:
            return rows[0]["uomscheduleid"]
        return admin.create("uomschedules", {"name": code, "baseuomname": code})


@pytest.fixture
def pieces(connected):
    unit = factories.UnitOfMeasureFactory(code="PCS")
    support.couple(unit, "uomschedule", _unit_group(connected, "PCS"))
    return unit


@pytest.fixture
def hours(connected):
    unit = factories.UnitOfMeasureFactory(code="HOUR")
    support.couple(unit, "uomschedule", _unit_group(connected, "HOUR"))
    return unit


def _state(sandbox, record) -> dict:
    row = support.crm_row(sandbox, "products", support.coupling_of(record).crm_id, ["statecode", "statuscode"])
    return {"statecode": row["statecode"], "statuscode": row["statuscode"]}


def _created(mapping_name: str, record) -> None:
    job = support.run(mapping_name, "to_crm", full=True)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert support.coupling_of(record).state == Coupling.State.COUPLED


def _set_blocked(record, blocked: bool) -> None:
    record.blocked = blocked
    record.save()


def _run(mapping_name: str, direction: str, **kwargs) -> SyncJob:
    job = support.run(mapping_name, direction, **kwargs)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    return job


def test_blocking_an_item_retires_its_product_and_unblocking_activates_it(connected, pieces):
    item = factories.ItemFactory(base_unit_of_measure=pieces)
    _created("ITEM-PRODUCT", item)
    assert _state(connected, item) == ACTIVE

    _set_blocked(item, True)
    job = _run("ITEM-PRODUCT", "to_crm")
    assert job.modified == 1
    assert _state(connected, item) == RETIRED

    _set_blocked(item, False)
    _run("ITEM-PRODUCT", "to_crm")
    assert _state(connected, item) == ACTIVE


def test_blocking_a_resource_retires_its_product_and_unblocking_activates_it(connected, hours):
    resource = factories.ResourceFactory(base_unit_of_measure=hours)
    _created("RESOURCE-PRODUCT", resource)

    _set_blocked(resource, True)
    _run("RESOURCE-PRODUCT", "to_crm")
    assert _state(connected, resource) == RETIRED

    _set_blocked(resource, False)
    _run("RESOURCE-PRODUCT", "to_crm")
    assert _state(connected, resource) == ACTIVE


def test_a_product_retired_in_dynamics_blocks_its_item_and_reactivated_unblocks_it(connected, pieces):
    item = factories.ItemFactory(base_unit_of_measure=pieces)
    _created("ITEM-PRODUCT", item)
    crm_id = support.coupling_of(item).crm_id

    support.crm_update(connected, "products", crm_id, {"statecode": 1, "statuscode": 2})
    job = _run("ITEM-PRODUCT", "from_crm")
    item.refresh_from_db()
    assert item.blocked is True
    assert job.modified == 1
    assert _state(connected, item) == RETIRED  # nothing sent back

    support.crm_update(connected, "products", crm_id, {"statecode": 0, "statuscode": 1})
    _run("ITEM-PRODUCT", "from_crm")
    item.refresh_from_db()
    assert item.blocked is False


def test_a_product_in_draft_blocks_its_item_as_any_state_but_active_does(connected, pieces):
    item = factories.ItemFactory(base_unit_of_measure=pieces)
    _created("ITEM-PRODUCT", item)

    support.crm_update(connected, "products", support.coupling_of(item).crm_id, {"statecode": 2})
    _run("ITEM-PRODUCT", "from_crm")
    item.refresh_from_db()
    assert item.blocked is True


def test_a_product_retired_in_dynamics_blocks_its_resource(connected, hours):
    resource = factories.ResourceFactory(base_unit_of_measure=hours)
    _created("RESOURCE-PRODUCT", resource)

    support.crm_update(connected, "products", support.coupling_of(resource).crm_id, {"statecode": 1})
    _run("RESOURCE-PRODUCT", "from_crm")
    resource.refresh_from_db()
    assert resource.blocked is True


def test_a_full_run_retires_a_blocked_items_product_but_creates_none_for_a_new_blocked_item(connected, pieces):
    coupled = factories.ItemFactory(base_unit_of_measure=pieces)
    _created("ITEM-PRODUCT", coupled)
    _set_blocked(coupled, True)
    new_blocked = factories.ItemFactory(base_unit_of_measure=pieces, blocked=True)
    new_active = factories.ItemFactory(base_unit_of_measure=pieces)

    job = _run("ITEM-PRODUCT", "to_crm", full=True)

    assert (job.inserted, job.modified) == (1, 1)
    assert _state(connected, coupled) == RETIRED
    assert _state(connected, new_active) == ACTIVE
    # BC's Blocked=No table filter: a blocked item is not created, so never as an active product.
    assert support.coupling_of(new_blocked) is None
    numbers = {row["productnumber"] for row in support.crm_rows(connected, "products", select=["productnumber"])}
    assert new_blocked.no not in numbers

    # Unblocked, it is created like any other item (active).
    _set_blocked(new_blocked, False)
    _run("ITEM-PRODUCT", "to_crm", full=True)
    assert _state(connected, new_blocked) == ACTIVE


def test_a_new_blocked_item_waiting_to_be_created_is_not_sent(connected, pieces):
    """A coupling left "creating" (match-based coupling's Create New) for an item blocked since: not sent."""
    item = factories.ItemFactory(base_unit_of_measure=pieces, blocked=True)
    Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(Item),
        erp_system_id=item.system_id,
        crm_entity="product",
        crm_id="00000000-0000-0000-0000-0000000000b1",
        state=Coupling.State.CREATING,
    )

    job = _run("ITEM-PRODUCT", "to_crm", parameters={"erp_system_ids": [str(item.system_id)]})

    assert job.inserted == 0
    rows = support.crm_rows(connected, "products", select=["productnumber"], filter=F.eq("productnumber", item.no))
    assert rows == []


def test_a_full_run_from_dynamics_blocks_the_item_of_a_retired_product_and_creates_no_item_for_a_new_one(
    connected, pieces
):
    item = factories.ItemFactory(base_unit_of_measure=pieces)
    _created("ITEM-PRODUCT", item)
    support.crm_update(connected, "products", support.coupling_of(item).crm_id, {"statecode": 1})
    with support.admin_client(connected) as admin:
        schedule = _unit_group(connected, "PCS")
        base_unit = next(iter(admin.query("uoms", select=["uomid"], filter=F.eq("_uomscheduleid_value", schedule))))
        retired = admin.create(
            "products",
            {
                "name": "Retired in Dynamics",
                "productnumber": "CRM-RETIRED-1",
                "producttypecode": 1,
                "defaultuomscheduleid@odata.bind": f"/uomschedules({schedule})",
                "defaultuomid@odata.bind": f"/uoms({base_unit['uomid']})",
            },
        )
        admin.update("products", retired, {"statecode": 1})
    # These two products only (the seeded ones are in unit groups the ERP does not know).
    support.mapping(
        "ITEM-PRODUCT",
        crm_filter=f"producttypecode eq 1 and (productnumber eq '{item.no}' or productnumber eq 'CRM-RETIRED-1')",
    )

    _run("ITEM-PRODUCT", "from_crm", full=True)

    item.refresh_from_db()
    assert item.blocked is True
    assert not Coupling.objects.filter(crm_id=retired).exists()
    assert not Item.objects.filter(description="Retired in Dynamics").exists()


def test_the_defaults_map_blocked_to_statecode_and_keep_blocked_records_in_scope(db):
    for name in ("ITEM-PRODUCT", "RESOURCE-PRODUCT"):
        mapping = support.mapping(name)
        state = mapping.field_mappings.get(name="statecode")
        assert (state.erp_field, state.direction, state.transform) == (
            "blocked",
            "bidirectional",
            IntegrationFieldMapping.Transform.INACTIVE_STATE,
        )
        assert mapping.erp_filter == {}
        assert "statecode" not in mapping.crm_filter


def test_the_migration_updates_installed_mappings_left_as_they_were(db):
    migration = importlib.import_module("syncjobs.migrations.0016_blocked_items_and_inactive_products")
    items = support.mapping(
        "ITEM-PRODUCT", erp_filter={"blocked": False}, crm_filter="producttypecode eq 1 and statecode eq 0"
    )
    items.field_mappings.filter(name="statecode").delete()
    resources = support.mapping("RESOURCE-PRODUCT", erp_filter={"blocked": False, "no__startswith": "R"})
    resources.field_mappings.filter(name="statecode").delete()

    migration.add_blocked_state(apps, None)

    items.refresh_from_db()
    resources.refresh_from_db()
    assert (items.erp_filter, items.crm_filter) == ({}, "producttypecode eq 1")
    assert resources.erp_filter == {"blocked": False, "no__startswith": "R"}  # a user's filter is left alone
    for mapping in (items, resources):
        state = mapping.field_mappings.get(name="statecode")
        assert (state.erp_field, state.transform) == ("blocked", IntegrationFieldMapping.Transform.INACTIVE_STATE)

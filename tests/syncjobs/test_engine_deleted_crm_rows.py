"""A Dynamics 365 row deleted under a mapping that only sends to it is noticed by the next full run.

The repro: delete a coupled uomschedules row in Dynamics 365, run `crm_sync run "UNIT OF MEASURE" --full --wait`:
success, unchanged, nothing failed, the deletion policy never applied, while crm_verify listed a coupling whose
other side was gone.
"""

import re
from urllib.parse import quote

import pytest

from coupling.models import Coupling
from erp.models import UnitOfMeasure
from syncjobs.engine import run as run_module
from syncjobs.models import IntegrationTableMapping, SyncJob
from tests import factories
from tests.syncjobs import engine_support as support

Deletion = IntegrationTableMapping.DeletionPolicy


@pytest.fixture
def coupled_unit(connected):
    """The unit BOX, sent to Dynamics 365 as a unit group by a full run, and the group's id."""
    unit = factories.UnitOfMeasureFactory(code="BOX", description="Box")
    job = support.run("UNIT OF MEASURE", "to_crm", full=True)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    return unit, support.coupling_of(unit).crm_id


@pytest.mark.parametrize(
    ("policy", "counter", "coupled_after"),
    [(Deletion.REPORT, "failed", True), (Deletion.DECOUPLE, "uncoupled", False), (Deletion.RESTORE, "inserted", True)],
)
def test_a_full_run_finds_the_deleted_row_and_applies_the_deletion_policy(
    connected, coupled_unit, policy, counter, coupled_after
):
    unit, group_id = coupled_unit
    support.mapping("UNIT OF MEASURE", deletion_policy=policy)
    support.crm_delete(connected, "uomschedules", group_id)

    job = support.run("UNIT OF MEASURE", "to_crm", full=True)

    assert getattr(job, counter) == 1, support.errors(job)
    assert Coupling.objects.filter(erp_system_id=unit.system_id).exists() is coupled_after
    if policy == Deletion.REPORT:
        (message,) = job.errors.values_list("message", flat=True)
        assert message.startswith(f"The unit of measure {unit} is coupled to a deleted Dynamics 365 unit group")
    if policy == Deletion.RESTORE:
        assert support.crm_row(connected, "uomschedules", group_id, ["name"])["name"] == "BOX"
    assert UnitOfMeasure.objects.filter(pk=unit.pk).exists()


def test_rows_that_are_only_outside_the_filter_or_unchanged_are_not_taken_for_deleted(connected, coupled_unit):
    unit, _ = coupled_unit
    support.mapping("UNIT OF MEASURE", deletion_policy=Deletion.DECOUPLE, crm_filter="name eq 'NOTHING'")

    job = support.run("UNIT OF MEASURE", "to_crm", full=True)

    assert (job.failed, job.uncoupled) == (0, 0), support.errors(job)
    assert support.coupling_of(unit) is not None


# Incremental runs: the mapping sends only, so no from-CRM pass reads the change feed; its deletions are read alone.


@pytest.mark.parametrize(
    ("policy", "counter", "coupled_after"),
    [(Deletion.REPORT, "failed", True), (Deletion.DECOUPLE, "uncoupled", False), (Deletion.RESTORE, "inserted", True)],
)
def test_an_incremental_run_learns_the_deletion_from_change_tracking_and_applies_the_policy_once(
    connected, coupled_unit, policy, counter, coupled_after
):
    unit, group_id = coupled_unit
    link = support.mapping("UNIT OF MEASURE").crm_delta_link
    assert link  # the full run started tracking
    support.mapping("UNIT OF MEASURE", deletion_policy=policy)
    support.crm_delete(connected, "uomschedules", group_id)

    job = support.run("UNIT OF MEASURE", "to_crm")

    assert getattr(job, counter) == 1, support.errors(job)
    assert Coupling.objects.filter(erp_system_id=unit.system_id).exists() is coupled_after
    if policy == Deletion.REPORT:
        (message,) = job.errors.values_list("message", flat=True)
        assert message.startswith(f"The unit of measure {unit} is coupled to a deleted Dynamics 365 unit group")
    if policy == Deletion.RESTORE:
        assert support.crm_row(connected, "uomschedules", group_id, ["name"])["name"] == "BOX"
    assert UnitOfMeasure.objects.filter(pk=unit.pk).exists()
    assert support.mapping("UNIT OF MEASURE").crm_delta_link != link  # past the deletion

    again = support.run("UNIT OF MEASURE", "to_crm")

    if policy == Deletion.REPORT:
        # Reported, the record is still failing: the next run fails it the same way, so it is skipped (as BC
        # does after the same error twice) instead of passing for synchronized; the run after passes over it.
        assert again.failed == 1 and support.coupling_of(unit).skipped, support.errors(again)
        third = support.run("UNIT OF MEASURE", "to_crm")
        assert (third.failed, third.skipped) == (0, 1), support.errors(third)
    else:
        assert (again.failed, again.uncoupled, again.inserted, again.deleted) == (0, 0, 0, 0), support.errors(again)
    assert Coupling.objects.filter(erp_system_id=unit.system_id).exists() is coupled_after


def test_the_first_incremental_run_starts_tracking_with_the_id_query_that_finds_the_deleted_rows(
    connected, coupled_unit
):
    """A mapping coupled before it tracked deletions (or whose scope changed since): no delta link yet."""
    unit, group_id = coupled_unit
    support.mapping("UNIT OF MEASURE", deletion_policy=Deletion.DECOUPLE, crm_delta_link="")
    support.crm_delete(connected, "uomschedules", group_id)

    job = support.run("UNIT OF MEASURE", "to_crm")

    assert job.uncoupled == 1, support.errors(job)
    assert support.coupling_of(unit) is None
    assert support.mapping("UNIT OF MEASURE").crm_delta_link


def test_an_incremental_run_without_deletions_costs_one_request_more_and_none_without_change_tracking(
    connected, coupled_unit, monkeypatch
):
    unit, group_id = coupled_unit
    support.run("UNIT OF MEASURE", "to_crm")  # settles what the full run's watermark overlap would read again
    support.crm_update(connected, "uomschedules", group_id, {"description": "Changed in Dynamics 365"})

    unchanged = support.run("UNIT OF MEASURE", "to_crm")

    # The table's metadata, and the change feed's one page, of ids only: a changed row is passed over.
    assert unchanged.http_requests == 2, support.errors(unchanged)
    assert (unchanged.failed, unchanged.uncoupled, unchanged.modified) == (0, 0, 0), support.errors(unchanged)
    assert support.coupling_of(unit) is not None

    # A table without change tracking: nothing to read incrementally (the full run finds its deleted rows).
    metadata = run_module.crm_entity_metadata
    monkeypatch.setattr(run_module, "crm_entity_metadata", lambda client, name: (metadata(client, name)[0], False))
    untracked = support.run("UNIT OF MEASURE", "to_crm")
    assert untracked.http_requests == 1, support.errors(untracked)


def test_an_expired_change_tracking_token_falls_back_to_the_id_query(connected, coupled_unit):
    unit, group_id = coupled_unit
    link = support.mapping("UNIT OF MEASURE").crm_delta_link
    expired = re.sub(r"\$deltatoken=[^&]+", "$deltatoken=" + quote("1!01/01/2020 00:00:00", safe=""), link)
    support.mapping("UNIT OF MEASURE", deletion_policy=Deletion.DECOUPLE, crm_delta_link=expired)
    support.crm_delete(connected, "uomschedules", group_id)

    job = support.run("UNIT OF MEASURE", "to_crm")

    assert job.uncoupled == 1, support.errors(job)
    assert support.coupling_of(unit) is None
    assert "change-tracking token had expired" in job.message
    assert support.mapping("UNIT OF MEASURE").crm_delta_link not in ("", expired)

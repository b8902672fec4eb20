"""A Dynamics 365 row deleted under a mapping that only sends to it is noticed by the next full run.

The repro: delete a coupled uomschedules row in Dynamics 365, run `crm_sync run "UNIT OF MEASURE" --full --wait`:
success, unchanged, nothing failed, the deletion policy never applied, while crm_verify listed a coupling whose
other side was gone.
"""

import pytest

from coupling.models import Coupling
from erp.models import UnitOfMeasure
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
        assert message.startswith(f"The unit of measure {unit} is coupled to a deleted Dynamics 365 uomschedule")
    if policy == Deletion.RESTORE:
        assert support.crm_row(connected, "uomschedules", group_id, ["name"])["name"] == "BOX"
    assert UnitOfMeasure.objects.filter(pk=unit.pk).exists()


def test_rows_that_are_only_outside_the_filter_or_unchanged_are_not_taken_for_deleted(connected, coupled_unit):
    unit, _ = coupled_unit
    support.mapping("UNIT OF MEASURE", deletion_policy=Deletion.DECOUPLE, crm_filter="name eq 'NOTHING'")

    job = support.run("UNIT OF MEASURE", "to_crm", full=True)

    assert (job.failed, job.uncoupled) == (0, 0), support.errors(job)
    assert support.coupling_of(unit) is not None

"""A finished full synchronization on its page (issue 13 §6): its totals across its lines, and the review no longer
recommending what it just did unless something changed since. Against a real CRM sandbox."""

import re

from django.urls import reverse

from syncjobs.mappings import services as mapping_services
from syncjobs.models import FullSyncLine, FullSyncRun, IntegrationTableMapping, SyncJob
from syncjobs.runs import full_sync, full_sync_outcome
from tests import factories
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

PAGE = reverse("syncjobs:full_sync")
START = reverse("syncjobs:full_sync_start")
Recommendation = FullSyncLine.Recommendation


def enable_only(*names: str) -> None:
    IntegrationTableMapping.objects.exclude(name__in=names).update(is_enabled=False)
    IntegrationTableMapping.objects.filter(name__in=names).update(is_enabled=True)


def finished_run() -> FullSyncRun:
    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)
    assert run.status == FullSyncRun.Status.FINISHED, run.message
    return run


def recommendations(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-mapping="([^"]+)" data-recommendation="([^"]+)"', page))


def test_a_finished_run_shows_the_records_it_created_updated_coupled_and_failed(connected):
    enable_only("CURRENCY", "UNIT OF MEASURE")
    factories.UnitOfMeasureFactory(code="BOX", description="Box")
    run = finished_run()
    jobs = SyncJob.objects.filter(
        pk__in=[j for line in run.lines.all() for j in (line.coupling_job_id, line.sync_job_id) if j]
    )
    created = sum(job.inserted for job in jobs)
    assert created > 0

    totals = full_sync_outcome.run_totals(run=run)
    assert (totals.created, totals.updated, totals.coupled, totals.failed) == (
        created,
        sum(job.modified for job in jobs),
        sum(job.coupled for job in jobs),
        0,
    )
    page = cs.client_with("syncjobs.view_syncjob").get(PAGE).content.decode()
    shown = re.search(r'data-testid="full-sync-totals">(.*?)</p>', page, re.S).group(1)
    assert "Records in total" in shown
    for word, count in totals.as_words():
        assert re.search(rf'data-total="{word}"><strong>{count}</strong> {word}</span>', shown), word


def test_after_a_finished_run_its_mappings_are_not_recommended_again_until_something_changes(connected):
    enable_only("CURRENCY", "UNIT OF MEASURE")
    factories.UnitOfMeasureFactory(code="BOX", description="Box")
    viewer = cs.client_with("syncjobs.view_syncjob")
    before = recommendations(viewer.get(PAGE).content.decode())
    assert before["UNIT OF MEASURE"] in (Recommendation.FULL, Recommendation.COUPLE)
    run = finished_run()

    page = viewer.get(PAGE).content.decode()
    assert recommendations(page) == {"CURRENCY": Recommendation.SKIP, "UNIT OF MEASURE": Recommendation.SKIP}
    assert f"Synchronized by full synchronization #{run.pk}" in page
    starter = cs.client_with("syncjobs.view_syncjob", "syncjobs.change_syncjob").get(PAGE).content.decode()
    assert '<option value="" selected>Recommended: skip</option>' in starter
    # Start takes what the page recommends: nothing is done twice.
    again = full_sync.full_sync_start(review=full_sync_outcome.review_with_last_runs(), enqueue=False)
    assert set(again.lines.values_list("recommendation", flat=True)) == {Recommendation.SKIP}
    full_sync.full_sync_run(run_id=again.pk)

    # A record added in the ERP since: recommended again, saying why.
    factories.UnitOfMeasureFactory(code="CRATE", description="Crate")
    page = viewer.get(PAGE).content.decode()
    assert recommendations(page)["UNIT OF MEASURE"] in (Recommendation.FULL, Recommendation.COUPLE)
    assert "but records were added in the ERP since" in page
    assert recommendations(page)["CURRENCY"] == Recommendation.SKIP

    # The mapping's settings changed since: recommended again.
    currency = support.mapping("CURRENCY")
    mapping_services.mapping_save(mapping=currency, depends_on=list(currency.depends_on.all()))
    page = viewer.get(PAGE).content.decode()
    assert recommendations(page)["CURRENCY"] != Recommendation.SKIP
    assert "but its settings were changed since" in page


def test_a_mapping_whose_line_failed_records_is_recommended_again(connected):
    enable_only("UNIT OF MEASURE")
    factories.UnitOfMeasureFactory(code="BOX", description="Box")
    run = finished_run()
    FullSyncLine.objects.filter(run=run).update(status=FullSyncLine.Status.ERROR)
    page = cs.client_with("syncjobs.view_syncjob").get(PAGE).content.decode()
    assert recommendations(page)["UNIT OF MEASURE"] != Recommendation.SKIP
    assert f"Full synchronization #{run.pk}" in page and "left failures" in page

"""Dry run of a full synchronization and of match-based coupling (issue 13 §4), against a real CRM sandbox: the
preview's counts, then the real run on the same data and its jobs' counters; nothing written by the preview."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from coupling import workflows
from coupling.models import Coupling
from erp.models import Contact, Customer, NoSeries
from syncjobs.connection import clients
from syncjobs.engine import preview
from syncjobs.models import FullSyncRun, IntegrationTableMapping, SyncJob, SyncJobError, SyncJobWarning
from syncjobs.runs import full_sync, jobs
from tests import factories
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

CUSTOMER_FILTER = "statecode eq 0 and customertypecode eq 3"
ACCOUNT_FIELDS = ["name", "address1_city", "telephone1", "statecode", "customertypecode"]


def enable_only(*names: str) -> None:
    IntegrationTableMapping.objects.exclude(name__in=names).update(is_enabled=False)
    IntegrationTableMapping.objects.filter(name__in=names).update(is_enabled=True)


def accounts(sandbox) -> list[dict]:
    rows = support.crm_rows(sandbox, "accounts", select=[*ACCOUNT_FIELDS, "modifiedon", "versionnumber"])
    return sorted(rows, key=lambda row: row["accountid"])


def erp_state() -> dict[str, object]:
    """Everything a preview must leave as it is in the ERP database."""
    return {
        "customers": list(Customer.objects.order_by("pk").values()),
        "contacts": Contact.objects.count(),
        "couplings": list(Coupling.objects.order_by("pk").values()),
        "jobs": SyncJob.objects.count(),
        "errors": SyncJobError.objects.count(),
        "warnings": SyncJobWarning.objects.count(),
        "series": list(NoSeries.objects.values_list("code", "last_number")),
        "mappings": list(IntegrationTableMapping.objects.order_by("pk").values()),
    }


def review_lines() -> list[preview.PreviewLine]:
    return [
        preview.PreviewLine(mapping=line.mapping, recommendation=line.recommendation, problem=line.problem)
        for line in full_sync.full_sync_review()
    ]


@pytest.fixture
def mixed_customers(connected):
    """CUSTOMER with a bit of everything a full synchronization meets where both sides hold data.

    Coupled and synchronized before: two unchanged, one changed in the ERP, one changed in Dynamics 365, one
    changed in both (a conflict). Uncoupled: two customers only the ERP holds, one with a single matching account,
    one matching two accounts (ambiguous), and two accounts only Dynamics 365 holds."""
    enable_only("CUSTOMER")
    factories.NoSeriesFactory(code="CUST", prefix="C")
    # Accounts only Dynamics 365 holds come into the ERP too (not only the coupled records are synchronized); the
    # sandbox's own accounts are left out.
    support.mapping("CUSTOMER", sync_only_coupled=False, crm_filter=f"{CUSTOMER_FILTER} and startswith(name,'Preview')")
    synced = {
        name: factories.CustomerFactory(name=name, city="Springfield")
        for name in (
            "Preview Unchanged One",
            "Preview Unchanged Two",
            "Preview Changed In ERP",
            "Preview Changed In CRM",
            "Preview Changed On Both",
        )
    }
    first = support.run("CUSTOMER", "both", full=True)
    assert first.status == SyncJob.Status.SUCCESS and first.inserted == 5, support.errors(first)

    synced["Preview Changed In ERP"].city = "Erpville"
    synced["Preview Changed In ERP"].save()
    support.crm_update(
        connected,
        "accounts",
        support.coupling_of(synced["Preview Changed In CRM"]).crm_id,
        {"telephone1": "+1 555 123 4567"},
    )
    both = synced["Preview Changed On Both"]
    both.city = "Erpville"
    both.save()
    support.crm_update(connected, "accounts", support.coupling_of(both).crm_id, {"address1_city": "Crmville"})

    factories.CustomerFactory(name="Preview Only In The ERP One")
    factories.CustomerFactory(name="Preview Only In The ERP Two")
    matched = factories.CustomerFactory(name="Preview Match Me Co")
    match_row = cs.create_account(connected, "Preview Match Me Co", address1_city="Elsewhere")
    twin = factories.CustomerFactory(name="Preview Twin Co")
    twins = [cs.create_account(connected, "Preview Twin Co", address1_city=city) for city in ("Aville", "Bville")]
    cs.create_account(connected, "Preview Only In Dynamics Alpha")
    cs.create_account(connected, "Preview Only In Dynamics Beta")
    return {"synced": synced, "matched": matched, "match_row": match_row, "twin": twin, "twins": twins}


def test_the_preview_counts_what_the_full_synchronization_then_does_and_writes_nothing(connected, mixed_customers):
    lines = review_lines()
    assert [(line.mapping.name, line.recommendation) for line in lines] == [("CUSTOMER", "couple")]
    erp_before, crm_before = erp_state(), accounts(connected)

    with clients.crm_client() as client:
        [found] = preview.full_sync_preview(client=client, lines=lines)
        assert client.stats.count("GET") == client.stats.total > 0  # reads only

    assert erp_state() == erp_before
    assert accounts(connected) == crm_before
    counts = found.counts()
    assert counts == {
        "create_in_crm": 3,  # the two only the ERP holds, and the ambiguous one (the mapping creates new rows)
        "create_in_erp": 4,  # the two only Dynamics 365 holds, and the two twins nobody coupled
        "couple": 1,
        "update": 7,  # changed in the ERP, in Dynamics 365, the newly coupled one, the 4 new records' ERP-only values
        "unchanged": 2,
        "ambiguous": 1,
        "conflict": 1,
        "failed": 1,
        "skipped": 0,
        "missing": 0,
    }, found.as_dict()

    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)

    assert run.status == FullSyncRun.Status.FINISHED, run.message
    line = run.lines.get()
    coupling_job, sync_job = line.coupling_job, line.sync_job
    by_direction = sync_job.counts_by_direction
    done = {
        "create_in_crm": by_direction["to_crm"].get("inserted", 0),
        "create_in_erp": by_direction["from_crm"].get("inserted", 0),
        "couple": coupling_job.coupled,
        "update": sync_job.modified,
        "unchanged": sync_job.unchanged,
        "conflict": sync_job.errors.filter(fix_label="Resolve the conflict").count(),
        "failed": coupling_job.failed + sync_job.failed,
    }
    assert done == {key: counts[key] for key in done}
    # The jobs counted the same way (what crm_sync status --json prints), the ambiguous record created new included.
    assert preview.job_counts(jobs=[coupling_job, sync_job]) == {
        key: counts[key] for key in (*preview.COUNTS, "failed", "skipped")
    }
    # The twin created new beside its two candidates is named on the coupling job's page.
    [warning] = coupling_job.warnings.all()
    assert warning.erp_system_id == mixed_customers["twin"].system_id
    assert warning.message.startswith(
        "Created as a new account in Dynamics 365, not coupled: 2 Dynamics 365 accounts have"
    )
    # Nothing was written that the preview did not announce: the twins are three on each side now.
    twins = support.crm_rows(connected, "accounts", select=["name"], filter=support.F.eq("name", "Preview Twin Co"))
    assert len(twins) == 3 and Customer.objects.filter(name="Preview Twin Co").count() == 3


def test_the_samples_name_the_records_the_candidates_and_the_differences(connected, mixed_customers):
    with clients.crm_client() as client:
        [found] = preview.full_sync_preview(client=client, lines=review_lines(), sample_size=10)
    samples = {name: outcome.samples for name, outcome in found.outcomes.items()}

    [ambiguous] = samples["ambiguous"]
    assert ambiguous.record.endswith("Preview Twin Co")
    assert sorted(c.crm_id for c in ambiguous.candidates) == sorted(mixed_customers["twins"])
    assert {c.name for c in ambiguous.candidates} == {"Preview Twin Co"}
    assert (
        "2 Dynamics 365 accounts have the same name" in ambiguous.message
        and "created as a new row" in ambiguous.message
    )

    [coupled] = samples["couple"]
    assert coupled.record.endswith("Preview Match Me Co") and coupled.crm_id == mixed_customers["match_row"]
    assert [c.name for c in coupled.candidates] == ["Preview Match Me Co"]

    [conflict] = samples["conflict"]
    assert conflict.record.endswith("Preview Changed On Both")
    assert [(d.label, d.erp_value, d.crm_value, d.flows) for d in conflict.differences] == [
        ("City", "Erpville", "Crmville", "conflict")
    ]
    updates = {sample.record.split(" ", 2)[-1]: sample for sample in samples["update"]}
    erp_change = updates["Preview Changed In ERP"].differences
    assert [(d.label, d.erp_value, d.crm_value, d.flows) for d in erp_change] == [
        ("City", "Erpville", "Springfield", "to_crm")
    ]
    crm_change = updates["Preview Changed In CRM"].differences
    assert [(d.label, d.crm_value, d.flows) for d in crm_change] == [("Phone no.", "+1 555 123 4567", "to_erp")]
    assert {s.record for s in samples["create_in_erp"]} == {
        "Dynamics 365 account Preview Only In Dynamics Alpha",
        "Dynamics 365 account Preview Only In Dynamics Beta",
        "Dynamics 365 account Preview Twin Co",
    }
    assert found.as_dict()["samples"]["ambiguous"][0]["candidates"][0]["name"] == "Preview Twin Co"


def test_only_coupled_records_are_synchronized_after_coupling_and_nothing_comes_in(connected, mixed_customers):
    """The mapping's default: a coupling line leaves the rows no record matched in Dynamics 365 alone."""
    support.mapping("CUSTOMER", sync_only_coupled=True)
    with clients.crm_client() as client:
        [found] = preview.full_sync_preview(client=client, lines=review_lines())
    counts = found.counts()
    assert (counts["create_in_erp"], counts["create_in_crm"], counts["couple"]) == (0, 3, 1)

    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)

    line = run.lines.get()
    assert preview.job_counts(jobs=[line.coupling_job, line.sync_job]) == {
        key: counts[key] for key in (*preview.COUNTS, "failed", "skipped")
    }


def test_a_full_synchronization_where_only_the_erp_holds_data_creates_everything(connected):
    enable_only("CUSTOMER")
    support.mapping("CUSTOMER", crm_filter=f"{CUSTOMER_FILTER} and startswith(name,'Preview')")
    factories.CustomerFactory(name="Preview New One")
    factories.CustomerFactory(name="Preview New Two")
    blocked = factories.CustomerFactory(name="Preview Blocked", blocked=Customer.Blocked.ALL)
    salesperson = factories.SalespersonFactory(code="NC", name="Not Coupled")
    factories.CustomerFactory(name="Preview Uncoupled Salesperson", salesperson=salesperson)
    lines = review_lines()
    assert lines[0].recommendation == "full"

    with clients.crm_client() as client:
        [found] = preview.full_sync_preview(client=client, lines=lines)
    counts = found.counts()
    assert (counts["create_in_crm"], counts["failed"], counts["couple"]) == (2, 1, 0)
    [failing] = found.outcomes["failed"].samples
    assert failing.record.endswith("Preview Uncoupled Salesperson") and "must be coupled" in failing.message
    assert blocked.name not in str(found.as_dict())

    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)

    line = run.lines.get()
    assert line.coupling_job is None and line.sync_job.full
    assert preview.job_counts(jobs=[line.sync_job]) == {
        key: counts[key] for key in (*preview.COUNTS, "failed", "skipped")
    }


def test_a_blocked_item_is_passed_over_before_its_values_are_read_as_the_run_does(connected):
    """Not created while blocked: a unit of measure it refers to that is not coupled is no failure of it."""
    enable_only("ITEM-PRODUCT")
    support.mapping("ITEM-PRODUCT", crm_filter="producttypecode eq 1 and startswith(productnumber,'PV')")
    pieces = factories.UnitOfMeasureFactory(code="PCS")
    with support.admin_client(connected) as admin:
        group = admin.create("uomschedules", {"name": "PCS", "baseuomname": "PCS"})
    support.couple(pieces, "uomschedule", group)
    boxes = factories.UnitOfMeasureFactory(code="BOX")  # not coupled
    factories.ItemFactory(description="Preview Item", base_unit_of_measure=pieces)
    factories.ItemFactory(description="Preview Boxed Item", base_unit_of_measure=boxes)
    factories.ItemFactory(description="Preview Blocked Boxed Item", base_unit_of_measure=boxes, blocked=True)
    lines = review_lines()
    assert [(line.mapping.name, line.recommendation) for line in lines] == [("ITEM-PRODUCT", "full")]

    with clients.crm_client() as client:
        [found] = preview.full_sync_preview(client=client, lines=lines)
    counts = found.counts()
    assert (counts["create_in_crm"], counts["failed"]) == (1, 1), found.as_dict()
    assert "Preview Boxed Item" in found.outcomes["failed"].samples[0].record

    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)
    line = run.lines.get()
    assert preview.job_counts(jobs=[line.sync_job]) == {
        key: counts[key] for key in (*preview.COUNTS, "failed", "skipped")
    }


def test_the_match_dialog_preview_counts_what_the_coupling_job_and_its_follow_up_do(connected):
    mapping = support.mapping("CUSTOMER", create_new_if_no_match=False, sync_after_bulk_coupling=True)
    solo = factories.CustomerFactory(name="Preview Solo Co", city="Solotown")
    cs.create_account(connected, "Preview Solo Co")
    twin = factories.CustomerFactory(name="Preview Pair Co")
    cs.create_account(connected, "Preview Pair Co")
    cs.create_account(connected, "Preview Pair Co")
    nobody = factories.CustomerFactory(name="Preview Nobody Co")
    # Two records, one row: the first takes it, the second finds it taken.
    doubles = [factories.CustomerFactory(name="Preview Double Co") for _ in range(2)]
    cs.create_account(connected, "Preview Double Co")
    chosen = [str(c.system_id) for c in (solo, twin, nobody, *doubles)]
    erp_before, crm_before = erp_state(), accounts(connected)

    with clients.crm_client() as client:
        found = preview.mapping_preview(client=client, mapping=mapping, mode=preview.MATCH, erp_system_ids=chosen)

    assert erp_state() == erp_before and accounts(connected) == crm_before
    counts = found.counts()
    assert {key: counts[key] for key in ("couple", "ambiguous", "failed", "update", "create_in_crm")} == {
        "couple": 2,
        "ambiguous": 1,
        "failed": 3,  # the pair, the one nothing matches, the second double
        "update": 2,  # the coupled ones' ERP values go to their accounts
        "create_in_crm": 0,
    }
    messages = {s.record.split(" ", 2)[-1]: s.message for s in found.outcomes["failed"].samples}
    assert messages["Preview Nobody Co"] == "No unique uncoupled match: no Dynamics 365 account has the same name."

    coupling_job = jobs.job_run(job_id=workflows.match_coupling_start(mapping=mapping, erp_system_ids=chosen).pk)
    follow_up = SyncJob.objects.get(kind=SyncJob.Kind.SYNCHRONIZATION)
    follow_up = jobs.job_run(job_id=follow_up.pk)
    assert f"job #{follow_up.pk}" in coupling_job.message
    assert preview.job_counts(jobs=[coupling_job, follow_up]) == {
        key: counts[key] for key in (*preview.COUNTS, "failed", "skipped")
    }
    assert preview.recent_runs(limit=10)["CUSTOMER"]["jobs"][0]["id"] == coupling_job.pk


# --- crm_sync preview / status --json ---------------------------------------------------------------------


def crm_sync(*args) -> str:
    out = io.StringIO()
    call_command("crm_sync", *args, stdout=out)
    return out.getvalue()


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_the_command_previews_with_json_on_the_last_line_and_status_counts_the_run_the_same_way(
    connected, mixed_customers
):
    erp_before, crm_before = erp_state(), accounts(connected)

    output = crm_sync("preview", "customer", "--json")

    assert erp_state() == erp_before and accounts(connected) == crm_before
    previewed = last_json(output)
    assert list(previewed) == ["CUSTOMER"]
    assert previewed["CUSTOMER"] == {
        "mode": "couple",
        "create_in_crm": 3,
        "create_in_erp": 4,
        "couple": 1,
        "update": 7,
        "unchanged": 2,
        "ambiguous": 1,
        "conflict": 1,
        "failed": 1,
        "skipped": 0,
        "missing": 0,
    }
    assert "Several possible matches (1):" in output and "Preview Twin Co (" in output
    assert "City: ERP “Erpville”, Dynamics 365 “Crmville” (changed on both sides)" in output
    assert re.search(r"^CUSTOMER +Couple records +3 +4 +1 +7 +2 +1 +1 +1$", output, re.MULTILINE), output

    full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)
    factories.CustomerFactory(name="Preview After The Run")  # an ERP change after the run is not counted in it

    status = last_json(crm_sync("status", "--json"))
    done = status["CUSTOMER"]
    assert {key: done[key] for key in (*preview.COUNTS, "failed", "skipped")} == {
        key: previewed["CUSTOMER"][key] for key in (*preview.COUNTS, "failed", "skipped")
    }
    line = FullSyncRun.objects.get().lines.get()
    assert [job["id"] for job in done["jobs"]] == [line.coupling_job_id, line.sync_job_id]
    assert done["full_synchronization"] == line.run_id


def test_the_command_needs_mappings_it_knows_and_a_full_synchronization_runs(connected):
    enable_only("CUSTOMER")
    with pytest.raises(CommandError, match="Name one or more mappings"):
        crm_sync("preview")
    with pytest.raises(CommandError, match="Name one or more mappings"):
        crm_sync("preview", "CUSTOMER", "--all")
    with pytest.raises(CommandError, match="No mapping named NOPE. The mappings are: "):
        crm_sync("preview", "NOPE")
    with pytest.raises(CommandError, match="CONTACT is not enabled: a full synchronization leaves it out"):
        crm_sync("preview", "CONTACT")
    assert last_json(crm_sync("status", "--json")) == {}


def test_preview_all_leaves_out_option_mappings_and_says_what_would_not_run(connected):
    enable_only("CUSTOMER", "PAYMENT TERMS")
    factories.CustomerFactory(name="Preview Criteria Co")
    support.mapping("CUSTOMER").field_mappings.update(use_for_match_based_coupling=False)

    output = crm_sync("preview", "--all", "--json")

    assert "CUSTOMER: Not started: coupling needs match fields" in output
    assert "PAYMENT TERMS: Option values are synchronized in full" in output
    assert last_json(output) == {
        "CUSTOMER": {"mode": "couple", **dict.fromkeys((*preview.COUNTS, *preview.EXTRA_COUNTS), 0)}
    }


# --- The pages ------------------------------------------------------------------------------------------------

FULL_SYNC_PAGE = reverse("syncjobs:full_sync")
FULL_SYNC_PREVIEW = reverse("syncjobs:full_sync_preview")


def test_the_full_synchronization_page_previews_before_start_with_the_choices_made(connected, mixed_customers):
    customer_mapping = support.mapping("CUSTOMER")
    viewer = cs.client_with("syncjobs.view_syncjob")
    assert 'data-testid="full-sync-preview"' not in viewer.get(FULL_SYNC_PAGE).content.decode()
    assert viewer.post(FULL_SYNC_PREVIEW).status_code == 403
    admin = cs.client_with("syncjobs.view_syncjob", "syncjobs.change_syncjob")
    assert 'data-testid="full-sync-preview"' in admin.get(FULL_SYNC_PAGE).content.decode()
    erp_before, crm_before = erp_state(), accounts(connected)

    content = admin.post(FULL_SYNC_PREVIEW).content.decode()

    assert erp_state() == erp_before and accounts(connected) == crm_before
    assert not FullSyncRun.objects.exists()
    section = content[content.index('data-testid="preview"') :]
    for key, count in {"create_in_crm": 3, "create_in_erp": 4, "couple": 1, "ambiguous": 1, "conflict": 1}.items():
        assert f'data-count="{key}">{count}<' in section, key
    for words in (
        "Created in Dynamics 365",
        "Coupled by match",
        "Several possible matches",
        "Changed on both sides",
        "Candidates: Preview Twin Co; Preview Twin Co",
        "<td>City</td><td>Erpville</td><td>Crmville</td>",
        "Changed in both",
        "Nothing has been written",
    ):
        assert words in section, words
    visible = re.sub(r"<[^>]+>", " ", section)
    assert not re.search(r"create_in_crm|to_crm|address1_city|telephone1", visible)

    # Chosen instead of the recommendation: a full synchronization couples nothing and creates the rest.
    chosen = admin.post(FULL_SYNC_PREVIEW, {f"line-{customer_mapping.pk}": "full"}).content.decode()
    assert '<option value="full" selected>' in chosen
    section = chosen[chosen.index('data-testid="preview"') :]
    assert 'data-count="couple"' not in section and 'data-count="ambiguous"' not in section
    assert 'data-count="create_in_crm">4<' in section  # the matchable one too: nothing is matched
    refused = admin.post(FULL_SYNC_PREVIEW, {f"line-{customer_mapping.pk}": "delete"}).content.decode()
    assert "“delete” is not a choice" in refused
    stale = admin.post(FULL_SYNC_PREVIEW, {"line-99999": "full"}, follow=True).content.decode()
    assert "The page was out of date" in stale


def test_the_match_dialog_previews_with_the_criteria_on_it_before_the_coupling_runs(connected):
    mapping = support.mapping("CUSTOMER", create_new_if_no_match=False, sync_after_bulk_coupling=False)
    name, city = mapping.field_mappings.get(name="name"), mapping.field_mappings.get(name="address1_city")
    solo = factories.CustomerFactory(name="Preview Dialog Solo", city="Solotown")
    cs.create_account(connected, "Preview Dialog Solo", address1_city="Solotown")
    pair = factories.CustomerFactory(name="Preview Dialog Pair", city="Pairtown")
    cs.create_account(connected, "Preview Dialog Pair", address1_city="Pairtown")
    cs.create_account(connected, "Preview Dialog Pair", address1_city="Elsewhere")
    url = reverse("coupling:match", args=[mapping.pk])
    dialog = cs.client_with(*cs.EVERYTHING)
    assert 'name="preview"' in dialog.get(url).content.decode()
    chosen = {"system_id": [solo.system_id, pair.system_id], "sync_after_bulk_coupling": "on"}
    by_name = {f"f{name.pk}-use": "on", f"f{name.pk}-priority": "1"}
    erp_before, crm_before = erp_state(), accounts(connected)

    content = dialog.post(url, {**chosen, **by_name, "preview": "1"}).content.decode()

    assert erp_state() == erp_before and accounts(connected) == crm_before  # the criteria were not saved either
    section = content[content.index('data-testid="preview"') :]
    assert 'data-count="couple">1<' in section and 'data-count="ambiguous">1<' in section
    assert "Candidates: Preview Dialog Pair; Preview Dialog Pair" in section
    assert "No unique uncoupled match: 2 Dynamics 365 accounts have the same name" in section
    assert 'data-count="update">1<' in section  # synchronized after coupling: its ERP values go out
    assert f'name="f{name.pk}-use" aria-label="Match on name" checked' in content  # the dialog keeps its choices

    # Name and city together single the pair's account out; without synchronizing after coupling, nothing updates.
    both = {**by_name, f"f{city.pk}-use": "on", f"f{city.pk}-priority": "1"}
    section = dialog.post(url, {"system_id": chosen["system_id"], **both, "preview": "1"}).content.decode()
    assert 'data-count="couple">2<' in section and 'data-count="ambiguous"' not in section
    assert 'data-count="update"' not in section
    nothing = dialog.post(url, {**chosen, "preview": "1"}).content.decode()
    assert "is set to match on" in nothing
    assert not SyncJob.objects.exists() and not Coupling.objects.exists()

    response = dialog.post(url, {**chosen, **by_name})  # Start coupling, as before
    job = SyncJob.objects.get(kind=SyncJob.Kind.COUPLING)
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()


def test_at_go_live_a_line_is_previewed_with_what_the_lines_before_it_would_couple(connected):
    """Nothing coupled yet: the CUSTOMER line couples one customer by match and creates the other's account, then
    the CONTACT line creates their contacts, which refer to those accounts. Previewed line by line as the data
    stands now, the contacts would all fail for their uncoupled customers; each line takes as made what the lines
    before it would couple, and every line's preview equals what its jobs then do."""
    enable_only("CUSTOMER", "CONTACT")
    support.couple_local_currency(connected)
    support.mapping("CUSTOMER", crm_filter=f"{CUSTOMER_FILTER} and startswith(name,'Golive')")
    support.mapping("CONTACT", crm_filter="statecode eq 0 and startswith(lastname,'Golive')")
    new_co = factories.CustomerFactory(name="Golive New Co")
    matched_co = factories.CustomerFactory(name="Golive Matched Co")
    cs.create_account(connected, "Golive Matched Co")
    for customer in (new_co, matched_co):
        factories.ContactFactory(last_name="Golive", company=factories.CompanyContactFactory(customer=customer))
    lines = review_lines()
    assert [line.mapping.name for line in lines] == ["CUSTOMER", "CONTACT"]

    with clients.crm_client() as client:
        previews = {
            found.mapping.name: found.counts() for found in preview.full_sync_preview(client=client, lines=lines)
        }

    assert (previews["CUSTOMER"]["couple"], previews["CUSTOMER"]["create_in_crm"]) == (1, 1)
    assert previews["CONTACT"]["failed"] == 0 and previews["CONTACT"]["create_in_crm"] >= 2, previews["CONTACT"]
    run = full_sync.full_sync_run(run_id=full_sync.full_sync_start(enqueue=False).pk)
    assert run.status == FullSyncRun.Status.FINISHED, run.message
    for line in run.lines.select_related("coupling_job", "sync_job"):
        done = preview.job_counts(jobs=[job for job in (line.coupling_job, line.sync_job) if job is not None])
        assert done == {key: previews[line.mapping_name][key] for key in done}, line.mapping_name

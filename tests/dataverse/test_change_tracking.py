"""Change tracking against the sandbox: the initial load, then creates, updates and deletions via delta links."""

import pytest

from dataverse import DataverseError


def test_changes_after_create_update_delete(client, tag):
    kept = client.create("accounts", {"name": f"Kept {tag}"})
    doomed = client.create("accounts", {"name": f"Doomed {tag}"})

    initial = client.track_changes("accounts", select=["name"], page_size=500, primary_key="accountid")
    loaded = {change.id: change.row for change in initial}
    assert {kept, doomed} <= set(loaded)
    assert loaded[kept]["name"] == f"Kept {tag}"
    assert initial.delta_link and "$deltatoken=" in initial.delta_link

    added = client.create("accounts", {"name": f"Added {tag}"})
    client.update("accounts", kept, {"name": f"Kept2 {tag}"})
    client.delete("accounts", doomed)
    created_and_deleted = client.create("accounts", {"name": f"Brief {tag}"})
    client.delete("accounts", created_and_deleted)

    changes, link = client.changes(initial.delta_link, primary_key="accountid").collect()
    upserted = {c.id: c.row for c in changes if not c.deleted}
    deleted = {c.id for c in changes if c.deleted}
    assert upserted[added]["name"] == f"Added {tag}"
    assert upserted[kept]["name"] == f"Kept2 {tag}"
    assert doomed in deleted and doomed not in upserted
    assert created_and_deleted in deleted
    assert link != initial.delta_link

    again, _ = client.changes(link, primary_key="accountid").collect()
    assert not {kept, doomed, added} & {c.id for c in again}


def test_delta_link_from_elsewhere_is_refused(client):
    with pytest.raises(DataverseError, match="refusing"):
        client.changes("https://attacker.example/api/data/v9.2/accounts?$deltatoken=1")

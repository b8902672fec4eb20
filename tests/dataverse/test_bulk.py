"""$batch (changesets, Content-ID references, partial failure) and the *Multiple actions, against the sandbox."""

import uuid

import pytest

from dataverse import BatchFailed, ChangeSet, F, Op, ValidationFailed

TOO_LONG = "x" * 200  # accountnumber holds at most 20 characters


def names(client, tag):
    return sorted(row["name"] for row in client.query("accounts", select=["name"], filter=F.endswith("name", tag)))


def test_batch_runs_operations_in_order(client, tag):
    existing = client.create("accounts", {"name": f"B0 {tag}"})
    results = client.batch(
        [
            Op.create("accounts", {"name": f"B1 {tag}"}),
            Op.update("accounts", existing, {"telephone1": "123"}),
            Op.get("accounts", existing, select=["telephone1"]),
            Op.get("accounts", filter=F.eq("name", f"B1 {tag}"), select=["name"]),
        ]
    )
    assert [r.status for r in results] == [204, 204, 200, 200]
    assert results[2].body["telephone1"] == "123"
    assert results[3].body["value"][0]["accountid"] == results[0].entity_id
    assert client.stats.count("POST") == 2  # one create + one $batch


def test_changeset_with_content_id_references(client, tag):
    results = client.batch(
        [
            Op.create("accounts", {"name": f"CS {tag}"}, content_id=1),
            Op.create("contacts", {"lastname": f"CS {tag}", "parentcustomerid_account@odata.bind": "$1"}, content_id=2),
            Op.patch_reference("$1", {"primarycontactid@odata.bind": "$2"}),
        ],
        changeset=True,
    )
    assert [r.status for r in results] == [204, 204, 204]
    assert [r.content_id for r in results] == ["1", "2", "3"]
    account_id, contact_id = results[0].entity_id, results[1].entity_id
    account = client.retrieve("accounts", account_id, select=["primarycontactid"])
    assert account["_primarycontactid_value"] == contact_id
    contact = client.retrieve("contacts", contact_id, select=["parentcustomerid"])
    assert contact["_parentcustomerid_value"] == account_id


def test_partial_failure_without_continue_on_error_stops(client, tag):
    operations = [
        Op.create("accounts", {"name": f"S1 {tag}"}),
        Op.create("accounts", {"name": f"S2 {tag}", "accountnumber": TOO_LONG}),
        Op.create("accounts", {"name": f"S3 {tag}"}),
    ]
    with pytest.raises(BatchFailed) as caught:
        client.batch(operations)
    assert isinstance(caught.value.error, ValidationFailed)
    assert caught.value.status == 400
    assert names(client, tag) == [f"S1 {tag}"]  # the first ran, the third never did


def test_partial_failure_with_continue_on_error_reports_each(client, tag):
    operations = [
        Op.create("accounts", {"name": f"C1 {tag}"}),
        Op.create("accounts", {"name": f"C2 {tag}", "accountnumber": TOO_LONG}),
        Op.create("accounts", {"name": f"C3 {tag}"}),
    ]
    results = client.batch(operations, continue_on_error=True)
    assert [r.status for r in results] == [204, 400, 204]
    assert isinstance(results[1].error, ValidationFailed)
    assert results[0].error is None
    assert names(client, tag) == [f"C1 {tag}", f"C3 {tag}"]


def test_failed_changeset_is_rolled_back(client, tag):
    results = client.batch(
        [
            ChangeSet(
                [
                    Op.create("accounts", {"name": f"R1 {tag}"}),
                    Op.create("accounts", {"name": f"R2 {tag}", "accountnumber": TOO_LONG}),
                ]
            ),
            Op.create("accounts", {"name": f"R3 {tag}"}),
        ],
        continue_on_error=True,
    )
    assert [r.ok for r in results] == [False, False, True]
    assert names(client, tag) == [f"R3 {tag}"]


def test_batch_limit_is_enforced_before_sending(client):
    client.stats.reset()
    with pytest.raises(ValueError, match="1000"):
        client.batch([Op.get("accounts", uuid.uuid4()) for _ in range(1001)])
    assert client.stats.total == 0


def test_batch_of_many_upserts(client, tag):
    ids = [uuid.uuid4() for _ in range(300)]
    results = client.batch([Op.upsert("accounts", i, {"name": f"M{n:03d} {tag}"}) for n, i in enumerate(ids)])
    assert all(r.ok for r in results)
    assert [r.entity_id for r in results] == [str(i) for i in ids]
    assert len(names(client, tag)) == 300


def test_create_update_upsert_multiple(client, tag):
    ids = client.create_multiple("accounts", [{"name": f"CM{n} {tag}"} for n in range(5)], logical_name="account")
    assert len(ids) == 5 and len(set(ids)) == 5
    client.update_multiple(
        "accounts", [{"accountid": i, "telephone1": f"T{n}"} for n, i in enumerate(ids)], logical_name="account"
    )
    assert client.retrieve("accounts", ids[3], select=["telephone1"])["telephone1"] == "T3"
    own = str(uuid.uuid4())
    client.upsert_multiple(
        "accounts",
        [{"accountid": ids[0], "name": f"CM0b {tag}"}, {"accountid": own, "name": f"CMnew {tag}"}],
        logical_name="account",
    )
    client.upsert_multiple(
        "accounts", [{"name": f"CMkey {tag}"}], logical_name="account", keys=[{"accountnumber": f"K{tag}"}]
    )
    assert client.retrieve("accounts", ids[0], select=["name"])["name"] == f"CM0b {tag}"
    assert client.retrieve("accounts", own, select=["name"])["name"] == f"CMnew {tag}"
    assert client.retrieve("accounts", {"accountnumber": f"K{tag}"}, select=["name"])["name"] == f"CMkey {tag}"


def test_create_multiple_failure_is_typed(client, tag):
    with pytest.raises(ValidationFailed):
        client.create_multiple(
            "accounts",
            [{"name": f"ok {tag}"}, {"name": f"bad {tag}", "accountnumber": TOO_LONG}],
            logical_name="account",
        )
    assert names(client, tag) == []  # CreateMultiple is all or nothing

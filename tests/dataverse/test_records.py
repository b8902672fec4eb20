"""Record operations against the sandbox: create, retrieve, update, upsert, delete, lookups, state."""

import uuid

import pytest

from dataverse import (
    ConcurrencyMismatch,
    DuplicateRecord,
    NotFound,
    ValidationFailed,
    bind,
)


def test_create_returns_the_new_id_and_retrieve_selects_columns(client, tag):
    account_id = client.create("accounts", {"name": f"Create {tag}", "telephone1": "555"})
    row = client.retrieve("accounts", account_id, select=["name", "telephone1"])
    assert row["accountid"] == account_id
    assert row["name"] == f"Create {tag}"
    assert row["telephone1"] == "555"
    assert row["@odata.etag"].startswith('W/"')
    assert "accountnumber" not in row


def test_create_with_representation_returns_the_row(client, tag):
    row = client.create("accounts", {"name": f"Repr {tag}"}, return_representation=True)
    assert row["name"] == f"Repr {tag}"
    assert uuid.UUID(row["accountid"])


def test_create_with_client_supplied_id_and_duplicate(client, tag):
    wanted = uuid.uuid4()
    assert client.create("accounts", {"name": f"Own id {tag}"}, id=wanted) == str(wanted)
    assert client.retrieve("accounts", wanted, select=["name"])["name"] == f"Own id {tag}"
    with pytest.raises(DuplicateRecord) as caught:
        client.create("accounts", {"name": f"Again {tag}"}, id=wanted)
    assert caught.value.status == 412
    assert client.retrieve("accounts", wanted, select=["name"])["name"] == f"Own id {tag}"


def test_missing_record_is_not_found_with_the_dataverse_code(client):
    with pytest.raises(NotFound) as caught:
        client.retrieve("accounts", uuid.uuid4())
    assert caught.value.status == 404
    assert caught.value.code == "0x80040217"
    assert "Does Not Exist" in caught.value.message


def test_retrieve_by_alternate_key_with_quotes_and_spaces(client, tag):
    number = f"O'B {tag}"
    account_id = client.create("accounts", {"name": f"Key {tag}", "accountnumber": number})
    row = client.retrieve("accounts", {"accountnumber": number}, select=["name"])
    assert row["accountid"] == account_id


def test_update_with_any_etag_and_with_a_stale_etag(client, tag):
    account_id = client.create("accounts", {"name": f"Upd {tag}"})
    stale = client.retrieve("accounts", account_id, select=["name"])["@odata.etag"]
    client.update("accounts", account_id, {"name": f"Upd2 {tag}"})
    assert client.retrieve("accounts", account_id, select=["name"])["name"] == f"Upd2 {tag}"
    with pytest.raises(ConcurrencyMismatch) as caught:
        client.update("accounts", account_id, {"name": "lost update"}, etag=stale)
    assert caught.value.status == 412
    fresh = client.retrieve("accounts", account_id, select=["name"])["@odata.etag"]
    client.update("accounts", account_id, {"name": f"Upd3 {tag}"}, etag=fresh)
    assert client.retrieve("accounts", account_id, select=["name"])["name"] == f"Upd3 {tag}"


def test_update_of_a_missing_record_does_not_create_it(client):
    missing = uuid.uuid4()
    with pytest.raises(NotFound):
        client.update("accounts", missing, {"name": "ghost"})
    with pytest.raises(NotFound):
        client.retrieve("accounts", missing)


def test_upsert_creates_then_updates(client, tag):
    record = uuid.uuid4()
    first = client.upsert("accounts", record, {"name": f"Ups {tag}"}, return_representation=True)
    assert (first.id, first.created) == (str(record), True)
    second = client.upsert("accounts", record, {"name": f"Ups2 {tag}"}, return_representation=True)
    assert (second.id, second.created) == (str(record), False)
    assert second.row["name"] == f"Ups2 {tag}"
    plain = client.upsert("accounts", record, {"name": f"Ups3 {tag}"})
    assert plain.id == str(record)
    assert client.retrieve("accounts", record, select=["name"])["name"] == f"Ups3 {tag}"


def test_upsert_by_alternate_key_copies_the_key_into_the_record(client, tag):
    number = f"UK{tag}"
    result = client.upsert("accounts", {"accountnumber": number}, {"name": f"Alt {tag}"})
    row = client.retrieve("accounts", result.id, select=["accountnumber", "name"])
    assert row["accountnumber"] == number
    again = client.upsert("accounts", {"accountnumber": number}, {"name": f"Alt2 {tag}"})
    assert again.id == result.id


def test_upsert_create_only_and_update_only(client, tag):
    record = uuid.uuid4()
    with pytest.raises(NotFound):
        client.upsert("accounts", record, {"name": f"U-only {tag}"}, update_only=True)
    created = client.upsert("accounts", record, {"name": f"C-only {tag}"}, create_only=True)
    assert (created.id, created.created) == (str(record), True)
    with pytest.raises(DuplicateRecord):
        client.upsert("accounts", record, {"name": "overwrite"}, create_only=True)
    updated = client.upsert("accounts", record, {"name": f"U-only {tag}"}, update_only=True)
    assert updated.created is False
    assert client.retrieve("accounts", record, select=["name"])["name"] == f"U-only {tag}"


def test_delete_with_etag_and_missing(client, tag):
    account_id = client.create("accounts", {"name": f"Del {tag}"})
    stale = client.retrieve("accounts", account_id, select=["name"])["@odata.etag"]
    client.update("accounts", account_id, {"name": f"Del2 {tag}"})
    with pytest.raises(ConcurrencyMismatch):
        client.delete("accounts", account_id, etag=stale)
    client.delete("accounts", account_id)
    with pytest.raises(NotFound):
        client.retrieve("accounts", account_id)
    with pytest.raises(NotFound):
        client.delete("accounts", account_id)


def test_lookups_bind_by_id_and_by_alternate_key(client, tag):
    account_id = client.create("accounts", {"name": f"Parent {tag}", "accountnumber": f"P{tag}"})
    by_id = client.create(
        "contacts", {"lastname": f"ById {tag}", "parentcustomerid_account@odata.bind": bind("accounts", account_id)}
    )
    by_key = client.create(
        "contacts",
        {
            "lastname": f"ByKey {tag}",
            "parentcustomerid_account@odata.bind": bind("accounts", {"accountnumber": f"P{tag}"}),
        },
    )
    for contact_id in (by_id, by_key):
        row = client.retrieve("contacts", contact_id, select=["lastname", "_parentcustomerid_value"])
        assert row["_parentcustomerid_value"] == account_id
    client.update("contacts", by_id, {"parentcustomerid_account@odata.bind": None})
    assert client.retrieve("contacts", by_id, select=["_parentcustomerid_value"])["_parentcustomerid_value"] is None


def test_associate_and_disassociate(client, tag):
    account_id = client.create("accounts", {"name": f"Assoc {tag}"})
    contact_id = client.create("contacts", {"lastname": f"Assoc {tag}"})

    client.associate("accounts", account_id, "contact_customer_accounts", "contacts", contact_id)
    assert (
        client.retrieve("contacts", contact_id, select=["_parentcustomerid_value"])["_parentcustomerid_value"]
        == account_id
    )
    client.disassociate("accounts", account_id, "contact_customer_accounts", "contacts", contact_id)
    assert (
        client.retrieve("contacts", contact_id, select=["_parentcustomerid_value"])["_parentcustomerid_value"] is None
    )

    client.set_lookup("accounts", account_id, "primarycontactid", "contacts", contact_id)
    assert (
        client.retrieve("accounts", account_id, select=["_primarycontactid_value"])["_primarycontactid_value"]
        == contact_id
    )
    client.disassociate("accounts", account_id, "primarycontactid")
    assert (
        client.retrieve("accounts", account_id, select=["_primarycontactid_value"])["_primarycontactid_value"] is None
    )


def test_set_state(client, tag):
    account_id = client.create("accounts", {"name": f"State {tag}"})
    client.set_state("accounts", account_id, 1, 2)
    row = client.retrieve("accounts", account_id, select=["statecode", "statuscode"])
    assert (row["statecode"], row["statuscode"]) == (1, 2)


def test_invalid_property_is_a_validation_error(client, tag):
    with pytest.raises(ValidationFailed) as caught:
        client.create("accounts", {"name": f"Bad {tag}", "Name": "x"})
    assert caught.value.status == 400
    assert "Name" in caught.value.message


def test_unknown_entity_set_is_not_found(client):
    with pytest.raises(NotFound):
        client.retrieve("nosuchthings", uuid.uuid4())

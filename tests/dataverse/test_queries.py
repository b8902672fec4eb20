"""Queries against the sandbox: options, paging over many pages, the filter builder end to end."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from dataverse import F, ValidationFailed

PAGED_ROWS = 230


@pytest.fixture
def many_accounts(client, tag):
    """PAGED_ROWS accounts named 'Page <tag> NNN' (one request each: bulk endpoints are tested elsewhere)."""
    ids = [
        client.create("accounts", {"name": f"Page {tag} {n:03d}", "accountnumber": f"PG{tag}{n:03d}"})
        for n in range(PAGED_ROWS)
    ]
    return tag, ids


def test_paging_follows_next_links_page_by_page(client, many_accounts):
    tag, ids = many_accounts
    client.stats.reset()
    result = client.query("accounts", select=["name"], filter=F.startswith("name", f"Page {tag} "), page_size=20)
    pages = result.pages()
    first = next(pages)
    assert len(first) == 20
    assert result.pages_fetched == 1  # nothing more fetched until asked: memory stays bounded
    rows = first + [row for page in pages for row in page]
    assert sorted(row["accountid"] for row in rows) == sorted(ids)
    assert result.pages_fetched == -(-PAGED_ROWS // 20)
    assert client.stats.count("GET") == result.pages_fetched


def test_orderby_top_and_count(client, many_accounts):
    tag, _ = many_accounts
    by_name = F.startswith("name", f"Page {tag} ")
    rows = list(client.query("accounts", select=["name"], filter=by_name, orderby="name desc", top=3))
    assert [row["name"] for row in rows] == [f"Page {tag} {n:03d}" for n in (229, 228, 227)]
    # With a page size Dataverse ignores $top; the client still stops after `top` rows.
    rows = list(client.query("accounts", select=["name"], filter=by_name, orderby="name", top=45, page_size=20))
    assert [row["name"] for row in rows] == [f"Page {tag} {n:03d}" for n in range(45)]
    result = client.query("accounts", select=["name"], filter=by_name, count=True, page_size=50)
    assert len(list(result)) == PAGED_ROWS
    assert result.count == PAGED_ROWS


def test_in_filter(client, many_accounts):
    tag, ids = many_accounts
    wanted = [f"PG{tag}{n:03d}" for n in (3, 7, 11)]
    rows = list(client.query("accounts", select=["accountnumber"], filter=F.in_("accountnumber", wanted)))
    assert sorted(row["accountnumber"] for row in rows) == wanted


@pytest.mark.parametrize("name", ["O'Neil & Sons", "50% #1 + 2 = 3", "Ünïcode “quotes”", "a;b/c?d"])
def test_filter_values_with_url_and_odata_metacharacters(client, tag, name):
    account_id = client.create("accounts", {"name": f"{name} {tag}"})
    client.create("accounts", {"name": f"{name}x {tag}"})
    rows = list(client.query("accounts", select=["name"], filter=F.eq("name", f"{name} {tag}")))
    assert [row["accountid"] for row in rows] == [account_id]
    rows = list(client.query("accounts", select=["name"], filter=F.contains("name", name) & F.endswith("name", tag)))
    assert len(rows) == 2


def test_datetime_and_guid_filters(client, tag):
    before = datetime.now(UTC) - timedelta(minutes=5)
    parent = client.create("accounts", {"name": f"Parent {tag}"})
    child = client.create(
        "contacts", {"lastname": f"Child {tag}", "parentcustomerid_account@odata.bind": f"/accounts({parent})"}
    )
    recent = F.gt("modifiedon", before) & F.eq("lastname", f"Child {tag}")
    assert [row["contactid"] for row in client.query("contacts", select=["lastname"], filter=recent)] == [child]
    future = F.gt("modifiedon", datetime.now(UTC) + timedelta(days=1)) & F.eq("lastname", f"Child {tag}")
    assert list(client.query("contacts", select=["lastname"], filter=future)) == []
    by_parent = F.eq("_parentcustomerid_value", uuid.UUID(parent))
    assert [row["contactid"] for row in client.query("contacts", select=["lastname"], filter=by_parent)] == [child]


def test_expand(client, tag):
    contact = client.create("contacts", {"lastname": f"Primary {tag}", "firstname": "Pat"})
    account = client.create(
        "accounts", {"name": f"Expand {tag}", "primarycontactid@odata.bind": f"/contacts({contact})"}
    )
    row = client.retrieve("accounts", account, select=["name"], expand={"primarycontactid": {"select": ["fullname"]}})
    assert row["primarycontactid"]["contactid"] == contact
    assert "Primary" in row["primarycontactid"]["fullname"]
    rows = list(
        client.query(
            "accounts",
            select=["name"],
            filter=F.eq("accountid", uuid.UUID(account)),
            expand={"primarycontactid": {"select": ["lastname"]}},
        )
    )
    assert rows[0]["primarycontactid"]["lastname"] == f"Primary {tag}"


def test_unknown_column_is_a_validation_error(client):
    with pytest.raises(ValidationFailed) as caught:
        list(client.query("accounts", select=["Name"]))
    assert "Name" in caught.value.message


def test_filter_must_be_built_not_a_string(client):
    with pytest.raises(TypeError):
        client.query("accounts", filter="name eq 'x'")

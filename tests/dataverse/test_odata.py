"""Literals, keys and the filter builder: user data is always quoted, never spliced into a URL."""

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from dataverse import F, bind, literal
from dataverse.odata import (
    expand_text,
    key_predicate,
    orderby_text,
    parse_datetime,
    query_string,
    record_path,
    select_text,
)

GUID = uuid.UUID("6f9619ff-8b86-d011-b42d-00cf4fc964ff")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-1.5, "-1.5"),
        (Decimal("12.3400"), "12.3400"),
        ("O'Neil", "'O''Neil'"),
        ("''", "''''''"),
        (GUID, "6f9619ff-8b86-d011-b42d-00cf4fc964ff"),
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 5, 4, 5, 250000, tzinfo=timezone(timedelta(hours=2))), "2024-01-02T03:04:05.25Z"),
    ],
)
def test_literal_quotes_each_type(value, expected):
    assert literal(value) == expected


def test_literal_refuses_naive_datetimes_and_unknown_types():
    with pytest.raises(ValueError, match="naive datetime"):
        literal(datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal(object())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("yesterday", None),
    ],
)
def test_a_dataverse_datetime_is_read_as_utc_and_unreadable_text_as_none(value, expected):
    parsed = parse_datetime(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


def test_guid_strings_are_strings_in_filters_but_uuids_are_bare():
    assert str(F.eq("_parentaccountid_value", GUID)) == "_parentaccountid_value eq 6f9619ff-8b86-d011-b42d-00cf4fc964ff"
    assert str(F.eq("name", str(GUID))) == "name eq '6f9619ff-8b86-d011-b42d-00cf4fc964ff'"


def test_filter_combination_keeps_meaning_with_parentheses():
    a, b, c = F.eq("a", 1), F.eq("b", 2), F.eq("c", 3)
    assert str(a & b | c) == "a eq 1 and b eq 2 or c eq 3"
    assert str(a & (b | c)) == "a eq 1 and (b eq 2 or c eq 3)"
    assert str(~(a & b)) == "not (a eq 1 and b eq 2)"
    assert str(~a) == "not a eq 1"
    assert str(F.all(a, b, c)) == "a eq 1 and b eq 2 and c eq 3"
    assert str(F.any(a, b)) == "a eq 1 or b eq 2"


def test_filter_string_functions_and_comparisons():
    since = datetime(2024, 5, 1, tzinfo=UTC)
    assert str(F.contains("name", "50% & more")) == "contains(name,'50% & more')"
    assert str(F.startswith("name", "A'")) == "startswith(name,'A''')"
    assert str(F.endswith("name", "z")) == "endswith(name,'z')"
    assert str(F.gt("modifiedon", since)) == "modifiedon gt 2024-05-01T00:00:00Z"
    assert str(F.ne("statecode", 1)) == "statecode ne 1"
    assert str(F.ge("revenue", Decimal("1.5"))) == "revenue ge 1.5"
    assert str(F.le("a", 1)) == "a le 1"
    assert str(F.lt("a", 1)) == "a lt 1"
    assert str(F.eq("primarycontactid/fullname", None)) == "primarycontactid/fullname eq null"


def test_in_uses_the_dataverse_function_with_string_values():
    assert str(F.in_("accountnumber", ["A1", "O'B", 7, GUID])) == (
        "Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',"
        "PropertyValues=['A1','O''B','7','6f9619ff-8b86-d011-b42d-00cf4fc964ff'])"
    )
    with pytest.raises(ValueError):
        F.in_("accountnumber", [])


@pytest.mark.parametrize("name", ["name eq 'x' or 1", "a b", "", "na;me", "1abc", "a//b"])
def test_property_names_must_be_identifiers(name):
    with pytest.raises(ValueError):
        F.eq(name, 1)


def test_filters_only_combine_with_filters():
    with pytest.raises(TypeError):
        F.eq("a", 1) & "b eq 2"


def test_record_keys():
    assert record_path("accounts", GUID) == "accounts(6f9619ff-8b86-d011-b42d-00cf4fc964ff)"
    assert record_path("accounts", "6F9619FF-8B86-D011-B42D-00CF4FC964FF") == (
        "accounts(6f9619ff-8b86-d011-b42d-00cf4fc964ff)"
    )
    assert record_path("accounts", {"accountnumber": "A 1'é"}) == "accounts(accountnumber='A%201''%C3%A9')"
    assert key_predicate({"firstname": "Joe", "emailaddress1": "j@x.org"}) == (
        "firstname='Joe',emailaddress1='j@x.org'"
    )
    assert key_predicate({"_primarycontactid_value": GUID}) == "_primarycontactid_value=" + str(GUID)


@pytest.mark.parametrize(
    "key",
    ["not-a-guid", "1) or (1", {"accountnumber": "A/1"}, {"accountnumber": "50%"}, {"bad name": "x"}, {}, 5],
)
def test_bad_keys_are_refused(key):
    with pytest.raises((ValueError, TypeError)):
        record_path("accounts", key)


def test_entity_set_must_be_an_identifier():
    with pytest.raises(ValueError):
        record_path("accounts/../systemusers", GUID)


def test_bind_values():
    assert bind("accounts", GUID) == "/accounts(6f9619ff-8b86-d011-b42d-00cf4fc964ff)"
    assert bind("accounts", {"accountnumber": "A'1"}) == "/accounts(accountnumber='A''1')"


def test_select_orderby_expand():
    assert select_text(["name", "accountnumber"]) == "name,accountnumber"
    assert orderby_text(["name desc", "createdon"]) == "name desc,createdon"
    with pytest.raises(ValueError):
        orderby_text("name sideways")
    assert expand_text("primarycontactid") == "primarycontactid"
    assert (
        expand_text({"contact_customer_accounts": {"select": ["fullname"], "filter": F.eq("firstname", "A"), "top": 5}})
        == "contact_customer_accounts($select=fullname;$filter=firstname eq 'A';$top=5)"
    )
    with pytest.raises(ValueError):
        expand_text({"primarycontactid": {"skip": 1}})


def test_query_string_escapes_data_but_keeps_odata_readable():
    text = query_string({"$select": "name,accountnumber", "$filter": str(F.eq("name", "a&b=c #1+2"))})
    assert text == "$select=name,accountnumber&$filter=name%20eq%20'a%26b=c%20%231%2B2'"

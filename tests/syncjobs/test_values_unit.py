"""Pins the pure value transforms of syncjobs.engine.values: canonical, _typed, ids_filter, crm_row_value and _trim."""

import datetime
import uuid
from decimal import Decimal, InvalidOperation

import pytest

import dataverse
from syncjobs.engine.context import RunContext
from syncjobs.engine.values import _trim, _typed, canonical, crm_row_value, ids_filter
from syncjobs.models import IntegrationFieldMapping, IntegrationTableMapping, SyncJob

Transform = IntegrationFieldMapping.Transform
GUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
OTHER_GUID = "9b2c1f3e-0000-4a5b-8c7d-112233445566"


# --- canonical -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="None stays None"),
        pytest.param("", None, id="empty text is None"),
        pytest.param(" ", " ", id="blank text is kept as is (not stripped)"),
        pytest.param("Contoso", "Contoso", id="text is kept"),
        pytest.param(GUID.upper(), GUID.upper(), id="a GUID as text keeps its case"),
        pytest.param(True, True, id="True stays a bool"),
        pytest.param(False, False, id="False stays a bool, not None"),
        pytest.param(0, "0", id="zero is the text 0, not None"),
        pytest.param(42, "42", id="an int is decimal text"),
        pytest.param(-7, "-7", id="a negative int"),
        pytest.param(Decimal("12.50"), "12.5", id="trailing zeros go"),
        pytest.param(Decimal("100"), "100", id="an integral Decimal has no exponent"),
        pytest.param(Decimal("1E+2"), "100", id="an exponent is written out"),
        pytest.param(Decimal("0.00"), "0", id="a zero Decimal is 0"),
        pytest.param(Decimal("-0.00"), "-0", id="a negative zero Decimal keeps its sign"),
        pytest.param(-0.0, "-0", id="a negative zero float keeps its sign"),
        pytest.param(12.5, "12.5", id="a float is its shortest text"),
        pytest.param(0.1 + 0.2, "0.30000000000000004", id="a float keeps its binary noise"),
        pytest.param(1e20, "100000000000000000000", id="a large float is written out"),
        pytest.param(1e-7, "0.0000001", id="a small float is written out"),
        pytest.param(float("nan"), "NaN", id="NaN is the text NaN"),
        pytest.param(uuid.UUID(GUID.upper()), GUID, id="a UUID is lowercase text"),
        pytest.param(datetime.date(2024, 1, 31), "2024-01-31", id="a date is ISO text"),
        pytest.param(
            datetime.datetime(2024, 1, 31, 12, 30, tzinfo=datetime.UTC),
            "2024-01-31 12:30:00+00:00",
            id="a datetime is str() with a space, not OData text",
        ),
    ],
)
def test_canonical_gives_each_value_its_one_comparable_form(value, expected):
    assert canonical(value) == expected
    assert type(canonical(value)) is type(expected)


def test_canonical_text_of_erp_decimals_equals_that_of_the_crm_floats():
    assert canonical(Decimal("1234.5000")) == canonical(1234.5)


# --- _typed --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "crm_type", "expected"),
    [
        pytest.param(None, "Integer", None, id="None is None whatever the type"),
        pytest.param(None, "Boolean", None, id="None stays None for a Boolean"),
        pytest.param("42", "Integer", 42, id="Integer from text"),
        pytest.param("1.9", "Integer", 1, id="Integer truncates a fraction"),
        pytest.param("-1.9", "Integer", -1, id="Integer truncates toward zero"),
        pytest.param("9007199254740993", "BigInt", 9007199254740993, id="BigInt keeps every digit"),
        pytest.param("100000001", "Picklist", 100000001, id="Picklist is an int"),
        pytest.param("1", "State", 1, id="State is an int"),
        pytest.param("2", "Status", 2, id="Status is an int"),
        pytest.param("12.5", "Decimal", 12.5, id="Decimal is a float"),
        pytest.param("12.34", "Money", 12.34, id="Money is a float"),
        pytest.param("0.0000001", "Double", 1e-7, id="Double is a float"),
        pytest.param("3", "Money", 3.0, id="a whole Money value is still a float"),
        pytest.param(True, "Boolean", True, id="Boolean True"),
        pytest.param(False, "Boolean", False, id="Boolean False"),
        pytest.param("true", "Boolean", True, id="Boolean from the text true"),
        pytest.param("True", "Boolean", True, id="Boolean text is case-insensitive"),
        pytest.param("1", "Boolean", True, id="Boolean from the text 1"),
        pytest.param(1, "Boolean", True, id="Boolean from the number 1"),
        pytest.param("0", "Boolean", False, id="Boolean from the text 0"),
        pytest.param("yes", "Boolean", False, id="Boolean yes is False"),
        pytest.param("Contoso", "String", "Contoso", id="String"),
        pytest.param("12.5", "String", "12.5", id="String keeps number text"),
        pytest.param(5, "Memo", "5", id="any other type is text"),
        pytest.param(True, "String", "True", id="a bool sent to a String is the text True"),
        pytest.param(GUID, "Uniqueidentifier", GUID, id="Uniqueidentifier is text"),
    ],
)
def test_typed_turns_a_canonical_value_into_the_crm_attributes_json_type(value, crm_type, expected):
    assert _typed(value, crm_type) == expected
    assert type(_typed(value, crm_type)) is type(expected)


@pytest.mark.parametrize(
    ("value", "crm_type"),
    [
        pytest.param("abc", "Integer", id="text that is no number to an Integer"),
        pytest.param("abc", "Money", id="text that is no number to Money"),
        pytest.param(True, "Integer", id="a bool to an Integer"),
    ],
)
def test_typed_refuses_what_is_not_a_number_for_a_number_type(value, crm_type):
    with pytest.raises(InvalidOperation):
        _typed(value, crm_type)


# --- ids_filter ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("primary_key", "ids", "text"),
    [
        pytest.param("accountid", [GUID], f"accountid eq {GUID}", id="one id reads as eq with a bare GUID"),
        pytest.param("accountid", [GUID.upper()], f"accountid eq {GUID}", id="one id is lowercased"),
        pytest.param("contactid", [uuid.UUID(GUID)], f"contactid eq {GUID}", id="one UUID"),
        pytest.param(
            "accountid",
            [GUID, OTHER_GUID],
            f"Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['{GUID}','{OTHER_GUID}'])",
            id="several ids read as In with quoted values",
        ),
        pytest.param(
            "accountid",
            [uuid.UUID(GUID), uuid.UUID(OTHER_GUID)],
            f"Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['{GUID}','{OTHER_GUID}'])",
            id="several UUIDs",
        ),
        pytest.param(
            "accountid",
            [GUID.upper(), OTHER_GUID],
            f"Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['{GUID.upper()}','{OTHER_GUID}'])",
            id="several ids keep their case",
        ),
        pytest.param(
            "accountid",
            ["not-a-guid", OTHER_GUID],
            f"Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['not-a-guid','{OTHER_GUID}'])",
            id="several ids are not checked to be GUIDs",
        ),
    ],
)
def test_ids_filter_reads_rows_by_id(primary_key, ids, text):
    condition = ids_filter(primary_key, ids)

    assert isinstance(condition, dataverse.Filter)
    assert str(condition) == text


def test_ids_filter_of_one_id_is_the_same_filter_as_f_eq():
    assert ids_filter("accountid", [GUID]) == dataverse.F.eq("accountid", uuid.UUID(GUID))


@pytest.mark.parametrize(
    ("primary_key", "ids", "error"),
    [
        pytest.param("accountid", [], "needs at least one value", id="no ids"),
        pytest.param("accountid", ["not-a-guid"], "badly formed hexadecimal UUID string", id="one id that is no GUID"),
        pytest.param("account id", [GUID], "invalid property", id="a primary key that is no identifier (one id)"),
        pytest.param("account id", [GUID, OTHER_GUID], "invalid name", id="a primary key that is no identifier"),
    ],
)
def test_ids_filter_refuses_what_cannot_be_a_filter(primary_key, ids, error):
    with pytest.raises(ValueError, match=error):
        ids_filter(primary_key, ids)


# --- crm_row_value -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transform", "attribute", "row", "expected"),
    [
        pytest.param(Transform.NONE, "name", {"name": "Contoso"}, "Contoso", id="a plain attribute"),
        pytest.param(Transform.NONE, "name", {}, None, id="a plain attribute missing from the row is None"),
        pytest.param(Transform.NONE, "name", {"name": ""}, "", id="a plain attribute is not canonicalized"),
        pytest.param(Transform.NONE, "revenue", {"revenue": 12.5}, 12.5, id="a number is kept as read"),
        pytest.param(Transform.NONE, "donotemail", {"donotemail": False}, False, id="a bool is kept as read"),
        pytest.param(
            Transform.NONE, "accountid", {"accountid": GUID.upper()}, GUID.upper(), id="plain text keeps case"
        ),
        pytest.param(Transform.TRIM, "name", {"name": "A long name"}, "A long name", id="trim reads the attribute"),
        pytest.param(Transform.OPTION, "paymenttermscode", {"paymenttermscode": 2}, 2, id="an option value"),
        pytest.param(
            Transform.LOOKUP,
            "transactioncurrencyid",
            {"_transactioncurrencyid_value": GUID.upper()},
            GUID,
            id="a lookup reads the _value column lowercased",
        ),
        pytest.param(
            Transform.LOOKUP,
            "transactioncurrencyid",
            {"_transactioncurrencyid_value": uuid.UUID(GUID)},
            GUID,
            id="a lookup given a UUID is text",
        ),
        pytest.param(
            Transform.LOOKUP,
            "transactioncurrencyid",
            {"transactioncurrencyid": GUID},
            None,
            id="a lookup ignores a column under its plain name",
        ),
        pytest.param(Transform.LOOKUP, "parentcustomerid", {}, None, id="a lookup missing from the row is None"),
        pytest.param(
            Transform.LOOKUP,
            "parentcustomerid",
            {"_parentcustomerid_value": None},
            None,
            id="an empty lookup is None",
        ),
        pytest.param(
            Transform.LOOKUP, "parentcustomerid", {"_parentcustomerid_value": ""}, None, id="a blank lookup is None"
        ),
        pytest.param(
            Transform.SCHEDULE_BASE_UNIT,
            "defaultuomid",
            {"_defaultuomid_value": OTHER_GUID.upper()},
            OTHER_GUID,
            id="a schedule base unit reads the _value column lowercased",
        ),
    ],
)
def test_crm_row_value_reads_the_column_the_transform_names(transform, attribute, row, expected):
    field_mapping = IntegrationFieldMapping(name=attribute, crm_attribute=attribute, transform=transform)

    assert crm_row_value(field_mapping, row) == expected


# --- _trim ---------------------------------------------------------------------------------------


def run_context() -> RunContext:
    """A context with nothing behind it: _trim only warns through it."""
    return RunContext(
        job=SyncJob(),
        mapping=IntegrationTableMapping(name="CUSTOMER", crm_entity="account"),
        client=None,
        started_at=datetime.datetime(2024, 1, 31, tzinfo=datetime.UTC),
        attributes={},
        change_tracking=False,
    )


TRIMMED = "Customer C1: account.name was trimmed to 5 characters."


@pytest.mark.parametrize(
    ("transform", "value", "max_length", "expected", "warnings"),
    [
        pytest.param(Transform.TRIM, "Contoso Ltd", None, "Contoso Ltd", [], id="no maximum length keeps the text"),
        pytest.param(Transform.TRIM, "Contoso Ltd", 0, "Contoso Ltd", [], id="a maximum of 0 means none"),
        pytest.param(Transform.TRIM, "Conto", 5, "Conto", [], id="text exactly at the maximum is kept"),
        pytest.param(Transform.TRIM, "", 5, "", [], id="empty text is kept"),
        pytest.param(Transform.TRIM, "Contoso Ltd", 5, "Conto", [TRIMMED], id="trim cuts longer text and warns"),
        pytest.param(Transform.TRIM, "ÄÖÜäöüß", 5, "ÄÖÜäö", [TRIMMED], id="trim counts characters, not bytes"),
        pytest.param(
            Transform.NONE, "Contoso Ltd", 5, "Contoso Ltd", [], id="without trim longer text is left to fail"
        ),
        pytest.param(Transform.LOOKUP, "Contoso Ltd", 5, "Contoso Ltd", [], id="another transform does not trim"),
        pytest.param(Transform.TRIM, 1234567, 5, 1234567, [], id="a value that is no text is kept"),
        pytest.param(Transform.TRIM, None, 5, None, [], id="None is kept"),
    ],
)
def test_trim_cuts_text_to_the_targets_length_only_when_the_field_mapping_says_trim(
    transform, value, max_length, expected, warnings
):
    ctx = run_context()
    field_mapping = IntegrationFieldMapping(name="name", crm_attribute="name", transform=transform)

    assert _trim(ctx, field_mapping, value, max_length, "account.name", "Customer C1") == expected
    assert ctx.warnings == warnings

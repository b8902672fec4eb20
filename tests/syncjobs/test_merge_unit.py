"""Pins syncjobs.engine.merge: every branch of the three-way field merge, MergeResult and the conflict message."""

import pytest

from syncjobs.engine.merge import MergeResult, conflict_message, merge
from syncjobs.models import Direction, IntegrationTableMapping

Policy = IntegrationTableMapping.UpdateConflictPolicy
TO = Direction.TO_CRM
FROM = Direction.FROM_CRM
BOTH = Direction.BIDIRECTIONAL


def case(
    id,
    *,
    directions,
    base,
    erp,
    crm,
    to_crm=(),
    to_erp=(),
    conflicts=(),
    merged,
    policy=Policy.REPORT,
    erp_only=False,
):
    """One row: the inputs of merge() and exactly what it must answer."""
    return pytest.param(
        {"directions": directions, "base": base, "erp": erp, "crm": crm, "policy": policy, "erp_only": erp_only},
        {"to_crm": set(to_crm), "to_erp": set(to_erp), "conflicts": list(conflicts), "merged": merged},
        id=id,
    )


CASES = [
    # --- To Dynamics 365 only ----------------------------------------------------------------------
    case(
        "to-crm: an ERP value left out is neither sent nor remembered",
        directions={"f": TO},
        base={"f": "old"},
        erp={},
        crm={"f": "old"},
        merged={},
    ),
    case(
        "to-crm: an ERP value left out is not sent even for a new CRM row",
        directions={"f": TO},
        base={},
        erp={},
        crm=None,
        erp_only=True,
        merged={},
    ),
    case(
        "to-crm: a new CRM row gets the ERP value even when it equals the base",
        directions={"f": TO},
        base={"f": "same"},
        erp={"f": "same"},
        crm=None,
        erp_only=True,
        to_crm={"f"},
        merged={"f": "same"},
    ),
    case(
        "to-crm: an ERP value changed since the base is sent",
        directions={"f": TO},
        base={"f": "old"},
        erp={"f": "new"},
        crm={"f": "old"},
        to_crm={"f"},
        merged={"f": "new"},
    ),
    case(
        "to-crm: an ERP value never synchronized is sent",
        directions={"f": TO},
        base={},
        erp={"f": "new"},
        crm={},
        to_crm={"f"},
        merged={"f": "new"},
    ),
    case(
        "to-crm: an ERP value cleared to None is sent as None",
        directions={"f": TO},
        base={"f": "old"},
        erp={"f": None},
        crm={"f": "old"},
        to_crm={"f"},
        merged={"f": None},
    ),
    case(
        "to-crm: an unchanged ERP value is not sent and a CRM change is ignored",
        directions={"f": TO},
        base={"f": "same"},
        erp={"f": "same"},
        crm={"f": "edited in crm"},
        merged={"f": "same"},
    ),
    # --- From Dynamics 365 only --------------------------------------------------------------------
    case(
        "from-crm: a CRM row not read keeps the base in the snapshot",
        directions={"f": FROM},
        base={"f": "old"},
        erp={"f": "old"},
        crm=None,
        merged={"f": "old"},
    ),
    case(
        "from-crm: a CRM row not read and no base leaves the field out",
        directions={"f": FROM},
        base={},
        erp={"f": "erp"},
        crm=None,
        merged={},
    ),
    case(
        "from-crm: a CRM value missing from the row keeps the base",
        directions={"f": FROM},
        base={"f": "old"},
        erp={"f": "old"},
        crm={"other": "x"},
        merged={"f": "old"},
    ),
    case(
        "from-crm: a new CRM row reads nothing back even in erp_only mode",
        directions={"f": FROM},
        base={},
        erp={"f": "erp"},
        crm=None,
        erp_only=True,
        merged={},
    ),
    case(
        "from-crm: a CRM value changed since the base comes to the ERP",
        directions={"f": FROM},
        base={"f": "old"},
        erp={"f": "old"},
        crm={"f": "new"},
        to_erp={"f"},
        merged={"f": "new"},
    ),
    case(
        "from-crm: a CRM value never synchronized comes to the ERP",
        directions={"f": FROM},
        base={},
        erp={"f": "erp"},
        crm={"f": "crm"},
        to_erp={"f"},
        merged={"f": "crm"},
    ),
    case(
        "from-crm: a CRM value cleared to None comes to the ERP as None",
        directions={"f": FROM},
        base={"f": "old"},
        erp={"f": "old"},
        crm={"f": None},
        to_erp={"f"},
        merged={"f": None},
    ),
    case(
        "from-crm: an unchanged CRM value is not written and an ERP change is ignored",
        directions={"f": FROM},
        base={"f": "same"},
        erp={"f": "edited in erp"},
        crm={"f": "same"},
        merged={"f": "same"},
    ),
    # --- Bidirectional -----------------------------------------------------------------------------
    case(
        "both ways: a new CRM row gets the ERP value",
        directions={"f": BOTH},
        base={},
        erp={"f": "erp"},
        crm=None,
        erp_only=True,
        to_crm={"f"},
        merged={"f": "erp"},
    ),
    case(
        "both ways: a new CRM row leaves out an ERP value left out",
        directions={"f": BOTH},
        base={},
        erp={},
        crm={"f": "crm"},
        erp_only=True,
        merged={},
    ),
    case(
        "both ways: left out on the ERP and never synchronized is not a CRM change",
        directions={"f": BOTH},
        base={},
        erp={},
        crm={"f": "crm"},
        merged={},
    ),
    case(
        "both ways: never synchronized, the ERP value overwrites a different CRM value",
        directions={"f": BOTH},
        base={},
        erp={"f": "erp"},
        crm={"f": "crm"},
        to_crm={"f"},
        merged={"f": "erp"},
    ),
    case(
        "both ways: never synchronized, the ERP value wins even when the policy says CRM wins",
        directions={"f": BOTH},
        base={},
        erp={"f": "erp"},
        crm={"f": "crm"},
        policy=Policy.CRM_WINS,
        to_crm={"f"},
        merged={"f": "erp"},
    ),
    case(
        "both ways: never synchronized, a CRM value already equal to the ERP one is not sent",
        directions={"f": BOTH},
        base={},
        erp={"f": "same"},
        crm={"f": "same"},
        merged={"f": "same"},
    ),
    case(
        "both ways: never synchronized and the CRM row not read, the ERP value is sent",
        directions={"f": BOTH},
        base={},
        erp={"f": "erp"},
        crm=None,
        to_crm={"f"},
        merged={"f": "erp"},
    ),
    case(
        "both ways: a change on the ERP side only is sent",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "new"},
        crm={"f": "old"},
        to_crm={"f"},
        merged={"f": "new"},
    ),
    case(
        "both ways: an ERP value cleared to None is sent as None",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": None},
        crm={"f": "old"},
        to_crm={"f"},
        merged={"f": None},
    ),
    case(
        "both ways: a change on the CRM side only comes to the ERP",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "old"},
        crm={"f": "new"},
        to_erp={"f"},
        merged={"f": "new"},
    ),
    case(
        "both ways: both sides changed to the same value is no change and no conflict",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "new"},
        crm={"f": "new"},
        merged={"f": "new"},
    ),
    case(
        "both ways: both sides changed differently, ERP wins sends the ERP value",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "erp"},
        crm={"f": "crm"},
        policy=Policy.ERP_WINS,
        to_crm={"f"},
        merged={"f": "erp"},
    ),
    case(
        "both ways: both sides changed differently, CRM wins brings the CRM value",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "erp"},
        crm={"f": "crm"},
        policy=Policy.CRM_WINS,
        to_erp={"f"},
        merged={"f": "crm"},
    ),
    case(
        "both ways: both sides changed differently, report is a conflict left out of the snapshot",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "erp"},
        crm={"f": "crm"},
        policy=Policy.REPORT,
        conflicts=["f"],
        merged={},
    ),
    case(
        "both ways: both sides changed differently, an empty policy reports like the default",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "erp"},
        crm={"f": "crm"},
        policy="",
        conflicts=["f"],
        merged={},
    ),
    case(
        "both ways: no change on either side keeps the value",
        directions={"f": BOTH},
        base={"f": "same"},
        erp={"f": "same"},
        crm={"f": "same"},
        merged={"f": "same"},
    ),
    case(
        "both ways: the CRM row not read and the ERP unchanged keeps the ERP value",
        directions={"f": BOTH},
        base={"f": "same"},
        erp={"f": "same"},
        crm=None,
        merged={"f": "same"},
    ),
    case(
        "both ways: the CRM row not read and the ERP changed sends the ERP value",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={"f": "new"},
        crm=None,
        to_crm={"f"},
        merged={"f": "new"},
    ),
    case(
        "both ways: left out on the ERP with a base, a CRM change comes to the ERP",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={},
        crm={"f": "new"},
        to_erp={"f"},
        merged={"f": "new"},
    ),
    case(
        "both ways: left out on the ERP with a base, an unchanged CRM value is kept",
        directions={"f": BOTH},
        base={"f": "same"},
        erp={},
        crm={"f": "same"},
        merged={"f": "same"},
    ),
    case(
        "both ways: left out on the ERP and the CRM row not read forgets the base",
        directions={"f": BOTH},
        base={"f": "old"},
        erp={},
        crm=None,
        merged={},
    ),
    # --- Several fields ----------------------------------------------------------------------------
    case(
        "mixed: each direction merges on its own and conflicts keep the mapping's order",
        directions={"z": BOTH, "to": TO, "from": FROM, "a": BOTH, "same": BOTH},
        base={"z": "0", "to": "0", "from": "0", "a": "0", "same": "0"},
        erp={"z": "erp", "to": "1", "from": "0", "a": "erp", "same": "0"},
        crm={"z": "crm", "to": "0", "from": "1", "a": "crm", "same": "0"},
        to_crm={"to"},
        to_erp={"from"},
        conflicts=["z", "a"],
        merged={"to": "1", "from": "1", "same": "0"},
    ),
    case(
        "mixed: values of fields the mapping does not name are ignored",
        directions={"f": BOTH},
        base={"f": "same", "gone": "x"},
        erp={"f": "same", "extra": "y"},
        crm={"f": "same", "other": "z"},
        merged={"f": "same"},
    ),
    case(
        "mixed: no field mappings merge to nothing",
        directions={},
        base={"f": "old"},
        erp={"f": "new"},
        crm={"f": "crm"},
        merged={},
    ),
]


@pytest.mark.parametrize(("inputs", "expected"), CASES)
def test_merge_answers_exactly_what_each_row_of_the_table_says(inputs, expected):
    result = merge(**inputs)

    assert result.to_crm == expected["to_crm"]
    assert result.to_erp == expected["to_erp"]
    assert result.conflicts == expected["conflicts"]
    assert result.merged == expected["merged"]
    assert result.unchanged is (not expected["to_crm"] and not expected["to_erp"])


@pytest.mark.parametrize(
    ("result", "unchanged"),
    [
        pytest.param(MergeResult(), True, id="nothing to write"),
        pytest.param(MergeResult(to_crm={"f"}), False, id="something to send"),
        pytest.param(MergeResult(to_erp={"f"}), False, id="something to receive"),
        pytest.param(MergeResult(to_crm={"f"}, to_erp={"g"}), False, id="both ways"),
        pytest.param(MergeResult(conflicts=["f"]), True, id="conflicts alone do not count as a change"),
        pytest.param(MergeResult(merged={"f": "x"}), True, id="a merged snapshot alone is no change"),
    ],
)
def test_merge_result_is_unchanged_only_when_nothing_flows_either_way(result, unchanged):
    assert result.unchanged is unchanged


def test_a_fresh_merge_result_does_not_share_its_collections_with_another():
    first, second = MergeResult(), MergeResult()
    first.to_crm.add("f")
    first.conflicts.append("f")
    first.merged["f"] = 1

    assert second == MergeResult(to_crm=set(), to_erp=set(), conflicts=[], merged={})


@pytest.mark.parametrize(
    ("fields", "listed"),
    [
        pytest.param(["Name"], "(Name)", id="one field"),
        pytest.param(["Name", "Phone No.", "City"], "(Name, Phone No., City)", id="fields in order"),
    ],
)
def test_conflict_message_names_the_record_the_fields_and_the_ways_out(fields, listed):
    mapping = IntegrationTableMapping(name="CUSTOMER", title="Customers ↔ Accounts")

    message = conflict_message(mapping=mapping, record_label="Customer C00010 Adatum", field_labels=fields)

    assert message == (
        "Cannot update Customer C00010 Adatum: it was changed in the ERP and in Dynamics 365 since the last "
        f"synchronization {listed}. Choose the value to keep per field on its conflict page, "
        "or which side wins in the update conflict policy of Customers ↔ Accounts."
    )

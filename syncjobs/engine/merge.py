"""Field-level three-way merge with the coupling's snapshot as the common base.

A field changed on one side only flows to the other; a field changed on both sides to different
values is a conflict, resolved by the mapping's update conflict policy. One-way fields flow only
their way and never conflict (BC: changes to unmapped or one-way fields are not conflicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncjobs.models import Direction, IntegrationTableMapping

Policy = IntegrationTableMapping.UpdateConflictPolicy
MISSING = object()


@dataclass
class MergeResult:
    to_crm: set[str] = field(default_factory=set)
    to_erp: set[str] = field(default_factory=set)
    conflicts: list[str] = field(default_factory=list)
    # The values both sides hold once the changes are applied: the next snapshot.
    merged: dict[str, Any] = field(default_factory=dict)

    @property
    def unchanged(self) -> bool:
        return not (self.to_crm or self.to_erp)


def merge(
    *,
    directions: dict[str, str],
    base: dict[str, Any],
    erp: dict[str, Any],
    crm: dict[str, Any] | None,
    policy: str,
    erp_only: bool = False,
) -> MergeResult:
    """``directions``: field mapping name → Direction. ``crm`` None: the CRM row's values were not read.

    ``erp_only``: the ERP side is the source (a record being created in the CRM): everything it maps
    is sent.
    """
    result = MergeResult()
    for name, direction in directions.items():
        base_value = base.get(name, MISSING)
        erp_value = erp.get(name, MISSING)
        crm_value = crm.get(name, MISSING) if crm is not None else MISSING
        if direction == Direction.TO_CRM:
            if erp_value is MISSING:
                continue
            if erp_only or erp_value != base_value:
                result.to_crm.add(name)
            result.merged[name] = erp_value
        elif direction == Direction.FROM_CRM:
            if crm_value is MISSING:
                if base_value is not MISSING:
                    result.merged[name] = base_value
                continue
            if crm_value != base_value:
                result.to_erp.add(name)
            result.merged[name] = crm_value
        else:
            if erp_only:
                if erp_value is not MISSING:  # left out (a lookup whose record is not coupled yet)
                    result.to_crm.add(name)
                    result.merged[name] = erp_value
                continue
            if erp_value is MISSING and base_value is MISSING:
                # Left out on the ERP side (a lookup whose record is not coupled yet) and never
                # synchronized: nothing to compare with, so the CRM's value (likely empty) is not a change.
                continue
            erp_changed = erp_value is not MISSING and erp_value != base_value
            crm_changed = crm_value is not MISSING and crm_value != base_value
            if base_value is MISSING and erp_changed:
                # Never synchronized (just coupled): the ERP's data goes out, as BC's default "Use BC data".
                crm_changed = False
            if erp_changed and crm_changed and erp_value != crm_value:
                if policy == Policy.ERP_WINS:
                    crm_changed = False
                elif policy == Policy.CRM_WINS:
                    erp_changed = False
                else:
                    result.conflicts.append(name)
                    continue
            if erp_changed and not crm_changed:
                if crm_value is MISSING or crm_value != erp_value:
                    result.to_crm.add(name)
                result.merged[name] = erp_value
            elif crm_changed and not erp_changed:
                if erp_value is MISSING or erp_value != crm_value:
                    result.to_erp.add(name)
                result.merged[name] = crm_value
            else:
                value = erp_value if erp_value is not MISSING else crm_value
                if value is not MISSING:
                    result.merged[name] = value
    return result


def conflict_message(*, mapping: IntegrationTableMapping, record_label: str, field_labels: list[str]) -> str:
    """BC's "Cannot update … one or both values have changed", in the user's words: the fields as the record's page
    names them, and the two ways out (the record's conflict page, or the mapping's policy)."""
    return (
        f"Cannot update {record_label}: it was changed in the ERP and in Dynamics 365 since the last "
        f"synchronization ({', '.join(field_labels)}). Choose the value to keep per field on its conflict page, "
        f"or which side wins in the update conflict policy of {mapping.title}."
    )

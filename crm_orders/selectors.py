"""What the "Dynamics 365 sales orders" page shows: the submitted orders not yet in the ERP and their last errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import dataverse
from crm_orders.intake import submitted_filter
from syncjobs.errors.selectors import current_sync_errors
from syncjobs.models import SyncJob, SyncJobError

ANNOTATIONS = "OData.Community.Display.V1.FormattedValue"


@dataclass
class SubmittedOrders:
    rows: list[dict]
    more: bool


def submitted_orders(*, client: dataverse.Client, limit: int = 200) -> SubmittedOrders:
    """The first ``limit`` submitted orders not yet taken over by the ERP, oldest submission first."""
    found = client.query(
        "salesorders",
        select=["salesorderid", "ordernumber", "name", "_customerid_value", "totalamount", "submitdate"],
        filter=submitted_filter(),
        orderby=["submitdate", "ordernumber"],
        top=limit + 1,
        annotations=ANNOTATIONS,
    )
    rows = [
        {
            "id": row["salesorderid"],
            "number": row.get("ordernumber") or "",
            "name": row.get("name") or "",
            "customer": row.get(f"_customerid_value@{ANNOTATIONS}") or "",
            "total": row.get(f"totalamount@{ANNOTATIONS}") or row.get("totalamount"),
            "submitted": row.get(f"submitdate@{ANNOTATIONS}") or row.get("submitdate") or "",
        }
        for row in found
    ]
    errors = last_errors(crm_ids=[row["id"] for row in rows[:limit]])
    for row in rows:
        row["error"] = errors.get(uuid.UUID(row["id"]))
    return SubmittedOrders(rows=rows[:limit], more=len(rows) > limit)


def last_errors(*, crm_ids: list[str]) -> dict[uuid.UUID, SyncJobError]:
    """What fails now for each order's intake, as the errors page shows it (an order taken over since has none)."""
    errors = current_sync_errors().filter(
        crm_entity="salesorder", crm_id__in=crm_ids, job__kind=SyncJob.Kind.ORDER_INTAKE
    )
    return {error.crm_id: error for error in errors}


def recent_order_jobs(*, limit: int = 5) -> list[SyncJob]:
    return list(SyncJob.objects.filter(kind__in=[SyncJob.Kind.ORDER_INTAKE, SyncJob.Kind.ORDER_PROGRESS])[:limit])

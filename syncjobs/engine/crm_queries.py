"""CRM reads the engine, matching and the coupling pages share: a mapping's filter, an entity's primary name,
uncoupled rows, rows by id, records changed on both sides."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import dataverse
from coupling.models import Coupling
from dataverse import odata
from dataverse.client import label_text
from erp.models import SyncedModel
from syncjobs.models import IntegrationTableMapping

# Ids per CRM read by id: Microsoft.Dynamics.CRM.In keeps the URL far below Dataverse's limit.
IDS_PER_QUERY = 200
CRM_READ_PAGE_SIZE = 200


def crm_record_url(*, server_url: str, crm_entity: str, crm_id: uuid.UUID | str) -> str:
    """The Dynamics 365 web client's address of a row ("Open in Dynamics 365")."""
    query = urlencode({"etn": crm_entity, "id": str(crm_id), "pagetype": "entityrecord"})
    return f"{server_url.rstrip('/')}/main.aspx?{query}"


def crm_mapping_filter(mapping: IntegrationTableMapping) -> dataverse.Filter | None:
    text = mapping.crm_filter.strip()
    return dataverse.Filter(f"({text})", 0) if text else None


def and_filters(*filters: dataverse.Filter | None) -> dataverse.Filter | None:
    present = [f for f in filters if f is not None]
    if not present:
        return None
    return dataverse.F.all(*present) if len(present) > 1 else present[0]


def crm_primary_name(*, client: dataverse.Client, crm_entity: str) -> str:
    """The entity's primary name attribute (account → name, contact → fullname), from its metadata."""
    definition = client.retrieve(
        "EntityDefinitions", {"LogicalName": crm_entity}, select=["LogicalName", "PrimaryNameAttribute"]
    )
    return definition.get("PrimaryNameAttribute") or "name"


def crm_attribute_labels(*, client: dataverse.Client, crm_entity: str) -> dict[str, str]:
    """Attribute logical name → the name Dynamics 365 shows (its metadata's DisplayName), where it has one."""
    definition = client.retrieve(
        "EntityDefinitions", {"LogicalName": crm_entity}, select=["LogicalName"], expand="Attributes"
    )
    labels = {}
    for attribute in definition.get("Attributes", []):
        shown = label_text(attribute.get("DisplayName"))
        if shown and shown != attribute.get("LogicalName"):
            labels[attribute["LogicalName"]] = shown
    return labels


@dataclass
class CrmRowsPage:
    rows: list[dict[str, Any]]
    name_attribute: str
    number: int
    has_next: bool


def uncoupled_crm_rows(
    *, client: dataverse.Client, mapping: IntegrationTableMapping, search: str = "", page: int = 1, per_page: int = 25
) -> CrmRowsPage:
    """One page of the mapping's CRM rows (its CRM filter, name containing ``search``) that no coupling takes.

    Dataverse cannot join our coupling table, so the CRM is read page by page and each page's
    coupled rows are dropped with one query on the coupling table.
    """
    name = crm_primary_name(client=client, crm_entity=mapping.crm_entity)
    search_filter = dataverse.F.contains(name, search.strip()) if search.strip() else None
    result = client.query(
        mapping.crm_entity_set,
        select=[mapping.crm_primary_key, name, "modifiedon"],
        filter=and_filters(crm_mapping_filter(mapping), search_filter),
        orderby=[name, mapping.crm_primary_key],
        page_size=CRM_READ_PAGE_SIZE,
    )
    skip = (page - 1) * per_page
    wanted = skip + per_page + 1  # one more tells whether there is a next page
    found: list[dict[str, Any]] = []
    for rows in result.pages():
        ids = [str(row[mapping.crm_primary_key]).lower() for row in rows]
        taken = {
            str(crm_id)
            for crm_id in Coupling.objects.filter(crm_entity=mapping.crm_entity, crm_id__in=ids).values_list(
                "crm_id", flat=True
            )
        }
        found.extend(row for row, crm_id in zip(rows, ids, strict=True) if crm_id not in taken)
        if len(found) >= wanted:
            break
    for row in found:
        row["id"] = str(row[mapping.crm_primary_key]).lower()
        row["name"] = row.get(name) or ""
        row["modified_on"] = odata.parse_datetime(row.get("modifiedon"))  # shown as a date, not OData's text
    return CrmRowsPage(
        rows=found[skip : skip + per_page], name_attribute=name, number=page, has_next=len(found) >= wanted
    )


def crm_rows_by_id(
    *, client: dataverse.Client, mapping: IntegrationTableMapping, crm_ids: Sequence[uuid.UUID | str], select: list[str]
) -> dict[str, dict[str, Any]]:
    """CRM rows by id (lower-case text), read in chunks with Microsoft.Dynamics.CRM.In."""
    rows: dict[str, dict[str, Any]] = {}
    columns = [mapping.crm_primary_key, *[c for c in select if c != mapping.crm_primary_key]]
    for start in range(0, len(crm_ids), IDS_PER_QUERY):
        chunk = [str(crm_id) for crm_id in crm_ids[start : start + IDS_PER_QUERY]]
        for row in client.query(
            mapping.crm_entity_set,
            select=columns,
            filter=dataverse.F.in_(mapping.crm_primary_key, chunk),
            page_size=IDS_PER_QUERY,
        ):
            rows[str(row[mapping.crm_primary_key]).lower()] = row
    return rows


def changed_on_both_sides(
    *, client: dataverse.Client, mapping: IntegrationTableMapping, records: Sequence[SyncedModel]
) -> list[SyncedModel]:
    """The coupled records changed in the ERP and in Dynamics 365 since they were last synchronized."""
    couplings = {
        c.erp_system_id: c
        for c in Coupling.objects.filter(
            erp_model_id=mapping.erp_model_id,
            erp_system_id__in=[r.system_id for r in records],
            state=Coupling.State.COUPLED,
        )
    }
    erp_changed = [
        r
        for r in records
        if (coupled := couplings.get(r.system_id)) is not None
        and coupled.erp_modified_at is not None
        and r.modified_at > coupled.erp_modified_at
    ]
    if not erp_changed:
        return []
    crm_ids = [couplings[r.system_id].crm_id for r in erp_changed]
    rows = crm_rows_by_id(client=client, mapping=mapping, crm_ids=crm_ids, select=["modifiedon"])
    both = []
    for record in erp_changed:
        coupling = couplings[record.system_id]
        row = rows.get(str(coupling.crm_id))
        modified_on = odata.parse_datetime(row.get("modifiedon")) if row else None
        if modified_on is not None and coupling.crm_modified_on is not None and modified_on > coupling.crm_modified_on:
            both.append(record)
    return both

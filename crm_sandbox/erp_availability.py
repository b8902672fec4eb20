"""A product's "Availability (from ERP)", read live over HTTP from the ERP's OData service, as the CRM does.

Where the ERP is and how to sign in come from the row of the custom entity ``nav_connection`` that
importing the integration solution creates (Business Central's attribute names: the OData URL, a
user name and that user's web service access key). The sandbox knows nothing else of the ERP.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from crm_sandbox import metadata, store
from crm_sandbox.models import model_for

CONNECTION_ENTITY = "nav_connection"
URL_ATTRIBUTE = "nav_dynamicsnavodataurl"
USERNAME_ATTRIBUTE = "nav_dynamicsnavodatausername"
ACCESS_KEY_ATTRIBUTE = "nav_dynamicsnavodataaccesskey"
ENTITY_SET = "ProductItemAvailability"
# (connect, read) seconds: the product page must not hang on an ERP that is down.
TIMEOUT = (3, 5)

OK = "ok"
NOT_CONFIGURED = "not_configured"
NOT_FOUND = "not_found"
UNREACHABLE = "unreachable"
UNAUTHORIZED = "unauthorized"
FAILED = "failed"


@dataclass(frozen=True)
class Connection:
    url: str
    username: str
    access_key: str


@dataclass
class Availability:
    state: str
    message: str = ""
    rows: list[dict] = field(default_factory=list)
    source: str = ""
    matched_by_number: bool = False


def connection() -> Connection | None:
    """The active nav_connection row with an OData URL, newest first; None when there is none."""
    entity = metadata.BY_LOGICAL_NAME.get(CONNECTION_ENTITY)
    if entity is None:
        return None
    names = {attribute.name for attribute in entity.attributes}
    if not {URL_ATTRIBUTE, USERNAME_ATTRIBUTE, ACCESS_KEY_ATTRIBUTE} <= names:
        return None
    row = (
        model_for(entity)
        .objects.using(store.DB)
        .filter(statecode=0)
        .exclude(**{f"{URL_ATTRIBUTE}__isnull": True})
        .exclude(**{URL_ATTRIBUTE: ""})
        .order_by("-modifiedon")
        .values_list(URL_ATTRIBUTE, USERNAME_ATTRIBUTE, ACCESS_KEY_ATTRIBUTE)
        .first()
    )
    if row is None:
        return None
    url, username, access_key = row
    return Connection(url=url.strip(), username=username or "", access_key=access_key or "")


def entity_set_url(service_url: str) -> str:
    base = service_url.rstrip("/")
    return base if base.endswith(f"/{ENTITY_SET}") else f"{base}/{ENTITY_SET}"


def product_availability(*, product_id: str, product_number: str, as_of: datetime.date | None = None) -> Availability:
    settings = connection()
    if settings is None:
        return Availability(
            NOT_CONFIGURED,
            f"Not configured: no active {CONNECTION_ENTITY} row with {URL_ATTRIBUTE}. Import the integration "
            "solution and set up item availability in the ERP.",
        )
    url = entity_set_url(settings.url)
    number_literal = (product_number or "").replace("'", "''")
    params = {"$filter": f"ProductId eq {product_id} or ItemNo eq '{number_literal}'"}
    if as_of is not None:
        params["asOfDate"] = as_of.isoformat()
    try:
        response = requests.get(
            url,
            params=params,
            auth=(settings.username, settings.access_key),
            headers={"Accept": "application/json", "OData-MaxVersion": "4.0"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as error:
        return Availability(UNREACHABLE, f"The ERP at {url} could not be reached: {type(error).__name__}.", source=url)
    if response.status_code == 401:
        return Availability(
            UNAUTHORIZED,
            f"The ERP refused the user name or web service access key of the {CONNECTION_ENTITY} row (401).",
            source=url,
        )
    try:
        body = response.json(parse_float=Decimal)
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("value"), list):
        detail = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
        return Availability(FAILED, f"The ERP answered {response.status_code}. {detail}".strip(), source=url)
    return _matching(body["value"], product_id=product_id, product_number=product_number, source=url)


def _matching(rows: list[dict], *, product_id: str, product_number: str, source: str) -> Availability:
    """The items coupled to the product; else the uncoupled item with the product's number."""
    coupled = [row for row in rows if str(row.get("ProductId") or "").lower() == product_id.lower()]
    if coupled:
        return Availability(OK, rows=coupled, source=source)
    by_number = [row for row in rows if row.get("ItemNo") == product_number and not row.get("ProductId")]
    if by_number:
        return Availability(OK, rows=by_number, source=source, matched_by_number=True)
    return Availability(
        NOT_FOUND,
        f"The ERP has no item coupled to this product and no uncoupled item numbered '{product_number}'.",
        source=source,
    )

"""The OData v4 service over raw HTTP (Django's test client): metadata, entity set, filters, paging, errors."""

import datetime
import json
import uuid
from decimal import Decimal
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coupling.services import coupling_create
from tests import factories
from tests.webservices.conftest import ITEMS, SERVICE

pytestmark = pytest.mark.django_db

EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def item_with_stock(no: str, *quantities: str, posting_date: datetime.date | None = None):
    item = factories.ItemFactory(no=no)
    for quantity in quantities:
        kwargs = {"posting_date": posting_date} if posting_date else {}
        factories.ItemLedgerEntryFactory(item=item, quantity=Decimal(quantity), **kwargs)
    return item


def couple(item) -> uuid.UUID:
    product_id = uuid.uuid4()
    coupling_create(record=item, crm_entity="product", crm_id=product_id)
    return product_id


def values(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["value"]


def item_nos(response) -> list[str]:
    return [row["ItemNo"] for row in values(response)]


def test_metadata_is_an_odata_4_csdl_document_with_key_properties_and_set(odata):
    response = odata.get(SERVICE + "$metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert response["OData-Version"] == "4.0"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{EDMX}Edmx" and root.get("Version") == "4.0"
    schema = root.find(f"{EDMX}DataServices/{EDM}Schema")
    entity_type = schema.find(f"{EDM}EntityType[@Name='ProductItemAvailability']")
    assert [ref.get("Name") for ref in entity_type.findall(f"{EDM}Key/{EDM}PropertyRef")] == ["ItemNo"]
    types = {p.get("Name"): (p.get("Type"), p.get("Nullable")) for p in entity_type.findall(f"{EDM}Property")}
    assert types == {
        "ItemNo": ("Edm.String", "false"),
        "ProductId": ("Edm.Guid", "true"),
        "Description": ("Edm.String", "false"),
        "UnitOfMeasure": ("Edm.String", "false"),
        "Inventory": ("Edm.Decimal", "false"),
        "AvailableQuantity": ("Edm.Decimal", "false"),
        "AvailabilityDate": ("Edm.Date", "true"),
    }
    entity_set = schema.find(f"{EDM}EntityContainer/{EDM}EntitySet")
    assert entity_set.get("Name") == "ProductItemAvailability"
    assert entity_set.get("EntityType") == "NAV.ProductItemAvailability"
    description = entity_set.find(f"{EDM}Annotation[@Term='Core.Description']").get("String")
    assert "asOfDate=" in description
    include = root.find(f"{EDMX}Reference/{EDMX}Include")
    assert include.get("Namespace") == "Org.OData.Core.V1" and include.get("Alias") == "Core"


def test_service_document_lists_the_entity_set(odata):
    response = odata.get(SERVICE)
    assert response.status_code == 200 and response["OData-Version"] == "4.0"
    body = response.json()
    assert body["@odata.context"] == "http://testserver/odata/v4/$metadata"
    assert body["value"] == [{"name": "ProductItemAvailability", "kind": "EntitySet", "url": "ProductItemAvailability"}]


def test_each_item_carries_its_product_id_unit_inventory_and_available_quantity(odata):
    coupled = item_with_stock("1000", "10", "2.5")
    product_id = couple(coupled)
    factories.SalesLineFactory(item=coupled, quantity=Decimal("4"), quantity_shipped=Decimal("1"))
    item_with_stock("1001")

    response = odata.get(ITEMS)
    assert response["Content-Type"] == "application/json;odata.metadata=minimal"
    assert response["OData-Version"] == "4.0"
    body = response.json()
    assert body["@odata.context"] == "http://testserver/odata/v4/$metadata#ProductItemAvailability"
    assert body["value"] == [
        {
            "ItemNo": "1000",
            "ProductId": str(product_id),
            "Description": coupled.description,
            "UnitOfMeasure": coupled.base_unit_of_measure.code,
            "Inventory": 12.5,
            "AvailableQuantity": 9.5,
            "AvailabilityDate": None,
        },
        {
            "ItemNo": "1001",
            "ProductId": None,
            "Description": factories.models.Item.objects.get(no="1001").description,
            "UnitOfMeasure": factories.models.Item.objects.get(no="1001").base_unit_of_measure.code,
            "Inventory": 0,
            "AvailableQuantity": 0,
            "AvailabilityDate": None,
        },
    ]
    # Decimals keep every digit as JSON numbers; strings on request (IEEE754Compatible).
    assert b'"Inventory":12.5,' in response.content
    as_strings = odata.get(ITEMS, HTTP_ACCEPT="application/json;IEEE754Compatible=true")
    assert as_strings["Content-Type"].endswith(";IEEE754Compatible=true")
    assert values(as_strings)[0]["Inventory"] == "12.5"


@pytest.fixture
def four_items():
    items = {no: item_with_stock(no, "5") for no in ("A1", "A2", "B1", "B2")}
    product_ids = {no: couple(items[no]) for no in ("A1", "B1")}
    return product_ids


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("ItemNo eq 'A2'", ["A2"]),
        ("ItemNo in ('A2', 'B2', 'nope')", ["A2", "B2"]),
        ("ItemNo in ('B2')", ["B2"]),
        ("ProductId eq {A1}", ["A1"]),
        ("ProductId in ({A1}, {B1}, {unknown})", ["A1", "B1"]),
        ("ProductId in ({B1})", ["B1"]),
        ("ProductId eq null", ["A2", "B2"]),
        ("ProductId eq {A1} or ItemNo eq 'B2'", ["A1", "B2"]),
        ("ProductId eq {A1} and ItemNo eq 'A1'", ["A1"]),
        ("ProductId eq {A1} and ItemNo eq 'B1'", []),
        ("(ItemNo eq 'A2' or ItemNo eq 'B2') and ProductId eq null", ["A2", "B2"]),
        ("ProductId eq {unknown}", []),
        ("ItemNo eq null", []),
    ],
)
def test_filter_eq_and_in_on_item_no_and_product_id(odata, four_items, expression, expected):
    text = expression.format(unknown=uuid.uuid4(), **four_items)
    assert item_nos(odata.get(ITEMS, {"$filter": text})) == expected


def test_filter_on_an_item_no_with_a_quote(odata):
    item_with_stock("O'NEIL")
    item_with_stock("ONEIL")
    assert item_nos(odata.get(ITEMS, {"$filter": "ItemNo eq 'O''NEIL'"})) == ["O'NEIL"]


def test_select_returns_only_the_named_properties_and_the_context_names_them(odata):
    item_with_stock("1000", "3")
    body = odata.get(ITEMS, {"$select": "ItemNo,AvailableQuantity"}).json()
    assert body["@odata.context"].endswith("$metadata#ProductItemAvailability(ItemNo,AvailableQuantity)")
    assert body["value"] == [{"ItemNo": "1000", "AvailableQuantity": 3}]
    everything = values(odata.get(ITEMS, {"$select": "*"}))[0]
    assert set(everything) == {
        "ItemNo",
        "ProductId",
        "Description",
        "UnitOfMeasure",
        "Inventory",
        "AvailableQuantity",
        "AvailabilityDate",
    }


def test_top_skip_and_count(odata):
    for no in ("I1", "I2", "I3", "I4", "I5"):
        item_with_stock(no)
    assert item_nos(odata.get(ITEMS, {"$top": "2"})) == ["I1", "I2"]
    assert item_nos(odata.get(ITEMS, {"$top": "2", "$skip": "3"})) == ["I4", "I5"]
    assert item_nos(odata.get(ITEMS, {"$top": "0"})) == []
    counted = odata.get(ITEMS, {"$count": "true", "$top": "1", "$filter": "ItemNo in ('I1','I2','I3')"}).json()
    assert counted["@odata.count"] == 3 and [row["ItemNo"] for row in counted["value"]] == ["I1"]
    assert "@odata.nextLink" not in counted
    assert "@odata.count" not in odata.get(ITEMS, {"$count": "false"}).json()
    count_segment = odata.get(ITEMS + "/$count", {"$filter": "ItemNo ne 'x'"})
    assert count_segment.status_code == 400
    plain = odata.get(ITEMS + "/$count", {"$filter": "ItemNo in ('I1','I5')"})
    assert plain.status_code == 200 and plain["Content-Type"].startswith("text/plain") and plain.content == b"2"


def follow(odata, url: str, data=None, **headers) -> tuple[list[str], list[dict]]:
    """Reads every page; returns the item nos and the page bodies."""
    numbers, pages = [], []
    while url:
        response = odata.get(url, data, **headers)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body)
        numbers += [row["ItemNo"] for row in body["value"]]
        next_link = body.get("@odata.nextLink")
        if next_link:
            parts = urlsplit(next_link)
            assert parts.scheme == "http" and parts.netloc == "testserver"
            url, data = f"{parts.path}?{parts.query}", None
        else:
            url = None
    return numbers, pages


def test_paging_follows_next_links_with_the_options_kept(odata):
    numbers = [f"P{n:02d}" for n in range(7)]
    for no in numbers:
        item_with_stock(no, "1")
    first = odata.get(ITEMS, HTTP_PREFER="odata.maxpagesize=3")
    assert first["Preference-Applied"] == "odata.maxpagesize=3"
    read, pages = follow(odata, ITEMS, HTTP_PREFER="odata.maxpagesize=3")
    assert read == numbers and [len(page["value"]) for page in pages] == [3, 3, 1]

    read, pages = follow(odata, ITEMS, {"$top": "5", "$select": "ItemNo"}, HTTP_PREFER="odata.maxpagesize=3")
    assert read == numbers[:5] and [len(page["value"]) for page in pages] == [3, 2]
    assert all(set(row) == {"ItemNo"} for page in pages for row in page["value"])

    filtered, _ = follow(
        odata, ITEMS, {"$filter": "ItemNo in ('P01','P02','P04','P06')"}, HTTP_PREFER="odata.maxpagesize=2"
    )
    assert filtered == ["P01", "P02", "P04", "P06"]


def test_the_server_page_holds_at_most_a_thousand_items(odata, settings):
    unit = factories.UnitOfMeasureFactory()
    factories.models.Item.objects.bulk_create(
        factories.models.Item(no=f"M{n:04d}", description="bulk", base_unit_of_measure=unit) for n in range(1001)
    )
    body = odata.get(ITEMS, {"$select": "ItemNo"}).json()
    assert len(body["value"]) == 1000 and "@odata.nextLink" in body
    rest, _ = follow(odata, urlsplit(body["@odata.nextLink"]).path + "?" + urlsplit(body["@odata.nextLink"]).query)
    assert rest == ["M1000"]


def test_as_of_date_limits_inventory_and_demand_to_that_date(odata):
    today = datetime.date(2026, 6, 1)
    item = item_with_stock("1000", "10", posting_date=today)
    factories.ItemLedgerEntryFactory(item=item, quantity=Decimal("5"), posting_date=today + datetime.timedelta(days=30))
    order = factories.SalesHeaderFactory(order_date=today, requested_delivery_date=today + datetime.timedelta(days=10))
    factories.SalesLineFactory(order=order, item=item, quantity=Decimal("3"))

    def figures(as_of: str | None):
        data = {"asOfDate": as_of} if as_of else {}
        row = values(odata.get(ITEMS, data))[0]
        return row["Inventory"], row["AvailableQuantity"], row["AvailabilityDate"]

    assert figures("2026-06-05") == (10, 10, "2026-06-05")
    assert figures("2026-06-11") == (10, 7, "2026-06-11")
    assert figures("2026-07-01") == (15, 12, "2026-07-01")
    assert figures("2026-05-31") == (0, 0, "2026-05-31")
    assert figures(None) == (15, 12, None)
    single = odata.get(ITEMS + "('1000')", {"asOfDate": "2026-06-11", "$select": "AvailableQuantity"})
    assert single.json() == {
        "@odata.context": "http://testserver/odata/v4/$metadata#ProductItemAvailability(AvailableQuantity)/$entity",
        "AvailableQuantity": 7,
    }


def test_single_entity_by_key_and_404_for_unknown_items(odata):
    item = item_with_stock("A'B", "4")
    response = odata.get(ITEMS + "('A''B')")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == "http://testserver/odata/v4/$metadata#ProductItemAvailability/$entity"
    assert body["ItemNo"] == "A'B" and body["Inventory"] == 4 and body["Description"] == item.description
    assert odata.get(ITEMS + "(ItemNo='A''B')").json()["ItemNo"] == "A'B"

    missing = odata.get(ITEMS + "('NOPE')")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "NotFound", "message": "There is no item 'NOPE'."}}
    assert odata.get(ITEMS + "(1000)").status_code == 400
    unknown_path = odata.get(SERVICE + "Customers")
    assert unknown_path.status_code == 404 and unknown_path.json()["error"]["code"] == "NotFound"


@pytest.mark.parametrize(
    ("options", "status", "code", "message_part"),
    [
        ({"$filter": "ItemNo eq"}, 400, "InvalidFilter", "position 7"),
        ({"$filter": "(ItemNo eq '1'"}, 400, "InvalidFilter", "ends unexpectedly"),
        ({"$filter": "ItemNo eq '1' &&"}, 400, "InvalidFilter", "position 15"),
        ({"$filter": ""}, 400, "InvalidFilter", "empty"),
        ({"$filter": "Inventory eq 1"}, 400, "UnsupportedFilter", "'Inventory'"),
        ({"$filter": "ItemNo ne '1'"}, 400, "UnsupportedFilter", "'ne'"),
        ({"$filter": "startswith(ItemNo,'1')"}, 400, "UnsupportedFilter", "'startswith'"),
        ({"$filter": "not (ItemNo eq '1')"}, 400, "UnsupportedFilter", "'not'"),
        ({"$filter": "ItemNo eq 1000"}, 400, "UnsupportedFilter", "quote it"),
        ({"$filter": "ProductId eq 'abc'"}, 400, "UnsupportedFilter", "GUID"),
        ({"$filter": "ItemNo in (" + ",".join(f"'{n}'" for n in range(1001)) + ")"}, 400, "UnsupportedFilter", "1000"),
        ({"$top": "-1"}, 400, "BadRequest", "$top"),
        ({"$top": "ten"}, 400, "BadRequest", "$top"),
        ({"$skip": "1.5"}, 400, "BadRequest", "$skip"),
        ({"$count": "yes"}, 400, "BadRequest", "$count"),
        ({"$select": "ItemNo,Price"}, 400, "BadRequest", "Price"),
        ({"asOfDate": "01.12.2026"}, 400, "BadRequest", "YYYY-MM-DD"),
        ({"asOfDate": "2026-02-30"}, 400, "BadRequest", "YYYY-MM-DD"),
        ({"$skiptoken": "%%%"}, 400, "BadRequest", "$skiptoken"),
        ({"$skiptoken": ""}, 400, "BadRequest", "$skiptoken"),
        ({"$frobnicate": "1"}, 400, "BadRequest", "$frobnicate"),
        ({"$orderby": "ItemNo"}, 501, "NotImplemented", "$orderby"),
        ({"$expand": "Item"}, 501, "NotImplemented", "$expand"),
        ({"$format": "xml"}, 406, "NotAcceptable", "JSON"),
    ],
)
def test_invalid_queries_get_an_odata_error_body(odata, options, status, code, message_part):
    response = odata.get(ITEMS, options)
    assert response.status_code == status
    assert response["OData-Version"] == "4.0"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert message_part in body["error"]["message"]


def test_an_option_given_twice_is_refused(odata):
    response = odata.get(ITEMS + "?$top=1&$top=2")
    assert response.status_code == 400 and "more than once" in response.json()["error"]["message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_are_refused_with_405(odata, method):
    item_with_stock("1000")
    for url in (ITEMS, ITEMS + "('1000')", SERVICE + "$metadata"):
        response = odata.generic(method, url)
        assert response.status_code == 405, url
        assert response["Allow"] == "GET"
        assert response.json()["error"]["code"] == "MethodNotAllowed"


def test_query_count_stays_flat_as_items_grow(odata):
    def queries_for_a_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = odata.get(ITEMS, {"$count": "true", "$filter": "ProductId eq null or ItemNo in ('Q0','Q1')"})
            assert response.status_code == 200
        return len(captured)

    for n in range(3):
        couple(item_with_stock(f"Q{n}", "1", "2"))
    few = queries_for_a_page()
    for n in range(3, 40):
        item = item_with_stock(f"Q{n:02d}", "1", "2")
        if n % 2:
            couple(item)
        factories.SalesLineFactory(item=item)
    many = queries_for_a_page()
    assert many == few
    # access key lookup, the user's permissions (2), the count and the page
    assert many <= 5


def test_the_page_is_one_query_whatever_the_number_of_items(odata):
    for n in range(25):
        couple(item_with_stock(f"R{n:02d}", "1"))
    odata.get(ITEMS, {"$top": "1"})  # warm the content type cache
    with CaptureQueriesContext(connection) as captured:
        response = odata.get(ITEMS)
    assert len(values(response)) == 25
    page_queries = [q["sql"] for q in captured if "erp_item" in q["sql"]]
    assert len(page_queries) == 1


def test_json_is_valid_and_parses_exactly(odata):
    item_with_stock("1000", "0.00001", "123456789.12345")
    body = json.loads(odata.get(ITEMS).content, parse_float=Decimal)
    assert body["value"][0]["Inventory"] == Decimal("123456789.12346")

"""A standard OData v4 client (python-odata) reads the service over real HTTP: $metadata, filters, keys, paging."""

import uuid
from decimal import Decimal

import pytest
import requests
from odata import ODataError, ODataService
from requests.auth import HTTPBasicAuth

from coupling.services import coupling_create
from setup_wizard.services import access_key_generate
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def service_url(erp_live_server) -> str:
    return f"{erp_live_server.url}/odata/v4/"


@pytest.fixture
def credentials():
    user = factories.UserFactory(perms=["erp.view_item"])
    _, key = access_key_generate(user=user)
    return HTTPBasicAuth(user.username, key)


@pytest.fixture
def stock():
    items = {}
    for no, quantity in (("C1", "7"), ("C2", "3.25"), ("C3", "1")):
        items[no] = factories.ItemFactory(no=no)
        factories.ItemLedgerEntryFactory(item=items[no], quantity=Decimal(quantity))
    product_id = uuid.uuid4()
    coupling_create(record=items["C2"], crm_entity="product", crm_id=product_id)
    return product_id


@pytest.fixture
def reflect(service_url):
    """ODataService(...) reading the live server's $metadata; its connections are closed after the test
    (a kept-alive connection would hold a live server thread past the end of the run)."""
    sessions = []

    def connect(credentials, **options) -> ODataService:
        session = requests.Session()
        session.trust_env = False
        sessions.append(session)
        return ODataService(
            service_url, reflect_entities=True, auth=credentials, session=session, quiet_progress=True, **options
        )

    yield connect
    for session in sessions:
        session.close()


def test_the_client_reflects_the_metadata_and_filters_by_product_id(reflect, credentials, stock):
    service = reflect(credentials)
    availability = service.entities["ProductItemAvailability"]
    query = service.query(availability).filter(availability.ProductId == stock)
    rows = query.all()
    assert [(row.ItemNo, row.Inventory, row.AvailableQuantity) for row in rows] == [
        ("C2", Decimal("3.25"), Decimal("3.25"))
    ]
    assert str(rows[0].ProductId) == str(stock)


def test_the_client_combines_filters_selects_and_gets_by_key(reflect, credentials, stock):
    service = reflect(credentials)
    availability = service.entities["ProductItemAvailability"]
    either = service.query(availability).filter((availability.ItemNo == "C1") | (availability.ProductId == stock))
    assert sorted(row.ItemNo for row in either) == ["C1", "C2"]
    selected = service.query(availability).select(availability.ItemNo, availability.Inventory).limit(2).all()
    assert selected == [{"ItemNo": "C1", "Inventory": 7}, {"ItemNo": "C2", "Inventory": 3.25}]
    assert service.query(availability).get("C3").Inventory == Decimal("1")


def test_the_client_follows_next_links_across_pages(reflect, credentials, stock):
    service = reflect(credentials, extra_headers={"Prefer": "odata.maxpagesize=1"})
    availability = service.entities["ProductItemAvailability"]
    assert [row.ItemNo for row in service.query(availability)] == ["C1", "C2", "C3"]


def test_the_client_sees_odata_errors(reflect, credentials, stock):
    service = reflect(credentials)
    availability = service.entities["ProductItemAvailability"]
    with pytest.raises(ODataError) as refused:
        service.query(availability).filter(availability.ItemNo.startswith("C")).all()
    assert refused.value.code == "UnsupportedFilter" and "startswith" in refused.value.message
    service.default_context.connection.auth = HTTPBasicAuth(credentials.username, "wrong")
    with pytest.raises(ODataError) as unauthorized:
        service.query(availability).all()
    assert unauthorized.value.status_code == "HTTP 401" and unauthorized.value.code == "Unauthorized"

"""Bad input to the API is a 400 with a JSON body: bodies nested too deep, query parameters nothing takes."""

import pytest

from tests import factories
from tests.erp.api_support import API, token_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body",
    ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000],
    ids=["arrays", "objects"],
)
def test_a_body_nested_a_thousand_levels_deep_is_a_400_not_a_500(body):
    client = token_client("erp.add_customer", "erp.view_customer")

    response = client.post(f"{API}/customers/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"modified_at__gte": "notadate"}, "modified_at__gte"),
        ({"name": "Adatum"}, "name"),
        ({"order_date_since": "2026-01-01"}, "order_date_since"),
    ],
)
def test_a_query_parameter_nothing_takes_is_a_400_naming_it_instead_of_every_row(query, parameter):
    factories.SalesHeaderFactory()
    response = token_client("erp.view_salesheader").get(f"{API}/sales-orders/", query)

    assert response.status_code == 400
    (message,) = response.json()[parameter]
    assert message.startswith("Unknown query parameter. This endpoint takes: ")
    assert "order_date_after" in message and "modified_since" in message and "page_size" in message


def test_a_value_a_filter_cannot_read_is_a_400_naming_the_filter():
    response = token_client("erp.view_salesheader").get(f"{API}/sales-orders/", {"modified_since": "notadate"})

    assert response.status_code == 400
    assert list(response.json()) == ["modified_since"]


def test_the_parameters_each_endpoint_takes_still_work():
    order = factories.SalesHeaderFactory()
    client = token_client("erp.view_salesheader", "erp.view_item")

    listed = client.get(
        f"{API}/sales-orders/",
        {
            "sell_to_customer": order.sell_to_customer.no,
            "order_date_after": "2000-01-01",
            "order_date_before": "2100-01-01",
            "status": "open",
            "search": order.no,
            "ordering": "-no",
            "page": "1",
            "page_size": "10",
        },
    )
    availability = client.get(f"{API}/item-availability/", {"as_of": "2026-01-01"})

    assert listed.status_code == 200 and [row["no"] for row in listed.json()["results"]] == [order.no]
    assert availability.status_code == 200


def test_a_refused_page_is_logged_as_one_line_without_a_traceback(client, caplog):
    client.force_login(factories.UserFactory())  # no permission at all

    with caplog.at_level("WARNING", logger="django.request"):
        response = client.get("/erp/customers/")

    assert response.status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /erp/customers/"
    assert record.exc_info is None and "\n" not in caplog.text.strip()

"""List pages: search, filters, sorting, pagination; bulk actions on selected or all matching rows."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from erp.models import Customer, Item, SalesHeader
from tests.erp.pages_support import client_with, messages_of
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    SalesHeaderFactory,
    SalesLineFactory,
    SalespersonFactory,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("erp:customer_list")


def listed(response) -> list[str]:
    return [row.record.no for row in response.context["table"].paginated_rows]


@pytest.fixture
def viewer():
    return client_with("erp.view_customer", "erp.view_salesheader", "erp.view_item")


# --- search, filters, sorting, pagination -------------------------------------------------------


def test_search_narrows_the_list_on_several_fields_and_all_words(viewer):
    CustomerFactory(no="FC1", name="Adatum Corporation", city="Seattle")
    CustomerFactory(no="FC2", name="Trey Research", city="Seattle")
    CustomerFactory(no="FC3", name="Adatum Labs", city="Boston")
    assert sorted(listed(viewer.get(CUSTOMERS, {"q": "adatum"}))) == ["FC1", "FC3"]
    assert listed(viewer.get(CUSTOMERS, {"q": "adatum seattle"})) == ["FC1"]
    assert listed(viewer.get(CUSTOMERS, {"q": "fc2"})) == ["FC2"]
    assert listed(viewer.get(CUSTOMERS, {"q": "nothing-like-this"})) == []


def test_filters_narrow_the_list_and_combine_with_search(viewer):
    seller = SalespersonFactory()
    CustomerFactory(no="FC1", name="Alpha", salesperson=seller)
    CustomerFactory(no="FC2", name="Beta", salesperson=seller, blocked=Customer.Blocked.ALL)
    CustomerFactory(no="FC3", name="Alpha Two")
    assert sorted(listed(viewer.get(CUSTOMERS, {"salesperson": seller.pk}))) == ["FC1", "FC2"]
    assert listed(viewer.get(CUSTOMERS, {"blocked": "all"})) == ["FC2"]
    assert sorted(listed(viewer.get(CUSTOMERS, {"blocked": "none"}))) == ["FC1", "FC3"]
    assert listed(viewer.get(CUSTOMERS, {"salesperson": seller.pk, "q": "alpha"})) == ["FC1"]


def test_an_invalid_filter_value_is_shown_as_a_form_error_not_a_crash(viewer):
    CustomerFactory()
    response = viewer.get(CUSTOMERS, {"salesperson": "999999"})
    assert response.status_code == 200
    assert response.context["filterset"].form.errors["salesperson"]


def test_sales_orders_filter_by_status_and_date(viewer):
    import datetime

    SalesHeaderFactory(no="FSO1", status=SalesHeader.Status.RELEASED, order_date=datetime.date(2024, 1, 10))
    SalesHeaderFactory(no="FSO2", order_date=datetime.date(2024, 3, 1))
    url = reverse("erp:salesorder_list")
    assert listed(viewer.get(url, {"status": "released"})) == ["FSO1"]
    assert listed(viewer.get(url, {"order_date_from": "2024-02-01"})) == ["FSO2"]


def test_column_headers_sort_the_list_both_ways(viewer):
    CustomerFactory(no="FC1", name="Charlie")
    CustomerFactory(no="FC2", name="Alpha")
    CustomerFactory(no="FC3", name="Bravo")
    assert listed(viewer.get(CUSTOMERS)) == ["FC1", "FC2", "FC3"]
    assert listed(viewer.get(CUSTOMERS, {"sort": "name"})) == ["FC2", "FC3", "FC1"]
    assert listed(viewer.get(CUSTOMERS, {"sort": "-name"})) == ["FC1", "FC3", "FC2"]
    page = viewer.get(CUSTOMERS, {"sort": "name", "q": "a"}).content.decode()
    assert "sort=-name" in page  # the header link flips the order and keeps the search
    assert "q=a" in page


def test_pagination_with_a_selectable_page_size_keeps_the_state_in_the_url(viewer):
    for n in range(30):
        CustomerFactory(no=f"FC{n:03d}")
    first = viewer.get(CUSTOMERS)
    assert len(listed(first)) == 25
    assert first.context["table"].paginator.count == 30
    second = viewer.get(CUSTOMERS, {"page": 2})
    assert listed(second) == [f"FC{n:03d}" for n in range(25, 30)]
    assert len(listed(viewer.get(CUSTOMERS, {"per_page": 50}))) == 30
    assert len(listed(viewer.get(CUSTOMERS, {"per_page": 100000}))) == 25  # not one of the offered sizes
    assert listed(viewer.get(CUSTOMERS, {"page": 99}))[-1] == "FC029"  # past the end: the last page
    descending = viewer.get(CUSTOMERS, {"sort": "-no", "page": 2, "per_page": 25})
    assert listed(descending) == [f"FC{n:03d}" for n in range(4, -1, -1)]
    assert "per_page=25" in descending.content.decode()


# --- bulk actions -------------------------------------------------------------------------------


def test_delete_selected_asks_for_confirmation_first():
    customers = CustomerFactory.create_batch(2)
    client = client_with("erp.view_customer", "erp.delete_customer")
    response = client.post(CUSTOMERS, {"action": "delete", "pk": [c.pk for c in customers]})
    assert response.status_code == 200
    assert "Delete selected" in response.content.decode()
    assert Customer.objects.count() == 2


def test_delete_selected_deletes_the_selected_and_names_those_in_use():
    free, other_free, in_use, untouched = CustomerFactory.create_batch(4)
    order = SalesHeaderFactory(sell_to_customer=in_use)
    client = client_with("erp.view_customer", "erp.delete_customer")
    response = client.post(
        CUSTOMERS,
        {"action": "delete", "confirmed": "1", "pk": [free.pk, other_free.pk, in_use.pk]},
        follow=True,
    )
    assert set(Customer.objects.all()) == {in_use, untouched}
    messages = messages_of(response)
    assert "2 customers deleted." in messages
    refused = [m for m in messages if m.startswith(str(in_use))]
    assert refused and order.no in refused[0] and "not deleted" in refused[0]


def test_bulk_action_on_all_matching_rows_uses_the_current_search_and_filters():
    keep = CustomerFactory(name="Keep me")
    CustomerFactory.create_batch(30, name="Remove")
    client = client_with("erp.view_customer", "erp.delete_customer")
    response = client.post(
        f"{CUSTOMERS}?q=remove&per_page=25",
        {"action": "delete", "confirmed": "1", "select_all_matching": "1"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{CUSTOMERS}?q=remove&per_page=25"
    assert list(Customer.objects.all()) == [keep]


def test_bulk_action_confirmation_carries_the_all_matching_selection():
    CustomerFactory(name="Keep me")
    CustomerFactory.create_batch(3, name="Remove")
    client = client_with("erp.view_customer", "erp.delete_customer")
    response = client.post(f"{CUSTOMERS}?q=remove", {"action": "delete", "select_all_matching": "1"})
    page = response.content.decode()
    assert response.context["count"] == 3
    assert 'name="select_all_matching" value="1"' in page
    assert f'action="{CUSTOMERS}?q=remove"' in page


def test_a_bulk_action_needs_its_permission():
    customer = CustomerFactory()
    client = client_with("erp.view_customer", "erp.change_customer")
    page = client.get(CUSTOMERS).content.decode()
    assert 'value="block"' in page
    assert 'value="delete"' not in page  # no delete permission: no button
    response = client.post(CUSTOMERS, {"action": "delete", "confirmed": "1", "pk": [customer.pk]})
    assert response.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_list_without_any_permitted_action_has_no_selection_column():
    CustomerFactory()
    response = client_with("erp.view_customer").get(CUSTOMERS)
    assert "pk" not in response.context["table"].columns.names()
    assert "With selected" not in response.content.decode()


def test_bulk_actions_need_the_csrf_token():
    customer = CustomerFactory()
    client = client_with("erp.view_customer", "erp.delete_customer", client=Client(enforce_csrf_checks=True))
    data = {"action": "delete", "confirmed": "1", "pk": [customer.pk]}
    assert client.post(CUSTOMERS, data).status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()

    client.get(CUSTOMERS)
    token = client.cookies["csrftoken"].value
    assert client.post(CUSTOMERS, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_bulk_action_with_nothing_selected_or_unknown_action_explains_itself():
    CustomerFactory()
    client = client_with("erp.view_customer", "erp.delete_customer")
    assert "Select at least one record first." in messages_of(
        client.post(CUSTOMERS, {"action": "delete", "confirmed": "1"}, follow=True)
    )
    assert "Choose one of the list's actions." in messages_of(
        client.post(CUSTOMERS, {"action": "launch-rockets"}, follow=True)
    )
    assert "Select at least one record first." in messages_of(
        client.post(CUSTOMERS, {"action": "delete", "pk": ["not-a-number"]}, follow=True)
    )
    assert Customer.objects.count() == 1


def test_block_and_unblock_selected_customers_and_items():
    customer = CustomerFactory()
    item = ItemFactory()
    client = client_with("erp.view_customer", "erp.change_customer", "erp.view_item", "erp.change_item")
    client.post(CUSTOMERS, {"action": "block", "pk": [customer.pk]})
    customer.refresh_from_db()
    assert customer.blocked == Customer.Blocked.ALL
    client.post(CUSTOMERS, {"action": "unblock", "pk": [customer.pk]})
    customer.refresh_from_db()
    assert customer.blocked == Customer.Blocked.NONE

    response = client.post(reverse("erp:item_list"), {"action": "block", "pk": [item.pk]}, follow=True)
    assert "1 item blocked." in messages_of(response)
    assert Item.objects.get(pk=item.pk).blocked is True
    client.post(reverse("erp:item_list"), {"action": "unblock", "pk": [item.pk]})
    assert Item.objects.get(pk=item.pk).blocked is False


def test_release_and_reopen_selected_sales_orders_report_refusals():
    ready = SalesHeaderFactory()
    SalesLineFactory(order=ready, quantity=Decimal("1"))
    empty = SalesHeaderFactory()
    client = client_with("erp.view_salesheader", "erp.change_salesheader")
    url = reverse("erp:salesorder_list")
    response = client.post(url, {"action": "release", "pk": [ready.pk, empty.pk]}, follow=True)
    ready.refresh_from_db()
    empty.refresh_from_db()
    assert ready.status == SalesHeader.Status.RELEASED
    assert empty.status == SalesHeader.Status.OPEN
    messages = messages_of(response)
    assert "1 sales order released." in messages
    assert any(m.startswith(f"{empty.no}: not released.") and "nothing to release" in m for m in messages)

    client.post(url, {"action": "reopen", "pk": [ready.pk]})
    ready.refresh_from_db()
    assert ready.status == SalesHeader.Status.OPEN


def test_anonymous_bulk_post_goes_to_login():
    customer = CustomerFactory()
    response = Client().post(CUSTOMERS, {"action": "delete", "confirmed": "1", "pk": [customer.pk]})
    assert response.status_code == 302
    assert Customer.objects.filter(pk=customer.pk).exists()

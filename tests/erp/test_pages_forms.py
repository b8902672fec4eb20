"""Create/edit/delete pages save through erp.services; errors are shown and nothing is lost or saved."""

from decimal import Decimal

import pytest
from django.urls import reverse

from erp.models import Customer, Item, SalesHeader, SalesPrice
from tests.erp.pages_support import client_with, messages_of
from tests.factories import (
    CustomerFactory,
    ItemFactory,
    ItemLedgerEntryFactory,
    NoSeriesFactory,
    SalesHeaderFactory,
    SalesLineFactory,
    SalespersonFactory,
    UnitOfMeasureFactory,
)

pytestmark = pytest.mark.django_db


def test_create_customer_without_a_number_takes_it_from_the_series():
    NoSeriesFactory(code="CUST", prefix="C", width=5, last_number=0, increment_by=10)
    client = client_with("erp.add_customer", "erp.view_customer")
    response = client.post(reverse("erp:customer_create"), {"no": "", "name": "Fabrikam", "credit_limit_lcy": "0"})
    customer = Customer.objects.get(name="Fabrikam")
    assert customer.no == "C00010"
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    detail = client.get(response["Location"])
    assert "Customer C00010 Fabrikam created." in messages_of(detail)


def test_create_with_a_missing_number_series_shows_the_services_error_on_the_number_field():
    client = client_with("erp.add_customer")
    response = client.post(reverse("erp:customer_create"), {"no": "", "name": "Fabrikam", "credit_limit_lcy": "0"})
    assert response.status_code == 200
    assert "There is no number series CUST" in response.context["form"].errors["no"][0]
    assert 'value="Fabrikam"' in response.content.decode()  # the user's input is kept
    assert not Customer.objects.exists()


def test_create_form_shows_field_errors_and_saves_nothing():
    client = client_with("erp.add_customer")
    response = client.post(
        reverse("erp:customer_create"),
        {"no": "C1", "name": "", "email": "not-an-email", "credit_limit_lcy": "-5"},
    )
    form = response.context["form"]
    assert set(form.errors) >= {"name", "email", "credit_limit_lcy"}
    assert 'value="not-an-email"' in response.content.decode()
    assert not Customer.objects.exists()


def test_edit_customer_saves_the_change():
    seller = SalespersonFactory()
    customer = CustomerFactory(name="Old name")
    client = client_with("erp.change_customer", "erp.view_customer")
    edit_url = reverse("erp:customer_edit", args=[customer.pk])
    form = client.get(edit_url).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(name="New name", salesperson=seller.pk, home_page="", primary_contact="")
    response = client.post(edit_url, data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "New name"
    assert customer.salesperson == seller


def test_model_validation_errors_reach_the_form():
    item = ItemFactory()
    client = client_with("erp.add_salesprice")
    response = client.post(
        reverse("erp:salesprice_create"),
        {
            "item": item.pk,
            "sales_type": SalesPrice.SalesType.CUSTOMER,
            "sales_code": "NOBODY",
            "minimum_quantity": "0",
            "unit_price": "10",
        },
    )
    assert "There is no customer NOBODY." in response.context["form"].errors["sales_code"]
    assert not SalesPrice.objects.exists()


def test_new_sales_order_takes_currency_and_salesperson_from_the_customer():
    NoSeriesFactory(code="SO", prefix="SO", width=5)
    seller = SalespersonFactory()
    customer = CustomerFactory(salesperson=seller)
    client = client_with("erp.add_salesheader", "erp.view_salesheader")
    prefilled = client.get(reverse("erp:salesorder_create"), {"sell_to_customer": customer.pk})
    assert prefilled.context["form"]["sell_to_customer"].value() == str(customer.pk)
    response = client.post(
        reverse("erp:salesorder_create"), {"no": "", "sell_to_customer": customer.pk, "order_date": "2025-05-01"}
    )
    order = SalesHeader.objects.get()
    assert response["Location"] == order.get_absolute_url()
    assert order.no.startswith("SO")
    assert order.salesperson == seller


def test_new_sales_order_for_a_blocked_customer_shows_why_and_saves_nothing():
    customer = CustomerFactory(blocked=Customer.Blocked.ALL)
    client = client_with("erp.add_salesheader")
    response = client.post(
        reverse("erp:salesorder_create"), {"no": "SO1", "sell_to_customer": customer.pk, "order_date": "2025-05-01"}
    )
    assert "blocked for all transactions" in response.context["form"].errors["sell_to_customer"][0]
    assert not SalesHeader.objects.exists()


def test_editing_a_released_order_header_is_refused_with_a_form_error():
    order = SalesHeaderFactory(status=SalesHeader.Status.RELEASED, your_reference="")
    client = client_with("erp.change_salesheader")
    response = client.post(
        reverse("erp:salesorder_edit", args=[order.pk]),
        {
            "no": order.no,
            "sell_to_customer": order.sell_to_customer_id,
            "order_date": order.order_date.isoformat(),
            "your_reference": "changed",
        },
    )
    assert "reopen it to change it" in " ".join(response.context["form"].non_field_errors())
    order.refresh_from_db()
    assert order.your_reference == ""


def test_delete_page_deletes_through_the_service():
    unit = UnitOfMeasureFactory()
    client = client_with("erp.delete_unitofmeasure", "erp.view_unitofmeasure")
    url = reverse("erp:unitofmeasure_delete", args=[unit.pk])
    assert "This cannot be undone" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("erp:unitofmeasure_list")
    assert f"Unit of measure {unit.code} deleted." in messages_of(response)


def test_delete_page_refuses_a_record_in_use_and_says_what_uses_it():
    item = ItemFactory()
    client = client_with("erp.delete_unitofmeasure", "erp.view_unitofmeasure")
    unit = item.base_unit_of_measure
    response = client.post(reverse("erp:unitofmeasure_delete", args=[unit.pk]), follow=True)
    assert response.redirect_chain[-1][0] == unit.get_absolute_url()
    assert any("not deleted" in m and item.no in m for m in messages_of(response))


def test_delete_needs_the_csrf_token():
    from django.test import Client

    item = ItemFactory()
    client = client_with("erp.delete_item", client=Client(enforce_csrf_checks=True))
    assert client.post(reverse("erp:item_delete", args=[item.pk])).status_code == 403
    assert Item.objects.filter(pk=item.pk).exists()


# --- detail pages ---------------------------------------------------------------------------------


def test_customer_detail_shows_fields_contacts_and_orders():
    from tests.factories import CompanyContactFactory, ContactFactory

    customer = CustomerFactory(name="Contoso", city="Oslo")
    company = CompanyContactFactory(customer=customer)
    person = ContactFactory(company=company, first_name="Ada", last_name="Lovelace")
    order = SalesHeaderFactory(sell_to_customer=customer)
    client = client_with("erp.view_customer", "erp.view_contact", "erp.view_salesheader", "erp.add_salesheader")
    response = client.get(customer.get_absolute_url())
    page = response.content.decode()
    assert "Contoso" in page and "Oslo" in page
    assert "Ada Lovelace" in page and company.no in page and person.no in page
    assert order.no in page
    assert f"{reverse('erp:salesorder_create')}?sell_to_customer={customer.pk}" in page
    assert f"{reverse('erp:salesorder_list')}?sell_to_customer={customer.pk}" in page


def test_item_detail_shows_units_prices_ledger_entries_and_availability():
    from tests.factories import SalesPriceFactory

    item = ItemFactory()
    ItemLedgerEntryFactory(item=item, quantity=Decimal("10"), document_no="ADJ-1")
    SalesLineFactory(item=item, quantity=Decimal("3"))
    price = SalesPriceFactory(item=item, unit_price=Decimal("77.50"))
    response = client_with("erp.view_item").get(item.get_absolute_url())
    page = response.content.decode()
    assert 'data-testid="inventory">10<' in page
    assert 'data-testid="outstanding">3<' in page
    assert 'data-testid="available">7<' in page
    assert "ADJ-1" in page
    assert str(price.unit_price) in page
    assert item.base_unit_of_measure.code in page
    assert response.context["availability"].available_qty == 7

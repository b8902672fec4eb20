"""The admin goes through the services and never answers with an error page."""

import pytest
from django.contrib import admin
from django.urls import reverse

from erp.models import Customer, SalesHeader
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    return client


def test_every_erp_model_has_a_working_changelist(superuser_client):
    factories.SalesLineFactory()
    factories.ItemLedgerEntryFactory()
    erp_models = [model for model in admin.site._registry if model._meta.app_label == "erp"]
    assert len(erp_models) == 19  # exchange rates, item units, sales and invoice lines are inlines
    for model in erp_models:
        url = reverse(f"admin:erp_{model._meta.model_name}_changelist")
        assert superuser_client.get(url).status_code == 200, url


def test_adding_a_customer_with_an_empty_number_takes_the_series(superuser_client):
    factories.NoSeriesFactory(code="CUST", prefix="C", width=5)
    response = superuser_client.post(
        reverse("admin:erp_customer_add"), {"no": "", "name": "Adatum", "credit_limit_lcy": "0", "blocked": ""}
    )
    assert response.status_code == 302, response.content
    assert Customer.objects.get(name="Adatum").no == "C00010"


def test_a_refused_delete_and_release_show_a_message(superuser_client):
    order = factories.SalesHeaderFactory()
    response = superuser_client.post(
        reverse("admin:erp_customer_delete", args=[order.sell_to_customer.pk]), {"post": "yes"}, follow=True
    )
    assert "Cannot delete customer" in response.content.decode()  # the admin names the protected orders
    assert Customer.objects.filter(pk=order.sell_to_customer.pk).exists()
    response = superuser_client.post(
        reverse("admin:erp_salesheader_changelist"),
        {"action": "release", "_selected_action": [order.pk]},
        follow=True,
    )
    assert "There is nothing to release" in response.content.decode()
    assert SalesHeader.objects.get(pk=order.pk).status == "open"


def test_editing_a_released_order_shows_the_rule(superuser_client):
    order = factories.SalesHeaderFactory(status="released")
    url = reverse("admin:erp_salesheader_change", args=[order.pk])
    response = superuser_client.post(
        url,
        {
            "no": order.no,
            "sell_to_customer": order.sell_to_customer.pk,
            "order_date": order.order_date.isoformat(),
            "your_reference": "changed",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "is released; reopen it to change it" in response.content.decode()
    assert SalesHeader.objects.get(pk=order.pk).your_reference == ""

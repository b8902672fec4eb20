"""Another app extends the ERP's list pages through nav_crm.ui's registry, without erp importing it."""

import django_filters
import django_tables2 as tables
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import BooleanField, Case, Value, When
from django.urls import reverse
from django.utils.html import format_html

from erp.models import Customer
from nav_crm.ui import BulkAction, banners, per_record, register_bulk_action, register_column, register_filter, registry
from tests.erp.pages_support import client_with, messages_of
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CUSTOMERS = reverse("erp:customer_list")


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Registrations made by a test disappear after it (the registry is process-wide)."""
    monkeypatch.setattr(registry, "_extensions", {})
    monkeypatch.setattr(banners, "_banners", [])


def mark_vip(customer):
    # Stands in for a service of the other app; it writes with a queryset update to stay independent.
    Customer.objects.filter(pk=customer.pk).update(address="VIP")


VIP_ACTION = BulkAction(
    name="mark_vip",
    label="Mark as VIP",
    permission="erp.change_customer",
    handler=per_record(mark_vip),
    done_verb="marked as VIP",
)


def is_vip(queryset):
    return queryset.annotate(
        vip=Case(When(address="VIP", then=Value(True)), default=Value(False), output_field=BooleanField())
    )


def test_a_registered_bulk_action_appears_on_the_list_and_runs():
    register_bulk_action(Customer, VIP_ACTION)
    chosen, other = CustomerFactory.create_batch(2)
    client = client_with("erp.view_customer", "erp.change_customer", "erp.delete_customer")
    page = client.get(CUSTOMERS).content.decode()
    assert 'value="mark_vip"' in page and "Mark as VIP" in page
    assert 'value="delete"' in page  # the list's own actions stay

    response = client.post(CUSTOMERS, {"action": "mark_vip", "pk": [chosen.pk]}, follow=True)
    assert "1 customer marked as VIP." in messages_of(response)
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.address == "VIP"
    assert other.address != "VIP"


def test_a_registered_bulk_action_keeps_its_own_permission():
    register_bulk_action(Customer, VIP_ACTION)
    customer = CustomerFactory()
    client = client_with("erp.view_customer", "erp.delete_customer")
    assert 'value="mark_vip"' not in client.get(CUSTOMERS).content.decode()
    assert client.post(CUSTOMERS, {"action": "mark_vip", "pk": [customer.pk]}).status_code == 403


def test_a_registered_column_with_its_annotation_and_a_registered_filter():
    register_column(Customer, "vip", tables.BooleanColumn(verbose_name="VIP"), annotate=is_vip)
    register_filter(Customer, "vip", django_filters.BooleanFilter(field_name="vip", label="VIP"))
    vip = CustomerFactory(address="VIP")
    CustomerFactory(address="Main Street 1")
    client = client_with("erp.view_customer")

    response = client.get(CUSTOMERS, {"sort": "-vip"})
    assert "vip" in response.context["table"].columns.names()
    assert [row.record for row in response.context["table"].paginated_rows][0] == vip
    assert "VIP" in response.content.decode()

    filtered = client.get(CUSTOMERS, {"vip": "true"})
    assert [row.record for row in filtered.context["table"].paginated_rows] == [vip]
    assert "id_vip" in filtered.content.decode()  # the filter is in the side panel


def test_registered_extensions_stay_off_other_models_lists():
    register_bulk_action(Customer, VIP_ACTION)
    page = client_with("erp.view_item", "erp.change_item").get(reverse("erp:item_list")).content.decode()
    assert "mark_vip" not in page


def test_registering_the_same_name_twice_is_a_configuration_error():
    register_bulk_action(Customer, VIP_ACTION)
    with pytest.raises(ImproperlyConfigured):
        register_bulk_action(Customer, VIP_ACTION)
    register_column(Customer, "vip", tables.Column())
    with pytest.raises(ImproperlyConfigured):
        register_column(Customer, "vip", tables.Column())
    register_filter(Customer, "vip", django_filters.BooleanFilter())
    with pytest.raises(ImproperlyConfigured):
        register_filter(Customer, "vip", django_filters.BooleanFilter())


def test_an_action_clashing_with_a_declared_one_is_refused():
    register_bulk_action(
        Customer, BulkAction("delete", "Delete again", "erp.delete_customer", per_record(print), "gone")
    )
    with pytest.raises(ImproperlyConfigured):
        client_with("erp.view_customer").get(CUSTOMERS)


def test_a_registered_banner_shows_on_every_page_for_logged_in_users():
    banners.register_banner(
        lambda request: format_html('<div class="alert alert-primary" id="setup-banner">{}</div>', "Connect")
    )
    banners.register_banner(lambda request: None)
    page = client_with("erp.view_customer").get(CUSTOMERS).content.decode()
    assert page.count('id="setup-banner"') == 1

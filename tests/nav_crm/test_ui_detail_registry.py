"""Another app adds buttons and panels to the ERP's detail pages through nav_crm.ui's registry."""

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import redirect
from django.test import Client
from django.urls import reverse

from erp.models import Customer
from nav_crm.ui import (
    BulkAction,
    DetailAction,
    DetailPanel,
    per_record,
    register_detail_action,
    register_detail_panel,
    registry,
)
from tests.erp.pages_support import client_with, messages_of
from tests.factories import CustomerFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch):
    """Registrations made by a test disappear after it, and the apps' own ones stay out of its way."""
    monkeypatch.setattr(registry, "_detail_extensions", {})


@pytest.fixture(autouse=True)
def panel_template(settings, tmp_path):
    (tmp_path / "vip_panel.html").write_text(
        '<div class="card" id="vip-panel">VIP since {{ since }}: {{ object }}</div>'
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]


def mark_vip(customer):
    Customer.objects.filter(pk=customer.pk).update(address="VIP")


MARK_VIP = BulkAction(
    name="mark_vip",
    label="Mark as VIP",
    permission="erp.change_customer",
    handler=per_record(mark_vip),
    done_verb="marked as VIP",
    icon="star",
)


def is_not_vip(customer) -> bool:
    return customer.address != "VIP"


def test_a_registered_action_is_a_post_button_with_csrf_that_runs_on_this_record_and_comes_back():
    register_detail_action(Customer, DetailAction.running(MARK_VIP, visible=is_not_vip))
    customer, other = CustomerFactory.create_batch(2)
    client = client_with("erp.view_customer", "erp.change_customer")
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'name="action" value="mark_vip"' in page and "Mark as VIP" in page
    assert 'name="csrfmiddlewaretoken"' in page

    response = client.post(customer.get_absolute_url(), {"action": "mark_vip", "pk": [other.pk]})
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    customer.refresh_from_db()
    other.refresh_from_db()
    assert customer.address == "VIP" and other.address != "VIP"  # the page's record, whatever else is posted
    shown = client.get(customer.get_absolute_url())
    assert "1 customer marked as VIP." in messages_of(shown)
    assert 'value="mark_vip"' not in shown.content.decode()  # visible() hides it where it no longer applies


def test_the_action_keeps_its_permission_and_csrf_is_checked():
    register_detail_action(Customer, DetailAction.running(MARK_VIP))
    customer = CustomerFactory()
    viewer = client_with("erp.view_customer")
    assert 'value="mark_vip"' not in viewer.get(customer.get_absolute_url()).content.decode()
    assert viewer.post(customer.get_absolute_url(), {"action": "mark_vip"}).status_code == 403

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(UserFactory(perms=["erp.view_customer", "erp.change_customer"]))
    assert strict.post(customer.get_absolute_url(), {"action": "mark_vip"}).status_code == 403
    customer.refresh_from_db()
    assert customer.address != "VIP"


def test_an_action_with_a_question_asks_it_first():
    register_detail_action(Customer, DetailAction.running(dataclasses.replace(MARK_VIP, confirm="Sure?")))
    customer = CustomerFactory()
    client = client_with("erp.view_customer", "erp.change_customer")
    asked = client.post(customer.get_absolute_url(), {"action": "mark_vip"})
    assert asked.status_code == 200 and "Sure?" in asked.content.decode()
    assert f'action="{customer.get_absolute_url()}"' in asked.content.decode()
    customer.refresh_from_db()
    assert customer.address != "VIP"
    client.post(customer.get_absolute_url(), {"action": "mark_vip", "confirmed": "1"})
    customer.refresh_from_db()
    assert customer.address == "VIP"


def test_an_action_that_goes_on_on_a_page_of_its_own_is_followed():
    def elsewhere(*, request, queryset):
        return redirect("erp:item_list")

    register_detail_action(Customer, DetailAction(name="go", label="Go", handler=elsewhere))
    customer = CustomerFactory()
    response = client_with("erp.view_customer").post(customer.get_absolute_url(), {"action": "go"})
    assert response["Location"] == reverse("erp:item_list")


def test_an_unknown_action_is_said_and_nothing_runs():
    customer = CustomerFactory()
    response = client_with("erp.view_customer").post(customer.get_absolute_url(), {"action": "nope"}, follow=True)
    assert "Choose one of the page's actions." in messages_of(response)


def test_a_link_action_shows_where_it_has_an_address():
    register_detail_action(
        Customer,
        DetailAction(
            name="site",
            label="Open home page",
            url=lambda customer: customer.home_page or None,
            new_tab=True,
        ),
    )
    with_site, without = CustomerFactory(home_page="https://example.com/"), CustomerFactory(home_page="")
    client = client_with("erp.view_customer")
    page = client.get(with_site.get_absolute_url()).content.decode()
    assert 'href="https://example.com/" data-action="site" target="_blank" rel="noopener"' in page
    assert 'data-action="site"' not in client.get(without.get_absolute_url()).content.decode()


def test_a_registered_panel_renders_with_its_context_unless_it_says_none():
    register_detail_panel(
        Customer,
        DetailPanel(
            name="vip",
            template_name="vip_panel.html",
            context=lambda request, customer: {"since": 2020} if customer.address == "VIP" else None,
        ),
    )
    vip, plain = CustomerFactory(address="VIP", name="Very Important"), CustomerFactory()
    client = client_with("erp.view_customer")
    page = client.get(vip.get_absolute_url()).content.decode()
    assert 'id="vip-panel"' in page and "VIP since 2020:" in page and "Very Important" in page
    assert 'id="vip-panel"' not in client.get(plain.get_absolute_url()).content.decode()


def test_a_panel_with_a_permission_is_shown_only_to_who_holds_it():
    register_detail_panel(
        Customer,
        DetailPanel(
            name="vip", template_name="vip_panel.html", context=lambda r, c: {}, permission="erp.change_customer"
        ),
    )
    customer = CustomerFactory()
    assert 'id="vip-panel"' not in client_with("erp.view_customer").get(customer.get_absolute_url()).content.decode()
    holder = client_with("erp.view_customer", "erp.change_customer")
    assert 'id="vip-panel"' in holder.get(customer.get_absolute_url()).content.decode()


def test_registrations_stay_on_their_model():
    register_detail_action(Customer, DetailAction.running(MARK_VIP))
    item = ItemFactory()
    page = client_with("erp.view_item", "erp.change_customer").get(item.get_absolute_url()).content.decode()
    assert "mark_vip" not in page


def test_registering_the_same_name_twice_or_an_action_without_target_is_a_configuration_error():
    register_detail_action(Customer, DetailAction.running(MARK_VIP))
    with pytest.raises(ImproperlyConfigured):
        register_detail_action(Customer, DetailAction.running(MARK_VIP))
    panel = DetailPanel(name="vip", template_name="vip_panel.html", context=lambda r, c: {})
    register_detail_panel(Customer, panel)
    with pytest.raises(ImproperlyConfigured):
        register_detail_panel(Customer, panel)
    with pytest.raises(ValueError):
        DetailAction(name="nothing", label="Nothing")

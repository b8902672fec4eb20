"""The integration mapping pages: permission, CSRF, list with bulk enable/disable, edits, reset."""

import pytest
from django.test import Client
from django.urls import reverse

from syncjobs.models import Direction, IntegrationFieldMapping, IntegrationTableMapping
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def mapping(name: str) -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(groups=["Sync administrators"]))
    return client


def page_urls() -> list[str]:
    customer = mapping("CUSTOMER")
    name = customer.field_mappings.get(name="name")
    return [
        reverse("syncjobs:mapping_list"),
        reverse("syncjobs:mapping_detail", args=[customer.pk]),
        reverse("syncjobs:mapping_edit", args=[customer.pk]),
        reverse("syncjobs:field_mapping_edit", args=[customer.pk, name.pk]),
        reverse("syncjobs:mapping_reset"),
    ]


def test_sync_administrators_see_every_page(admin_client):
    for url in page_urls():
        assert admin_client.get(url).status_code == 200, url


def test_anonymous_users_are_sent_to_log_in():
    for url in page_urls():
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_users_without_the_permission_get_403_even_with_model_permissions():
    client = Client()
    client.force_login(
        UserFactory(
            perms=[
                "syncjobs.view_integrationtablemapping",
                "syncjobs.change_integrationtablemapping",
                "syncjobs.change_integrationfieldmapping",
                "syncjobs.manage_connection",
            ]
        )
    )
    for url in page_urls():
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("syncjobs:mapping_reset")).status_code == 403
    customer = mapping("CUSTOMER")
    assert client.post(reverse("syncjobs:mapping_list"), {"action": "disable", "pk": [customer.pk]}).status_code == 403
    assert mapping("CUSTOMER").is_enabled


def test_the_setup_menu_links_the_mappings_for_sync_administrators_only(admin_client):
    url = reverse("syncjobs:mapping_list")
    assert url in admin_client.get(reverse("home")).content.decode()
    client = Client()
    client.force_login(UserFactory(perms=["erp.view_currency"]))
    assert url not in client.get(reverse("home")).content.decode()


def test_the_list_shows_mappings_with_their_tables_dependencies_and_policies(admin_client):
    response = admin_client.get(reverse("syncjobs:mapping_list"))
    html = response.content.decode()
    assert response.context["table"].paginator.count == IntegrationTableMapping.objects.count()
    # The columns that fit the screen: the title names both tables, the policies in their short words.
    for text in ("CUSTOMER", "Customers ↔ Accounts", "Bidirectional", "Leave both and report", "Report only"):
        assert text in html
    assert "(BC: None)" not in html and "SALESPEOPLE, CURRENCY" not in html
    # The tables and dependencies are a choice of the "Columns" dialog, kept for the user.
    choice = {"table_columns": "1", "column": ["name", "erp_model", "crm_entity", "depends_on"]}
    admin_client.post(reverse("syncjobs:mapping_list"), choice)
    html = admin_client.get(reverse("syncjobs:mapping_list")).content.decode()
    for text in ("Customers", "Account", "SALESPEOPLE, CURRENCY, PAYMENT TERMS, SHIPMENT METHOD, SHIPPING AGENT"):
        assert text in html
    assert "account<" not in html and "Leave both and report" not in html
    assert reverse("syncjobs:mapping_reset") in html
    filtered = admin_client.get(reverse("syncjobs:mapping_list"), {"direction": Direction.FROM_CRM})
    assert [row.record.name for row in filtered.context["table"].paginated_rows] == ["SALESPEOPLE"]


def test_bulk_disable_and_enable(admin_client):
    selected = [mapping("CONTACT").pk, mapping("RESOURCE-PRODUCT").pk]
    response = admin_client.post(reverse("syncjobs:mapping_list"), {"action": "disable", "pk": selected}, follow=True)
    assert "2 integration table mappings disabled." in [str(m) for m in response.context["messages"]]
    assert set(IntegrationTableMapping.objects.filter(is_enabled=False).values_list("name", flat=True)) == {
        "CONTACT",
        "RESOURCE-PRODUCT",
    }
    admin_client.post(reverse("syncjobs:mapping_list"), {"action": "enable", "pk": selected})
    assert not IntegrationTableMapping.objects.filter(is_enabled=False).exists()


def test_the_detail_page_lists_the_field_mappings_with_edit_links(admin_client):
    customer = mapping("CUSTOMER")
    response = admin_client.get(reverse("syncjobs:mapping_detail", args=[customer.pk]))
    html = response.content.decode()
    assert "Field mappings" in html
    assert "SALESPEOPLE, CURRENCY, PAYMENT TERMS, SHIPMENT METHOD, SHIPPING AGENT" in html
    owner = customer.field_mappings.get(name="ownerid")
    assert reverse("syncjobs:field_mapping_edit", args=[customer.pk, owner.pk]) in html
    assert reverse("syncjobs:mapping_edit", args=[customer.pk]) in html


def test_editing_a_mapping_saves_it_and_its_dependencies(admin_client):
    resource = mapping("RESOURCE-PRODUCT")
    data = {
        "title": "Resources to products",
        "direction": Direction.TO_CRM,
        "is_enabled": "on",
        "erp_filter": '{"blocked": false, "capacity__gt": 0}',
        "crm_filter": "producttypecode eq 3 and statecode eq 0",
        "depends_on": [mapping("UNIT OF MEASURE").pk, mapping("ITEM-PRODUCT").pk],
        "sync_only_coupled": "on",
        "update_conflict_policy": IntegrationTableMapping.UpdateConflictPolicy.ERP_WINS,
        "deletion_policy": IntegrationTableMapping.DeletionPolicy.DEACTIVATE,
        "sync_interval_minutes": "15",
        "inactivity_timeout_minutes": "600",
    }
    response = admin_client.post(reverse("syncjobs:mapping_edit", args=[resource.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("syncjobs:mapping_detail", args=[resource.pk])
    saved = mapping("RESOURCE-PRODUCT")
    assert saved.title == "Resources to products"
    assert saved.erp_filter == {"blocked": False, "capacity__gt": 0}
    assert saved.deletion_policy == IntegrationTableMapping.DeletionPolicy.DEACTIVATE
    assert saved.update_conflict_policy == IntegrationTableMapping.UpdateConflictPolicy.ERP_WINS
    assert saved.sync_interval_minutes == 15
    assert {d.name for d in saved.depends_on.all()} == {"UNIT OF MEASURE", "ITEM-PRODUCT"}
    assert set(saved.field_mappings.values_list("direction", flat=True)) == {Direction.TO_CRM}


def edit_data(item: IntegrationTableMapping, **changes) -> dict:
    data = {
        "title": item.title,
        "direction": item.direction,
        "is_enabled": "on",
        "erp_filter": '{"blocked": ""}',
        "crm_filter": item.crm_filter,
        "depends_on": [d.pk for d in item.depends_on.all()],
        "sync_only_coupled": "on",
        "update_conflict_policy": item.update_conflict_policy,
        "deletion_policy": item.deletion_policy,
        "sync_interval_minutes": "30",
        "inactivity_timeout_minutes": "720",
    }
    data.update(changes)
    return data


def test_a_bad_filter_or_cycle_shows_on_the_form_and_saves_nothing(admin_client):
    customer = mapping("CUSTOMER")
    url = reverse("syncjobs:mapping_edit", args=[customer.pk])
    response = admin_client.post(url, edit_data(customer, crm_filter="statecode eq eq 0", title="Changed"))
    assert response.status_code == 200
    assert "not a valid OData $filter expression" in response.context["form"].errors["crm_filter"][0]
    response = admin_client.post(url, edit_data(customer, erp_filter='{"nope": 1}', title="Changed"))
    assert "does not fit the customer table" in response.context["form"].errors["erp_filter"][0]
    response = admin_client.post(url, edit_data(customer, erp_filter="{not json", title="Changed"))
    assert response.context["form"].errors["erp_filter"]
    currency = mapping("CURRENCY")
    response = admin_client.post(
        reverse("syncjobs:mapping_edit", args=[currency.pk]),
        edit_data(currency, erp_filter="{}", depends_on=[mapping("CONTACT").pk]),
    )
    assert response.status_code == 200
    assert "CURRENCY cannot depend on CONTACT" in response.context["form"].errors["depends_on"][0]
    assert mapping("CUSTOMER").title == "Customers ↔ Accounts"
    assert not mapping("CURRENCY").depends_on.exists()


def test_an_option_mapping_cannot_be_made_bidirectional_on_the_page(admin_client):
    terms = mapping("PAYMENT TERMS")
    response = admin_client.post(
        reverse("syncjobs:mapping_edit", args=[terms.pk]),
        edit_data(terms, erp_filter="{}", direction=Direction.BIDIRECTIONAL),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["direction"]
    assert mapping("PAYMENT TERMS").direction == Direction.TO_CRM


def test_editing_a_field_mapping(admin_client):
    customer = mapping("CUSTOMER")
    phone = customer.field_mappings.get(name="telephone1")
    url = reverse("syncjobs:field_mapping_edit", args=[customer.pk, phone.pk])
    data = {
        "direction": Direction.FROM_CRM,
        "transform": "",
        "validate_field": "on",
        "use_for_match_based_coupling": "on",
        "match_priority": "2",
        "case_sensitive_matching": "on",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    saved = IntegrationFieldMapping.objects.get(pk=phone.pk)
    assert (saved.direction, saved.is_enabled, saved.use_for_match_based_coupling, saved.match_priority) == (
        Direction.FROM_CRM,
        False,
        True,
        2,
    )
    assert saved.case_sensitive_matching


def test_a_field_mapping_edit_against_its_table_direction_is_refused(admin_client):
    currency = mapping("CURRENCY")
    symbol = currency.field_mappings.get(name="currencysymbol")
    response = admin_client.post(
        reverse("syncjobs:field_mapping_edit", args=[currency.pk, symbol.pk]),
        {"direction": Direction.FROM_CRM, "is_enabled": "on", "match_priority": "0"},
    )
    assert response.status_code == 200
    assert "only to Dynamics 365" in response.context["form"].errors["direction"][0]
    assert IntegrationFieldMapping.objects.get(pk=symbol.pk).direction == Direction.TO_CRM


def test_a_field_mapping_is_only_reachable_under_its_own_table_mapping(admin_client):
    symbol = mapping("CURRENCY").field_mappings.get(name="currencysymbol")
    url = reverse("syncjobs:field_mapping_edit", args=[mapping("CUSTOMER").pk, symbol.pk])
    assert admin_client.get(url).status_code == 404


def test_reset_asks_first_then_restores_the_defaults(admin_client):
    IntegrationTableMapping.objects.filter(name="CUSTOMER").update(direction=Direction.TO_CRM, is_enabled=False)
    page = admin_client.get(reverse("syncjobs:mapping_reset"))
    assert "Couplings between ERP records and Dynamics 365 rows are kept." in page.content.decode()
    assert not mapping("CUSTOMER").is_enabled
    response = admin_client.post(reverse("syncjobs:mapping_reset"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("syncjobs:mapping_list")
    assert "12 integration table mappings reset to their defaults." in [str(m) for m in response.context["messages"]]
    customer = mapping("CUSTOMER")
    assert customer.is_enabled and customer.direction == Direction.BIDIRECTIONAL


def test_posts_need_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(groups=["Sync administrators"]))
    customer = mapping("CUSTOMER")
    assert client.post(reverse("syncjobs:mapping_reset")).status_code == 403
    assert client.post(reverse("syncjobs:mapping_list"), {"action": "disable", "pk": [customer.pk]}).status_code == 403
    assert client.post(reverse("syncjobs:mapping_edit", args=[customer.pk]), edit_data(customer)).status_code == 403
    assert mapping("CUSTOMER").is_enabled

"""Item availability: the ERP's OData URL, a user name and a new access key written into the CRM's nav_connection."""

import pytest
from django.core.exceptions import ValidationError

from setup_wizard import selectors, services
from syncjobs.connection import selectors as connection_selectors
from tests import factories
from tests.setup_wizard.wizard_support import connection_rows
from tests.syncjobs.crm_support import save_connection

pytestmark = pytest.mark.django_db

ODATA_URL = "http://erp.example.com:8000/odata/v4/"


def crm_row(sandbox) -> dict:
    rows = connection_rows(sandbox)
    assert len(rows) == 1
    return rows[0]


def test_the_crm_gets_the_url_the_user_name_and_a_key_that_works_and_the_old_key_stops(imported_sandbox):
    connection = save_connection(imported_sandbox)
    user = factories.UserFactory(username="stock.reader", perms=["erp.view_item"])
    _, old_key = services.access_key_generate(user=user)

    services.item_availability_enable(connection=connection, user=user, odata_url=ODATA_URL)

    row = crm_row(imported_sandbox)
    assert row["nav_name"] == "nav_crm"
    assert row["nav_dynamicsnavodataurl"] == ODATA_URL
    assert row["nav_dynamicsnavodatausername"] == "stock.reader"
    crm_key = row["nav_dynamicsnavodataaccesskey"]
    assert selectors.access_key_user(username="stock.reader", key=crm_key) == user
    assert selectors.access_key_user(username="stock.reader", key=old_key) is None
    assert connection_selectors.crm_connection_get().item_availability_user == user
    progress = selectors.wizard_progress_get()
    assert progress.item_availability_odata_url == ODATA_URL and progress.item_availability_configured_at

    # Turning it off empties the CRM's record: the CRM has nothing left to call the ERP with.
    services.item_availability_disable(connection=connection_selectors.crm_connection_get())
    row = crm_row(imported_sandbox)
    assert row["nav_dynamicsnavodataurl"] is None and row["nav_dynamicsnavodataaccesskey"] is None
    assert connection_selectors.crm_connection_get().item_availability_user is None


def test_the_dedicated_user_has_no_password_and_may_only_view_items():
    user = services.item_availability_user_create()
    assert user.username == "crm-availability" and not user.has_usable_password()
    assert list(user.user_permissions.values_list("codename", flat=True)) == ["view_item"]
    assert services.item_availability_user_create() == user


def test_an_intranet_url_without_a_trailing_slash_is_accepted_and_gets_one(imported_sandbox):
    connection = save_connection(imported_sandbox)
    user = services.item_availability_user_create()
    services.item_availability_enable(connection=connection, user=user, odata_url="http://erp:8000/odata/v4")
    assert crm_row(imported_sandbox)["nav_dynamicsnavodataurl"] == "http://erp:8000/odata/v4/"


@pytest.mark.parametrize("url", ["", "erp.example.com/odata", "ftp://erp.example.com/odata/v4/"])
def test_a_bad_url_is_refused(url, imported_sandbox):
    connection = save_connection(imported_sandbox)
    with pytest.raises(ValidationError) as refused:
        services.item_availability_enable(
            connection=connection, user=services.item_availability_user_create(), odata_url=url
        )
    assert "odata_url" in refused.value.message_dict


def test_a_user_who_may_not_view_items_or_is_inactive_is_refused(imported_sandbox):
    connection = save_connection(imported_sandbox)
    with pytest.raises(ValidationError, match="may not view items"):
        services.item_availability_enable(
            connection=connection, user=factories.UserFactory(perms=["erp.view_customer"]), odata_url=ODATA_URL
        )
    inactive = factories.UserFactory(perms=["erp.view_item"], is_active=False)
    with pytest.raises(ValidationError, match="inactive"):
        services.item_availability_enable(connection=connection, user=inactive, odata_url=ODATA_URL)


def test_when_the_crm_refuses_the_write_the_users_old_key_keeps_working(crm_sandbox):
    # A seeded organization has no integration solution: nav_connections does not exist there.
    connection = save_connection(crm_sandbox)
    user = factories.UserFactory(username="keeps.key", perms=["erp.view_item"])
    _, old_key = services.access_key_generate(user=user)
    with pytest.raises(ValidationError) as refused:
        services.item_availability_enable(connection=connection, user=user, odata_url=ODATA_URL)
    assert "Import the integration solution first" in refused.value.messages[0]
    assert selectors.access_key_user(username="keeps.key", key=old_key) == user
    assert connection_selectors.crm_connection_get().item_availability_user is None


def test_the_features_are_saved_and_checked():
    connection = connection_selectors.crm_connection_get()
    connection.save()
    processor = factories.UserFactory(username="order.desk")
    services.connection_features_save(
        connection=connection,
        sales_order_integration_enabled=True,
        sales_order_processing_user=processor,
        synchronization_interval_minutes=15,
    )
    saved = connection_selectors.crm_connection_get()
    assert (
        saved.sales_order_integration_enabled,
        saved.sales_order_processing_user,
        saved.synchronization_interval_minutes,
    ) == (
        True,
        processor,
        15,
    )
    with pytest.raises(ValidationError) as refused:
        services.connection_features_save(
            connection=saved,
            sales_order_integration_enabled=True,
            sales_order_processing_user=None,
            synchronization_interval_minutes=0,
        )
    assert set(refused.value.message_dict) == {"sales_order_processing_user", "synchronization_interval_minutes"}

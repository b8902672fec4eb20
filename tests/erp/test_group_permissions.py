"""Role groups: the data migration that lets Sales post item ledger entries (shipments)."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection

pytestmark = pytest.mark.django_db

migration = importlib.import_module("erp.migrations.0005_sales_add_itemledgerentry")
SCHEMA_EDITOR = SimpleNamespace(connection=connection)


def sales_may_add_ledger_entries() -> bool:
    return (
        Group.objects.get(name="Sales")
        .permissions.filter(content_type__app_label="erp", codename="add_itemledgerentry")
        .exists()
    )


def test_the_migrated_sales_group_may_add_item_ledger_entries():
    assert sales_may_add_ledger_entries()
    # ...and no more than that on the ledger: entries are never changed or deleted.
    codenames = set(Group.objects.get(name="Sales").permissions.values_list("codename", flat=True))
    assert {"change_itemledgerentry", "delete_itemledgerentry"}.isdisjoint(codenames)


def test_the_migration_grants_it_to_an_existing_group_once_and_reverses():
    sales = Group.objects.get(name="Sales")
    sales.permissions.remove(Permission.objects.get(content_type__app_label="erp", codename="add_itemledgerentry"))
    count = sales.permissions.count()
    assert not sales_may_add_ledger_entries()

    migration.grant(apps, SCHEMA_EDITOR)
    migration.grant(apps, SCHEMA_EDITOR)  # idempotent
    assert sales_may_add_ledger_entries()
    assert sales.permissions.count() == count + 1

    migration.revoke(apps, SCHEMA_EDITOR)
    assert not sales_may_add_ledger_entries()
    assert sales.permissions.count() == count


def test_sync_administrators_may_start_jobs_and_both_groups_take_orders_from_dynamics_365():
    def codenames(group: str, app_label: str) -> set[str]:
        permissions = Group.objects.get(name=group).permissions.filter(content_type__app_label=app_label)
        return set(permissions.values_list("codename", flat=True))

    assert "add_syncjob" in codenames("Sync administrators", "syncjobs")
    assert "process_crm_orders" in codenames("Sync administrators", "crm_orders")
    assert "process_crm_orders" in codenames("Sales", "crm_orders")
    assert "add_syncjob" not in codenames("Sales", "syncjobs")

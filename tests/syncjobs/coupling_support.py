"""Helpers for the tests against a CRM sandbox (the fixtures are in tests/conftest.py): accounts, logged-in clients."""

from __future__ import annotations

from django.test import Client

from tests.factories import UserFactory
from tests.syncjobs.crm_support import admin_client

EVERYTHING = (
    "erp.view_customer",
    "coupling.add_coupling",
    "coupling.view_coupling",
    "coupling.delete_coupling",
    "syncjobs.add_syncjob",
)


def create_account(sandbox, name: str, **values) -> str:
    """An active customer account (the CUSTOMER mapping's CRM filter) created by a CRM user."""
    with admin_client(sandbox) as admin:
        return str(admin.create("accounts", {"name": name, "customertypecode": 3, **values})).lower()


def client_with(*perms: str, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(UserFactory(perms=list(perms)))
    return client

"""Helpers for the tests against a CRM sandbox: a private sandbox per module, accounts, logged-in clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from crm_sandbox.testing import start_sandbox
from tests.factories import UserFactory
from tests.syncjobs import engine_support as support
from tests.syncjobs.crm_support import admin_client, prepare_integration

EVERYTHING = (
    "erp.view_customer",
    "coupling.add_coupling",
    "coupling.view_coupling",
    "coupling.delete_coupling",
    "syncjobs.add_syncjob",
)


def module_sandbox(name: str):
    """A fixture: the module's own sandbox (started once, in a folder named after `name`), ready for the integration.

    Assign it to `sandbox`: a fixture takes the name of the module attribute it is assigned to.
    """

    @pytest.fixture(scope="module")
    def sandbox(tmp_path_factory):
        sandbox = start_sandbox(Path(tmp_path_factory.mktemp(name)))
        prepare_integration(sandbox)
        yield sandbox
        sandbox.stop()

    return sandbox


def connected_fixture():
    """A fixture: the module's `sandbox` with the saved, enabled connection the engine uses.

    Usually `connected = connected_fixture()`; a module whose `connected` does more builds it on this one
    under another name (`sandbox_connected = connected_fixture()`).
    """

    @pytest.fixture
    def connected(db, sandbox):
        support.connect(sandbox)
        return sandbox

    return connected


def create_account(sandbox, name: str, **values) -> str:
    """An active customer account (the CUSTOMER mapping's CRM filter) created by a CRM user."""
    with admin_client(sandbox) as admin:
        return str(admin.create("accounts", {"name": name, "customertypecode": 3, **values})).lower()


def client_with(*perms: str, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(UserFactory(perms=list(perms)))
    return client

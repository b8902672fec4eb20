"""Helpers for the assisted setup's tests: a sync administrator's client and the CRM as its administrator sees it."""

from __future__ import annotations

from django.test import Client

from dataverse import F
from setup_wizard.solution import definition
from tests import factories
from tests.syncjobs.crm_support import admin_client, integration_user_id

MANAGE = "syncjobs.manage_connection"


def sync_admin_client(*, enforce_csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.force_login(factories.UserFactory(perms=[MANAGE]))
    return client


def integration_user_roles(sandbox) -> set[str]:
    with admin_client(sandbox) as admin:
        row = admin.retrieve(
            "systemusers",
            integration_user_id(sandbox),
            select=["fullname"],
            expand={"systemuserroles_association": {"select": ["name"]}},
        )
    return {role["name"] for role in row["systemuserroles_association"]}


def connection_rows(sandbox) -> list[dict]:
    with admin_client(sandbox) as admin:
        return list(
            admin.query(
                definition.CONNECTION_ENTITY_SET,
                select=[
                    definition.CONNECTION_NAME,
                    definition.CONNECTION_ODATA_URL,
                    definition.CONNECTION_ODATA_USERNAME,
                    definition.CONNECTION_ODATA_ACCESS_KEY,
                ],
            )
        )


def solution_rows(sandbox, name: str) -> list[dict]:
    with admin_client(sandbox) as admin:
        return list(admin.query("solutions", select=["uniquename", "version"], filter=F.eq("uniquename", name)))

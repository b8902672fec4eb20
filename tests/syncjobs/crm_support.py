"""Helpers that put a CRM sandbox into the states the connection checks look at, as a CRM administrator would."""

from __future__ import annotations

from pathlib import Path

from dataverse import Client, ClientSecretAuth, F, UsernamePasswordAuth
from syncjobs import constants
from syncjobs.connection import services
from tests import factories


def admin_client(sandbox) -> Client:
    auth = UsernamePasswordAuth(sandbox.authority, sandbox.client_id, sandbox.admin_user, sandbox.admin_password)
    return Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle, max_retries=0)


def integration_user_id(sandbox) -> str:
    auth = ClientSecretAuth(sandbox.authority, sandbox.client_id, sandbox.client_secret)
    with Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle, max_retries=0) as client:
        return client.whoami().user_id


def role_id(admin: Client, name: str) -> str:
    rows = list(admin.query("roles", select=["name"], filter=F.eq("name", name)))
    if rows:
        return rows[0]["roleid"]
    business_unit = admin.whoami().business_unit_id
    return admin.create(
        "roles", {"name": name, "businessunitid@odata.bind": admin.bind("businessunits", business_unit)}
    )


def assign_roles(sandbox, *names: str) -> None:
    user_id = integration_user_id(sandbox)
    with admin_client(sandbox) as admin:
        for name in names:
            admin.associate("systemusers", user_id, "systemuserroles_association", "roles", role_id(admin, name))


def remove_role(sandbox, name: str) -> None:
    user_id = integration_user_id(sandbox)
    with admin_client(sandbox) as admin:
        admin.disassociate("systemusers", user_id, "systemuserroles_association", "roles", role_id(admin, name))


def record_solution(sandbox, version: str = constants.INTEGRATION_SOLUTION_VERSION) -> None:
    """What importing the integration solution leaves behind: the solution row at its version."""
    with admin_client(sandbox) as admin:
        admin.upsert(
            "solutions",
            {"uniquename": constants.INTEGRATION_SOLUTION_NAME},
            {"friendlyname": "nav_crm Integration", "version": version},
        )


def prepare_integration(sandbox) -> None:
    """The state after a successful setup: the integration solution imported (its entity, roles and the order
    columns it adds) and both integration roles assigned."""
    from setup_wizard.solution import build_package

    with admin_client(sandbox) as admin:
        admin.import_solution(build_package())
    assign_roles(sandbox, *constants.INTEGRATION_ROLES)


def local_currency(code: str = "USD"):
    currency = factories.CurrencyFactory(code=code)
    setup = factories.GeneralSetupFactory()
    setup.local_currency = currency
    setup.save()
    return currency


def save_connection(sandbox, **overrides):
    values = {
        "server_url": sandbox.url,
        "authority_url": sandbox.authority,
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "ca_bundle_pem": Path(sandbox.ca_bundle).read_text(),
    }
    values.update(overrides)
    return services.connection_save(**values)


def statuses(results) -> dict[str, str]:
    return {result.key: str(result.status) for result in results}

"""Importing the integration solution with a CRM administrator's sign-in, and giving the integration user its roles."""

import pytest
from django.core.exceptions import ValidationError

from dataverse import F
from setup_wizard import selectors, services
from syncjobs import constants
from syncjobs.connection import selectors as connection_selectors
from syncjobs.connection import services as syncjobs_services
from tests.setup_wizard.wizard_support import integration_user_roles, solution_rows
from tests.syncjobs.crm_support import (
    admin_client,
    assign_roles,
    local_currency,
    remove_role,
    save_connection,
    statuses,
)

pytestmark = pytest.mark.django_db


def test_import_creates_the_solution_and_gives_the_integration_user_both_roles(crm_sandbox):
    sandbox = crm_sandbox
    local_currency("USD")
    connection = save_connection(sandbox)
    before = statuses(syncjobs_services.connection_test(connection=connection))
    assert before["integration_user"] == "failed"  # no role yet: it cannot read its own user record

    result = services.solution_import(
        connection=connection, admin_username=sandbox.admin_user, admin_password=sandbox.admin_password
    )

    assert result.integration_user_name == "# nav_crm Integration"
    assert result.roles_assigned == constants.INTEGRATION_ROLES
    assert integration_user_roles(sandbox) == set(constants.INTEGRATION_ROLES)
    assert solution_rows(sandbox, "NavCrmIntegration")[0]["version"] == "1.1.0.0"
    saved = connection_selectors.crm_connection_get()
    assert saved.integration_user_name == "# nav_crm Integration" and saved.integration_user_id is not None
    assert selectors.wizard_progress_get().solution_imported_at is not None
    assert set(statuses(syncjobs_services.connection_test(connection=saved)).values()) == {"passed"}

    # Importing again (e.g. from the connection page) changes nothing and assigns nothing twice.
    again = services.solution_import(
        connection=saved, admin_username=sandbox.admin_user, admin_password=sandbox.admin_password
    )
    assert again.roles_assigned == ()
    assert integration_user_roles(sandbox) == set(constants.INTEGRATION_ROLES)


def test_a_wrong_password_is_a_clear_error_and_imports_nothing(crm_sandbox):
    sandbox = crm_sandbox
    connection = save_connection(sandbox)
    with pytest.raises(ValidationError) as refused:
        services.solution_import(connection=connection, admin_username=sandbox.admin_user, admin_password="wrong")
    assert "did not accept this administrator's user name and password" in refused.value.messages[0]
    assert solution_rows(sandbox, "NavCrmIntegration") == []
    assert integration_user_roles(sandbox) == set()


def test_an_administrator_without_system_customizer_is_refused_before_anything_is_imported(crm_sandbox):
    sandbox = crm_sandbox
    connection = save_connection(sandbox)
    with admin_client(sandbox) as admin:
        admin_id = admin.whoami().user_id
        customizer = list(admin.query("roles", select=["name"], filter=F.eq("name", "System Customizer")))[0]["roleid"]
        admin.disassociate("systemusers", admin_id, "systemuserroles_association", "roles", customizer)

    with pytest.raises(ValidationError) as refused:
        services.solution_import(
            connection=connection, admin_username=sandbox.admin_user, admin_password=sandbox.admin_password
        )
    message = refused.value.messages[0]
    assert "lacks the role(s) 'System Customizer'" in message
    assert "'System Administrator', 'System Customizer'" in message
    assert solution_rows(sandbox, "NavCrmIntegration") == []


def test_an_integration_user_that_is_a_system_administrator_is_refused(crm_sandbox):
    sandbox = crm_sandbox
    connection = save_connection(sandbox)
    assign_roles(sandbox, constants.SYSTEM_ADMINISTRATOR_ROLE)
    with pytest.raises(ValidationError) as refused:
        services.solution_import(
            connection=connection, admin_username=sandbox.admin_user, admin_password=sandbox.admin_password
        )
    assert "is a System Administrator" in refused.value.messages[0]
    remove_role(sandbox, constants.SYSTEM_ADMINISTRATOR_ROLE)


def test_blank_credentials_and_an_unsaved_connection_are_refused_without_calling_the_crm():
    connection = connection_selectors.crm_connection_get()
    with pytest.raises(ValidationError, match="user name and password"):
        services.solution_import(connection=connection, admin_username=" ", admin_password="x")
    with pytest.raises(ValidationError, match="Set the server URL"):
        services.solution_import(connection=connection, admin_username="admin", admin_password="x")

"""Functions and actions: WhoAmI, the generic escape hatches, ImportSolution."""

import io
import zipfile

import pytest

from dataverse import Client, DataverseError, UsernamePasswordAuth, ValidationFailed


def test_function_escape_hatch_calls_whoami(client):
    payload = client.function("WhoAmI")
    assert payload["UserId"] == client.whoami().user_id


def test_function_and_action_names_are_validated(client):
    with pytest.raises(ValueError):
        client.function("WhoAmI(); DROP")
    with pytest.raises(ValueError):
        client.action("../accounts")


def test_unknown_action_is_an_error_not_a_crash(client):
    with pytest.raises(DataverseError) as caught:
        client.action("NoSuchAction", {"x": 1})
    assert caught.value.status in (400, 404)


def test_import_solution_rejects_a_file_that_is_not_a_solution(crm_sandbox):
    admin = UsernamePasswordAuth(
        crm_sandbox.authority, crm_sandbox.client_id, crm_sandbox.admin_user, crm_sandbox.admin_password
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a solution")
    client = Client(crm_sandbox.url, auth=admin, ca_bundle=crm_sandbox.ca_bundle)
    with client, pytest.raises(ValidationFailed):
        client.import_solution(buffer.getvalue())

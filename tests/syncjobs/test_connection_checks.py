"""Each connection check against the CRM sandbox: its failure in plain words with a hint, and success."""

import socket

import pytest

from syncjobs import constants
from syncjobs.connection import checks, services
from syncjobs.models import CrmConnection
from tests.syncjobs.crm_support import (
    assign_roles,
    local_currency,
    record_solution,
    remove_role,
    save_connection,
    statuses,
)

pytestmark = pytest.mark.django_db

ALL_PASSED = dict.fromkeys(
    ["server", "token", "whoami", "integration_user", "integration_roles", "solution", "currency"], "passed"
)


def run(connection):
    results = services.connection_test(connection=connection)
    return results, {result.key: result for result in results}


def test_every_check_passes_on_a_prepared_crm_and_the_integration_user_is_resolved_by_name(ready_sandbox):
    local_currency("USD")
    connection = save_connection(ready_sandbox)
    results, _ = run(connection)
    assert statuses(results) == ALL_PASSED
    connection.refresh_from_db()
    assert connection.last_test_passed is True
    assert connection.integration_user_name == "# nav_crm Integration"
    assert connection.integration_user_id is not None
    assert [check["status"] for check in connection.last_test_results] == ["passed"] * 7


@pytest.mark.parametrize("drops", [1, 3])
def test_dropped_connections_are_retried_like_every_other_read(ready_sandbox, drops):
    """`crm_connect --enable` failed on one dropped connection with "Failed: Integration solution … is installed"."""
    local_currency("USD")
    connection = save_connection(ready_sandbox)
    ready_sandbox.restore("ready", drop_next=drops)  # each of the next requests to the Web API loses its answer

    results, by_key = run(connection)

    if drops <= checks.CHECK_RETRIES:
        assert statuses(results) == ALL_PASSED
    else:  # more than the retries: the check fails, and says the CRM could not be reached, not "not installed"
        failed = [result for result in results if str(result.status) == "failed"]
        assert len(failed) == 1 and "not installed" not in failed[0].message


def test_a_wrong_client_secret_fails_at_the_token_and_stops_the_dependent_checks(crm_sandbox):
    local_currency("USD")
    results, by_key = run(save_connection(crm_sandbox, client_secret="not-the-secret"))
    assert statuses(results) == {
        "server": "passed",
        "token": "failed",
        "whoami": "not_run",
        "integration_user": "not_run",
        "integration_roles": "not_run",
        "solution": "not_run",
        "currency": "not_run",
    }
    assert "refused the client secret" in by_key["token"].message
    assert "Value (not its Secret ID)" in by_key["token"].hint
    assert "not-the-secret" not in str(results)


def test_an_unknown_client_id_is_named(crm_sandbox):
    results, by_key = run(save_connection(crm_sandbox, client_id="8f5b3a1c-2d4e-4f60-9a7b-1c2d3e4f5a6b"))
    assert by_key["token"].status == "failed"
    assert "does not know an application with client id 8f5b3a1c-2d4e-4f60-9a7b-1c2d3e4f5a6b" in by_key["token"].message


def test_an_unknown_tenant_in_the_authority_url_is_named(crm_sandbox):
    authority = crm_sandbox.authority.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    results, by_key = run(save_connection(crm_sandbox, authority_url=authority))
    assert by_key["token"].status == "failed"
    assert "did not answer with its configuration: the tenant is unknown" in by_key["token"].message


def test_an_unreachable_port_says_nothing_answers(crm_sandbox):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results, by_key = run(save_connection(crm_sandbox, server_url=f"https://127.0.0.1:{port}"))
    assert statuses(results)["server"] == "failed"
    assert f"Nothing answers at 127.0.0.1:{port}" in by_key["server"].message
    assert by_key["token"].status == "not_run"


def test_an_unknown_host_name_is_reported_as_a_dns_failure(crm_sandbox):
    results, by_key = run(save_connection(crm_sandbox, server_url="https://no-such-org.invalid"))
    assert by_key["server"].status == "failed"
    assert "no-such-org.invalid cannot be found (the DNS lookup failed)" in by_key["server"].message


def test_an_http_url_is_refused_in_plain_words(crm_sandbox):
    # connection_save refuses http; a row changed behind its back (e.g. in the database) is still explained.
    connection = save_connection(crm_sandbox)
    CrmConnection.objects.filter(pk=connection.pk).update(server_url=crm_sandbox.url.replace("https://", "http://"))
    connection.refresh_from_db()
    results, by_key = run(connection)
    assert by_key["server"].status == "failed"
    assert "does not use https://" in by_key["server"].message


def test_an_untrusted_certificate_suggests_the_ca_bundle(crm_sandbox):
    results, by_key = run(save_connection(crm_sandbox, ca_bundle_pem=""))
    assert by_key["server"].status == "failed"
    assert "TLS certificate is not trusted" in by_key["server"].message
    assert "CA bundle" in by_key["server"].hint


def test_a_ca_bundle_of_another_authority_is_not_trusted_either(crm_sandbox, other_certificate_pair):
    another_authority, _key = other_certificate_pair
    results, by_key = run(save_connection(crm_sandbox, ca_bundle_pem=another_authority))
    assert by_key["server"].status == "failed"
    assert "does not include the authority" in by_key["server"].hint


def test_integration_user_without_roles(crm_sandbox):
    sandbox = crm_sandbox
    local_currency("USD")
    results, by_key = run(save_connection(sandbox))
    assert statuses(results) == {
        "server": "passed",
        "token": "passed",
        "whoami": "passed",
        "integration_user": "failed",
        "integration_roles": "not_run",
        "solution": "not_run",
        "currency": "not_run",
    }
    assert "has no security role" in by_key["integration_user"].message
    assert "Integration administrator" in by_key["integration_user"].hint


def test_integration_user_with_system_administrator_and_then_with_one_role_missing(crm_sandbox):
    sandbox = crm_sandbox
    local_currency("USD")
    record_solution(sandbox)
    assign_roles(sandbox, constants.SYSTEM_ADMINISTRATOR_ROLE, *constants.INTEGRATION_ROLES)
    connection = save_connection(sandbox)
    results, by_key = run(connection)
    assert statuses(results)["integration_roles"] == "failed"
    assert "is a System Administrator" in by_key["integration_roles"].message
    # The other checks still ran: one problem at a time is not enough for a first hour.
    assert statuses(results)["solution"] == statuses(results)["currency"] == "passed"

    remove_role(sandbox, constants.SYSTEM_ADMINISTRATOR_ROLE)
    remove_role(sandbox, constants.INTEGRATION_USER_ROLE)
    results, by_key = run(connection)
    assert statuses(results)["integration_roles"] == "failed"
    assert "lacks the role(s) 'Integration user'" in by_key["integration_roles"].message
    assert "'Integration administrator'" in by_key["integration_roles"].message

    assign_roles(sandbox, constants.INTEGRATION_USER_ROLE)
    results, _ = run(connection)
    assert statuses(results) == ALL_PASSED


def test_solution_missing_then_outdated_then_current(crm_sandbox):
    sandbox = crm_sandbox
    local_currency("USD")
    assign_roles(sandbox, *constants.INTEGRATION_ROLES)
    connection = save_connection(sandbox)
    results, by_key = run(connection)
    assert by_key["solution"].status == "failed"
    assert f"{constants.INTEGRATION_SOLUTION_NAME} is not installed" in by_key["solution"].message
    assert "Import solution" in by_key["solution"].hint

    record_solution(sandbox, version="0.9.0.0")
    results, by_key = run(connection)
    assert by_key["solution"].status == "failed"
    assert "is at version 0.9.0.0; version 1.1.0.0 is needed" in by_key["solution"].message

    record_solution(sandbox, version="1.1.1.0")
    results, by_key = run(connection)
    assert by_key["solution"].status == "passed"


def test_local_currency_missing_in_the_crm(ready_sandbox):
    local_currency("XTS")  # ISO's test code: no CRM has it
    results, by_key = run(save_connection(ready_sandbox))
    assert by_key["currency"].status == "failed"
    assert "no transaction currency with ISO code XTS" in by_key["currency"].message
    assert "Add the currency XTS" in by_key["currency"].hint


def test_no_local_currency_in_the_erp(ready_sandbox):
    results, by_key = run(save_connection(ready_sandbox))
    assert by_key["currency"].status == "failed"
    assert "The ERP has no local currency" in by_key["currency"].message


def test_certificate_authentication_is_sent_to_the_authority(crm_sandbox, certificate_pair):
    certificate_pem, key_pem = certificate_pair
    connection = save_connection(
        crm_sandbox,
        auth_type=CrmConnection.AuthType.CERTIFICATE,
        client_secret=None,
        certificate_pem=certificate_pem,
        certificate_private_key_pem=key_pem,
    )
    results, by_key = run(connection)
    # The sandbox's authority accepts client secrets only: the certificate is refused, in plain words.
    assert by_key["token"].status == "failed"
    assert "refused the certificate" in by_key["token"].message

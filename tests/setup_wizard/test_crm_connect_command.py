"""`manage.py crm_connect` does what the assisted setup does, as an operator's script runs it (a real process)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from syncjobs import constants
from tests.setup_wizard.wizard_support import connection_rows, integration_user_roles, solution_rows

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


def _environment(directory: Path) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'erp.sqlite3'}",
        "NAV_CRM_DATA_DIR": str(directory / "data"),
        "PYTHONWARNINGS": "ignore",
    }


@pytest.fixture(scope="module")
def migrated_erp(tmp_path_factory) -> Path:
    """A migrated ERP database file with the local currency the CRM sandbox also has (made once, copied per test)."""
    directory = tmp_path_factory.mktemp("erp_template")
    env = _environment(directory)
    subprocess.run([*MANAGE, "migrate", "-v", "0"], check=True, env=env, cwd=settings.BASE_DIR)
    script = (
        "from erp.models import Currency, GeneralSetup;"
        "setup = GeneralSetup.objects.first() or GeneralSetup();"
        "setup.local_currency = Currency.objects.get_or_create(code='USD', defaults={'description': 'US dollar'})[0];"
        "setup.save()"
    )
    subprocess.run([*MANAGE, "shell", "-c", script], check=True, env=env, cwd=settings.BASE_DIR)
    return directory / "erp.sqlite3"


@pytest.fixture
def erp(tmp_path, migrated_erp):
    """A migrated ERP database in a file of its own, with the local currency the CRM sandbox also has."""
    with sqlite3.connect(migrated_erp) as template, sqlite3.connect(tmp_path / "erp.sqlite3") as copy:
        template.backup(copy)
    template.close()
    copy.close()
    return _environment(tmp_path)


def run(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MANAGE, "crm_connect", *args], capture_output=True, text=True, env=env, cwd=settings.BASE_DIR, timeout=300
    )


def secret_file(tmp_path, name, value) -> str:
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def connect_args(sandbox, tmp_path) -> list[str]:
    return [
        "--url",
        sandbox.url,
        "--authority",
        sandbox.authority,
        "--client-id",
        sandbox.client_id,
        "--client-secret-file",
        secret_file(tmp_path, "client-secret", sandbox.client_secret),
        "--ca-bundle",
        sandbox.ca_bundle,
    ]


def test_connect_import_the_solution_set_up_item_availability_and_enable(crm_sandbox, erp, tmp_path):
    sandbox = crm_sandbox
    result = run(
        erp,
        *connect_args(sandbox, tmp_path),
        "--import-solution",
        "--admin-user",
        sandbox.admin_user,
        "--admin-password-file",
        secret_file(tmp_path, "admin-password", sandbox.admin_password),
        "--item-availability",
        "--erp-url",
        "http://erp.internal:8000",
        "--enable",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Saving the connection to" in out and "[PASS] The CRM answers WhoAmI" in out
    assert "Importing the solution NavCrmIntegration 1.1.0.0" in out
    assert "# nav_crm Integration holds Integration administrator, Integration user" in out
    assert "Enabling the connection… enabled" in out
    assert sandbox.admin_password not in out + result.stderr
    assert sandbox.client_secret not in out + result.stderr

    assert integration_user_roles(sandbox) == set(constants.INTEGRATION_ROLES)
    assert solution_rows(sandbox, "NavCrmIntegration")
    row = connection_rows(sandbox)[0]
    assert row["nav_dynamicsnavodataurl"] == "http://erp.internal:8000/odata/v4/"
    assert row["nav_dynamicsnavodatausername"] == "crm-availability"

    database = Path(erp["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as erp_db:
        assert erp_db.execute("SELECT is_enabled FROM syncjobs_crmconnection").fetchall() == [(1,)]
        # The assisted setup resumes at "What to synchronize": connection, solution and features are done.
        progress = erp_db.execute("SELECT current_step, completed_steps FROM setup_wizard_setupwizardprogress")
        assert progress.fetchall() == [(4, "[1, 2, 3]")]
        dump = "".join(repr(row) for table in tables(erp_db) for row in erp_db.execute(f'SELECT * FROM "{table}"'))
    assert sandbox.admin_password not in dump

    # The connection test command agrees: every check passes.
    check = subprocess.run(
        [*MANAGE, "crm_connection_test"], capture_output=True, text=True, env=erp, cwd=settings.BASE_DIR
    )
    assert check.returncode == 0, check.stdout
    assert "7 of 7 checks passed." in check.stdout


def tables(erp_db) -> list[str]:
    return [name for (name,) in erp_db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def test_without_the_solution_enabling_fails_with_the_failed_checks(crm_sandbox, erp, tmp_path):
    result = run(erp, *connect_args(crm_sandbox, tmp_path), "--enable")
    assert result.returncode == 1
    assert "[PASS] The CRM answers WhoAmI" in result.stdout
    assert "The connection can be enabled only when every check passes" in result.stderr


def test_connecting_without_enabling_reports_the_checks_and_succeeds(crm_sandbox, erp, tmp_path):
    result = run(erp, *connect_args(crm_sandbox, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "the connection is not enabled (use --enable)" in result.stdout
    database = Path(erp["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as erp_db:
        progress = erp_db.execute("SELECT current_step, completed_steps FROM setup_wizard_setupwizardprogress")
        assert progress.fetchall() == [(2, "[1]")]  # the solution is next


def test_a_wrong_client_secret_fails_with_the_reason(crm_sandbox, erp, tmp_path):
    args = connect_args(crm_sandbox, tmp_path)
    args[args.index("--client-secret-file") + 1] = secret_file(tmp_path, "wrong", "not-the-secret")
    result = run(erp, *args)
    assert result.returncode == 1
    assert "[FAIL] Access token obtained from the authority" in result.stdout
    assert "The CRM cannot be reached as the integration app: The authority refused the client secret" in result.stderr
    assert "not-the-secret" not in result.stdout + result.stderr


def test_a_wrong_administrator_password_fails_clearly(crm_sandbox, erp, tmp_path):
    result = run(
        erp,
        *connect_args(crm_sandbox, tmp_path),
        "--import-solution",
        "--admin-user",
        crm_sandbox.admin_user,
        "--admin-password-file",
        secret_file(tmp_path, "admin-password", "Not-The-Password-1"),
    )
    assert result.returncode == 1
    assert "The solution was not imported: The CRM did not accept this administrator's user name" in result.stderr
    assert "Not-The-Password-1" not in result.stdout + result.stderr


def test_bad_arguments_are_refused_before_anything_is_saved(erp, tmp_path, crm_sandbox):
    missing = run(erp, *connect_args(crm_sandbox, tmp_path), "--import-solution")
    assert missing.returncode == 1
    assert "--import-solution needs --admin-user and --admin-password-file" in missing.stderr
    unreadable = run(
        erp, "--url", crm_sandbox.url, "--authority", crm_sandbox.authority, "--client-id", crm_sandbox.client_id,
        "--client-secret-file", str(tmp_path / "absent"),
    )  # fmt: skip
    assert unreadable.returncode == 1
    assert "Cannot read the client secret from" in unreadable.stderr
    insecure = run(erp, *connect_args(crm_sandbox, tmp_path)[2:], "--url", "http://crm.example.com")
    assert insecure.returncode == 1
    assert "The connection was not saved. server url: The server URL must start with https://" in insecure.stderr


def test_connect_with_sales_orders_one_way_turns_on_order_processing_and_orders_come_in(crm_sandbox, erp, tmp_path):
    sandbox = crm_sandbox
    result = run(
        erp,
        *connect_args(sandbox, tmp_path),
        "--import-solution",
        "--admin-user",
        sandbox.admin_user,
        "--admin-password-file",
        secret_file(tmp_path, "admin-password", sandbox.admin_password),
        "--sales-orders",
        "one-way",
        "--enable",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Sales orders from Dynamics 365: one way, created as crm-sales-orders… done" in result.stdout
    from tests.syncjobs.crm_support import admin_client

    with admin_client(sandbox) as admin:
        assert next(iter(admin.query("organizations", select=["issopintegrationenabled"])))["issopintegrationenabled"]
    database = Path(erp["DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as erp_db:
        assert erp_db.execute("SELECT sales_order_integration_enabled FROM syncjobs_crmconnection").fetchall() == [(1,)]

    # The seeded submitted orders are for accounts no ERP customer is coupled to yet: each one says so.
    orders = subprocess.run(
        [*MANAGE, "crm_sync", "orders", "--wait"], capture_output=True, text=True, env=erp, cwd=settings.BASE_DIR
    )
    assert orders.returncode == 1, orders.stdout + orders.stderr
    assert "failed: see the synchronization errors page" in orders.stderr


def test_sales_order_user_needs_sales_orders(crm_sandbox, erp, tmp_path):
    result = run(erp, *connect_args(crm_sandbox, tmp_path), "--sales-order-user", "somebody")
    assert result.returncode != 0
    assert "--sales-order-user goes with --sales-orders one-way or two-way" in result.stderr

"""`manage.py crm_connection_test` prints every check and exits 0 only when all pass."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.syncjobs.crm_support import local_currency, save_connection

pytestmark = pytest.mark.django_db


def run_command() -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("crm_connection_test", stdout=out, stderr=err, no_color=True)
    except SystemExit as exit_:
        return exit_.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_exits_0_and_prints_every_check_when_all_pass(ready_sandbox):
    local_currency("USD")
    save_connection(ready_sandbox)
    code, out, _ = run_command()
    assert code == 0
    assert out.count("[PASS]") == 7
    assert "7 of 7 checks passed." in out


def test_exits_1_and_prints_the_failure_with_its_fix(crm_sandbox):
    save_connection(crm_sandbox, client_secret="wrong-secret")
    code, out, _ = run_command()
    assert code == 1
    assert "[PASS] Server reachable over HTTPS" in out
    assert "[FAIL] Access token obtained from the authority: The authority refused the client secret" in out
    assert "Fix: Copy the secret's Value" in out
    assert out.count("[SKIP]") == 5
    assert "wrong-secret" not in out
    assert "1 of 7 checks passed." in out


def test_exits_1_when_nothing_is_set_up():
    code, _, err = run_command()
    assert code == 1
    assert "No CRM connection is set up yet" in err


def test_the_process_exit_status_is_nonzero_without_a_connection(tmp_path):
    # The real process, as an operator's script sees it: an empty database has no connection.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "NAV_CRM_DATA_DIR": str(tmp_path)}
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], check=True, env=env, cwd=settings.BASE_DIR)
    result = subprocess.run([*manage, "crm_connection_test"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "No CRM connection is set up yet" in result.stderr

"""`make demo` leaves the CRM sandbox's details for the assisted setup, which reads only that file."""

import json
import os
import stat
import subprocess
import sys

from django.conf import settings as project_settings

from setup_wizard import selectors


def test_the_demo_writes_the_sandbox_details_privately_and_the_setup_reads_them(tmp_path, settings):
    env = {
        **os.environ,
        "NAV_CRM_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'erp.sqlite3'}",
        "CRM_SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}",
        "CRM_SANDBOX_DATA_DIR": str(tmp_path / "crm"),
        "PYTHONWARNINGS": "ignore",
    }
    result = subprocess.run(
        [
            sys.executable,
            str(project_settings.BASE_DIR / "manage.py"),
            "demo",
            "--prepare-only",
            "--crm-addr",
            "127.0.0.1:8441",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=project_settings.BASE_DIR,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    path = tmp_path / "demo-crm.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    details = json.loads(path.read_text())
    assert details["url"] == "https://127.0.0.1:8441/"
    assert details["admin_user"] == "admin@sandbox.local" and details["admin_password"] and details["client_secret"]

    settings.DATA_DIR = tmp_path
    info = selectors.demo_crm_info()
    assert info["client_id"] == details["client_id"]
    assert info["ca_bundle_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert selectors.crm_is_demo_sandbox(server_url="https://127.0.0.1:8441")
    assert not selectors.crm_is_demo_sandbox(server_url="https://contoso.crm4.dynamics.com")

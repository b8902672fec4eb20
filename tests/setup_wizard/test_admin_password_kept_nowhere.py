"""The CRM administrator's password of the solution step is used once and appears nowhere afterwards:
not in any table of the database, not in a session, not in a log record, not in a file of the data directory."""

import logging
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.db import connection as db
from django.urls import reverse

from setup_wizard.models import SetupWizardProgress
from syncjobs import constants
from tests.setup_wizard.wizard_support import integration_user_roles, sync_admin_client
from tests.syncjobs.crm_support import save_connection

pytestmark = pytest.mark.django_db

SOLUTION = reverse("setup_wizard:wizard_step", args=["solution"])
CONNECTION_PAGE_IMPORT = reverse("setup_wizard:crm_connection_import_solution")


def every_row_of_every_table() -> str:
    dump = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")  # noqa: S608 — table names from introspection
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def decoded_sessions() -> str:
    return "\n".join(repr(session.get_decoded()) for session in Session.objects.all())


def data_directory_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def log_text(caplog) -> str:
    return "\n".join(f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records)


def assert_kept_nowhere(password: str, caplog, settings, client) -> None:
    assert len(every_row_of_every_table()) > 1000  # the dump really covers the database
    assert password not in every_row_of_every_table()
    assert Session.objects.exists()
    assert password not in decoded_sessions()
    assert caplog.records  # the logs were captured at DEBUG
    assert password not in log_text(caplog)
    files = data_directory_files(Path(settings.DATA_DIR))
    assert files  # the encryption key and the CA bundle were written there
    for path in files:
        assert password.encode() not in path.read_bytes(), path
    assert all(password not in morsel.value for morsel in client.cookies.values())


def test_the_wizard_step_keeps_the_password_nowhere(crm_sandbox, caplog, settings):
    caplog.set_level(logging.DEBUG)
    sandbox = crm_sandbox
    save_connection(sandbox)
    SetupWizardProgress.objects.create(pk=1, completed_steps=[1], current_step=2)
    client = sync_admin_client()
    wrong_password = "Wrong-Admin-Password-4711"
    client.post(SOLUTION, {"action": "import", "admin_username": sandbox.admin_user, "admin_password": wrong_password})
    response = client.post(
        SOLUTION,
        {"action": "import", "admin_username": sandbox.admin_user, "admin_password": sandbox.admin_password},
        follow=True,
    )
    assert "holds the roles" in response.content.decode()
    assert integration_user_roles(sandbox) == set(constants.INTEGRATION_ROLES)

    assert_kept_nowhere(sandbox.admin_password, caplog, settings, client)
    assert_kept_nowhere(wrong_password, caplog, settings, client)


def test_the_connection_pages_import_keeps_the_password_nowhere(crm_sandbox, caplog, settings):
    caplog.set_level(logging.DEBUG)
    sandbox = crm_sandbox
    save_connection(sandbox)
    client = sync_admin_client()
    response = client.post(
        CONNECTION_PAGE_IMPORT,
        {"admin_username": sandbox.admin_user, "admin_password": sandbox.admin_password},
        follow=True,
    )
    page = response.content.decode()
    assert "is imported and # nav_crm Integration holds the roles" in page
    assert sandbox.admin_password not in page
    assert integration_user_roles(sandbox) == set(constants.INTEGRATION_ROLES)
    assert_kept_nowhere(sandbox.admin_password, caplog, settings, client)

"""The one factory for CRM clients builds them from the saved connection."""

from pathlib import Path

import pytest

from dataverse import F
from syncjobs.connection import clients
from tests.syncjobs.crm_support import save_connection

pytestmark = pytest.mark.django_db


def test_crm_client_uses_the_saved_connection(ready_sandbox):
    save_connection(ready_sandbox)
    with clients.crm_client() as client:
        assert client.retrieve("systemusers", client.whoami().user_id, select=["fullname"])["fullname"] == (
            "# nav_crm Integration"
        )


def test_crm_client_before_setup_says_what_is_missing():
    with pytest.raises(clients.CrmNotConfigured, match="server URL, authority URL, client id and credentials"):
        clients.crm_client()


def test_admin_client_acts_as_the_administrator_whose_password_it_was_given(ready_sandbox):
    connection = save_connection(ready_sandbox)
    with clients.crm_admin_client(
        connection=connection, username=ready_sandbox.admin_user, password=ready_sandbox.admin_password
    ) as admin:
        user = admin.retrieve("systemusers", admin.whoami().user_id, select=["domainname"])
        assert user["domainname"] == ready_sandbox.admin_user
        assert list(admin.query("roles", select=["name"], filter=F.eq("name", "System Administrator")))


def test_the_ca_bundle_file_is_named_by_its_content_and_written_once(crm_sandbox, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    pem = Path(crm_sandbox.ca_bundle).read_text()
    path = clients.crm_ca_bundle_path(pem)
    assert Path(path).read_text().strip() == pem.strip()
    assert clients.crm_ca_bundle_path(pem + "\n\n") == path
    assert clients.crm_ca_bundle_path("  ") is None

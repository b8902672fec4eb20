"""Microsoft's PowerPlatform Dataverse client (with azure-identity) against the sandbox."""

import uuid

from azure.identity import ClientSecretCredential
from PowerPlatform.Dataverse.client import DataverseClient


def test_microsoft_client_creates_reads_updates_queries_and_deletes(crm_sandbox, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", crm_sandbox.ca_bundle)
    monkeypatch.setenv("SSL_CERT_FILE", crm_sandbox.ca_bundle)
    admin = crm_sandbox.session(crm_sandbox.admin_token())
    user_id = crm_sandbox.session(crm_sandbox.token()).get(f"{crm_sandbox.api_url}WhoAmI").json()["UserId"]
    role = admin.get(f"{crm_sandbox.api_url}roles?$filter=name eq 'Basic User'&$select=name").json()["value"][0]
    associate = admin.post(
        f"{crm_sandbox.api_url}systemusers({user_id})/systemuserroles_association/$ref",
        json={"@odata.id": f"{crm_sandbox.api_url}roles({role['roleid']})"},
    )
    assert associate.status_code == 204
    tenant = crm_sandbox.authority.rstrip("/").rsplit("/", 1)[1]
    credential = ClientSecretCredential(
        tenant,
        crm_sandbox.client_id,
        crm_sandbox.client_secret,
        authority=crm_sandbox.url.rstrip("/").removeprefix("https://"),
        disable_instance_discovery=True,
        connection_verify=crm_sandbox.ca_bundle,
    )
    name = f"MS client {uuid.uuid4().hex[:8]}"
    with DataverseClient(crm_sandbox.url.rstrip("/"), credential) as client:
        record_id = client.records.create("account", {"name": name, "telephone1": "555-0100"})
        assert client.records.retrieve("account", record_id, select=["name"])["name"] == name
        client.records.update("account", record_id, {"telephone1": "555-0199"})
        rows = list(
            client.records.list("account", select=["name", "telephone1"], filter=f"name eq '{name}'", page_size=2)
        )
        assert [row["telephone1"] for row in rows] == ["555-0199"]
        client.records.delete("account", record_id)
    assert admin.get(f"{crm_sandbox.api_url}accounts({record_id})").status_code == 404

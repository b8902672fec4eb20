"""Shared setup of the synchronization benchmarks: a throwaway ERP, a CRM sandbox, a connected integration.

``bootstrap(data_dir)`` points the ERP at a fresh SQLite database in ``data_dir`` (NAV_CRM_DATA_DIR,
DATABASE_URL) before Django starts, then migrates it (which installs the default mappings).
``start_crm`` starts a sandbox server in its own process; ``connect`` saves the enabled connection,
gives the integration user its roles and couples the parents the customers and items refer to.

Two field mappings of CUSTOMER are switched off for the benchmarks, as an administrator may do:
the primary contact (contacts are coupled after their customers, so on a first full run every
customer would fail on it) and the freight terms (the ERP's four shipment methods have only two
options in the CRM's option set, and option mappings are not synchronized by the engine yet).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DISABLED_CUSTOMER_FIELDS = ("primarycontactid", "address1_freighttermscode")
# ERP code → value of the sandbox's option sets (crm_sandbox.metadata), for the option fields kept.
PAYMENT_TERMS_OPTIONS = {"30 DAYS": 1, "14 DAYS": 2, "60 DAYS": 4, "COD": 3}
SHIPPING_AGENT_OPTIONS = {"DHL": 2, "FEDEX": 3, "UPS": 4}


def bootstrap(data_dir: Path, *, migrate: bool = True) -> None:
    """Start Django on the ERP database in ``data_dir`` and (unless it is known to be) migrate it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["NAV_CRM_DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'nav_crm.sqlite3'}"
    os.environ["CRM_SANDBOX_DATABASE_URL"] = f"sqlite:///{data_dir / 'crm_sandbox_unused.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "nav_crm.settings"
    os.environ["DJANGO_DEBUG"] = "false"  # no query log kept in memory
    import django

    django.setup()
    if not migrate:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(*, customers: int = 0, items: int = 0) -> float:
    """The demo company plus volume customers/items (erp_seed's bulk inserts); returns the seconds taken."""
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("erp_seed", customers=customers, items=items, orders=0, stdout=io.StringIO())
    return time.perf_counter() - started


def start_crm(data_dir: Path, *, latency_ms: int):
    from crm_sandbox.testing import start_sandbox

    return start_sandbox(data_dir / "crm_sandbox", latency_ms=latency_ms)


def admin_client(sandbox):
    from dataverse import Client, UsernamePasswordAuth

    auth = UsernamePasswordAuth(sandbox.authority, sandbox.client_id, sandbox.admin_user, sandbox.admin_password)
    return Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle, timeout=120)


def connect(sandbox) -> None:
    """The saved, enabled connection; the integration user's roles; the parents coupled."""
    from dataverse import Client, ClientSecretAuth, F
    from syncjobs import constants
    from syncjobs.connection import services
    from syncjobs.models import CrmConnection

    auth = ClientSecretAuth(sandbox.authority, sandbox.client_id, sandbox.client_secret)
    with Client(sandbox.url, auth=auth, ca_bundle=sandbox.ca_bundle) as integration:
        user_id = integration.whoami().user_id
    with admin_client(sandbox) as admin:
        for name in constants.INTEGRATION_ROLES:
            rows = list(admin.query("roles", select=["name"], filter=F.eq("name", name)))
            role = rows[0]["roleid"] if rows else _create_role(admin, name)
            admin.associate("systemusers", user_id, "systemuserroles_association", "roles", role)
    services.connection_save(
        server_url=sandbox.url,
        authority_url=sandbox.authority,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        ca_bundle_pem=Path(sandbox.ca_bundle).read_text(),
    )
    CrmConnection.objects.update(is_enabled=True)
    couple_parents(sandbox)


def _create_role(admin, name: str) -> str:
    business_unit = admin.whoami().business_unit_id
    return admin.create(
        "roles", {"name": name, "businessunitid@odata.bind": admin.bind("businessunits", business_unit)}
    )


def couple_parents(sandbox) -> None:
    """Salespeople to users by e-mail, currencies by ISO code, units by running their mapping; options.

    The sandbox's own products (the demo's first items, by number) are coupled too, as match-based
    coupling would: a create would collide with their alternate key.
    """
    from django.contrib.contenttypes.models import ContentType

    from coupling.models import OptionCoupling
    from coupling.services import coupling_create
    from erp.models import Currency, Item, PaymentTerms, Salesperson, ShippingAgent
    from syncjobs.models import IntegrationFieldMapping, SyncJob

    with admin_client(sandbox) as admin:
        users = {
            row["internalemailaddress"].lower(): row["systemuserid"]
            for row in admin.query("systemusers", select=["internalemailaddress"])
            if row.get("internalemailaddress")
        }
        currencies = {
            row["isocurrencycode"]: row["transactioncurrencyid"]
            for row in admin.query("transactioncurrencies", select=["isocurrencycode"])
        }
        products = {row["productnumber"]: row["productid"] for row in admin.query("products", select=["productnumber"])}
    for salesperson in Salesperson.objects.all():
        coupling_create(record=salesperson, crm_entity="systemuser", crm_id=users[salesperson.email.lower()])
    for currency in Currency.objects.all():
        coupling_create(record=currency, crm_entity="transactioncurrency", crm_id=currencies[currency.code])
    for item in Item.objects.filter(no__in=products):
        coupling_create(record=item, crm_entity="product", crm_id=products[item.no])
    units = run_job("UNIT OF MEASURE", "to_crm", full=True)
    if units.status != SyncJob.Status.SUCCESS:
        raise RuntimeError(f"Coupling the units of measure failed: {units.message}")
    for model, attribute, options in [
        (PaymentTerms, "paymenttermscode", PAYMENT_TERMS_OPTIONS),
        (ShippingAgent, "address1_shippingmethodcode", SHIPPING_AGENT_OPTIONS),
    ]:
        content_type = ContentType.objects.get_for_model(model)
        for record in model.objects.filter(code__in=options):
            OptionCoupling.objects.create(
                erp_model=content_type,
                erp_system_id=record.system_id,
                crm_entity="account",
                crm_attribute=attribute,
                option_value=options[record.code],
                option_label=record.code,
            )
    IntegrationFieldMapping.objects.filter(
        table_mapping__name="CUSTOMER", crm_attribute__in=DISABLED_CUSTOMER_FIELDS
    ).update(is_enabled=False)


def run_job(mapping_name: str, direction: str, *, full: bool = False, parameters: dict | None = None):
    """Create the job and run it here (no worker), as ``crm_sync run --wait`` does; returns the finished job."""
    from syncjobs.models import IntegrationTableMapping
    from syncjobs.runs import jobs

    job = jobs.job_create(
        mapping=IntegrationTableMapping.objects.get(name=mapping_name),
        direction=direction,
        full=full,
        parameters=parameters,
        enqueue=False,
    )
    return jobs.job_run(job_id=job.pk)


def check(job, *, allow_failed: bool = False) -> None:
    """A benchmark run that failed measures nothing: stop with the job's own message."""
    if job.status == "failed" or (job.failed and not allow_failed):
        errors = "; ".join(job.errors.values_list("message", flat=True)[:3])
        raise RuntimeError(f"Job #{job.pk} {job.mapping_name}: {job.status} {job.message} {errors}".strip())


def run_worker(script: Path, *args: str) -> dict:
    """Run ``script`` in a fresh Python process and return the JSON object on its last output line."""
    result = subprocess.run(  # noqa: S603 — our own benchmark script with our own arguments
        [sys.executable, str(script), *args], capture_output=True, text=True, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


@contextlib.contextmanager
def client_stats():
    """Counts the requests of every ``dataverse.Client`` created meanwhile in this process (the jobs' own
    clients included): yields a function returning their summed Stats (requests, retries, 429s…)."""
    from dataverse import client as client_module

    created = []
    original = client_module.Client.__init__

    def counting_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        created.append(self.stats)

    def totals() -> dict:
        snapshots = [stats.snapshot() for stats in created]
        return {
            "requests": sum(s["total"] for s in snapshots),
            "transport_errors": sum(s["transport_errors"] for s in snapshots),
            "retries": sum(s["retries"] for s in snapshots),
            "throttled_429": sum(stats.count(status=429) for stats in created),
            "status_503": sum(stats.count(status=503) for stats in created),
        }

    client_module.Client.__init__ = counting_init
    try:
        yield totals
    finally:
        client_module.Client.__init__ = original

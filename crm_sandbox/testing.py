"""Starting a sandbox server in its own process, for tests and benchmarks.

The server gets a fresh data directory and its own SQLite file, so it never touches the ERP's
database or pytest-django's test database.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "manage.py"
CONTROL_KEY_FILE = "test-control.key"
# What a copy of a seeded data directory takes: the organization, its credentials and certificates.
TEMPLATE_FILES = ("crm_sandbox.sqlite3", "credentials.json", "ca.pem", "ca-key.pem", "server.pem", "server-key.pem")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningSandbox:
    url: str
    api_url: str
    authority: str
    ca_bundle: str
    client_id: str
    client_secret: str
    admin_user: str
    admin_password: str
    integration_user: str
    data_dir: Path
    process: subprocess.Popen = field(repr=False)
    log_path: Path = field(repr=False)
    # Counts restores: what a test prepared on the organization before the last restore is gone.
    generation: int = 0

    @property
    def token_url(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def scope(self) -> str:
        return f"{self.url}.default"

    def token(self, *, grant: str = "client_credentials", username: str | None = None, password: str | None = None):
        """A bearer token for the integration app (client credentials) or a user (password grant)."""
        data = {"grant_type": grant, "client_id": self.client_id, "scope": self.scope}
        if grant == "client_credentials":
            data["client_secret"] = self.client_secret
        else:
            data.update(username=username or self.admin_user, password=password or self.admin_password)
        response = requests.post(self.token_url, data=data, verify=self.ca_bundle, timeout=30)
        response.raise_for_status()
        return response.json()["access_token"]

    def admin_token(self) -> str:
        return self.token(grant="password")

    def session(self, token: str | None = None) -> requests.Session:
        """A requests session that trusts the sandbox's CA (and ignores REQUESTS_CA_BUNDLE)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle
        session.headers.update({"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"})
        if token:
            session.headers["Authorization"] = f"Bearer {token}"
        return session

    def manage(self, *args: str) -> str:
        return _manage(self.data_dir, *args)

    # --- Snapshots (a server started with test_control=True; see crm_sandbox.snapshots) ----------------

    def snapshot(self, name: str) -> None:
        """Saves the organization as it is now under ``name``."""
        self._control(f"snapshots/{name}")

    def restore(self, name: str, **conditions) -> None:
        """Puts the organization back as it was saved under ``name``, with these simulated conditions
        (latency_ms, throttle "N/SECONDS", fault_rate, token_lifetime, drop_next: the next N Web API requests
        answered by a dropped connection; none given: none simulated)."""
        self._control(f"snapshots/{name}/restore", {"conditions": conditions})
        self.generation += 1

    def advance_clock(self, seconds: float) -> None:
        """As if ``seconds`` had passed, for the server's throttling windows and token lifetimes."""
        self._control("clock", {"advance": seconds})

    def _control(self, route: str, body: dict | None = None) -> dict:
        key = (self.data_dir / CONTROL_KEY_FILE).read_text()
        session = self.session()
        session.headers["X-Sandbox-Control-Key"] = key
        with session:
            response = session.post(f"{self.url.rstrip('/')}/_sandbox/{route}", json=body or {}, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"The sandbox refused {route}: {response.status_code} {response.text}")
        return response.json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _environment(data_dir: Path) -> dict:
    env = dict(os.environ)
    env["CRM_SANDBOX_DATA_DIR"] = str(data_dir)
    env["CRM_SANDBOX_DATABASE_URL"] = f"sqlite:///{data_dir / 'crm_sandbox.sqlite3'}"
    env.setdefault("DJANGO_SETTINGS_MODULE", "nav_crm.settings")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _manage(data_dir: Path, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 — our own manage.py with fixed arguments
        [sys.executable, str(MANAGE), "crm_sandbox", *args],
        env=_environment(data_dir),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"crm_sandbox {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def seed_template(data_dir: Path) -> Path:
    """A seeded data directory with its CA and certificate, that no server uses: ``start_sandbox(…, template=)``
    copies it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    _manage(data_dir, "seed")
    _manage(data_dir, "info", "--json")  # creates the CA and the server certificate
    return data_dir


def _copy_template(template: Path, data_dir: Path) -> None:
    for name in TEMPLATE_FILES:
        if (template / name).exists():
            shutil.copy2(template / name, data_dir / name)


def start_sandbox(
    data_dir: Path,
    *,
    latency_ms: int = 0,
    throttle: str | None = None,
    fault_rate: float = 0.0,
    token_lifetime: int | None = None,
    seed: bool = True,
    template: Path | None = None,
    test_control: bool = False,
    timeout: float = 60,
) -> RunningSandbox:
    """Starts ``crm_sandbox serve`` on a free port. ``template``: a seeded data directory to copy instead of
    seeding (seconds saved); ``test_control``: the server saves and restores snapshots (``restore()``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if template is not None:
        _copy_template(template, data_dir)
    elif seed:
        _manage(data_dir, "seed")
    seeded = seed or template is not None
    port = free_port()
    addr = f"127.0.0.1:{port}"
    command = [sys.executable, str(MANAGE), "crm_sandbox", "serve", "--addr", addr]
    if latency_ms:
        command += ["--latency-ms", str(latency_ms)]
    if throttle:
        command += ["--throttle", throttle]
    if fault_rate:
        command += ["--fault-rate", str(fault_rate)]
    if token_lifetime:
        command += ["--token-lifetime", str(token_lifetime)]
    if test_control:
        command.append("--test-control")
    # Before the server starts: both create the CA and the certificate when missing, and two processes
    # creating them at once could leave the server with a certificate the ca.pem does not vouch for.
    details = json.loads(_manage(data_dir, "info", "--json", "--addr", addr)) if seeded else {}
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 — our own manage.py with fixed arguments
            command, env=_environment(data_dir), cwd=REPO_ROOT, stdout=log, stderr=log
        )
    ca_bundle = str(data_dir / "ca.pem")
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"The CRM sandbox exited early:\n{log_path.read_text()}")
        try:
            if Path(ca_bundle).exists():
                probe = requests.Session()
                probe.trust_env = False
                if probe.get(f"https://{addr}/", verify=ca_bundle, timeout=5).status_code == 200:
                    break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError(f"The CRM sandbox did not answer within {timeout}s:\n{log_path.read_text()}")
        time.sleep(0.2)
    return RunningSandbox(
        url=details.get("url", f"https://{addr}/"),
        api_url=details.get("api_url", f"https://{addr}/api/data/v9.2/"),
        authority=details.get("authority", ""),
        ca_bundle=ca_bundle,
        client_id=details.get("client_id", ""),
        client_secret=details.get("client_secret", ""),
        admin_user=details.get("admin_user", ""),
        admin_password=details.get("admin_password", ""),
        integration_user=details.get("integration_user", ""),
        data_dir=data_dir,
        process=process,
        log_path=log_path,
    )

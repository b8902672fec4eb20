"""``manage.py crm_sandbox serve|seed|reset|info``: run and manage the Dataverse-compatible sandbox."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from crm_sandbox import runtime, seed, server, webapi

DEFAULT_ADDR = "127.0.0.1:8001"


def parse_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise CommandError(f"--addr must be HOST:PORT, got '{addr}'.")
    return host.strip("[]") or "127.0.0.1", int(port)


def org_url(addr: str) -> str:
    host, port = parse_addr(addr)
    shown = f"[{host}]" if ":" in host else host
    return f"https://{shown}:{port}"


class Command(BaseCommand):
    help = "Runs and manages the CRM sandbox (a Dataverse Web API + Entra token endpoint look-alike)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        serve = sub.add_parser("serve", help="Serve HTTPS (CA and certificate created on first use).")
        serve.add_argument("--addr", default=DEFAULT_ADDR, help="HOST:PORT to listen on (default 127.0.0.1:8001).")
        serve.add_argument("--latency-ms", type=int, default=0, help="Simulated round-trip latency per request.")
        serve.add_argument("--throttle", default=None, help="Service-protection limit per user: N/SECONDS.")
        serve.add_argument("--fault-rate", type=float, default=0.0, help="Probability of a simulated fault (0-1).")
        serve.add_argument("--token-lifetime", type=int, default=3599, help="Access-token lifetime in seconds.")
        serve.add_argument("--threads", type=int, default=32, help="Worker threads.")
        serve.add_argument(
            "--test-control",
            action="store_true",
            help="Test suites only: save and restore snapshots of the organization under /_sandbox/ (key in the data "
            "directory's test-control.key).",
        )
        sub.add_parser("seed", help="Load the demo CRM organization (idempotent).")
        sub.add_parser("reset", help="Delete every row of the sandbox.")
        info = sub.add_parser("info", help="Print connection details for scripts.")
        info.add_argument("--json", action="store_true", help="Print JSON.")
        info.add_argument("--addr", default=DEFAULT_ADDR, help="HOST:PORT the server listens on.")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "serve":
            self._serve(options)
        elif action == "seed":
            seed.sandbox_seed()
            self.stdout.write("CRM sandbox seeded.")
        elif action == "reset":
            seed.migrate()
            seed.sandbox_reset()
            self.stdout.write("CRM sandbox emptied.")
        else:
            self._info(options)

    def _serve(self, options):
        if not 0 <= options["fault_rate"] <= 1:
            raise CommandError("--fault-rate must be between 0 and 1.")
        if options["latency_ms"] < 0 or options["token_lifetime"] < 1:
            raise CommandError("--latency-ms must be >= 0 and --token-lifetime >= 1.")
        try:
            throttle = runtime.Throttle.parse(options["throttle"]) if options["throttle"] else None
        except ValueError as error:
            raise CommandError(str(error)) from None
        host, port = parse_addr(options["addr"])
        seed.migrate()
        url = org_url(options["addr"])
        server_options = runtime.ServerOptions(
            latency_ms=options["latency_ms"],
            throttle=throttle,
            fault_rate=options["fault_rate"],
            token_lifetime=options["token_lifetime"],
            public_url=url,
        )

        def announce():
            self.stdout.write(f"CRM sandbox listening on {url}/ (Web API {url}{webapi.API_PREFIX})")
            self.stdout.flush()

        server.serve(
            host=host,
            port=port,
            options=server_options,
            threads=options["threads"],
            on_ready=announce,
            test_control=options["test_control"],
        )

    def _info(self, options):
        credentials = server.load_credentials()
        if not credentials:
            raise CommandError("The CRM sandbox has not been seeded yet: run 'manage.py crm_sandbox seed'.")
        url = org_url(options["addr"])
        ca, _cert, _key = server.ensure_certificates()
        details = {
            "url": f"{url}/",
            "api_url": f"{url}{webapi.API_PREFIX}",
            "authority": f"{url}/{webapi.tenant_id()}",
            "ca_bundle": str(ca),
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "admin_user": credentials["admin_user"],
            "admin_password": credentials["admin_password"],
            "integration_user": credentials["integration_user"],
        }
        if options["json"]:
            self.stdout.write(json.dumps(details, indent=2))
        else:
            for name, value in details.items():
                self.stdout.write(f"{name}: {value}")

"""`make demo`: prepare both databases, load the demo data once, and run every process.

Starts the web app, the django-q2 worker and the CRM sandbox together; one Ctrl-C stops all
three (honcho multiplexes their output and forwards the signal).
"""

import io
import json
import secrets
import shlex
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from honcho.manager import Manager

ADMIN_USERNAME = "admin"
# Read by the assisted setup (setup_wizard.selectors.demo_crm_info) to pre-fill the sandbox's details.
DEMO_CRM_FILE_NAME = "demo-crm.json"
DEMO_CRM_KEYS = ("url", "authority", "ca_bundle", "client_id", "client_secret", "admin_user", "admin_password")


class Command(BaseCommand):
    help = "Prepare the databases and demo data, then run the web app, the worker and the CRM sandbox."

    def add_arguments(self, parser):
        parser.add_argument("--web-addr", default=settings.DEMO_WEB_ADDR)
        parser.add_argument("--crm-addr", default=settings.CRM_SANDBOX_ADDR)
        parser.add_argument("--prepare-only", action="store_true", help="Prepare and print the login; start nothing.")

    def handle(self, *args, web_addr, crm_addr, prepare_only, **options):
        has_sandbox = "crm_sandbox" in get_commands()
        self._prepare(has_sandbox)
        if has_sandbox:
            self._write_crm_info(crm_addr)
        username, password = self._ensure_admin()

        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"nav_crm:      http://{web_addr}/"))
        self.stdout.write(self.style.SUCCESS(f"Log in as:    {username} / {password}"))
        if has_sandbox:
            self.stdout.write(self.style.SUCCESS(f"CRM sandbox:  https://{crm_addr}/"))
        self.stdout.write("Press Ctrl-C to stop everything.\n")
        if prepare_only:
            return

        python = shlex.quote(sys.executable)
        manage = shlex.quote(str(Path(settings.BASE_DIR) / "manage.py"))
        manager = Manager()
        manager.add_process(
            "web",
            # --timeout 120: a full synchronization's preview reads a large company within the request (about
            # 35 s for 20,000 customers, bench/preview.py); gunicorn's default 30 s would cut it off.
            f"{python} -m gunicorn nav_crm.wsgi:application --bind {web_addr} --workers 2 --threads 4"
            " --access-logfile - --graceful-timeout 5 --timeout 120",
            cwd=str(settings.BASE_DIR),
        )
        manager.add_process("worker", f"{python} {manage} qcluster", cwd=str(settings.BASE_DIR))
        if has_sandbox:
            manager.add_process(
                "crm", f"{python} {manage} crm_sandbox serve --addr {crm_addr}", cwd=str(settings.BASE_DIR)
            )
        manager.loop()
        sys.exit(manager.returncode)

    def _prepare(self, has_sandbox: bool) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("migrate", database="crm_sandbox", interactive=False, verbosity=0)
        call_command("erp_seed")
        if has_sandbox:
            call_command("crm_sandbox", "seed")

    def _write_crm_info(self, crm_addr: str) -> None:
        """The sandbox's address and demo credentials, for the assisted setup to pre-fill (0600, demo only)."""
        output = io.StringIO()
        call_command("crm_sandbox", "info", "--json", "--addr", crm_addr, stdout=output)
        details = json.loads(output.getvalue())
        path = Path(settings.DATA_DIR) / DEMO_CRM_FILE_NAME
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps({key: details[key] for key in DEMO_CRM_KEYS}, indent=2))

    def _ensure_admin(self) -> tuple[str, str]:
        """Create the demo administrator once; its password is kept (0600) in the data directory.

        The file exists only so that `make demo` can print the login again on the next run.
        """
        password_file = Path(settings.DATA_DIR) / "demo-admin-password"
        user_model = get_user_model()
        user = user_model.objects.filter(username=ADMIN_USERNAME).first()
        if user is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            if user is None:
                user = user_model.objects.create_superuser(ADMIN_USERNAME, email="admin@example.com", password=password)
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_file.write_text(password)
            password_file.chmod(0o600)
        return ADMIN_USERNAME, password_file.read_text().strip()

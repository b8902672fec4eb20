"""Run the CRM connection checks from the command line: prints each one, exits 0 only when all pass."""

import sys

from django.core.management.base import BaseCommand

from syncjobs.connection import checks, services
from syncjobs.connection import selectors as connection_selectors

MARKS = {
    checks.CheckStatus.PASSED: "PASS",
    checks.CheckStatus.FAILED: "FAIL",
    checks.CheckStatus.NOT_RUN: "SKIP",
}


class Command(BaseCommand):
    help = "Tests the saved CRM connection: prints every check and exits 0 only when all pass."

    def handle(self, *args, **options):
        connection = connection_selectors.crm_connection_get()
        if not connection.is_saved:
            self.stderr.write("No CRM connection is set up yet: use the setup page or `manage.py crm_connect`.")
            sys.exit(1)
        results = services.connection_test(connection=connection)
        for result in results:
            line = f"[{MARKS[result.status]}] {result.title}: {result.message}"
            style = self.style.SUCCESS if result.passed else self.style.ERROR
            self.stdout.write(style(line) if result.status != checks.CheckStatus.NOT_RUN else line)
            if result.hint:
                self.stdout.write(f"       Fix: {result.hint}")
        passed = sum(result.passed for result in results)
        self.stdout.write(f"{passed} of {len(results)} checks passed.")
        if passed != len(results):
            sys.exit(1)

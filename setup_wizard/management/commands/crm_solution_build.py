"""Write the integration solution package (the .zip the setup imports) to a file, e.g. to import it by hand."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from setup_wizard.solution import build_package
from syncjobs import constants


class Command(BaseCommand):
    help = "Writes the integration solution package (NavCrmIntegration, a Dataverse solution .zip) to --output."

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, type=Path, help="The .zip file to write.")

    def handle(self, *args, output: Path, **options):
        package = build_package()
        try:
            output.write_bytes(package)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from None
        self.stdout.write(
            f"Wrote {constants.INTEGRATION_SOLUTION_NAME} {constants.INTEGRATION_SOLUTION_VERSION} "
            f"({len(package)} bytes) to {output}."
        )

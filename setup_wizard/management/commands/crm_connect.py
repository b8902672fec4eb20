"""Connect to Dynamics 365 Sales from the command line, as the assisted setup does.

Secrets come from files only (never from the command line, where other users and the shell's
history could read them). The administrator's password is used for the import and not kept.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from setup_wizard import services
from setup_wizard.management.commands.crm_connection_test import MARKS
from setup_wizard.models import SetupWizardProgress
from syncjobs import constants
from syncjobs.connection import checks
from syncjobs.connection import services as syncjobs_services
from syncjobs.models import CrmConnection

CONNECTION_CHECKS = ("server", "token", "whoami")
SALES_ORDER_MODES = {
    "one-way": CrmConnection.SalesOrderMode.ONE_WAY,
    "two-way": CrmConnection.SalesOrderMode.TWO_WAY,
    "off": None,
}
ODATA_ROOT_PATH = "/odata/v4/"


def _read_secret(path: Path | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        value = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the {what} from {path}: {getattr(exc, 'strerror', None) or exc}.") from None
    if not value:
        raise CommandError(f"The {what} file {path} is empty.")
    return value


def _explain(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{field.replace('_', ' ')}: {message}" if field != "__all__" else message
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return " ".join(error.messages)


class Command(BaseCommand):
    help = (
        "Connects to Dynamics 365 Sales as the assisted setup does: saves and tests the connection, optionally imports "
        "the integration solution, sets up item availability and enables the connection. Exits non-zero on failure."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", required=True, help="The organization URL, e.g. https://contoso.crm4.dynamics.com."
        )
        parser.add_argument(
            "--authority", required=True, help="The authority, e.g. https://login.microsoftonline.com/<tenant id>."
        )
        parser.add_argument("--client-id", required=True, help="The app registration's Application (client) ID.")
        parser.add_argument(
            "--client-secret-file", type=Path, help="A file holding the client secret (kept if already saved)."
        )
        parser.add_argument("--ca-bundle", type=Path, help="A PEM file of the CA that issued the CRM's certificate.")
        parser.add_argument(
            "--import-solution",
            action="store_true",
            help="Import the integration solution and give the integration user its roles.",
        )
        parser.add_argument("--admin-user", help="A CRM user with System Administrator and System Customizer.")
        parser.add_argument("--admin-password-file", type=Path, help="A file holding that user's password.")
        parser.add_argument(
            "--item-availability",
            action="store_true",
            help="Let the CRM read item availability: writes the ERP's OData URL, a user name and a NEW access key "
            "into the CRM.",
        )
        parser.add_argument(
            "--item-availability-user",
            help=f"The ERP user the CRM reads as (default: a dedicated '{services.ITEM_AVAILABILITY_USERNAME}' user).",
        )
        parser.add_argument(
            "--erp-url",
            default="http://127.0.0.1:8000",
            help="The ERP's address as the CRM reaches it (for item availability). Default: %(default)s.",
        )
        parser.add_argument(
            "--sales-orders",
            choices=list(SALES_ORDER_MODES),
            help="one-way: orders submitted in Dynamics 365 become ERP sales orders, and their progress goes back "
            "(turns on Dynamics 365's sales order processing when the connection is enabled); two-way: orders and "
            "their lines are kept the same on both sides; off: turn it off.",
        )
        parser.add_argument(
            "--sales-order-user",
            help="The ERP user the orders are created as "
            f"(default: a dedicated '{services.SALES_ORDER_USERNAME}' user).",
        )
        parser.add_argument("--enable", action="store_true", help="Enable the connection (every check must pass).")

    def handle(self, *args, **options):
        if options["import_solution"] and not (options["admin_user"] and options["admin_password_file"]):
            raise CommandError("--import-solution needs --admin-user and --admin-password-file.")
        client_secret = _read_secret(options["client_secret_file"], "client secret")
        ca_bundle_pem = ""
        if options["ca_bundle"] is not None:
            ca_bundle_pem = _read_secret(options["ca_bundle"], "CA bundle")

        self._step(f"Saving the connection to {options['url']}")
        try:
            connection = syncjobs_services.connection_save(
                server_url=options["url"],
                authority_url=options["authority"],
                client_id=options["client_id"],
                client_secret=client_secret,
                ca_bundle_pem=ca_bundle_pem,
            )
        except ValidationError as error:
            raise CommandError(f"The connection was not saved. {_explain(error)}") from None
        self._done()

        results = self._test(connection)
        failed = [r for r in results if r.key in CONNECTION_CHECKS and not r.passed]
        if failed:
            raise CommandError(f"The CRM cannot be reached as the integration app: {failed[0].message}")
        # The assisted setup then resumes after what was done here.
        Step = SetupWizardProgress.Step
        done = [Step.CONNECTION]
        services.wizard_steps_done_elsewhere(steps=done)

        if options["import_solution"]:
            self._import_solution(connection, options["admin_user"], options["admin_password_file"])
            results = self._test(connection)
            done.append(Step.SOLUTION)
        if options["item_availability"]:
            self._item_availability(connection, options["item_availability_user"], options["erp_url"])
            done.append(Step.FEATURES)
        if options["sales_orders"]:
            self._sales_orders(connection, SALES_ORDER_MODES[options["sales_orders"]], options["sales_order_user"])
        elif options["sales_order_user"]:
            raise CommandError("--sales-order-user goes with --sales-orders one-way or two-way.")
        services.wizard_steps_done_elsewhere(steps=done)
        if options["enable"]:
            self._step("Enabling the connection")
            try:
                syncjobs_services.connection_enable(connection=connection)
            except ValidationError as error:
                raise CommandError(_explain(error)) from None
            self._done("enabled")
        else:
            passed = sum(result.passed for result in results)
            self.stdout.write(f"{passed} of {len(results)} checks pass; the connection is not enabled (use --enable).")

    def _step(self, text: str) -> None:
        self.stdout.write(f"{text}… ", ending="")
        self.stdout.flush()

    def _done(self, text: str = "done") -> None:
        self.stdout.write(self.style.SUCCESS(text))

    def _test(self, connection):
        self.stdout.write("Testing the connection:")
        results = syncjobs_services.connection_test(connection=connection)
        for result in results:
            line = f"  [{MARKS[result.status]}] {result.title}: {result.message}"
            style = self.style.SUCCESS if result.passed else self.style.ERROR
            self.stdout.write(style(line) if result.status != checks.CheckStatus.NOT_RUN else line)
        return results

    def _import_solution(self, connection, admin_user: str, password_file: Path) -> None:
        password = _read_secret(password_file, "administrator's password")
        self._step(
            f"Importing the solution {constants.INTEGRATION_SOLUTION_NAME} {constants.INTEGRATION_SOLUTION_VERSION} "
            f"as {admin_user}"
        )
        try:
            result = services.solution_import(connection=connection, admin_username=admin_user, admin_password=password)
        except ValidationError as error:
            raise CommandError(f"The solution was not imported: {_explain(error)}") from None
        self._done(f"done; {result.integration_user_name} holds {', '.join(constants.INTEGRATION_ROLES)}")

    def _sales_orders(self, connection, mode: str | None, username: str | None) -> None:
        user = None
        if mode is not None:
            user = self._user(username) if username else services.sales_order_user_create()
        words = {CrmConnection.SalesOrderMode.ONE_WAY: "one way", CrmConnection.SalesOrderMode.TWO_WAY: "both ways"}
        self._step(
            f"Sales orders from Dynamics 365: {words[mode]}, created as {user.get_username()}"
            if mode is not None
            else "Sales orders from Dynamics 365: off"
        )
        try:
            services.connection_features_save(
                connection=connection,
                sales_order_integration_enabled=mode is not None,
                sales_order_mode=mode or connection.sales_order_mode,
                sales_order_processing_user=user,
                synchronization_interval_minutes=connection.synchronization_interval_minutes,
            )
        except ValidationError as error:
            raise CommandError(f"Sales order integration was not changed: {_explain(error)}") from None
        self._done()

    @staticmethod
    def _user(username: str):
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"There is no ERP user {username}.")
        return user

    def _item_availability(self, connection, username: str | None, erp_url: str) -> None:
        user = self._user(username) if username else services.item_availability_user_create()
        odata_url = erp_url.rstrip("/") + ODATA_ROOT_PATH
        self._step(f"Item availability: the CRM reads {odata_url} as {user.get_username()} with a new access key")
        try:
            services.item_availability_enable(connection=connection, user=user, odata_url=odata_url)
        except ValidationError as error:
            raise CommandError(f"Item availability was not set up: {_explain(error)}") from None
        self._done()

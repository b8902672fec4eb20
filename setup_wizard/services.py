"""Writes of the setup pages: web service access keys, the integration solution import, item availability,
the integration's features and the assisted setup's progress."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

import dataverse
from crm_orders import services as order_services
from setup_wizard import solution
from setup_wizard.models import SetupWizardProgress, WebServiceAccessKey
from setup_wizard.solution import definition
from syncjobs import constants
from syncjobs.connection import clients
from syncjobs.mappings import services as mapping_services
from syncjobs.models import CrmConnection, FullSyncRun, IntegrationTableMapping
from syncjobs.runs import full_sync

logger = logging.getLogger(__name__)

# 32 random bytes, as NAV's 44-character keys: far beyond guessing, so a fast salted HMAC is
# the right hash (a slow password hash would only slow down every API request).
KEY_BYTES = 32


def access_key_digest(*, salt: str, key: str) -> str:
    return hmac.new(bytes.fromhex(salt), key.encode("utf-8"), hashlib.sha256).hexdigest()


@transaction.atomic
def access_key_generate(
    *, user: AbstractBaseUser, expires_at: datetime.datetime | None = None
) -> tuple[WebServiceAccessKey, str]:
    """Create or replace the user's key ("Change web service key"). Returns the record and the key,
    which is not stored and cannot be shown again."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    key = secrets.token_urlsafe(KEY_BYTES)
    salt = secrets.token_hex(16)
    record, _ = WebServiceAccessKey.objects.select_for_update().get_or_create(
        user=user, defaults={"key_salt": salt, "key_digest": access_key_digest(salt=salt, key=key)}
    )
    record.key_salt = salt
    record.key_digest = access_key_digest(salt=salt, key=key)
    record.created_at = timezone.now()
    record.expires_at = expires_at
    record.full_clean()
    record.save()
    logger.info("Web service access key generated for user %s", user.pk)
    return record, key


def access_key_delete(*, user: AbstractBaseUser) -> None:
    WebServiceAccessKey.objects.filter(user=user).delete()
    logger.info("Web service access key removed for user %s", user.pk)


# --- The integration solution ----------------------------------------------------------------------

SYSTEM_CUSTOMIZER_ROLE = "System Customizer"
# Importing a solution and assigning roles to another user needs both, as in the reference product.
SOLUTION_IMPORT_ROLES = (constants.SYSTEM_ADMINISTRATOR_ROLE, SYSTEM_CUSTOMIZER_ROLE)
IMPORT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class SolutionImportResult:
    integration_user_name: str
    roles_assigned: tuple[str, ...]


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split()).split(" Trace ID:")[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _admin_refusal(exc: dataverse.DataverseError) -> ValidationError:
    if isinstance(exc, dataverse.AuthenticationFailed):
        if exc.code == "invalid_grant":
            return ValidationError(
                "The CRM did not accept this administrator's user name and password. Check both and try again "
                "(an account with multi-factor authentication cannot sign in this way)."
            )
        return ValidationError(f"The authority refused to sign in the administrator ({_short(exc.message)}).")
    if isinstance(exc, dataverse.TransportError):
        return ValidationError(f"The CRM cannot be reached ({_short(exc.message)}). Test the connection first.")
    status = f"HTTP {exc.status}" if exc.status else "no response"
    return ValidationError(f"The CRM answered {status}: {_short(exc.message)}.")


def _admin_roles_check(admin: dataverse.Client) -> None:
    user_id = admin.whoami().user_id
    row = admin.retrieve(
        "systemusers", user_id, select=["fullname"], expand={"systemuserroles_association": {"select": ["name"]}}
    )
    held = {role.get("name") for role in row.get("systemuserroles_association") or []}
    missing = [role for role in SOLUTION_IMPORT_ROLES if role not in held]
    if missing:
        raise ValidationError(
            f"{row.get('fullname') or 'This user'} lacks the role(s) {_quoted(missing)}: importing the integration "
            f"solution needs a CRM user holding both {_quoted(SOLUTION_IMPORT_ROLES)}."
        )


def _integration_user(connection: CrmConnection, admin: dataverse.Client) -> tuple[str, str, set[str]]:
    """The integration app's CRM user (id, name, role names): WhoAmI as the app, then read as the administrator."""
    user_id = str(connection.integration_user_id) if connection.integration_user_id else None
    if user_id is None:
        try:
            with clients.crm_client(connection=connection, max_retries=0) as app:
                user_id = app.whoami().user_id
        except (clients.CrmNotConfigured, dataverse.DataverseError) as exc:
            message = exc.message if isinstance(exc, dataverse.DataverseError) else str(exc)
            raise ValidationError(
                f"The integration app's CRM user could not be found ({_short(message)}). "
                "Test the connection: the access token and WhoAmI checks must pass first."
            ) from None
    row = admin.retrieve(
        "systemusers",
        user_id,
        select=["fullname", "_businessunitid_value"],
        expand={"systemuserroles_association": {"select": ["name"]}},
    )
    roles = {role.get("name") for role in row.get("systemuserroles_association") or []}
    return user_id, row.get("fullname") or user_id, roles


def _role_id(admin: dataverse.Client, name: str) -> str:
    rows = list(admin.query("roles", select=["name"], filter=dataverse.F.eq("name", name), top=1))
    if not rows:
        raise ValidationError(
            f"The security role '{name}' is missing from the CRM after the import; import the solution again."
        )
    return rows[0]["roleid"]


def solution_import(*, connection: CrmConnection, admin_username: str, admin_password: str) -> SolutionImportResult:
    """Import the integration solution as a CRM administrator and give the integration user its roles.

    The administrator's credentials live only in this call's client: they are not stored, logged or
    returned. ValidationError with a plain-words message when something is refused.
    """
    if not (admin_username or "").strip() or not admin_password:
        raise ValidationError("Enter a CRM administrator's user name and password.")
    try:
        admin = clients.crm_admin_client(
            connection=connection,
            username=admin_username.strip(),
            password=admin_password,
            timeout=IMPORT_TIMEOUT_SECONDS,
        )
    except clients.CrmNotConfigured as exc:
        raise ValidationError(str(exc)) from None
    try:
        _admin_roles_check(admin)
        admin.import_solution(solution.build_package(), timeout=IMPORT_TIMEOUT_SECONDS)
        user_id, user_name, held = _integration_user(connection, admin)
        if constants.SYSTEM_ADMINISTRATOR_ROLE in held:
            raise ValidationError(
                f"The integration user {user_name} is a {constants.SYSTEM_ADMINISTRATOR_ROLE}; the integration must "
                "run with only the rights it needs. Remove that role from the application user in the CRM."
            )
        assigned = []
        for role in constants.INTEGRATION_ROLES:
            if role not in held:
                admin.associate("systemusers", user_id, "systemuserroles_association", "roles", _role_id(admin, role))
                assigned.append(role)
    except dataverse.DataverseError as exc:
        raise _admin_refusal(exc) from None
    finally:
        admin.close()
    with transaction.atomic():
        connection.integration_user_id = user_id
        connection.integration_user_name = user_name
        connection.save(update_fields=["integration_user_id", "integration_user_name", "modified_at"])
        progress = _progress_for_update()
        progress.solution_imported_at = timezone.now()
        progress.save(update_fields=["solution_imported_at", "modified_at"])
    logger.info(
        "Integration solution %s %s imported into %s; roles %s assigned to %s",
        constants.INTEGRATION_SOLUTION_NAME,
        constants.INTEGRATION_SOLUTION_VERSION,
        connection.server_url,
        _quoted(assigned) or "(already held)",
        user_name,
    )
    return SolutionImportResult(integration_user_name=user_name, roles_assigned=tuple(assigned))


# --- Item availability -----------------------------------------------------------------------------

ITEM_AVAILABILITY_USERNAME = "crm-availability"
ITEM_AVAILABILITY_PERMISSION = ("erp", "view_item")


def _dedicated_user(username: str, first_name: str, permissions: Iterable[tuple[str, str]]) -> AbstractBaseUser:
    """An ERP user for one integration task: no password (it never signs in), only the permissions it needs."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        **{user_model.USERNAME_FIELD: username}, defaults={"first_name": first_name, "is_active": True}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    for app_label, codename in permissions:
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@transaction.atomic
def item_availability_user_create() -> AbstractBaseUser:
    """The dedicated ERP user the CRM reads item availability as: no password, may only view items."""
    return _dedicated_user(ITEM_AVAILABILITY_USERNAME, "CRM item availability", [ITEM_AVAILABILITY_PERMISSION])


SALES_ORDER_USERNAME = "crm-sales-orders"
SALES_ORDER_PERMISSIONS = ("add_salesheader", "view_salesheader", "add_salesline", "view_salesline")


@transaction.atomic
def sales_order_user_create() -> AbstractBaseUser:
    """The dedicated ERP user orders from Dynamics 365 are created as: no password, may only create orders."""
    return _dedicated_user(
        SALES_ORDER_USERNAME, "Dynamics 365 sales orders", [("erp", codename) for codename in SALES_ORDER_PERMISSIONS]
    )


def _odata_url(value: str) -> str:
    # Any host name is accepted (an intranet name such as http://erp/ has no dot, which URLValidator refuses).
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or any(char.isspace() for char in value):
        raise ValidationError(
            {
                "odata_url": "Enter the URL the CRM reaches the ERP's OData service at, "
                "e.g. https://erp.example.com/odata/v4/."
            }
        )
    if not parts.path.endswith("/"):
        value += "/"
    return value


def _connection_row(client: dataverse.Client, values: dict) -> None:
    client.upsert(
        definition.CONNECTION_ENTITY_SET,
        {definition.CONNECTION_NAME: definition.CONNECTION_ROW_NAME},
        values,
    )


def _crm_write_failed(exc: Exception) -> ValidationError:
    message = exc.message if isinstance(exc, dataverse.DataverseError) else str(exc)
    hint = (
        " Import the integration solution first: it creates the connection entity and gives the integration user "
        "its roles."
        if isinstance(exc, dataverse.NotFound | dataverse.Forbidden)
        else ""
    )
    return ValidationError(f"The ERP connection record could not be written in the CRM ({_short(message)}).{hint}")


@transaction.atomic
def item_availability_enable(*, connection: CrmConnection, user: AbstractBaseUser, odata_url: str) -> None:
    """Give the CRM what it needs to read item availability: the OData URL, the user name and a NEW access key.

    Keys are stored hashed, so a new key is generated (the user's old key stops working). When the
    CRM refuses the write, the new key is rolled back and the old one keeps working.
    """
    odata_url = _odata_url(odata_url)
    if not user.is_active:
        raise ValidationError({"item_availability_user": f"The user {user.get_username()} is inactive."})
    app_label, codename = ITEM_AVAILABILITY_PERMISSION
    if not user.has_perm(f"{app_label}.{codename}"):
        raise ValidationError(
            {"item_availability_user": f"The user {user.get_username()} may not view items: the CRM would be refused."}
        )
    _, key = access_key_generate(user=user)
    try:
        with clients.crm_client(connection=connection, max_retries=2) as client:
            _connection_row(
                client,
                {
                    definition.CONNECTION_ODATA_URL: odata_url,
                    definition.CONNECTION_ODATA_USERNAME: user.get_username(),
                    definition.CONNECTION_ODATA_ACCESS_KEY: key,
                },
            )
    except (clients.CrmNotConfigured, dataverse.DataverseError) as exc:
        raise _crm_write_failed(exc) from None
    connection.item_availability_user = user
    connection.save(update_fields=["item_availability_user", "modified_at"])
    progress = _progress_for_update()
    progress.item_availability_odata_url = odata_url
    progress.item_availability_configured_at = timezone.now()
    progress.save(update_fields=["item_availability_odata_url", "item_availability_configured_at", "modified_at"])
    logger.info("Item availability for the CRM set to %s as user %s", odata_url, user.pk)


@transaction.atomic
def item_availability_disable(*, connection: CrmConnection) -> None:
    """Stop the CRM reading item availability: its connection record loses the URL, user name and key."""
    if connection.item_availability_user_id is None:
        return
    try:
        with clients.crm_client(connection=connection, max_retries=2) as client:
            _connection_row(
                client,
                {
                    definition.CONNECTION_ODATA_URL: None,
                    definition.CONNECTION_ODATA_USERNAME: None,
                    definition.CONNECTION_ODATA_ACCESS_KEY: None,
                },
            )
    except (clients.CrmNotConfigured, dataverse.DataverseError) as exc:
        raise _crm_write_failed(exc) from None
    connection.item_availability_user = None
    connection.save(update_fields=["item_availability_user", "modified_at"])
    progress = _progress_for_update()
    progress.item_availability_odata_url = ""
    progress.item_availability_configured_at = None
    progress.save(update_fields=["item_availability_odata_url", "item_availability_configured_at", "modified_at"])
    logger.info("Item availability for the CRM turned off")


# --- Features ---------------------------------------------------------------------------------------

MAX_SYNCHRONIZATION_INTERVAL_MINUTES = 24 * 60


def connection_features_save(
    *,
    connection: CrmConnection,
    sales_order_integration_enabled: bool,
    sales_order_processing_user: AbstractBaseUser | None,
    sales_order_mode: str = CrmConnection.SalesOrderMode.ONE_WAY,
    synchronization_interval_minutes: int,
) -> CrmConnection:
    errors = {}
    if sales_order_integration_enabled and sales_order_processing_user is None:
        errors["sales_order_processing_user"] = "Choose the ERP user who processes the orders submitted in the CRM."
    if sales_order_processing_user is not None and not sales_order_processing_user.is_active:
        errors["sales_order_processing_user"] = f"The user {sales_order_processing_user.get_username()} is inactive."
    if not 1 <= synchronization_interval_minutes <= MAX_SYNCHRONIZATION_INTERVAL_MINUTES:
        errors["synchronization_interval_minutes"] = (
            f"Choose between 1 and {MAX_SYNCHRONIZATION_INTERVAL_MINUTES} minutes (a day)."
        )
    if errors:
        raise ValidationError(errors)
    try:
        order_services.sales_order_integration_switch(
            connection=connection, enabled=sales_order_integration_enabled, mode=sales_order_mode
        )
    except ValidationError as refusal:
        raise ValidationError({"sales_order_integration_enabled": refusal.messages}) from None
    connection.sales_order_integration_enabled = sales_order_integration_enabled
    connection.sales_order_mode = sales_order_mode
    connection.sales_order_processing_user = sales_order_processing_user if sales_order_integration_enabled else None
    connection.synchronization_interval_minutes = synchronization_interval_minutes
    connection.save(
        update_fields=[
            "sales_order_integration_enabled",
            "sales_order_mode",
            "sales_order_processing_user",
            "synchronization_interval_minutes",
            "modified_at",
        ]
    )
    return connection


# --- The assisted setup's progress -------------------------------------------------------------------


def _progress_for_update() -> SetupWizardProgress:
    progress, _ = SetupWizardProgress.objects.select_for_update().get_or_create(pk=SetupWizardProgress.SINGLETON_PK)
    return progress


@transaction.atomic
def wizard_step_complete(*, step: int) -> SetupWizardProgress:
    """Mark a step done and move on to the next one."""
    progress = _progress_for_update()
    if step not in progress.completed_steps:
        progress.completed_steps = sorted({*progress.completed_steps, step})
    progress.current_step = min(step + 1, SetupWizardProgress.Step.SUMMARY)
    progress.save()
    return progress


@transaction.atomic
def wizard_steps_done_elsewhere(*, steps: Iterable[int]) -> SetupWizardProgress:
    """Steps done outside the assisted setup (``crm_connect``): marked done; the setup resumes at the first
    step still open, never further back than it was."""
    progress = _progress_for_update()
    progress.completed_steps = sorted({*progress.completed_steps, *steps})
    progress.current_step = max(progress.current_step, progress.first_incomplete_step)
    progress.save(update_fields=["completed_steps", "current_step", "modified_at"])
    return progress


@transaction.atomic
def wizard_step_go_to(*, step: int) -> SetupWizardProgress:
    """Where the assisted setup resumes (Back, or a completed step chosen in the step indicator)."""
    progress = _progress_for_update()
    progress.current_step = min(step, progress.first_incomplete_step)
    progress.save(update_fields=["current_step", "modified_at"])
    return progress


@transaction.atomic
def wizard_steps_reopen(*, after: int) -> SetupWizardProgress:
    """Forget the steps after `after` (another CRM was chosen: its solution and features are to be set up)."""
    progress = _progress_for_update()
    progress.completed_steps = [step for step in progress.completed_steps if step <= after]
    progress.finished_at = None
    progress.save()
    return progress


@transaction.atomic
def wizard_synchronization_save(
    *, mappings: Iterable[IntegrationTableMapping], enabled_names: Iterable[str], full_synchronization: bool
) -> SetupWizardProgress:
    """Enable the chosen integration table mappings (and disable the others); remember the full synchronization."""
    enabled_names = set(enabled_names)
    for mapping in mappings:
        if mapping.is_enabled != (mapping.name in enabled_names):
            mapping_services.mapping_set_enabled(mapping=mapping, enabled=mapping.name in enabled_names)
    progress = _progress_for_update()
    progress.enabled_mappings = sorted(enabled_names)
    progress.full_synchronization_requested = full_synchronization and bool(enabled_names)
    progress.save(update_fields=["enabled_mappings", "full_synchronization_requested", "modified_at"])
    return progress


@transaction.atomic
def wizard_finish() -> SetupWizardProgress:
    progress = _progress_for_update()
    progress.finished_at = timezone.now()
    progress.completed_steps = sorted({*progress.completed_steps, SetupWizardProgress.Step.SUMMARY})
    progress.save()
    return progress


def wizard_full_synchronization_start(*, progress: SetupWizardProgress, user=None) -> FullSyncRun | None:
    """The full synchronization asked for in step 4, started once the connection is enabled (None if not asked).

    Raises what ``full_sync.full_sync_start`` raises: ValidationError (e.g. one is running already)
    or the CRM client's errors when Dynamics 365 cannot be asked what it holds.
    """
    if not progress.full_synchronization_requested:
        return None
    return full_sync.full_sync_start(user=user)

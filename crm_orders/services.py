"""Sales order integration: turning it on and off in Dynamics 365, and the jobs that carry the orders.

Turned on, Dynamics 365 runs "sales order processing integration" (``organization.issopintegrationenabled``):
salespeople submit orders, which are then read-only for everyone but an integration user, and the CRM no longer
prices them. The product's application user is put in integration user mode (``systemuser.isintegrationuser``)
so that it may write the ERP's numbers and progress on submitted orders.
"""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.dispatch import receiver
from django.utils import timezone

import dataverse
from crm_orders import fields, progress
from crm_orders.intake import SUBMITTED
from syncjobs import signals
from syncjobs.connection import clients
from syncjobs.models import CrmConnection, SyncJob
from syncjobs.runs import jobs

logger = logging.getLogger(__name__)

UNFINISHED = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING)


def _refused(error: dataverse.DataverseError, what: str) -> ValidationError:
    if isinstance(error, dataverse.Forbidden):
        return ValidationError(
            f"Dynamics 365 refused to {what}: the integration user lacks the privilege. Give it the System "
            "Administrator role for the setup, or have an administrator do it in Dynamics 365, then try again."
        )
    return ValidationError(f"Dynamics 365 refused to {what}: {error}")


def sales_order_processing_enable(*, client: dataverse.Client, connection: CrmConnection) -> None:
    """Turn on Dynamics 365's sales order processing, and put the integration user in integration user mode."""
    me = client.whoami()
    try:
        client.update("organizations", me.organization_id, {"issopintegrationenabled": True})
        client.update("systemusers", me.user_id, {"isintegrationuser": True})
    except dataverse.DataverseError as error:
        raise _refused(error, "turn on sales order processing") from error
    logger.info("Sales order processing turned on in Dynamics 365 (%s)", connection.server_url)


def submitted_order_numbers(*, client: dataverse.Client, limit: int = 3) -> list[str]:
    rows = client.query("salesorders", select=["ordernumber"], filter=dataverse.F.eq("statecode", SUBMITTED), top=limit)
    return [row.get("ordernumber") or "" for row in rows]


def refuse_while_submitted(*, client: dataverse.Client) -> None:
    """BC: "You cannot disable CRM sales order integration when a CRM sales order has the Submitted status.": they
    would wait for an ERP that no longer takes them."""
    waiting = submitted_order_numbers(client=client)
    if waiting:
        raise ValidationError(
            "You cannot turn off sales order integration while Dynamics 365 holds submitted orders "
            f"({', '.join(waiting)}{', …' if len(waiting) == 3 else ''}): create them in the ERP, or cancel them "
            "in Dynamics 365, first."
        )


def sales_order_processing_disable(*, client: dataverse.Client, connection: CrmConnection) -> None:
    me = client.whoami()
    try:
        client.update("organizations", me.organization_id, {"issopintegrationenabled": False})
    except dataverse.DataverseError as error:
        raise _refused(error, "turn off sales order processing") from error
    logger.info("Sales order processing turned off in Dynamics 365 (%s)", connection.server_url)


def sales_order_integration_switch(*, connection: CrmConnection, enabled: bool, mode: str) -> None:
    """What changing the setup's sales order choices does in Dynamics 365 (nothing yet while the connection is off:
    enabling the connection does it then). Turning the integration off is refused while orders are submitted;
    sales order processing is on in the one-way mode only."""
    if not connection.is_enabled:
        return
    was_processing = connection.sales_order_processing_in_crm
    will_process = enabled and mode == CrmConnection.SalesOrderMode.ONE_WAY
    turning_off = connection.sales_order_integration_enabled and not enabled
    if not turning_off and was_processing == will_process:
        return
    with clients.crm_client(connection=connection) as client:
        if turning_off:
            refuse_while_submitted(client=client)
        if will_process and not was_processing:
            sales_order_processing_enable(client=client, connection=connection)
        elif was_processing and not will_process:
            sales_order_processing_disable(client=client, connection=connection)


@receiver(signals.connection_enabling, dispatch_uid="crm_orders_connection_enabling")
def _connection_enabling(sender, connection: CrmConnection, **kwargs) -> None:
    if connection.sales_order_processing_in_crm:
        with clients.crm_client(connection=connection) as client:
            sales_order_processing_enable(client=client, connection=connection)


# --- Jobs --------------------------------------------------------------------------------------------------


def order_intake_job_create(*, crm_ids: list[str] | None = None, user=None, enqueue: bool = True) -> SyncJob:
    """A job creating ERP orders from the submitted ones (all, or ``crm_ids``)."""
    connection = CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK).first()
    if connection is None or not connection.is_enabled:
        raise ValidationError("The connection to Dynamics 365 is disabled: enable it first.")
    if not connection.sales_order_integration_enabled:
        raise ValidationError("Sales order integration is off: turn it on in the assisted setup first.")
    parameters = {"crm_ids": sorted(str(crm_id) for crm_id in crm_ids)} if crm_ids else {}
    return jobs.job_create(
        mapping=None,
        kind=SyncJob.Kind.ORDER_INTAKE,
        direction=SyncJob.JobDirection.FROM_CRM,
        parameters=parameters,
        user=user,
        enqueue=enqueue,
    )


def order_progress_job_create(*, user=None, enqueue: bool = True) -> SyncJob:
    return jobs.job_create(
        mapping=None,
        kind=SyncJob.Kind.ORDER_PROGRESS,
        direction=SyncJob.JobDirection.TO_CRM,
        user=user,
        enqueue=enqueue,
    )


def _unfinished(kind: str) -> bool:
    return SyncJob.objects.filter(kind=kind, status__in=UNFINISHED).exists()


def _last_finished(kind: str) -> datetime.datetime | None:
    return SyncJob.objects.filter(kind=kind).aggregate(last=Max("finished_at"))["last"]


def _integration_on() -> CrmConnection | None:
    connection = CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK).first()
    if connection is None or not connection.is_enabled or not connection.sales_order_integration_enabled:
        return None
    return connection


def order_jobs_now(*, user=None) -> list[SyncJob]:
    """For "synchronize everything now" (crm_sync run --all, the pages): with sales order integration on, ERP orders
    from the submitted ones, then the orders' progress when some waits; created, not queued."""
    if _integration_on() is None:
        return []
    created = [order_intake_job_create(user=user, enqueue=False)]
    if progress.pending_exists():
        created.append(order_progress_job_create(user=user, enqueue=False))
    return created


def order_jobs_due(*, now: datetime.datetime | None = None) -> list[SyncJob]:
    """For the scheduler (syncjobs.runs.scheduling): the order jobs due now, created and not queued. Intake every
    ``sales_order_interval_minutes`` when automatic; progress whenever some is waiting to be sent."""
    now = now or timezone.now()
    connection = _integration_on()
    if connection is None:
        return []
    due = []
    if connection.auto_create_sales_orders and not _unfinished(SyncJob.Kind.ORDER_INTAKE):
        last = _last_finished(SyncJob.Kind.ORDER_INTAKE)
        if last is None or last + datetime.timedelta(minutes=connection.sales_order_interval_minutes) <= now:
            due.append(order_intake_job_create(enqueue=False))
    if progress.pending_exists() and not _unfinished(SyncJob.Kind.ORDER_PROGRESS):
        due.append(order_progress_job_create(enqueue=False))
    return due


def copied_fields_save(*, left_out: list[str]) -> None:
    """Which values of a Dynamics 365 order the ERP leaves out (crm_orders.fields keys)."""
    unknown = set(left_out) - set(fields.ALL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown order values: {', '.join(sorted(unknown))}.")
    CrmConnection.objects.filter(pk=CrmConnection.SINGLETON_PK).update(sales_order_fields_left_out=sorted(left_out))

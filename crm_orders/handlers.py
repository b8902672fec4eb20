"""The order intake job's handler: the submitted orders page by page (intake), then, both ways, the changes made
in Dynamics 365 to orders already taken over (both_ways). Apart from both, so that neither imports the other back."""

from __future__ import annotations

import logging

from django.utils import timezone

from crm_orders import both_ways, fields
from crm_orders.intake import IntakeRun, orders_page_take_over, submitted_orders_query, taken_over_tell_crm
from erp import selectors as erp_selectors
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.models import SyncJob
from syncjobs.runs.report import JobCannotRun, Report

logger = logging.getLogger(__name__)


def run_order_intake(*, job: SyncJob, report: Report) -> None:
    """The job handler: every submitted order not yet in the ERP (or ``parameters["crm_ids"]`` of them)."""
    connection = connection_selectors.crm_connection_get()
    if not connection.sales_order_integration_enabled:
        raise JobCannotRun("Sales order integration is off: turn it on in the assisted setup first.")
    user = connection.sales_order_processing_user
    if user is not None and not user.has_perm("erp.add_salesheader"):
        raise JobCannotRun(
            f"The user {user.get_username()} chosen to process the orders from Dynamics 365 may not create sales "
            "orders: give the user that permission or choose another user in the setup."
        )
    run = IntakeRun(
        job=job,
        report=report,
        user=user,
        setup=erp_selectors.sales_setup(),
        both_ways=connection.sales_orders_both_ways,
        copied=fields.copied(connection),
    )
    today = timezone.localdate()
    with clients.crm_client(connection=connection) as client:
        before = client.stats.total
        for rows in submitted_orders_query(client, crm_ids=job.parameters.get("crm_ids")).pages():
            run.taken_over = []
            orders_page_take_over(run, client, rows)
            taken_over_tell_crm(client, run.taken_over, on=today, keep_versions=run.both_ways)
            report.progress(http_requests=client.stats.total - before)
            before = client.stats.total
        if run.both_ways and not job.parameters.get("crm_ids"):
            both_ways.crm_changes_take(run, client, since=both_ways.changes_since(job))
            report.progress(http_requests=client.stats.total - before)
    logger.info("Sales orders from Dynamics 365: job %s done", job.pk)

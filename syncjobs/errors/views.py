"""The synchronization errors page: what fails now (or every error, ?show=all) and its actions (retry, couple by
match and retry, restore deleted counterpart, decouple, delete). Needs ``syncjobs.view_syncjob``; the actions
``change_syncjob`` or ``delete_syncjob``.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from nav_crm.ui import BulkAction, BulkResult, per_record
from nav_crm.ui.views import ObjectListView
from syncjobs import permissions
from syncjobs.connection import clients
from syncjobs.connection import selectors as connection_selectors
from syncjobs.connection.clients import CRM_ERRORS, crm_problem
from syncjobs.errors import filters, restore, selectors, tables
from syncjobs.errors import services as error_services
from syncjobs.models import SyncJob, SyncJobError
from syncjobs.runs.run_now_views import jobs_progress_url

# --- The actions ----------------------------------------------------------------------------------------


def _jobs_started(request: HttpRequest, jobs: list[SyncJob], *, one: str, several: str) -> None:
    """Says which jobs an action started and links their live progress: they run in the background, so a fixed
    row leaves this page once its job has finished, not on the page the action answers with."""
    if not jobs:
        return
    links = format_html_join(", ", '<a href="{}">#{}</a>', ((job.get_absolute_url(), job.pk) for job in jobs))
    messages.info(
        request,
        format_html(
            '{} {} {}. <a href="{}">Follow their progress</a>: the rows they fix leave this page once they finish.',
            "Job" if len(jobs) == 1 else "Jobs",
            links,
            one if len(jobs) == 1 else several,
            jobs_progress_url(jobs),
        ),
    )


def _retry(*, request: HttpRequest, queryset) -> BulkResult:
    chosen = list(queryset)  # read before the retry: a record that then synchronizes no longer fails now
    queryset = SyncJobError.objects.filter(pk__in=[error.pk for error in chosen])
    created, refused = error_services.job_errors_retry(errors=queryset, user=request.user)
    refused_pks = {error.pk for error, _ in refused}
    _jobs_started(request, created, one="synchronizes the records again", several="synchronize the records again")
    return BulkResult(done=[error for error in chosen if error.pk not in refused_pks], failed=refused)


def _restore(*, request: HttpRequest, queryset) -> BulkResult:
    try:
        outcome = restore.job_errors_restore(errors=queryset, user=request.user)
    except CRM_ERRORS as error:
        messages.error(request, f"Nothing was restored: {crm_problem(error)}")
        return BulkResult()
    _jobs_started(request, outcome.jobs, one="recreates the deleted records", several="recreate the deleted records")
    if outcome.referring:
        messages.info(
            request,
            f"{outcome.referring} record{'s' if outcome.referring != 1 else ''} referring to them "
            "(e.g. a customer's contacts) will point to the recreated rows after their mapping's next run.",
        )
    return BulkResult(done=outcome.restored, failed=outcome.refused)


def _couple_and_retry(*, request: HttpRequest, queryset) -> BulkResult:
    """Match-based coupling of the records the failed ones refer to and that are not coupled, then the retry."""
    chosen = list(queryset)
    created, refused = error_services.job_errors_couple_parents_and_retry(
        errors=SyncJobError.objects.filter(pk__in=[error.pk for error in chosen]), user=request.user
    )
    _jobs_started(
        request,
        created,
        one="couples the records they refer to, then synchronizes them again",
        several="couple the records they refer to, then synchronize them again",
    )
    refused_pks = {error.pk for error, _ in refused}
    return BulkResult(done=[error for error in chosen if error.pk not in refused_pks], failed=refused)


def _decouple(error: SyncJobError) -> None:
    if not error_services.job_error_decouple(error=error):
        raise ValidationError("The record is not coupled.")


def _delete(*, request: HttpRequest, queryset) -> BulkResult:
    errors = list(queryset)
    error_services.job_errors_delete(errors=queryset)
    return BulkResult(done=errors)


RETRY = BulkAction(
    name="retry",
    label="Retry",
    permission=permissions.CHANGE_JOBS,
    handler=_retry,
    done_verb="retried",
    icon="arrow-repeat",
    style="outline-primary",
)
RESTORE = BulkAction(
    name="restore",
    label="Restore deleted counterpart",
    permission=permissions.CHANGE_JOBS,
    handler=_restore,
    done_verb="restored",
    icon="arrow-counterclockwise",
    style="outline-primary",
)
COUPLE_AND_RETRY = BulkAction(
    name="couple_and_retry",
    label="Couple by match and retry",
    permission=permissions.CHANGE_JOBS,
    handler=_couple_and_retry,
    done_verb="coupled by match and retried",
    icon="link",
    style="outline-primary",
)
DECOUPLE = BulkAction(
    name="decouple",
    label="Decouple",
    permission=permissions.CHANGE_JOBS,
    handler=per_record(_decouple),
    done_verb="decoupled",
    icon="link-45deg",
    confirm="Decouple the records of these errors from their Dynamics 365 rows?",
)
DELETE = BulkAction(
    name="delete",
    label="Delete",
    permission=permissions.DELETE_JOBS,
    handler=_delete,
    done_verb="deleted",
    icon="trash",
    style="outline-danger",
    confirm="Delete these error entries? The records and their couplings stay as they are.",
)


class ErrorListView(ObjectListView):
    model = SyncJobError
    url_base = "syncjobs:error"
    table_class = tables.ErrorTable
    filterset_class = filters.ErrorFilterSet
    search_fields = ("message", "erp_label", "job__mapping_name")
    bulk_actions = (RETRY, COUPLE_AND_RETRY, RESTORE, DECOUPLE, DELETE)
    extensible = False
    template_name = "syncjobs/error_list.html"
    title = "Synchronization errors"
    # Asking Dynamics 365 which rows of a page exist must not hold the page up for long.
    crm_check_timeout_seconds = 10.0

    def get_permission_required(self):
        return (permissions.VIEW_JOBS,)

    def get_queryset(self):
        if self.showing_history:
            return selectors.sync_errors()
        return selectors.current_sync_errors()

    @property
    def showing_history(self) -> bool:
        """Every error row of every job (the log's history), instead of what is wrong now."""
        return self.request.GET.get("show") == "all"

    def get_table(self, queryset, *, selectable):
        table = super().get_table(queryset, selectable=selectable)
        table.crm_server_url = connection_selectors.crm_connection_get().server_url
        if self.showing_history:
            table.columns.hide("since")
            table.columns.hide("times")
        self.restore_problem = ""
        if self.request.user.has_perm(RESTORE.permission):
            table.restore_plans = self.restore_plans([row.record for row in table.page.object_list])
        if not any(plan.applies for plan in table.restore_plans.values()):
            table.columns.hide("restore")
        self.table_shown = table
        return table

    def restore_plans(self, errors: list[SyncJobError]) -> dict[int, selectors.ErrorRestorePlan]:
        """Where "Restore deleted counterpart" applies on this page; nothing when Dynamics 365 cannot say."""
        if not errors:
            return {}
        try:
            with clients.crm_client(timeout=self.crm_check_timeout_seconds, max_retries=1) as client:
                return selectors.error_restore_plans(errors=errors, client=client)
        except clients.CrmNotConfigured:
            return {}  # nothing is synchronized yet: there is nothing to say about counterparts
        except CRM_ERRORS as error:
            self.restore_problem = crm_problem(error)
            return {}

    def get_extra_context(self) -> dict:
        restore_offered = any(plan.applies for plan in self.table_shown.restore_plans.values())
        actions = self.permitted_bulk_actions()
        if not restore_offered:
            actions = [action for action in actions if action is not RESTORE]
        return {
            "bulk_actions": actions,
            "restore_offered": restore_offered,
            "restore_problem": self.restore_problem,
            "showing_history": self.showing_history,
        }

    def verbose_name(self, count: int) -> str:
        return "error" if count == 1 else "errors"

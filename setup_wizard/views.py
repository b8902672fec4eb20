"""The connection setup page (sync administrators) and the web service access key page (every user)."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from nav_crm.ui.views import apply_validation_error
from setup_wizard import forms, selectors, services
from syncjobs import constants, permissions
from syncjobs.connection import checks
from syncjobs.connection import selectors as connection_selectors
from syncjobs.connection import services as syncjobs_services

manage_connection_required = permission_required(permissions.MANAGE_CONNECTION, raise_exception=True)


def _check_results(connection) -> list[checks.CheckResult]:
    return [checks.CheckResult.from_dict(data) for data in connection.last_test_results]


@manage_connection_required
@require_http_methods(["GET", "POST"])
def crm_connection(request):
    connection = connection_selectors.crm_connection_get()
    form = forms.CrmConnectionForm(request.POST or None, connection=connection)
    if request.method == "POST" and form.is_valid():
        try:
            syncjobs_services.connection_save(**form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Connection saved. Test it, then enable it.")
            return redirect("setup_wizard:crm_connection")
    context = {
        "connection": connection,
        "form": form,
        "checks": _check_results(connection),
        "import_form": forms.SolutionImportForm(),
        "integration_roles": constants.INTEGRATION_ROLES,
        "solution_installed": any(
            check["key"] == "solution" and check["status"] == checks.CheckStatus.PASSED
            for check in connection.last_test_results
        ),
        "solution_name": constants.INTEGRATION_SOLUTION_NAME,
        "solution_version": constants.INTEGRATION_SOLUTION_VERSION,
        "title": "Dynamics 365 Sales connection",
    }
    return render(request, "setup_wizard/crm_connection.html", context)


@manage_connection_required
@require_POST
def crm_connection_test(request):
    connection = connection_selectors.crm_connection_get()
    if not connection.is_saved:
        messages.error(request, "Save the connection before testing it.")
        return redirect("setup_wizard:crm_connection")
    results = syncjobs_services.connection_test(connection=connection)
    failed = [result for result in results if result.status == checks.CheckStatus.FAILED]
    if failed:
        messages.error(request, f"The connection test failed: {failed[0].message}")
    else:
        messages.success(request, "Every check passed.")
    return redirect("setup_wizard:crm_connection")


@manage_connection_required
@sensitive_post_parameters("admin_password")
@require_POST
def crm_connection_import_solution(request):
    """Import solution: a CRM administrator's sign-in, used for this import only and never kept."""
    connection = connection_selectors.crm_connection_get()
    form = forms.SolutionImportForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a CRM administrator's user name and password to import the solution.")
        return redirect("setup_wizard:crm_connection")
    try:
        result = services.solution_import(
            connection=connection,
            admin_username=form.cleaned_data["admin_username"],
            admin_password=form.cleaned_data["admin_password"],
        )
    except ValidationError as error:
        messages.error(request, f"The solution was not imported: {' '.join(error.messages)}")
    else:
        syncjobs_services.connection_test(connection=connection)
        messages.success(
            request,
            f"The solution {constants.INTEGRATION_SOLUTION_NAME} {constants.INTEGRATION_SOLUTION_VERSION} is imported "
            f"and {result.integration_user_name} holds the roles {', '.join(constants.INTEGRATION_ROLES)}.",
        )
    return redirect("setup_wizard:crm_connection")


@manage_connection_required
@require_POST
def crm_connection_enable(request):
    connection = connection_selectors.crm_connection_get()
    try:
        syncjobs_services.connection_enable(connection=connection)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The connection is enabled.")
    return redirect("setup_wizard:crm_connection")


@manage_connection_required
@require_POST
def crm_connection_disable(request):
    syncjobs_services.connection_disable(connection=connection_selectors.crm_connection_get())
    messages.success(request, "The connection is disabled; synchronization stops until it is enabled again.")
    return redirect("setup_wizard:crm_connection")


def _end_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))


@never_cache
@require_http_methods(["GET", "POST"])
def access_key(request):
    """The logged-in user's own web service access key: generate or change it (shown once), or remove it."""
    form = forms.AccessKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and request.POST.get("action") == "remove":
        services.access_key_delete(user=request.user)
        messages.success(request, "Your web service access key was removed; it no longer works.")
        return redirect("setup_wizard:access_key")
    if request.method == "POST" and form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        try:
            _, new_key = services.access_key_generate(
                user=request.user, expires_at=_end_of_day(expires_on) if expires_on else None
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            form = forms.AccessKeyForm()
    context = {
        "form": form,
        "key_record": selectors.access_key_of(user=request.user),
        "new_key": new_key,
        "title": "Web service access key",
    }
    return render(request, "setup_wizard/access_key.html", context)

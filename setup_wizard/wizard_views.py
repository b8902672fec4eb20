"""The assisted setup: five steps with a step indicator, Back and Next, resumable from the database.

1 connection → 2 integration solution → 3 features → 4 what to synchronize → 5 summary and enable.
A step opens only when the steps before it are done; each validates before moving on. The CRM
administrator's credentials of step 2 are used for one import and dropped: they never reach the
session, the database, a message or a log.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from nav_crm.ui.views import apply_validation_error
from setup_wizard import forms, selectors, services
from setup_wizard.models import SetupWizardProgress
from setup_wizard.solution import definition
from setup_wizard.views import manage_connection_required
from syncjobs import constants
from syncjobs.connection import checks
from syncjobs.connection import selectors as connection_selectors
from syncjobs.connection import services as syncjobs_services
from syncjobs.connection.clients import CRM_ERRORS, crm_problem
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.models import CrmConnection

Step = SetupWizardProgress.Step
SLUGS = {
    Step.CONNECTION: "connection",
    Step.SOLUTION: "solution",
    Step.FEATURES: "features",
    Step.SYNCHRONIZATION: "synchronization",
    Step.SUMMARY: "summary",
}
STEPS_BY_SLUG = {slug: step for step, slug in SLUGS.items()}
# Step 1 needs these checks to pass; the others are what step 2 (the solution and its roles) sets up.
CONNECTION_CHECKS = ("server", "token", "whoami")
SOLUTION_CHECKS = ("integration_roles", "solution")
ODATA_ROOT_PATH = "/odata/v4/"


def step_url(step: int) -> str:
    return reverse("setup_wizard:wizard_step", args=[SLUGS[step]])


def _checks(connection: CrmConnection) -> list[checks.CheckResult]:
    return [checks.CheckResult.from_dict(data) for data in connection.last_test_results]


def _passed(connection: CrmConnection, keys) -> bool:
    statuses = {check.key: check.passed for check in _checks(connection)}
    return all(statuses.get(key) for key in keys)


def _indicator(progress: SetupWizardProgress, current: int, connection: CrmConnection) -> list[dict]:
    reachable_until = progress.first_incomplete_step
    return [
        {
            "number": step.value,
            "title": step.label,
            "url": step_url(step),
            # Step 5 is done once the connection is enabled, here or on the connection page.
            "done": progress.is_completed(step) or (step == Step.SUMMARY and connection.is_enabled),
            "current": step == current,
            "reachable": step <= reachable_until,
        }
        for step in Step
    ]


def _render(request, step: int, progress: SetupWizardProgress, connection: CrmConnection, **context):
    demo = selectors.demo_crm_info()
    context.update(
        step=step,
        step_title=Step(step).label,
        steps=_indicator(progress, step, connection),
        progress=progress,
        connection=connection,
        demo=demo
        if demo and (not connection.server_url or selectors.crm_is_demo_sandbox(server_url=connection.server_url))
        else None,
        previous_url=step_url(step - 1) if step > Step.CONNECTION else None,
        title="Assisted setup: Dynamics 365 Sales",
    )
    return render(request, f"setup_wizard/wizard/step_{SLUGS[step]}.html", context)


@manage_connection_required
@require_GET
def wizard_resume(request):
    """Back where the administrator left off."""
    progress = selectors.wizard_progress_get()
    return redirect(step_url(min(progress.current_step, progress.first_incomplete_step)))


@manage_connection_required
@sensitive_post_parameters("admin_password", "client_secret", "certificate_private_key_pem")
@never_cache
@require_http_methods(["GET", "POST"])
def wizard_step(request, slug: str):
    step = STEPS_BY_SLUG.get(slug)
    if step is None:
        raise Http404("No such step.")
    progress = selectors.wizard_progress_get()
    if step > progress.first_incomplete_step:
        missing = Step(progress.first_incomplete_step)
        messages.info(request, f"Finish step {missing.value}, {missing.label}, first.")
        return redirect(step_url(missing))
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action == "back" and step > Step.CONNECTION:
        services.wizard_step_go_to(step=step - 1)
        return redirect(step_url(step - 1))
    connection = connection_selectors.crm_connection_get()
    return STEP_VIEWS[step](request, action, progress, connection)


# --- Step 1: connection -----------------------------------------------------------------------------


def _connection_step(request, action, progress, connection):
    # In the demo, a connection not saved yet starts from the sandbox's details.
    demo = selectors.demo_crm_info()
    prefill = {}
    if not connection.is_saved and demo:
        prefill["initial"] = {
            "server_url": demo["url"],
            "authority_url": demo["authority"],
            "auth_type": CrmConnection.AuthType.CLIENT_SECRET,
            "client_id": demo["client_id"],
            "ca_bundle_pem": demo["ca_bundle_pem"],
        }
    form = forms.CrmConnectionForm(request.POST if action == "test" else None, connection=connection, **prefill)
    if action == "test":
        if connection.is_enabled:
            syncjobs_services.connection_test(connection=connection)
            return redirect(step_url(Step.CONNECTION))
        if form.is_valid():
            identity = (connection.server_url, connection.client_id, connection.authority_url)
            try:
                saved = syncjobs_services.connection_save(**form.cleaned_data)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                if (saved.server_url, saved.client_id, saved.authority_url) != identity:
                    # Another CRM or app: its solution, roles and features are still to be set up.
                    services.wizard_steps_reopen(after=0)
                syncjobs_services.connection_test(connection=saved)
                return redirect(step_url(Step.CONNECTION))
    elif action == "next":
        if _passed(connection, CONNECTION_CHECKS):
            services.wizard_step_complete(step=Step.CONNECTION)
            return redirect(step_url(Step.SOLUTION))
        messages.error(
            request,
            "Save and test the connection first: the server, the access token and WhoAmI checks must pass.",
        )
        return redirect(step_url(Step.CONNECTION))
    checks = _checks(connection)
    return _render(
        request,
        Step.CONNECTION,
        progress,
        connection,
        form=form,
        checks=checks,
        later_checks={"integration_user", "integration_roles", "solution", "currency"},
        connection_ready=bool(checks) and _passed(connection, CONNECTION_CHECKS),
    )


# --- Step 2: the integration solution ----------------------------------------------------------------


def _solution_step(request, action, progress, connection):
    demo = selectors.demo_crm_info()
    initial = {"admin_username": demo["admin_user"]} if demo else None
    form = forms.SolutionImportForm(request.POST if action == "import" else None, initial=initial)
    if action == "import" and form.is_valid():
        try:
            result = services.solution_import(
                connection=connection,
                admin_username=form.cleaned_data["admin_username"],
                admin_password=form.cleaned_data["admin_password"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            syncjobs_services.connection_test(connection=connection)
            services.wizard_step_complete(step=Step.SOLUTION)
            messages.success(
                request,
                f"The solution {constants.INTEGRATION_SOLUTION_NAME} {constants.INTEGRATION_SOLUTION_VERSION} is "
                f"imported and {result.integration_user_name} holds the roles "
                f"{', '.join(constants.INTEGRATION_ROLES)}. The administrator's sign-in was not kept.",
            )
            return redirect(step_url(Step.FEATURES))
    elif action == "next":
        if _passed(connection, SOLUTION_CHECKS):
            services.wizard_step_complete(step=Step.SOLUTION)
            return redirect(step_url(Step.FEATURES))
        messages.error(request, "Import the integration solution first (it also gives the integration user its roles).")
        return redirect(step_url(Step.SOLUTION))
    return _render(
        request,
        Step.SOLUTION,
        progress,
        connection,
        form=form,
        solution_name=constants.INTEGRATION_SOLUTION_NAME,
        solution_version=constants.INTEGRATION_SOLUTION_VERSION,
        roles=constants.INTEGRATION_ROLES,
        import_roles=services.SOLUTION_IMPORT_ROLES,
        entity=definition.CONNECTION,
        solution_ready=_passed(connection, SOLUTION_CHECKS),
    )


# --- Step 3: features -------------------------------------------------------------------------------


def _features_step(request, action, progress, connection):
    initial = {
        "item_availability_enabled": connection.item_availability_user_id is not None
        or not progress.is_completed(Step.FEATURES),
        "item_availability_user": connection.item_availability_user_id,
        "odata_url": progress.item_availability_odata_url or request.build_absolute_uri(ODATA_ROOT_PATH),
        "sales_order_integration_enabled": connection.sales_order_integration_enabled,
        "sales_order_mode": connection.sales_order_mode,
        "sales_order_processing_user": connection.sales_order_processing_user_id,
        "synchronization_interval_minutes": connection.synchronization_interval_minutes,
    }
    form = forms.FeaturesForm(request.POST if action == "next" else None, initial=initial)
    if action == "next" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["item_availability_enabled"]:
                user = data["item_availability_user"] or services.item_availability_user_create()
                services.item_availability_enable(connection=connection, user=user, odata_url=data["odata_url"])
            else:
                services.item_availability_disable(connection=connection)
            services.connection_features_save(
                connection=connection,
                sales_order_integration_enabled=data["sales_order_integration_enabled"],
                sales_order_processing_user=data["sales_order_processing_user"],
                sales_order_mode=data["sales_order_mode"],
                synchronization_interval_minutes=data["synchronization_interval_minutes"],
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            services.wizard_step_complete(step=Step.FEATURES)
            if data["item_availability_enabled"]:
                messages.success(
                    request,
                    f"The CRM now reads item availability as {connection.item_availability_user.get_username()} "
                    "with a new web service access key.",
                )
            return redirect(step_url(Step.SYNCHRONIZATION))
    return _render(request, Step.FEATURES, progress, connection, form=form)


# --- Step 4: what to synchronize ----------------------------------------------------------------------


def _synchronization_step(request, action, progress, connection):
    mappings = mapping_selectors.integration_mappings()
    initial = {
        "mappings": [mapping.name for mapping in mappings if mapping.is_enabled],
        "full_synchronization": progress.full_synchronization_requested,
    }
    form = forms.SynchronizationForm(request.POST if action == "next" else None, mappings=mappings, initial=initial)
    if action == "next" and form.is_valid():
        services.wizard_synchronization_save(
            mappings=mappings,
            enabled_names=form.cleaned_data["mappings"],
            full_synchronization=form.cleaned_data["full_synchronization"],
        )
        services.wizard_step_complete(step=Step.SYNCHRONIZATION)
        return redirect(step_url(Step.SUMMARY))
    return _render(request, Step.SYNCHRONIZATION, progress, connection, form=form, mappings=mappings)


# --- Step 5: summary ------------------------------------------------------------------------------------


def _summary_step(request, action, progress, connection):
    if action == "test":
        syncjobs_services.connection_test(connection=connection)
        return redirect(step_url(Step.SUMMARY))
    if action == "enable":
        try:
            syncjobs_services.connection_enable(connection=connection)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            progress = services.wizard_finish()
            messages.success(request, "The connection is enabled. The setup is finished.")
            _start_requested_full_synchronization(request, progress)
        return redirect(step_url(Step.SUMMARY))
    sandbox_links = []
    if selectors.crm_is_demo_sandbox(server_url=connection.server_url):
        root = connection.server_url.rstrip("/")
        sandbox_links = [
            (
                f"{root}/sets/products/",
                "The CRM sandbox's products: each product's page shows its availability from the ERP",
            ),
            (f"{root}/sets/{definition.CONNECTION_ENTITY_SET}/", "The CRM sandbox's ERP connection record"),
        ]
    return _render(
        request,
        Step.SUMMARY,
        progress,
        connection,
        checks=_checks(connection),
        enabled_mappings=[m.title for m in mapping_selectors.integration_mappings() if m.is_enabled],
        sandbox_links=sandbox_links,
        solution_name=constants.INTEGRATION_SOLUTION_NAME,
        solution_version=constants.INTEGRATION_SOLUTION_VERSION,
    )


def _start_requested_full_synchronization(request, progress: SetupWizardProgress) -> None:
    try:
        run = services.wizard_full_synchronization_start(progress=progress, user=request.user)
    except ValidationError as error:
        problem = " ".join(error.messages)
    except CRM_ERRORS as error:
        problem = crm_problem(error)
    else:
        if run is not None:
            messages.info(
                request,
                format_html(
                    'The full synchronization you asked for runs in the background: <a href="{}">follow it here</a>.',
                    reverse("syncjobs:full_sync"),
                ),
            )
        return
    messages.warning(
        request,
        format_html(
            'The full synchronization did not start: {} Start it from the <a href="{}">full synchronization page</a>.',
            problem,
            reverse("syncjobs:full_sync"),
        ),
    )


STEP_VIEWS = {
    Step.CONNECTION: _connection_step,
    Step.SOLUTION: _solution_step,
    Step.FEATURES: _features_step,
    Step.SYNCHRONIZATION: _synchronization_step,
    Step.SUMMARY: _summary_step,
}

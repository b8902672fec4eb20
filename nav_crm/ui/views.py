"""Generic list, detail, edit and delete pages.

Subclasses declare what differs (model, table, filterset, search fields, bulk actions, form)
and the ``url_base`` of their URL names: ``<url_base>_list``, ``_detail``, ``_create``,
``_edit`` and ``_delete``. Every page needs the model permission that fits it (view, add,
change, delete); a logged-in user without it gets 403, an anonymous one the login page.
"""

import copy
from dataclasses import dataclass

import django_filters
import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.views import View

from nav_crm.ui import columns
from nav_crm.ui.bulk import BulkAction, BulkResult
from nav_crm.ui.detail import BoundDetailAction, DetailAction
from nav_crm.ui.filters import filterset_with, search_queryset, yes_no_any_filters
from nav_crm.ui.permissions import may_view
from nav_crm.ui.registry import DetailExtensions, ListExtensions, detail_extensions_for, extensions_for

# A bulk action that fails on many records reports the first ones by name, then a count.
MAX_FAILURES_REPORTED = 20
# Kept for the integration, not for people: a detail page that lists every field leaves them out.
HIDDEN_FIELDS = ("system_id",)


def permission_name(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class ObjectPermissionMixin(PermissionRequiredMixin):
    """Requires ``<app>.<permission_action>_<model>``: 403 when logged in, login page otherwise."""

    model: type[models.Model] | None = None
    permission_action = "view"
    url_base = ""

    def get_permission_required(self):
        return (permission_name(self.model, self.permission_action),)

    def url_for(self, page: str, *args) -> str | None:
        """The URL of one of this model's pages, or None when it does not have that page."""
        try:
            return reverse(f"{self.url_base}_{page}", args=args)
        except NoReverseMatch:
            return None

    def page_url_if_permitted(self, page: str, action: str, *args) -> str | None:
        if not self.request.user.has_perm(permission_name(self.model, action)):
            return None
        return self.url_for(page, *args)


def apply_validation_error(form: ModelForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_errors in error.message_dict.items():
        target = field if field in form.fields else None
        if field not in form.fields and field != NON_FIELD_ERRORS:
            field_errors = [f"{capfirst(field.replace('_', ' '))}: {message}" for message in field_errors]
        form.add_error(target, field_errors)


class ObjectListView(ObjectPermissionMixin, View):
    table_class: type[tables.Table]
    filterset_class: type[django_filters.FilterSet] | None = None
    search_fields: tuple[str, ...] = ()
    bulk_actions: tuple[BulkAction, ...] = ()
    # Whether other apps' registered columns, filters and bulk actions for the model apply here.
    extensible = True
    page_sizes = (25, 50, 100, 250)
    template_name = "ui/object_list.html"
    title = ""

    # --- what the list shows ---------------------------------------------------------------
    @property
    def extensions(self) -> ListExtensions:
        return extensions_for(self.model) if self.extensible else ListExtensions()

    def get_queryset(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def annotated_queryset(self) -> models.QuerySet:
        queryset = self.get_queryset()
        for annotate in self.extensions.annotations:
            queryset = annotate(queryset)
        return queryset

    def get_filterset(self) -> django_filters.FilterSet | None:
        if self.filterset_class is None:
            return None
        filterset_class = filterset_with(self.filterset_class, self.extensions.filters)
        filterset = filterset_class(self.request.GET, queryset=self.annotated_queryset(), request=self.request)
        return yes_no_any_filters(filterset)

    def search_text(self) -> str:
        return self.request.GET.get("q", "").strip()

    def matching_queryset(self, filterset: django_filters.FilterSet | None) -> models.QuerySet:
        """The records that the current search and filters (from the query string) select."""
        queryset = filterset.qs if filterset is not None else self.annotated_queryset()
        return search_queryset(queryset, self.search_fields, self.search_text())

    def all_bulk_actions(self) -> list[BulkAction]:
        actions = list(self.bulk_actions)
        declared = {action.name for action in actions}
        for action in self.extensions.bulk_actions:
            if action.name in declared:
                raise ImproperlyConfigured(f"Bulk action {action.name!r} is declared twice on {type(self).__name__}.")
            actions.append(action)
        return actions

    def permitted_bulk_actions(self) -> list[BulkAction]:
        return [action for action in self.all_bulk_actions() if self.request.user.has_perm(action.permission)]

    def per_page(self) -> int:
        try:
            requested = int(self.request.GET.get("per_page", ""))
        except ValueError:
            return self.page_sizes[0]
        return requested if requested in self.page_sizes else self.page_sizes[0]

    def new_table(self, queryset: models.QuerySet, *, selectable: bool) -> tables.Table:
        extra_columns = [(name, copy.deepcopy(column)) for name, column in self.extensions.columns]
        return self.table_class(
            queryset, extra_columns=extra_columns, exclude=() if selectable else ("pk",), request=self.request
        )

    def get_table(self, queryset: models.QuerySet, *, selectable: bool) -> tables.Table:
        table = self.new_table(queryset, selectable=selectable)
        order_by = self.request.GET.getlist(table.prefixed_order_by_field)
        if order_by:
            table.order_by = order_by
        try:
            table.paginate(page=self.request.GET.get(table.prefixed_page_field, 1), per_page=self.per_page())
        except PageNotAnInteger:
            table.paginate(page=1, per_page=self.per_page())
        except EmptyPage:
            table.paginate(page=table.paginator.num_pages, per_page=self.per_page())
        return table

    def get_title(self) -> str:
        return self.title or capfirst(self.model._meta.verbose_name_plural)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        filterset = self.get_filterset()
        actions = self.permitted_bulk_actions()
        table = self.get_table(self.matching_queryset(filterset), selectable=bool(actions))
        context = {
            "view": self,
            "title": self.get_title(),
            "table": table,
            "filterset": filterset,
            "filters_active": bool(filterset is not None and filterset.form.changed_data),
            "q": self.search_text(),
            "searchable": bool(self.search_fields),
            "bulk_actions": actions,
            "page_sizes": self.page_sizes,
            "per_page": self.per_page(),
            "create_url": self.page_url_if_permitted("create", "add"),
            "verbose_name_plural": self.model._meta.verbose_name_plural,
        }
        context.update(self.get_extra_context())
        return render(request, self.template_name, context)

    def get_extra_context(self) -> dict:
        return {}

    # --- bulk actions --------------------------------------------------------------------------
    def selected_queryset(self) -> models.QuerySet:
        if self.request.POST.get("select_all_matching") == "1":
            return self.matching_queryset(self.get_filterset())
        pk_field = self.model._meta.pk
        pks = []
        for raw in self.request.POST.getlist("pk"):
            try:
                pks.append(pk_field.to_python(raw))
            except ValidationError:
                continue
        return self.get_queryset().filter(pk__in=pks)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        back = request.get_full_path()
        if request.POST.get("table_columns"):
            return self.save_columns(back)
        action = next((a for a in self.all_bulk_actions() if a.name == request.POST.get("action")), None)
        if action is None:
            messages.error(request, "Choose one of the list's actions.")
            return redirect(back)
        if not request.user.has_perm(action.permission):
            raise PermissionDenied(f"You may not run “{action.label}”.")
        queryset = self.selected_queryset()
        count = queryset.count()
        if not count:
            messages.warning(request, "Select at least one record first.")
            return redirect(back)
        if action.confirm and request.POST.get("confirmed") != "1":
            return bulk_confirmation(
                request,
                action,
                queryset,
                select_all_matching=request.POST.get("select_all_matching") == "1",
                verbose_name=self.verbose_name(count),
            )
        outcome = action.handler(request=request, queryset=queryset)
        if isinstance(outcome, HttpResponse):
            return outcome  # the action goes on on a page of its own (a form, a question)
        self.report(action, outcome)
        return redirect(back)

    def save_columns(self, back: str) -> HttpResponse:
        """The "Columns" dialog: keep the columns the user chose for this list (or go back to its defaults)."""
        table = self.new_table(self.model._default_manager.none(), selectable=False)
        chosen = None if self.request.POST.get("reset") else self.request.POST.getlist("column")
        try:
            columns.table_columns_save(user=self.request.user, table=table, columns=chosen)
        except ValidationError as error:
            messages.error(self.request, " ".join(error.messages))
        return redirect(back)

    def verbose_name(self, count: int) -> str:
        return str(self.model._meta.verbose_name if count == 1 else self.model._meta.verbose_name_plural)

    def report(self, action: BulkAction, result: BulkResult) -> None:
        report_bulk_result(self.request, action, result, self.verbose_name)


def report_bulk_result(request: HttpRequest, action: BulkAction, result: BulkResult, verbose_name) -> None:
    """The outcome as messages: how many were done, and each refusal with its reason (the first ones)."""
    if result.done:
        messages.success(request, f"{len(result.done)} {verbose_name(len(result.done))} {action.done_verb}.")
    for record, why in result.failed[:MAX_FAILURES_REPORTED]:
        messages.error(request, f"{record}: not {action.done_verb}. {why}")
    if len(result.failed) > MAX_FAILURES_REPORTED:
        hidden = len(result.failed) - MAX_FAILURES_REPORTED
        messages.error(request, f"… and {hidden} more not {action.done_verb}.")


def bulk_confirmation(request: HttpRequest, action: BulkAction, queryset: models.QuerySet, **context) -> HttpResponse:
    """The page that asks ``action.confirm`` before the action runs; it posts back with confirmed=1."""
    count = queryset.count()
    return render(
        request,
        "ui/bulk_confirm.html",
        {
            "title": action.label,
            "action": action,
            "count": count,
            "sample": queryset[:MAX_FAILURES_REPORTED],
            "select_all_matching": False,
            "pks": request.POST.getlist("pk"),
            "back": request.get_full_path(),
            **context,
        },
    )


def display_value(instance: models.Model, field: models.Field, user=None):
    """A field's value as a page shows it: choice labels, related records (linked for a ``user`` who may see
    them), Yes/No."""
    value = getattr(instance, field.name)
    if field.choices:
        value = getattr(instance, f"get_{field.name}_display")()
    if value is None or value == "":
        return "—"
    if isinstance(value, ContentType):
        model = value.model_class()
        return capfirst(model._meta.verbose_name_plural) if model is not None else value.name
    if isinstance(field, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(field, models.ForeignKey) and user is not None and not may_view(user, type(value)):
        return str(value)
    if isinstance(field, models.ForeignKey) and hasattr(value, "get_absolute_url"):
        try:
            return format_html('<a href="{}">{}</a>', value.get_absolute_url(), value)
        except NoReverseMatch:
            return str(value)
    if isinstance(field, models.URLField | models.EmailField):
        scheme = "mailto:" if isinstance(field, models.EmailField) else ""
        return format_html('<a href="{}{}">{}</a>', scheme, value, value)
    return value


@dataclass
class RelatedList:
    title: str
    table: tables.Table
    list_url: str | None = None


class ObjectDetailView(ObjectPermissionMixin, View):
    """One record's fields and related lists, with the buttons and panels other apps registered for the model.

    A registered action's button POSTs here (``action=<name>``): the action's permission is
    checked, its question asked when it has one, and its handler runs on this one record.
    """

    # Shown in this order; empty shows every concrete field except the primary key.
    fields: tuple[str, ...] = ()
    # Whether other apps' registered actions and panels for the model apply here.
    extensible = True
    template_name = "ui/object_detail.html"

    @property
    def detail_extensions(self) -> DetailExtensions:
        return detail_extensions_for(self.model) if self.extensible else DetailExtensions()

    def permitted(self, permission: str) -> bool:
        return not permission or self.request.user.has_perm(permission)

    def detail_actions(self, instance: models.Model) -> list[BoundDetailAction]:
        """The registered buttons this user may use and that apply to this record."""
        bound = []
        for action in self.detail_extensions.actions:
            if not self.permitted(action.permission):
                continue
            if action.visible is not None and not action.visible(instance):
                continue
            if action.url is not None:
                url = action.url(instance)
                if url:
                    bound.append(BoundDetailAction(action, url))
                continue
            bound.append(BoundDetailAction(action))
        return bound

    def runnable_action(self, name: str) -> DetailAction | None:
        return next((a for a in self.detail_extensions.actions if a.handler is not None and a.name == name), None)

    def detail_panels(self, instance: models.Model) -> list[str]:
        panels = []
        for panel in self.detail_extensions.panels:
            if not self.permitted(panel.permission):
                continue
            context = panel.context(self.request, instance)
            if context is not None:
                panels.append(render_to_string(panel.template_name, {"object": instance, **context}, self.request))
        return panels

    def get_queryset(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def get_object(self) -> models.Model:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def field_rows(self, instance: models.Model) -> list[tuple[str, object]]:
        opts = self.model._meta
        shown = [f.name for f in opts.concrete_fields if not f.primary_key and f.name not in HIDDEN_FIELDS]
        names = self.fields or shown
        rows = []
        for name in names:
            field = opts.get_field(name)
            rows.append((capfirst(field.verbose_name), display_value(instance, field, self.request.user)))
        return rows

    def get_related_lists(self, instance: models.Model) -> list[RelatedList]:
        return []

    def permitted_related_lists(self, instance: models.Model) -> list[RelatedList]:
        """The related lists, each linking its own list page only for a user who may open it."""
        related = self.get_related_lists(instance)
        for item in related:
            model = getattr(item.table.data, "model", None)
            if item.list_url and model is not None and not may_view(self.request.user, model):
                item.list_url = None
        return related

    def related_table(self, table_class: type[tables.Table], queryset: models.QuerySet, prefix: str) -> tables.Table:
        """A table of related records on the detail page: sortable and paged on its own."""
        table = table_class(queryset, prefix=f"{prefix}-", exclude=("pk",), request=self.request)
        tables.RequestConfig(self.request, paginate={"per_page": 10}).configure(table)
        return table

    def get_extra_context(self, instance: models.Model) -> dict:
        return {}

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        instance = self.get_object()
        context = {
            "view": self,
            "object": instance,
            "title": str(instance),
            "verbose_name": self.model._meta.verbose_name,
            "verbose_name_plural": self.model._meta.verbose_name_plural,
            "field_rows": self.field_rows(instance),
            "related_lists": self.permitted_related_lists(instance),
            "list_url": self.url_for("list"),
            "edit_url": self.page_url_if_permitted("edit", "change", instance.pk),
            "delete_url": self.page_url_if_permitted("delete", "delete", instance.pk),
            "registered_actions": self.detail_actions(instance),
            "registered_panels": self.detail_panels(instance),
        }
        context.update(self.get_extra_context(instance))
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        instance = self.get_object()
        back = request.get_full_path()
        action = self.runnable_action(request.POST.get("action", ""))
        if action is None:
            messages.error(request, "Choose one of the page's actions.")
            return redirect(back)
        if not self.permitted(action.permission):
            raise PermissionDenied(f"You may not run “{action.label}”.")
        queryset = self.get_queryset().filter(pk=instance.pk)
        verbose_name = self.model._meta.verbose_name
        if action.confirm and request.POST.get("confirmed") != "1":
            return bulk_confirmation(request, action.as_bulk_action, queryset, verbose_name=verbose_name)
        outcome = action.handler(request=request, queryset=queryset)
        if isinstance(outcome, HttpResponse):
            return outcome  # the action goes on on a page of its own (a form, a question)
        report_bulk_result(request, action.as_bulk_action, outcome, lambda count: verbose_name)
        return redirect(back)


class ObjectEditView(ObjectPermissionMixin, View):
    """Create (no ``pk`` in the URL, needs ``add``) or edit (needs ``change``) one record."""

    form_class: type[ModelForm] | None = None
    template_name = "ui/object_edit.html"

    def get_permission_required(self):
        action = "change" if "pk" in self.kwargs else "add"
        return (permission_name(self.model, action),)

    def get_object(self) -> models.Model:
        if "pk" in self.kwargs:
            return get_object_or_404(self.model._default_manager.all(), pk=self.kwargs["pk"])
        return self.model()

    def get_form(self, instance: models.Model) -> ModelForm:
        if self.request.method == "POST":
            return self.form_class(self.request.POST, instance=instance)
        return self.form_class(instance=instance, initial=self.request.GET.dict() if instance.pk is None else None)

    def save_object(self, form: ModelForm) -> models.Model:
        """Write the record through the owning app's service; raise ValidationError to refuse."""
        raise NotImplementedError

    def render_form(self, form: ModelForm, instance: models.Model) -> HttpResponse:
        opts = self.model._meta
        context = {
            "view": self,
            "form": form,
            "object": instance,
            "title": f"Edit {instance}" if instance.pk else f"New {opts.verbose_name}",
            "cancel_url": instance.get_absolute_url() if instance.pk else self.url_for("list"),
        }
        return render(self.request, self.template_name, context)

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        instance = self.get_object()
        return self.render_form(self.get_form(instance), instance)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        instance = self.get_object()
        created = instance.pk is None
        form = self.get_form(instance)
        if form.is_valid():
            try:
                saved = self.save_object(form)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                verb = "created" if created else "saved"
                messages.success(request, f"{capfirst(self.model._meta.verbose_name)} {saved} {verb}.")
                return redirect(saved.get_absolute_url())
        return self.render_form(form, instance)


class ObjectDeleteView(ObjectPermissionMixin, View):
    """Asks before deleting, with the panels other apps registered for the model's delete page (what else the
    deletion does, e.g. in Dynamics 365: ``register_delete_panel``)."""

    permission_action = "delete"
    template_name = "ui/object_delete.html"
    # Whether other apps' registered delete panels for the model apply here.
    extensible = True

    def delete_panels(self, instance: models.Model) -> list[str]:
        if not self.extensible:
            return []
        panels = []
        for panel in detail_extensions_for(self.model).delete_panels:
            if panel.permission and not self.request.user.has_perm(panel.permission):
                continue
            context = panel.context(self.request, instance)
            if context is not None:
                panels.append(render_to_string(panel.template_name, {"object": instance, **context}, self.request))
        return panels

    def get_object(self) -> models.Model:
        return get_object_or_404(self.model._default_manager.all(), pk=self.kwargs["pk"])

    def delete_object(self, instance: models.Model) -> None:
        """Delete through the owning app's service; raise ValidationError to refuse."""
        raise NotImplementedError

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        instance = self.get_object()
        context = {
            "object": instance,
            "title": f"Delete {instance}",
            "verbose_name": self.model._meta.verbose_name,
            "cancel_url": instance.get_absolute_url(),
            "registered_panels": self.delete_panels(instance),
        }
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        instance = self.get_object()
        label = f"{capfirst(self.model._meta.verbose_name)} {instance}"
        try:
            self.delete_object(instance)
        except ValidationError as error:
            messages.error(request, f"{label} was not deleted. {' '.join(error.messages)}")
            return redirect(instance.get_absolute_url())
        messages.success(request, f"{label} deleted.")
        return redirect(self.url_for("list"))

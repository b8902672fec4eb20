"""Pages for the integration table mappings: list (bulk enable/disable), detail with its field mappings and record
templates, edit pages, and reset to defaults. All need ``syncjobs.manage_mappings``."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.views.decorators.http import require_http_methods

from nav_crm.ui import BulkAction, per_record
from nav_crm.ui.views import ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView, RelatedList
from syncjobs import permissions
from syncjobs.engine.context import CRM_ENTITY_NOUNS
from syncjobs.mappings import filters, forms, rules, selectors, services, tables
from syncjobs.models import (
    Direction,
    IntegrationFieldMapping,
    IntegrationTableMapping,
    RecordTemplate,
)


class ManageMappingsMixin:
    """Every mapping page needs the one permission to manage mappings, whatever it shows or changes."""

    def get_permission_required(self):
        return (permissions.MANAGE_MAPPINGS,)

    def page_url_if_permitted(self, page: str, action: str, *args) -> str | None:
        return self.url_for(page, *args) if self.request.user.has_perm(permissions.MANAGE_MAPPINGS) else None


def _enabling(enabled: bool):
    def set_enabled(mapping) -> None:
        services.mapping_set_enabled(mapping=mapping, enabled=enabled)

    return set_enabled


ENABLE = BulkAction(
    name="enable",
    label="Enable selected",
    permission=permissions.MANAGE_MAPPINGS,
    handler=per_record(_enabling(True)),
    done_verb="enabled",
    icon="check-circle",
)


DISABLE = BulkAction(
    name="disable",
    label="Disable selected",
    permission=permissions.MANAGE_MAPPINGS,
    handler=per_record(_enabling(False)),
    done_verb="disabled",
    icon="slash-circle",
)


class MappingListView(ManageMappingsMixin, ObjectListView):
    model = IntegrationTableMapping
    url_base = "syncjobs:mapping"
    table_class = tables.MappingTable
    filterset_class = filters.MappingFilterSet
    search_fields = ("name", "title", "crm_entity")
    bulk_actions = (ENABLE, DISABLE)
    extensible = False
    template_name = "syncjobs/mapping_list.html"
    title = "Integration table mappings"

    def get_queryset(self):
        return IntegrationTableMapping.objects.select_related("erp_model").prefetch_related("depends_on")


class MappingDetailView(ManageMappingsMixin, ObjectDetailView):
    model = IntegrationTableMapping
    url_base = "syncjobs:mapping"
    template_name = "syncjobs/mapping_detail.html"
    fields = (
        "title",
        "erp_model",
        "crm_entity",
        "direction",
        "is_enabled",
        "erp_filter",
        "crm_filter",
        "sync_only_coupled",
        "update_conflict_policy",
        "deletion_policy",
        "create_new_if_no_match",
        "sync_after_bulk_coupling",
        "is_option_mapping",
        "crm_option_attribute",
        "sync_interval_minutes",
        "inactivity_timeout_minutes",
        "erp_watermark",
        "crm_watermark",
        "full_sync_running",
    )

    def get_queryset(self):
        return IntegrationTableMapping.objects.select_related("erp_model")

    def field_rows(self, instance):
        rows = super().field_rows(instance)
        depends_on = ", ".join(mapping.name for mapping in instance.depends_on.all()) or "—"
        rows.insert(4, ("Depends on", depends_on))
        # In the user's words: the tables by their names, the ERP filter as conditions (the edit page has its JSON).
        model = instance.erp_model.model_class()
        words = {
            "CRM entity": format_html(
                '{} <span class="text-body-secondary small">({})</span>',
                capfirst(CRM_ENTITY_NOUNS.get(instance.crm_entity, instance.crm_entity)),
                instance.crm_entity,
            ),
            "ERP filter": (rules.erp_filter_words(model, instance.erp_filter) if model else "") or "—",
        }
        labels = {"CRM entity": "Dynamics 365 table"}
        return [(labels.get(label, label), words.get(label, value)) for label, value in rows]

    def get_related_lists(self, instance):
        field_mappings = instance.field_mappings.select_related("lookup_mapping", "table_mapping__erp_model")
        table = self.related_table(tables.FieldMappingTable, field_mappings, "fields")
        table.crm_labels = selectors.crm_attribute_labels(mapping=instance)
        return [RelatedList("Field mappings", table)]

    def get_extra_context(self, instance):
        if instance.is_option_mapping:
            return {}
        return {
            "record_templates": self.related_table(
                tables.RecordTemplateTable, instance.record_templates.all(), "templates"
            ),
            "record_template_create_url": reverse("syncjobs:record_template_create", args=[instance.pk]),
            "creates_from_crm": instance.direction != Direction.TO_CRM,
        }


class MappingEditView(ManageMappingsMixin, ObjectEditView):
    model = IntegrationTableMapping
    url_base = "syncjobs:mapping"
    form_class = forms.MappingForm

    def save_object(self, form):
        return services.mapping_save(mapping=form.instance, depends_on=form.cleaned_data["depends_on"])


class FieldMappingEditView(ManageMappingsMixin, ObjectEditView):
    model = IntegrationFieldMapping
    url_base = "syncjobs:field_mapping"
    form_class = forms.FieldMappingForm

    def get_object(self):
        return get_object_or_404(
            IntegrationFieldMapping.objects.select_related("table_mapping__erp_model"),
            pk=self.kwargs["pk"],
            table_mapping_id=self.kwargs["mapping_pk"],
        )

    def save_object(self, form):
        return services.field_mapping_save(field_mapping=form.instance)


class RecordTemplateMixin(ManageMappingsMixin):
    """A template for new ERP records, reached under its own (non-option) mapping only."""

    model = RecordTemplate
    url_base = "syncjobs:record_template"

    def get_mapping(self) -> IntegrationTableMapping:
        return get_object_or_404(
            IntegrationTableMapping.objects.select_related("erp_model"),
            pk=self.kwargs["mapping_pk"],
            is_option_mapping=False,
        )

    def get_object(self):
        mapping = self.get_mapping()
        if "pk" not in self.kwargs:
            return RecordTemplate(mapping=mapping)
        template = get_object_or_404(RecordTemplate, pk=self.kwargs["pk"], mapping=mapping)
        template.mapping = mapping
        return template


class RecordTemplateEditView(RecordTemplateMixin, ObjectEditView):
    form_class = forms.RecordTemplateForm

    def save_object(self, form):
        return services.record_template_save(template=form.instance)

    def render_form(self, form, instance):
        mapping = instance.mapping
        title = (
            f"Edit template {instance.code} of {mapping.name}" if instance.pk else f"New template for {mapping.name}"
        )
        context = {
            "view": self,
            "form": form,
            "object": instance,
            "title": title,
            "cancel_url": mapping.get_absolute_url(),
        }
        return render(self.request, self.template_name, context)


class RecordTemplateDeleteView(RecordTemplateMixin, ObjectDeleteView):
    def delete_object(self, instance):
        services.record_template_delete(template=instance)

    def post(self, request, *args, **kwargs):
        # The mapping's page, not a list of templates: they have none of their own.
        instance = self.get_object()
        self.delete_object(instance)
        messages.success(request, f"Record template {instance.code} deleted.")
        return redirect(instance.mapping.get_absolute_url() + "#templates")


@permission_required(permissions.MANAGE_MAPPINGS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def mapping_reset(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        mappings = services.mapping_reset_to_defaults()
        messages.success(request, f"{len(mappings)} integration table mappings reset to their defaults.")
        return redirect("syncjobs:mapping_list")
    return render(request, "syncjobs/mapping_reset.html", {"title": "Reset integration mappings to defaults"})

"""Edit forms of the integration mapping pages. Views save through the mapping services, never ``form.save()``."""

from django import forms

from syncjobs.mappings import record_templates
from syncjobs.models import IntegrationFieldMapping, IntegrationTableMapping, RecordTemplate


class MappingForm(forms.ModelForm):
    class Meta:
        model = IntegrationTableMapping
        fields = (
            "title",
            "direction",
            "is_enabled",
            "erp_filter",
            "crm_filter",
            "depends_on",
            "sync_only_coupled",
            "update_conflict_policy",
            "deletion_policy",
            "create_new_if_no_match",
            "sync_after_bulk_coupling",
            "sync_interval_minutes",
            "inactivity_timeout_minutes",
        )
        widgets = {
            "erp_filter": forms.Textarea(attrs={"rows": 3}),
            "crm_filter": forms.Textarea(attrs={"rows": 3}),
            "depends_on": forms.CheckboxSelectMultiple,
        }
        help_texts = {"direction": "Making it one-way sets every field mapping to that direction."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["depends_on"].queryset = IntegrationTableMapping.objects.exclude(pk=self.instance.pk)
        self.fields["depends_on"].required = False


class FieldMappingForm(forms.ModelForm):
    class Meta:
        model = IntegrationFieldMapping
        fields = (
            "direction",
            "is_enabled",
            "constant_value",
            "transform",
            "validate_field",
            "not_null",
            "clear_value_on_failed_sync",
            "use_for_match_based_coupling",
            "match_priority",
            "case_sensitive_matching",
        )


class RecordTemplateForm(forms.ModelForm):
    class Meta:
        model = RecordTemplate
        fields = ("code", "description", "priority", "crm_filter", "values")
        widgets = {
            "crm_filter": forms.Textarea(attrs={"rows": 2}),
            "values": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mapping = self.instance.mapping
        model = mapping.erp_model.model_class()
        if model is not None:
            names = record_templates.allowed_fields(model, mapping.field_mappings.all())
            self.fields["values"].help_text += f" Fields of the {model._meta.verbose_name}: {', '.join(names)}."
        self.fields["values"].error_messages["invalid"] = (
            'Write the values as JSON, e.g. {"payment_terms": "30 DAYS"} (field names and text in double quotes).'
        )

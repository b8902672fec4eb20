"""Edit forms of the integration mapping pages. Views save through the mapping services, never ``form.save()``."""

from django import forms

from syncjobs.models import IntegrationFieldMapping, IntegrationTableMapping


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


class DeleteOldJobsForm(forms.Form):
    days = forms.IntegerField(
        label="Older than (days)",
        min_value=0,
        max_value=36500,
        initial=30,
        help_text="Finished jobs created longer ago than this are deleted with their errors; running ones stay.",
    )

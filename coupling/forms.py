from typing import Any

from django import forms

from syncjobs.models import SyncJob

# Keys of services.SYNC_AFTER_COUPLING.
SYNC_CHOICES = [("", "No"), ("erp", "Use ERP data"), ("crm", "Use Dynamics 365 data")]


class CoupleForm(forms.Form):
    crm_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    create_new = forms.BooleanField(required=False, label="Create new in Dynamics 365")
    sync = forms.ChoiceField(
        choices=SYNC_CHOICES, required=False, initial="", label="Synchronize after coupling", widget=forms.RadioSelect
    )

    def __init__(self, *args, can_create: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_create = can_create

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("create_new") and not self.can_create:
            raise forms.ValidationError(
                "This mapping only synchronizes from Dynamics 365: nothing can be created there."
            )
        if data.get("create_new") and data.get("crm_id"):
            raise forms.ValidationError("Pick a Dynamics 365 row or tick “Create new in Dynamics 365”, not both.")
        if not data.get("create_new") and not data.get("crm_id"):
            raise forms.ValidationError(
                "Pick the Dynamics 365 row to couple with, or tick “Create new in Dynamics 365”."
            )
        return data


class DirectionForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[
            # Business Central offers the first two; the engine merges field by field, so keeping both is offered
            # too: a field changed on both sides then follows the mapping's update conflict policy.
            (SyncJob.JobDirection.BOTH, "Keep the changes of both, field by field"),
            (SyncJob.JobDirection.TO_CRM, "Use ERP data (overwrite the changes in Dynamics 365)"),
            (SyncJob.JobDirection.FROM_CRM, "Use Dynamics 365 data (overwrite the changes in the ERP)"),
        ],
        initial=SyncJob.JobDirection.BOTH,
        widget=forms.RadioSelect,
    )


class MatchOptionsForm(forms.Form):
    create_new_if_no_match = forms.BooleanField(required=False, label="Create new in Dynamics 365 if no match")
    sync_after_bulk_coupling = forms.BooleanField(required=False, label="Synchronize after coupling")

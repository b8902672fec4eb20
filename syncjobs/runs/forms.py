"""The synchronization log's form: delete old jobs."""

from django import forms


class DeleteOldJobsForm(forms.Form):
    days = forms.IntegerField(
        label="Older than (days)",
        min_value=0,
        max_value=36500,
        initial=30,
        help_text="Finished jobs created longer ago than this are deleted with their errors; running ones stay.",
    )

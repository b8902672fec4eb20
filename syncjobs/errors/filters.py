"""Filters of the synchronization errors page (django-filter)."""

import django_filters

from syncjobs.models import IntegrationTableMapping, SyncJobError


class ErrorFilterSet(django_filters.FilterSet):
    mapping = django_filters.ModelChoiceFilter(queryset=IntegrationTableMapping.objects.all())
    job = django_filters.NumberFilter(label="Job")
    is_skipped = django_filters.BooleanFilter(label="Skipped")
    created_at = django_filters.DateFromToRangeFilter(
        label="Created between", widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = SyncJobError
        fields = ("mapping", "job", "is_skipped", "created_at")

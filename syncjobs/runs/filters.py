"""Filters of the synchronization log (django-filter)."""

import django_filters

from syncjobs.models import IntegrationTableMapping, SyncJob


class JobFilterSet(django_filters.FilterSet):
    mapping = django_filters.ModelChoiceFilter(queryset=IntegrationTableMapping.objects.all())
    created_at = django_filters.DateFromToRangeFilter(
        label="Created between", widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = SyncJob
        fields = ("mapping", "status", "direction", "kind", "created_at")

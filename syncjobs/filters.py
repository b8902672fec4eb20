"""Filters of the integration mapping list, the synchronization log and errors (django-filter)."""

import django_filters

from syncjobs.models import IntegrationTableMapping, SyncJob, SyncJobError


class MappingFilterSet(django_filters.FilterSet):
    class Meta:
        model = IntegrationTableMapping
        fields = ("direction", "is_enabled", "is_option_mapping")


class JobFilterSet(django_filters.FilterSet):
    mapping = django_filters.ModelChoiceFilter(queryset=IntegrationTableMapping.objects.all())
    created_at = django_filters.DateFromToRangeFilter(
        label="Created between", widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = SyncJob
        fields = ("mapping", "status", "direction", "kind", "created_at")


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

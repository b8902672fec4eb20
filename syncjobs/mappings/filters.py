"""Filters of the integration mapping list (django-filter)."""

import django_filters

from syncjobs.models import IntegrationTableMapping


class MappingFilterSet(django_filters.FilterSet):
    class Meta:
        model = IntegrationTableMapping
        fields = ("direction", "is_enabled", "is_option_mapping")

"""Filter backends of the API."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.settings import api_settings


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend that refuses the query parameters it would ignore.

    An ignored ``?modified_at__gte=…`` (no such filter) answered every row, as if it had filtered.
    A parameter that no filter, search, ordering, page or the view's ``extra_query_params`` takes is
    a 400 naming it and the ones the endpoint takes; a value a filter cannot read already is.
    """

    def filter_queryset(self, request, queryset, view):
        taken = self.query_parameters(request, queryset, view)
        unknown = sorted(set(request.query_params) - taken)
        if unknown:
            known = ", ".join(sorted(taken))
            raise exceptions.ValidationError(
                {name: [f"Unknown query parameter. This endpoint takes: {known}."] for name in unknown}
            )
        return super().filter_queryset(request, queryset, view)

    def query_parameters(self, request, queryset, view) -> set[str]:
        names = {api_settings.SEARCH_PARAM, api_settings.ORDERING_PARAM, api_settings.URL_FORMAT_OVERRIDE}
        paginator = getattr(view, "paginator", None)
        for attribute in ("page_query_param", "page_size_query_param", "limit_query_param", "offset_query_param"):
            if getattr(paginator, attribute, None):
                names.add(getattr(paginator, attribute))
        names.update(getattr(view, "extra_query_params", ()))
        filterset = self.get_filterset(request, queryset, view)
        if filterset is not None:
            for name, field in filterset.form.fields.items():
                names.add(name)
                # Range filters read NAME_after/NAME_before (or _min/_max) from the query.
                names.update(f"{name}_{suffix}" for suffix in getattr(field.widget, "suffixes", ()) if suffix)
        return names

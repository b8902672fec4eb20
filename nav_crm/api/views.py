from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


def endpoint_not_found(request):
    """Unknown API paths answer 404 in JSON, like every other API error."""
    detail = "No API endpoint at this address."
    if not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match and match.func is not endpoint_not_found:
            detail += f" Did you mean {request.path_info}/ ?"
    return JsonResponse({"detail": detail}, status=404)


class RedocView(SpectacularRedocView):
    # drf-spectacular's own template loads web fonts from Google; ours uses local assets only.
    template_name = "api/redoc.html"


swagger_ui = login_required(SpectacularSwaggerView.as_view(url_name="api-schema"))
redoc = login_required(RedocView.as_view(url_name="api-schema"))

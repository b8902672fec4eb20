import functools

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView


@csrf_exempt  # it changes nothing, and a token client's POST to a wrong address deserves a 404, not a CSRF page
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


# The viewers come from drf-spectacular-sidecar and must not reach out to the internet. ReDoc's
# sidebar always shows a logo from cdn.redoc.ly: the policy stops the browser from fetching it
# (the viewer hides the image when it fails to load). Inline scripts and styles are the viewers' own.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)


def _local_only(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    return wrapped


class RedocView(SpectacularRedocView):
    # drf-spectacular's own template loads web fonts from Google; ours uses local assets only.
    template_name = "api/redoc.html"


swagger_ui = login_required(_local_only(SpectacularSwaggerView.as_view(url_name="api-schema")))
redoc = login_required(_local_only(RedocView.as_view(url_name="api-schema")))

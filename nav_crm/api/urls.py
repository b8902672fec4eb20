from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated

from nav_crm.api import views
from nav_crm.api.throttling import TokenRequestThrottle

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path("docs/", views.swagger_ui, name="api-docs"),
    path("redoc/", views.redoc, name="api-redoc"),
    path("v1/auth/token/", ObtainAuthToken.as_view(throttle_classes=[TokenRequestThrottle]), name="api-token"),
    path("v1/", include("erp.api.urls")),
    re_path(r"^", views.endpoint_not_found),
]

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from nav_crm import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("erp/", include("erp.urls")),
    path("setup/", include("setup_wizard.urls")),
    path("sync/sales-orders/", include("crm_orders.urls")),
    path("sync/", include("coupling.urls")),
    path("sync/", include("syncjobs.urls")),
    path("api/", include("nav_crm.api.urls")),
    path("odata/", include("webservices.urls")),
]

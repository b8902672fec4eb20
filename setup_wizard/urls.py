from django.urls import path

from setup_wizard import views, wizard_views

app_name = "setup_wizard"

urlpatterns = [
    path("crm-connection/", views.crm_connection, name="crm_connection"),
    path("crm-connection/test/", views.crm_connection_test, name="crm_connection_test"),
    path(
        "crm-connection/import-solution/", views.crm_connection_import_solution, name="crm_connection_import_solution"
    ),
    path("crm-connection/enable/", views.crm_connection_enable, name="crm_connection_enable"),
    path("crm-connection/disable/", views.crm_connection_disable, name="crm_connection_disable"),
    path("wizard/", wizard_views.wizard_resume, name="wizard"),
    path("wizard/<slug:slug>/", wizard_views.wizard_step, name="wizard_step"),
    path("web-service-key/", views.access_key, name="access_key"),
]

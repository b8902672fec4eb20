from django.urls import path

from crm_orders import views

app_name = "crm_orders"
urlpatterns = [
    path("", views.SubmittedOrdersView.as_view(), name="submitted_orders"),
]

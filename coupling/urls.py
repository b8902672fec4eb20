from django.urls import path

from coupling import views

app_name = "coupling"

# Under /sync/ beside the integration's other pages (nav_crm/urls.py).
urlpatterns = [
    path("coupling/<int:mapping_pk>/record/<uuid:system_id>/", views.CoupleRecordView.as_view(), name="record"),
    path("coupling/<int:mapping_pk>/synchronize/", views.synchronize_records, name="synchronize"),
    path("coupling/<int:mapping_pk>/match/", views.MatchCouplingView.as_view(), name="match"),
    path("coupling/<int:mapping_pk>/uncoupled/", views.UncoupledCrmRowsView.as_view(), name="uncoupled"),
]

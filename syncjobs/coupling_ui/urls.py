from django.urls import path

from syncjobs.coupling_ui import views

# Included into the syncjobs namespace (syncjobs/urls.py).
urlpatterns = [
    path(
        "coupling/<int:mapping_pk>/record/<uuid:system_id>/", views.CoupleRecordView.as_view(), name="coupling_record"
    ),
    path("coupling/<int:mapping_pk>/synchronize/", views.synchronize_records, name="coupling_synchronize"),
    path("coupling/<int:mapping_pk>/match/", views.MatchCouplingView.as_view(), name="coupling_match"),
    path("coupling/<int:mapping_pk>/uncoupled/", views.UncoupledCrmRowsView.as_view(), name="coupling_uncoupled"),
]

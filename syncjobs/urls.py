from django.urls import path

from syncjobs.errors import conflict_views
from syncjobs.errors import views as error_views
from syncjobs.mappings import views as mapping_views
from syncjobs.runs import full_sync_views, run_now_views
from syncjobs.runs import views as run_views

app_name = "syncjobs"

urlpatterns = [
    path("mappings/", mapping_views.MappingListView.as_view(), name="mapping_list"),
    path("mappings/reset/", mapping_views.mapping_reset, name="mapping_reset"),
    path("mappings/synchronize/", run_now_views.mappings_synchronize_all, name="mappings_synchronize_all"),
    path("mappings/<int:pk>/", mapping_views.MappingDetailView.as_view(), name="mapping_detail"),
    path("mappings/<int:pk>/edit/", mapping_views.MappingEditView.as_view(), name="mapping_edit"),
    path("mappings/<int:pk>/synchronize/", run_now_views.mapping_synchronize, name="mapping_synchronize"),
    path(
        "mappings/<int:mapping_pk>/fields/<int:pk>/edit/",
        mapping_views.FieldMappingEditView.as_view(),
        name="field_mapping_edit",
    ),
    path(
        "mappings/<int:mapping_pk>/templates/new/",
        mapping_views.RecordTemplateEditView.as_view(),
        name="record_template_create",
    ),
    path(
        "mappings/<int:mapping_pk>/templates/<int:pk>/edit/",
        mapping_views.RecordTemplateEditView.as_view(),
        name="record_template_edit",
    ),
    path(
        "mappings/<int:mapping_pk>/templates/<int:pk>/delete/",
        mapping_views.RecordTemplateDeleteView.as_view(),
        name="record_template_delete",
    ),
    path("log/", run_views.JobListView.as_view(), name="job_list"),
    path("log/delete-old/", run_views.jobs_delete_old, name="jobs_delete_old"),
    path("log/progress/", run_now_views.jobs_progress, name="jobs_progress"),
    path("log/<int:pk>/", run_views.JobDetailView.as_view(), name="job_detail"),
    path("log/<int:pk>/status/", run_views.job_status, name="job_status"),
    path("errors/", error_views.ErrorListView.as_view(), name="error_list"),
    path(
        "conflicts/<int:mapping_pk>/<uuid:system_id>/",
        conflict_views.RecordConflictView.as_view(),
        name="record_conflict",
    ),
    path("full-synchronization/", full_sync_views.full_sync_review, name="full_sync"),
    path("full-synchronization/start/", full_sync_views.full_sync_start, name="full_sync_start"),
    path("full-synchronization/preview/", full_sync_views.full_sync_preview, name="full_sync_preview"),
    path("full-synchronization/<int:pk>/status/", full_sync_views.full_sync_status, name="full_sync_status"),
    path("full-synchronization/<int:pk>/cancel/", full_sync_views.full_sync_cancel, name="full_sync_cancel"),
]

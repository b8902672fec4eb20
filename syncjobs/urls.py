from django.urls import path

from syncjobs import views

app_name = "syncjobs"

urlpatterns = [
    path("mappings/", views.MappingListView.as_view(), name="mapping_list"),
    path("mappings/reset/", views.mapping_reset, name="mapping_reset"),
    path("mappings/<int:pk>/", views.MappingDetailView.as_view(), name="mapping_detail"),
    path("mappings/<int:pk>/edit/", views.MappingEditView.as_view(), name="mapping_edit"),
    path(
        "mappings/<int:mapping_pk>/fields/<int:pk>/edit/",
        views.FieldMappingEditView.as_view(),
        name="field_mapping_edit",
    ),
]

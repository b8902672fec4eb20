"""Mounted at /odata/: the OData v4 service the CRM calls (NAV's ProductItemAvailability web service)."""

from django.urls import path, re_path

from webservices import views

app_name = "webservices"

urlpatterns = [
    path("v4/", views.service_document, name="service_root"),
    path("v4", views.service_document),
    path("v4/$metadata", views.metadata, name="metadata"),
    path("v4/ProductItemAvailability", views.entity_set, name="product_item_availability"),
    path("v4/ProductItemAvailability/$count", views.entity_count, name="product_item_availability_count"),
    re_path(r"^v4/ProductItemAvailability\((?P<key>.*)\)$", views.entity, name="product_item_availability_entity"),
    re_path(r"^(?P<path>.*)$", views.not_found),
]

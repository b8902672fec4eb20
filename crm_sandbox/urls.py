"""URLconf of the sandbox server (its own; the ERP's URLs and middleware do not apply)."""

from django.urls import path, re_path

from crm_sandbox import (
    batch,
    bulk,
    change_tracking,
    csdl,
    entity_definitions,
    identity_views,
    option_sets,
    pages,
    sales_orders,
    solutions,
    webapi,
)

# Web API features beyond the core register their handlers here (see crm_sandbox/webapi.py).
webapi.ROOT_HANDLERS["EntityDefinitions"] = entity_definitions.entity_definitions
webapi.ROOT_HANDLERS["$batch"] = batch.batch
webapi.BOUND_ACTIONS["CreateMultiple"] = bulk.create_multiple
webapi.BOUND_ACTIONS["UpdateMultiple"] = bulk.update_multiple
webapi.BOUND_ACTIONS["UpsertMultiple"] = bulk.upsert_multiple
webapi.CHANGE_TRACKING = change_tracking.track_changes
webapi.CHANGE_COUNT = change_tracking.count_changes
webapi.ROOT_HANDLERS["ImportSolution"] = solutions.import_solution
webapi.ROOT_HANDLERS["$metadata"] = csdl.service_metadata
webapi.ROOT_HANDLERS["InsertOptionValue"] = option_sets.insert_option_value
webapi.ROOT_HANDLERS["UpdateOptionValue"] = option_sets.update_option_value
webapi.ROOT_HANDLERS["DeleteOptionValue"] = option_sets.delete_option_value
webapi.ROOT_HANDLERS["FulfillSalesOrder"] = sales_orders.fulfill_sales_order
webapi.ROOT_HANDLERS["CancelSalesOrder"] = sales_orders.cancel_sales_order

urlpatterns = [
    path("", pages.home, name="crm_sandbox_home"),
    path("sets/<str:set_name>/", pages.entity_rows, name="crm_sandbox_entity_rows"),
    path("sets/<str:set_name>/<uuid:row_id>/", pages.entity_row, name="crm_sandbox_entity_row"),
    path("sets/salesorders/<uuid:row_id>/submit/", pages.order_submit, name="crm_sandbox_order_submit"),
    path("main.aspx", pages.web_client_record, name="crm_sandbox_web_client_record"),
    re_path(r"^api/data/v9\.2/(?P<path>.*)$", webapi.web_api, name="web_api"),
    path("common/userrealm/<str:username>", identity_views.user_realm, name="user_realm"),
    path("<str:tenant>/v2.0/.well-known/openid-configuration", identity_views.openid_configuration, name="openid"),
    path("<str:tenant>/oauth2/v2.0/token", identity_views.token, name="token"),
]

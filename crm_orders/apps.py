from django.apps import AppConfig


class CrmOrdersConfig(AppConfig):
    name = "crm_orders"
    verbose_name = "Sales orders from Dynamics 365"

    def ready(self):
        from crm_orders import receivers  # noqa: F401 — connects the ERP's sales order signals

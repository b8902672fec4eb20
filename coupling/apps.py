from django.apps import AppConfig


class CouplingConfig(AppConfig):
    name = "coupling"
    verbose_name = "Coupling with Dynamics 365"

    def ready(self):
        from coupling import signals  # noqa: F401  (connects the receivers)
        from coupling.registration import register_detail_extensions, register_list_extensions

        # The ERP's list and detail pages get the coupling column, filter, actions and panel (erp imports
        # nothing of coupling), as NetBox's register_model_view attaches a feature's pages to another app's model.
        register_list_extensions()
        register_detail_extensions()

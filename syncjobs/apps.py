from django.apps import AppConfig


class SyncjobsConfig(AppConfig):
    name = "syncjobs"
    verbose_name = "CRM synchronization"

    def ready(self):
        from syncjobs import dependencies  # noqa: F401 — its connection_enabling receiver
        from syncjobs.coupling_ui.registration import register_detail_extensions, register_list_extensions

        register_list_extensions()
        register_detail_extensions()

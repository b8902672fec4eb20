from django.apps import AppConfig


class SyncjobsConfig(AppConfig):
    name = "syncjobs"
    verbose_name = "CRM synchronization"

    def ready(self):
        from syncjobs.connection import local_currency  # noqa: F401 — its connection_enabling receiver

from django.apps import AppConfig


class CouplingConfig(AppConfig):
    name = "coupling"
    verbose_name = "Coupling with Dynamics 365"

    def ready(self):
        from coupling import signals  # noqa: F401  (connects the receivers)

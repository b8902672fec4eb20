from django.apps import AppConfig


class CouplingConfig(AppConfig):
    name = "coupling"
    verbose_name = "Coupling with Dynamics 365"

from django.apps import AppConfig


class SetupWizardConfig(AppConfig):
    name = "setup_wizard"
    verbose_name = "Setup"

    def ready(self):
        from nav_crm.ui.banners import register_banner
        from setup_wizard import schema  # noqa: F401 — registers the access key schemes with drf-spectacular
        from setup_wizard.banners import crm_setup_banner

        register_banner(crm_setup_banner)

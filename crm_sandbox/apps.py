from django.apps import AppConfig


class CrmSandboxConfig(AppConfig):
    name = "crm_sandbox"
    verbose_name = "CRM sandbox"

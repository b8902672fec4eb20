from django.apps import AppConfig


class WebservicesConfig(AppConfig):
    name = "webservices"
    verbose_name = "ERP web services the CRM calls"

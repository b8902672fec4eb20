from django.conf import settings
from django.db import models


class CrmConnection(models.Model):
    """The connection to the Dynamics 365 Sales (Dataverse) organization: one row (pk=1).

    Secrets are stored only encrypted (syncjobs.crypto); the CA bundle is public and kept as text.
    """

    SINGLETON_PK = 1

    class AuthType(models.TextChoices):
        CLIENT_SECRET = "client_secret", "Client secret"
        CERTIFICATE = "certificate", "Certificate"

    server_url = models.URLField("server URL", max_length=250, blank=True)
    authority_url = models.URLField("authority (tenant) URL", max_length=250, blank=True)
    auth_type = models.CharField("authentication", max_length=20, choices=AuthType, default=AuthType.CLIENT_SECRET)
    client_id = models.CharField("client id", max_length=100, blank=True)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    certificate_pem = models.TextField("certificate", blank=True)
    certificate_thumbprint = models.CharField(max_length=40, blank=True, editable=False)
    certificate_key_encrypted = models.TextField(blank=True, editable=False)
    ca_bundle_pem = models.TextField("CA bundle", blank=True)

    integration_user_id = models.UUIDField("integration user id", null=True, blank=True, editable=False)
    integration_user_name = models.CharField("integration user", max_length=200, blank=True, editable=False)

    is_enabled = models.BooleanField("enabled", default=False)
    last_tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_passed = models.BooleanField(null=True, blank=True, editable=False)
    # One dict per check (key, title, status, message, hint); never holds a secret.
    last_test_results = models.JSONField(default=list, blank=True, editable=False)

    # Set by the assisted setup and the synchronization pages.
    item_availability_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sales_order_integration_enabled = models.BooleanField(default=False)
    sales_order_processing_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    synchronization_interval_minutes = models.PositiveIntegerField(default=30)

    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "CRM connection"
        permissions = [("manage_connection", "Can set up the CRM connection")]
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="crm_connection_singleton")]

    def __str__(self):
        return self.server_url or "CRM connection (not set up)"

    @property
    def is_saved(self) -> bool:
        return not self._state.adding

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    @property
    def has_certificate_key(self) -> bool:
        return bool(self.certificate_key_encrypted)

    @property
    def has_credentials(self) -> bool:
        if self.auth_type == self.AuthType.CERTIFICATE:
            return self.has_certificate_key and bool(self.certificate_thumbprint)
        return self.has_client_secret

    @property
    def is_configured(self) -> bool:
        return bool(self.server_url and self.authority_url and self.client_id and self.has_credentials)

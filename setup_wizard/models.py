from django.conf import settings
from django.db import models
from django.utils import timezone


class WebServiceAccessKey(models.Model):
    """A user's web service access key, as NAV has it: HTTP Basic with user name + key.

    Only a salted HMAC-SHA256 digest of the key is stored; the key itself is shown once.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_service_key")
    key_salt = models.CharField(max_length=64, editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField("expires", null=True, blank=True)

    class Meta:
        verbose_name = "web service access key"

    def __str__(self):
        return f"Web service access key of {self.user}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

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


class SetupWizardProgress(models.Model):
    """Where the assisted setup stands (one row, pk=1): the step to resume at, the steps done and the
    choices that live nowhere else. Never holds a secret: the administrator's credentials of the
    solution step are used once and dropped."""

    SINGLETON_PK = 1

    class Step(models.IntegerChoices):
        CONNECTION = 1, "Connection"
        SOLUTION = 2, "Integration solution"
        FEATURES = 3, "Features"
        SYNCHRONIZATION = 4, "What to synchronize"
        SUMMARY = 5, "Summary"

    current_step = models.PositiveSmallIntegerField(choices=Step, default=Step.CONNECTION)
    completed_steps = models.JSONField(default=list, blank=True)
    solution_imported_at = models.DateTimeField(null=True, blank=True)
    item_availability_odata_url = models.URLField("item availability OData URL", max_length=400, blank=True)
    item_availability_configured_at = models.DateTimeField(null=True, blank=True)
    enabled_mappings = models.JSONField(default=list, blank=True)
    full_synchronization_requested = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "assisted setup progress"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="setup_wizard_progress_singleton")]

    def __str__(self):
        return f"Assisted setup at step {self.current_step}"

    def is_completed(self, step: int) -> bool:
        return step in self.completed_steps

    @property
    def first_incomplete_step(self) -> int:
        return next((step for step in self.Step.values if step not in self.completed_steps), self.Step.SUMMARY)

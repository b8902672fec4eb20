from django.conf import settings
from django.db import models


class UserPreference(models.Model):
    """What one user chose for the pages (NetBox's UserConfig): for now, the columns each list shows.

    ``table_columns`` maps a table (``nav_crm.ui.columns.table_key``) to the names of the columns shown,
    in the table's order; a table missing from it shows its default columns.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ui_preference")
    table_columns = models.JSONField(default=dict, blank=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "user preference"

    def __str__(self):
        return f"Preferences of {self.user}"

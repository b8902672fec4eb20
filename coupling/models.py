"""Links between ERP records and CRM rows (NAV/BC's "CRM Integration Record").

A coupling ties one ERP record (by its model and ``system_id``) to one CRM row (by entity
logical name and GUID), unique on both sides, and keeps what the synchronization engine needs
to decide what changed: the mapped values as last synchronized (the three-way merge base),
both sides' timestamps as last seen, the last result and the failure streak that marks a
record skipped.
"""

import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import models


def system_id_of(record: models.Model) -> uuid.UUID:
    """The key a coupling holds for an ERP record (its ``erp_system_id``).

    Every ERP table that is coupled has this UUID field (erp's synchronized tables, the posted sales invoice),
    but records reach the coupling as ``models.Model`` (through ContentType.model_class() and the pages'
    registries), which does not declare it: it is read here, by name, and typed once."""
    system_id: uuid.UUID = getattr(record, "system_id")  # noqa: B009 — see above
    return system_id


class Coupling(models.Model):
    class State(models.TextChoices):
        COUPLED = "coupled", "Coupled"
        # The CRM id was chosen and recorded before the create was sent: a retry after a crash
        # upserts this same id instead of creating a second row.
        CREATING = "creating", "Create in Dynamics 365 pending"

    class Result(models.TextChoices):
        NONE = "", "Not synchronized yet"
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"

    erp_model = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    erp_system_id = models.UUIDField("ERP record system id")
    crm_entity = models.CharField("CRM entity", max_length=64, help_text="Logical name, e.g. account.")
    crm_id = models.UUIDField("CRM row id")
    state = models.CharField(max_length=10, choices=State.choices, default=State.COUPLED)

    snapshot = models.JSONField(
        default=dict, blank=True, help_text="Mapped values as last synchronized, by field mapping name."
    )
    # Values the ERP holds shortened (too long for its field): field mapping name → the shortened value
    # the engine wrote. While the ERP still holds exactly that, the field counts as unchanged on the
    # ERP side, so the shortened copy never overwrites the full value the CRM (and the snapshot) holds.
    shortened = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Fields the ERP holds shortened, with the values written."
    )
    erp_modified_at = models.DateTimeField("ERP record modified at (last sync)", null=True, blank=True)
    crm_modified_on = models.DateTimeField("CRM row modified on (last sync)", null=True, blank=True)
    crm_version = models.BigIntegerField("CRM row version (last sync)", null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=10, choices=Result.choices, default=Result.NONE, blank=True)
    # The synchronization job (syncjobs) that touched it last; no foreign key, since syncjobs
    # builds on this app, not the other way round.
    last_job_id = models.BigIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_fingerprint = models.CharField(max_length=64, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    skipped = models.BooleanField(default=False, help_text="Failed the same way twice; normal runs pass over it.")
    deferred_values = models.BooleanField(
        default=False, editable=False, help_text="A value waits for its record to be coupled; runs look again."
    )
    # Set when the ERP record is deleted (coupling.signals): an incremental run finds the deletions
    # among the few couplings marked so, instead of checking every coupling against the ERP table.
    erp_deleted_at = models.DateTimeField("ERP record deleted at", null=True, blank=True, editable=False)
    # What the deleted record was, taken as it went (its number and name): the errors about it name it so.
    erp_deleted_label = models.CharField("Deleted ERP record", max_length=200, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["erp_model", "erp_system_id"], name="coupling_unique_erp_record"),
            models.UniqueConstraint(fields=["crm_entity", "crm_id"], name="coupling_unique_crm_row"),
        ]
        indexes = [
            models.Index(fields=["erp_model", "skipped"]),
            # Failed couplings to retry: (erp_model, last_result, state) is chosen over the others
            # for them, and stays small however many couplings succeed.
            models.Index(fields=["erp_model", "last_result", "state"]),
            models.Index(fields=["erp_model", "state"]),
            models.Index(fields=["erp_model", "erp_deleted_at"]),
            models.Index(fields=["erp_model", "deferred_values"]),
        ]

    def __str__(self):
        return f"{self.erp_model.model} {self.erp_system_id} ↔ {self.crm_entity} {self.crm_id}"


class OptionCoupling(models.Model):
    """An ERP code-table record ↔ one value of a CRM option set (BC's "CRM Option Mapping").

    Option mappings (payment terms, shipment methods, shipping agents) have no CRM rows to couple
    to: the counterpart of a record is a value of the option set ``crm_attribute`` on ``crm_entity``.
    """

    erp_model = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    erp_system_id = models.UUIDField("ERP record system id")
    crm_entity = models.CharField("CRM entity", max_length=64, help_text="Logical name, e.g. account.")
    crm_attribute = models.CharField("CRM option set attribute", max_length=64, help_text="e.g. paymenttermscode.")
    option_value = models.IntegerField()
    option_label = models.CharField(max_length=250, blank=True, help_text="The option's label as last synchronized.")
    last_synced_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["erp_model", "erp_system_id", "crm_entity", "crm_attribute"],
                name="option_coupling_unique_erp_record",
            ),
            models.UniqueConstraint(
                fields=["crm_entity", "crm_attribute", "option_value"], name="option_coupling_unique_option"
            ),
        ]

    def __str__(self):
        option = f"{self.crm_entity}.{self.crm_attribute} = {self.option_value}"
        return f"{self.erp_model.model} {self.erp_system_id} ↔ {option}"

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from syncjobs.mappings import record_templates, rules


class CrmConnection(models.Model):
    """The connection to the Dynamics 365 Sales (Dataverse) organization: one row (pk=1).

    Secrets are stored only encrypted (syncjobs.connection.crypto); the CA bundle is public and kept as text.
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

    class SalesOrderMode(models.TextChoices):
        ONE_WAY = "one_way", "One way: submitted orders become ERP orders; their progress and invoices go back"
        TWO_WAY = "two_way", "Both ways: orders and their lines are kept the same on both sides"

    sales_order_integration_enabled = models.BooleanField(default=False)
    sales_order_mode = models.CharField(max_length=10, choices=SalesOrderMode.choices, default=SalesOrderMode.ONE_WAY)
    sales_order_processing_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Values of a Dynamics 365 order the ERP does not take over (crm_orders.fields keys).
    sales_order_fields_left_out = models.JSONField(default=list, blank=True)
    # BC's "Auto Create Sales Orders": the scheduler creates ERP orders from the submitted ones every N minutes.
    auto_create_sales_orders = models.BooleanField("create sales orders automatically", default=True)
    sales_order_interval_minutes = models.PositiveIntegerField(
        "look for submitted orders every (minutes)", default=5, validators=[MinValueValidator(1)]
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
    def sales_orders_both_ways(self) -> bool:
        return self.sales_order_integration_enabled and self.sales_order_mode == self.SalesOrderMode.TWO_WAY

    @property
    def sales_order_processing_in_crm(self) -> bool:
        """Dynamics 365's "sales order processing integration" (submitted orders read-only, priced by the ERP): the
        one-way mode's, as BC's legacy mode; both ways, salespeople keep editing their submitted orders."""
        return self.sales_order_integration_enabled and self.sales_order_mode == self.SalesOrderMode.ONE_WAY

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


class CrmThrottling(models.Model):
    """The 429 answers (service protection limits) Dynamics 365 gave one client of the integration user, kept when
    the client closes (syncjobs.connection.clients) so that the home page's health shows them from any process."""

    answers = models.PositiveIntegerField()
    last_at = models.DateTimeField(db_index=True)
    last_retry_after = models.FloatField("last Retry-After (seconds)", null=True, blank=True)

    class Meta:
        verbose_name = "Dynamics 365 throttling"

    def __str__(self):
        return f"{self.answers} × 429, last at {self.last_at:%Y-%m-%d %H:%M}"


class Direction(models.TextChoices):
    TO_CRM = "to_crm", "To Dynamics 365"
    FROM_CRM = "from_crm", "From Dynamics 365"
    BIDIRECTIONAL = "bidirectional", "Bidirectional"


class IntegrationTableMapping(models.Model):
    """Which ERP table synchronizes with which CRM entity, how, and after which other mappings.

    An option mapping (PAYMENT TERMS, SHIPMENT METHOD, SHIPPING AGENT) ties a small ERP code table
    to the values of an option set (``crm_option_attribute``) on ``crm_entity``; its couplings are
    ``coupling.OptionCoupling`` rows. The watermarks, delta link and running flag belong to the
    synchronization engine and are left alone by the setup pages.
    """

    class UpdateConflictPolicy(models.TextChoices):
        REPORT = "report", "Leave both and report (BC: None)"
        ERP_WINS = "erp_wins", "ERP wins (BC: Send update to integration)"
        CRM_WINS = "crm_wins", "Dynamics 365 wins (BC: Get update from integration)"

    class DeletionPolicy(models.TextChoices):
        REPORT = "report", "Report only (BC: None)"
        PROPAGATE = "propagate", "Delete the counterpart too"
        DEACTIVATE = "deactivate", "Deactivate the CRM row (statecode)"
        DECOUPLE = "decouple", "Remove the coupling (BC: Delete coupling)"
        RESTORE = "restore", "Restore the deleted record (BC: Restore records)"

    name = models.CharField(max_length=30, unique=True, help_text='Its code, e.g. "CUSTOMER".')
    title = models.CharField(max_length=100, help_text='What it synchronizes, e.g. "Customers ↔ Accounts".')
    erp_model = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", verbose_name="ERP table")
    crm_entity = models.CharField("CRM entity", max_length=64, help_text="Logical name, e.g. account.")
    crm_entity_set = models.CharField("CRM entity set", max_length=64, help_text="Web API set name, e.g. accounts.")
    crm_primary_key = models.CharField(
        "CRM primary key", max_length=64, blank=True, help_text="e.g. accountid; empty for option mappings."
    )
    direction = models.CharField(max_length=15, choices=Direction.choices, default=Direction.BIDIRECTIONAL)
    erp_filter = models.JSONField(
        "ERP filter",
        default=dict,
        blank=True,
        help_text='Field lookups every synchronized ERP record matches, e.g. {"blocked": ""}.',
    )
    crm_filter = models.TextField(
        "CRM filter", blank=True, help_text="An OData $filter every synchronized CRM row matches, e.g. statecode eq 0."
    )
    sync_only_coupled = models.BooleanField("synchronize only coupled records", default=True)
    depends_on = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependants", verbose_name="depends on"
    )
    update_conflict_policy = models.CharField(
        max_length=10, choices=UpdateConflictPolicy.choices, default=UpdateConflictPolicy.REPORT
    )
    deletion_policy = models.CharField(max_length=10, choices=DeletionPolicy.choices, default=DeletionPolicy.REPORT)
    create_new_if_no_match = models.BooleanField("create new in case of no match", default=False)
    sync_after_bulk_coupling = models.BooleanField("synchronize after bulk coupling", default=True)
    is_enabled = models.BooleanField("enabled", default=True)
    is_option_mapping = models.BooleanField("option mapping", default=False)
    crm_option_attribute = models.CharField(
        "CRM option set attribute", max_length=64, blank=True, help_text="e.g. paymenttermscode."
    )
    sync_interval_minutes = models.PositiveIntegerField(
        "synchronize every (minutes)", default=30, validators=[MinValueValidator(1)]
    )
    inactivity_timeout_minutes = models.PositiveIntegerField(
        "idle after (minutes without changes)", default=720, validators=[MinValueValidator(1)]
    )
    # Ties in the dependency order (BC's prioritized list): lower runs first.
    priority = models.PositiveSmallIntegerField(default=100)

    # Kept by the synchronization engine.
    erp_watermark = models.DateTimeField("ERP changes synchronized up to", null=True, blank=True, editable=False)
    crm_watermark = models.DateTimeField("CRM changes synchronized up to", null=True, blank=True, editable=False)
    crm_delta_link = models.TextField("CRM change-tracking delta link", blank=True, editable=False)
    full_sync_running = models.BooleanField("full synchronization running", default=False, editable=False)
    # The one job that may run for this mapping now (syncjobs.runs.jobs: taken by a compare-and-swap on this
    # column when a job is claimed, given back when it ends). Others wait for it.
    lease_job = models.ForeignKey(
        "SyncJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "integration table mapping"
        ordering = ["priority", "name"]
        permissions = [("manage_mappings", "Can view and change the integration table mappings")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(is_option_mapping=True, direction="bidirectional"),
                name="syncjobs_option_mapping_not_bidirectional",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("syncjobs:mapping_detail", args=[self.pk])

    @property
    def job_direction(self) -> str:
        """The direction of a job that follows the mapping: both ways for a bidirectional one."""
        return {
            Direction.TO_CRM: SyncJob.JobDirection.TO_CRM,
            Direction.FROM_CRM: SyncJob.JobDirection.FROM_CRM,
            Direction.BIDIRECTIONAL: SyncJob.JobDirection.BOTH,
        }[self.direction]

    def clean(self):
        errors = {}
        if self.is_option_mapping:
            if self.direction == Direction.BIDIRECTIONAL:
                errors["direction"] = "An option mapping cannot be bidirectional: choose to or from Dynamics 365."
            if not self.crm_option_attribute:
                errors["crm_option_attribute"] = "Name the option set attribute, e.g. paymenttermscode."
        elif self.crm_option_attribute:
            errors["crm_option_attribute"] = "Only an option mapping has an option set attribute."
        model = self.erp_model.model_class() if self.erp_model_id else None
        if model is not None:
            filter_error = rules.erp_filter_error(model, self.erp_filter)
            if filter_error:
                errors["erp_filter"] = filter_error
        crm_filter_error = rules.crm_filter_error(self.crm_filter)
        if crm_filter_error:
            errors["crm_filter"] = crm_filter_error
        if errors:
            raise ValidationError(errors)


class IntegrationFieldMapping(models.Model):
    """One field of a table mapping: an ERP field (or path) ↔ a CRM attribute, or a constant.

    ``name`` is the field mapping's stable key within its table mapping: couplings keep their
    last synchronized values under it (``Coupling.snapshot``), so resetting to defaults keeps it.
    For a lookup, ``crm_attribute`` is the lookup's logical name, ``crm_navigation_property`` the
    single-valued navigation property to bind (e.g. parentcustomerid_account) and
    ``lookup_mapping`` the mapping whose couplings translate the ERP record into a CRM id.
    In an option mapping, ``crm_attribute`` names a property of the option: ``label`` or ``value``.
    """

    class Transform(models.TextChoices):
        NONE = "", "None"
        TRIM = "trim", "Trim to the target's maximum length (with a warning)"
        LOOKUP = "lookup", "Look up by coupled id"
        SCHEDULE_BASE_UNIT = "schedule_base_unit", "Base unit of the coupled unit group"
        OPTION = "option", "Option value of the coupled ERP record"
        INACTIVE_STATE = "inactive_state", "Blocked ↔ inactive state (true: Inactive/Retired, false: Active)"

    table_mapping = models.ForeignKey(IntegrationTableMapping, on_delete=models.CASCADE, related_name="field_mappings")
    name = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)
    erp_field = models.CharField(
        "ERP field",
        max_length=100,
        blank=True,
        help_text="A field or path on the ERP table, e.g. name, company__customer.",
    )
    crm_attribute = models.CharField("CRM attribute", max_length=100, blank=True, help_text="Logical name.")
    crm_navigation_property = models.CharField(
        "CRM navigation property", max_length=100, blank=True, help_text="For lookups, e.g. transactioncurrencyid."
    )
    lookup_mapping = models.ForeignKey(
        IntegrationTableMapping,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For lookups: the mapping whose couplings give the CRM id.",
    )
    lookup_erp_key = models.CharField(
        "lookup ERP key",
        max_length=64,
        blank=True,
        help_text="When the ERP field holds a code, not a reference: the looked-up table's field it names.",
    )
    direction = models.CharField(max_length=15, choices=Direction.choices, default=Direction.BIDIRECTIONAL)
    constant_value = models.CharField(
        max_length=250, blank=True, help_text="Written instead of a field value; empty means no constant."
    )
    transform = models.CharField(max_length=20, choices=Transform.choices, default=Transform.NONE, blank=True)
    validate_field = models.BooleanField(default=True, help_text="Run the target's validation when writing it.")
    clear_value_on_failed_sync = models.BooleanField(default=False)
    not_null = models.BooleanField("not null", default=False, help_text="Never write an empty value.")
    use_for_match_based_coupling = models.BooleanField(default=False)
    match_priority = models.PositiveSmallIntegerField(default=0)
    case_sensitive_matching = models.BooleanField(default=False)
    is_enabled = models.BooleanField("enabled", default=True)

    class Meta:
        verbose_name = "integration field mapping"
        ordering = ["table_mapping", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["table_mapping", "name"], name="syncjobs_field_mapping_unique_name"),
        ]

    def __str__(self):
        left = self.erp_field or f"“{self.constant_value}”"
        right = self.crm_attribute or f"“{self.constant_value}”"
        arrow = {Direction.TO_CRM: "→", Direction.FROM_CRM: "←"}.get(self.direction, "↔")
        return f"{left} {arrow} {right}"

    def get_absolute_url(self):
        return reverse("syncjobs:mapping_detail", args=[self.table_mapping_id])


class RecordTemplate(models.Model):
    """Values for an ERP record created from a CRM row that Dynamics 365 does not send (BC: Int. Tbl. Config
    Template): the first template of the mapping, by priority, whose CRM filter the row matches applies.

    ``values`` maps ERP field names to values, a reference by its record's code (syncjobs.mappings.record_templates).
    """

    mapping = models.ForeignKey(IntegrationTableMapping, on_delete=models.CASCADE, related_name="record_templates")
    code = models.CharField(max_length=20, help_text='e.g. "DENMARK".')
    description = models.CharField(max_length=100, blank=True)
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="When several templates fit a row, the lowest number applies."
    )
    crm_filter = models.TextField(
        "CRM filter",
        blank=True,
        help_text="An OData $filter the Dynamics 365 row must match, e.g. address1_country eq 'Denmark'; "
        "empty: every row.",
    )
    values = models.JSONField(
        help_text='ERP field and value, a reference by its code, e.g. {"payment_terms": "30 DAYS", '
        '"customer_price_group": "RETAIL"}. A field Dynamics 365 also sends takes the template\'s value only '
        "when the row leaves it empty."
    )
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "record template"
        ordering = ["mapping", "priority", "code"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "code"], name="syncjobs_record_template_unique_code"),
        ]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("syncjobs:mapping_detail", args=[self.mapping_id]) + "#templates"

    def clean(self):
        errors = {}
        self.code = self.code.strip()
        crm_filter_error = rules.crm_filter_error(self.crm_filter)
        if crm_filter_error:
            errors["crm_filter"] = crm_filter_error
        if self.mapping_id:
            mapping = self.mapping
            if mapping.is_option_mapping:
                errors["mapping"] = "An option mapping creates no ERP records from rows: it has no templates."
            elif self.code and mapping.record_templates.filter(code=self.code).exclude(pk=self.pk).exists():
                errors["code"] = f"The mapping {mapping.name} has a template {self.code} already."
            model = mapping.erp_model.model_class()
            if model is not None and not mapping.is_option_mapping:
                problems = record_templates.problems(model, self.values, mapping.field_mappings.all())
                if problems:
                    errors["values"] = problems
                else:
                    self.values = record_templates.normalized(model, self.values)
        if errors:
            raise ValidationError(errors)


class SyncJob(models.Model):
    """One run of the engine (or of a coupling/uncoupling batch) for one mapping.

    The project owns its job records; django-q2 only carries the primary key to a worker, which
    claims the job with a conditional update (a task delivered twice runs once). Counters and
    the heartbeat are written while the job runs, not only at the end.
    """

    class Kind(models.TextChoices):
        SYNCHRONIZATION = "synchronization", "Synchronization"
        COUPLING = "coupling", "Match-based coupling"
        UNCOUPLING = "uncoupling", "Uncoupling"
        # Of no mapping: the sales order integration's own jobs (crm_orders).
        ORDER_INTAKE = "order_intake", "Sales orders from Dynamics 365"
        ORDER_PROGRESS = "order_progress", "Sales order progress to Dynamics 365"

    class JobDirection(models.TextChoices):
        TO_CRM = "to_crm", "To Dynamics 365"
        FROM_CRM = "from_crm", "From Dynamics 365"
        BOTH = "both", "Both directions"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Success"
        ERROR = "error", "Finished with errors"  # some records failed; the rest went through
        FAILED = "failed", "Failed"  # the job itself could not run or was abandoned
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCESS, Status.ERROR, Status.FAILED, Status.CANCELLED)
    COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled", "uncoupled")
    # Counted per pass of a job both ways (failures are error rows, each naming its record).
    PASS_COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "coupled", "uncoupled")

    mapping = models.ForeignKey(
        IntegrationTableMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    mapping_name = models.CharField(max_length=50, help_text="Kept when the mapping is deleted.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SYNCHRONIZATION)
    direction = models.CharField(max_length=10, choices=JobDirection.choices)
    full = models.BooleanField("full synchronization", default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    # What to work on when not the whole mapping, e.g. {"erp_system_ids": [...]} for "Synchronize now".
    parameters = models.JSONField(default=dict, blank=True)
    # The last committed position, so that a job resumed after a crash does not start over.
    checkpoint = models.JSONField(default=dict, blank=True)

    inserted = models.PositiveIntegerField(default=0)
    modified = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    coupled = models.PositiveIntegerField(default=0)
    uncoupled = models.PositiveIntegerField(default=0)
    http_requests = models.PositiveIntegerField("HTTP requests", default=0)
    # A job both ways: the counters of each pass ({"to_crm": {"inserted": 3}, "from_crm": {...}}), as Business
    # Central shows two jobs; the counters above are their sums.
    counts_by_direction = models.JSONField(default=dict, blank=True, editable=False)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True, help_text="host:pid of the worker that claimed it.")
    # A pending job that found another job of its mapping running: it runs once that one ends.
    waiting_for = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="waiting_jobs", editable=False
    )
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "synchronization job"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "heartbeat_at"]), models.Index(fields=["mapping", "-created_at"])]

    def __str__(self):
        return f"{self.mapping_name} {self.get_direction_display()} #{self.pk}"

    def get_absolute_url(self):
        return reverse("syncjobs:job_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def direction_counts(self) -> list[tuple[str, dict[str, int]]]:
        """(label, counters) of each pass of a job both ways that counted anything, ERP → CRM first."""
        labels = {"to_crm": "ERP → Dynamics 365", "from_crm": "Dynamics 365 → ERP"}
        return [
            (label, {name: self.counts_by_direction[side].get(name, 0) for name in self.PASS_COUNTERS})
            for side, label in labels.items()
            if self.counts_by_direction.get(side)
        ]


class SyncJobError(models.Model):
    """One failed record of a job: what failed, where (links to both sides), and why."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="errors")
    mapping = models.ForeignKey(
        IntegrationTableMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erp_model = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    erp_system_id = models.UUIDField("ERP record system id", null=True, blank=True)
    erp_label = models.CharField("ERP record", max_length=200, blank=True)
    crm_entity = models.CharField("CRM entity", max_length=64, blank=True)
    crm_id = models.UUIDField("CRM row id", null=True, blank=True)
    message = models.TextField()
    details = models.TextField(blank=True, help_text="Technical details: the CRM's error code and body, the trace.")
    # Where the user fixes it, when that is not the record itself (e.g. "Couple product …" for an order line).
    fix_url = models.CharField(max_length=300, blank=True)
    fix_label = models.CharField(max_length=100, blank=True)
    # Equal fingerprints in two consecutive jobs mark the coupling skipped (BC: same failure twice).
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "synchronization error"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["erp_model", "erp_system_id"]), models.Index(fields=["crm_entity", "crm_id"])]

    def __str__(self):
        return f"{self.job}: {self.message[:80]}"


class SyncJobWarning(models.Model):
    """Something a job did to one record that its user should know, though the record synchronized: a value
    shortened to fit the ERP's field. A row names the record, the field and what was done."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="warnings")
    mapping = models.ForeignKey(
        IntegrationTableMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erp_model = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    erp_system_id = models.UUIDField("ERP record system id", null=True, blank=True)
    erp_label = models.CharField("ERP record", max_length=200, blank=True)
    crm_entity = models.CharField("CRM entity", max_length=64, blank=True)
    crm_id = models.UUIDField("CRM row id", null=True, blank=True)
    field = models.CharField(max_length=200, help_text="The ERP field, as its page names it.")
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "synchronization warning"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["erp_model", "erp_system_id"])]

    def __str__(self):
        return f"{self.job}: {self.message[:80]}"


class FullSyncRun(models.Model):
    """One full synchronization (BC's "Dataverse Full Synch. Review" → Sync All): its lines run one
    after the other, each mapping after those it depends on (syncjobs.runs.full_sync).

    The coordinator claims the run like a job claims a job; its heartbeat (and its lines' jobs')
    tells whether a worker still carries it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Stopped"  # the coordinator itself could not go on
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.PENDING, Status.RUNNING)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "full synchronization"
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"Full synchronization #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class FullSyncLine(models.Model):
    """One mapping of a full synchronization: what was found on each side, what was done, its jobs."""

    class Recommendation(models.TextChoices):
        FULL = "full", "Full synchronization"
        COUPLE = "couple", "Couple records"
        NONE = "none", "No records found"
        SKIP = "skip", "Skip"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        RUNNING = "running", "Running"
        SUCCESS = "success", "Finished"
        ERROR = "error", "Finished with errors"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    run = models.ForeignKey(FullSyncRun, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    mapping = models.ForeignKey(
        IntegrationTableMapping, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mapping_name = models.CharField(max_length=50)
    recommendation = models.CharField(max_length=10, choices=Recommendation.choices)
    erp_count = models.PositiveIntegerField("ERP records", null=True, blank=True)
    crm_count = models.PositiveIntegerField("Dynamics 365 rows", null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    message = models.TextField(blank=True)
    coupling_job = models.ForeignKey(SyncJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sync_job = models.ForeignKey(SyncJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # After every line: the run that sends the lookups left out while their record was not coupled yet
    # (a customer's primary contact: CONTACT runs after CUSTOMER).
    deferred_job = models.ForeignKey(SyncJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "full synchronization line"
        ordering = ["run", "position"]

    def __str__(self):
        return f"{self.run} {self.mapping_name}"

"""Durable saga state: one instance per saga, one log row per step attempt or operator act."""

import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class SagaStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    RUNNING = "RUNNING", "Running"
    COMPENSATING = "COMPENSATING", "Compensating"
    COMPLETED = "COMPLETED", "Completed"
    COMPENSATED = "COMPENSATED", "Compensated"
    FAILED = "FAILED", "Failed"


TERMINAL_STATUSES = (SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED)
ACTIVE_STATUSES = (SagaStatus.PENDING, SagaStatus.RUNNING, SagaStatus.COMPENSATING)


class SagaStyle(models.TextChoices):
    ORCHESTRATION = "orchestration", "Orchestration"
    CHOREOGRAPHY = "choreography", "Choreography"


class Direction(models.TextChoices):
    FORWARD = "FORWARD", "Forward"
    COMPENSATION = "COMPENSATION", "Compensation"
    OPERATOR = "OPERATOR", "Operator action"
    SYSTEM = "SYSTEM", "System"
    EVENT = "EVENT", "Event"


class SagaInstance(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    definition_name = models.CharField(max_length=100)
    definition_version = models.PositiveIntegerField()
    style = models.CharField(max_length=16, choices=SagaStyle.choices, default=SagaStyle.ORCHESTRATION)
    status = models.CharField(max_length=16, choices=SagaStatus.choices, default=SagaStatus.PENDING)
    # Which way the saga is moving, kept when it stops as FAILED so a retry knows.
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.FORWARD)
    step_index = models.IntegerField(default=0)
    current_step = models.CharField(max_length=100, blank=True, default="")
    attempt = models.PositiveIntegerField(default=0, help_text="Attempts of the current step so far.")
    context = models.JSONField(default=dict, help_text="The saga's input and each step's result.")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    # The id of the business object the saga acts on (an order for the order saga): people find a
    # saga by it, whole or by its first characters (sagas.lookup), so it is indexed.
    business_key = models.UUIDField(
        null=True, blank=True, help_text="The id of the business object the saga acts on, such as an order."
    )
    # Who the saga belongs to: a user's id as text, never the username (see sagas.participant.customers).
    party = models.CharField(
        max_length=160,
        blank=True,
        default="",
        help_text="Who the saga belongs to: for an order, its customer's user id.",
    )
    # The lease: who runs the saga now and until when. `version` fences out late commits.
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveBigIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="Not before this time (retry backoff).")
    deadline_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    last_error = models.TextField(blank=True, default="")
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When a person marked a FAILED saga dealt with."
    )
    resolved_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "saga"
        indexes = [
            models.Index(fields=["status", "-created_at"], name="saga_status_recent"),
            models.Index(fields=["definition_name", "-created_at"], name="saga_type_recent"),
            models.Index(fields=["style", "-created_at"], name="saga_style_recent"),
            # Sagas in progress, newest first: the stuck list and the recovery sweep read the lease
            # and deadline off these few rows. No column a checkpoint writes is indexed, so a
            # checkpoint that keeps the status is a HOT update that touches no index.
            models.Index(
                fields=["-created_at"],
                name="saga_in_progress",
                condition=models.Q(status__in=["PENDING", "RUNNING", "COMPENSATING"]),
            ),
            # Exact search and prefix range reads (sagas.lookup), as the old order_id column had.
            models.Index(fields=["business_key"], name="saga_business_key"),
            # Exact search only: no pattern index as Django adds for an indexed CharField.
            models.Index(fields=["party"], name="saga_party"),
            # The admin's "needs attention" list, and the overview's outcomes per hour (index-only).
            models.Index(
                fields=["-created_at"],
                name="saga_needs_attention",
                condition=models.Q(status="FAILED", resolved_at__isnull=True),
            ),
            models.Index(fields=["finished_at", "status"], name="saga_finished"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="saga_one_per_idempotency_key"),
        ]
        permissions = [
            ("retry_saga", "Can retry a failed saga"),
            ("compensate_saga", "Can compensate a saga"),
            ("resume_saga", "Can resume a stuck saga"),
            ("pause_saga", "Can pause and unpause a saga"),
            ("edit_saga_input", "Can edit a saga's input and retry"),
            ("skip_saga_step", "Can skip a failed step"),
            ("resolve_saga", "Can mark a failed saga resolved"),
        ]

    def __str__(self) -> str:
        return f"{self.definition_name} {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class StepStatus(models.TextChoices):
    RUNNING = "RUNNING", "Running"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    REFUSED = "REFUSED", "Refused (business)"
    FAILED = "FAILED", "Failed (transient)"
    TIMED_OUT = "TIMED_OUT", "Timed out"
    ABANDONED = "ABANDONED", "Abandoned (lease lost)"
    RECORDED = "RECORDED", "Recorded"


class SagaStepLog(models.Model):
    saga = models.ForeignKey(SagaInstance, on_delete=models.CASCADE, related_name="steps")
    step_name = models.CharField(max_length=100)
    step_index = models.IntegerField(default=0)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    attempt = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    idempotency_key = models.CharField(max_length=200, blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error_type = models.CharField(max_length=200, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=200, blank=True, default="")
    # Operator and system records: what was done, by whom and why.
    action = models.CharField(max_length=50, blank=True, default="")
    actor = models.CharField(max_length=150, blank=True, default="")
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["saga", "started_at"], name="steplog_saga_time")]

    def __str__(self) -> str:
        return f"{self.step_name} {self.direction} #{self.attempt} {self.status}"

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class FaultRule(models.Model):
    """A switch that makes a participant operation misbehave on purpose."""

    class Mode(models.TextChoices):
        REFUSE = "refuse", "Fail for good (business refusal)"
        TRANSIENT = "transient", "Transient error"
        DELAY = "delay", "Delay"
        HANG = "hang", "Hang"

    class Phase(models.TextChoices):
        BEFORE = "before", "Before the effect"
        AFTER = "after", "After the effect (outcome lost)"

    # A fault point a participant registered (sagas.participant.faults.register_fault_points);
    # the engine names no business operation, so the admin offers the registered ones.
    operation = models.CharField(max_length=64, help_text="The participant operation, such as payments.payment_charge.")
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.BEFORE)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    probability = models.FloatField(default=1.0, help_text="Chance per call, 0 to 1.")
    delay_seconds = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0, message=_("The delay cannot be negative."))],
        help_text="For delay; a hang lasts at least an hour.",
    )
    remaining = models.PositiveIntegerField(
        null=True, blank=True, help_text="Fire this many times, then stop; empty for no limit."
    )
    message = models.CharField(max_length=200, blank=True, default="")
    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["operation", "phase"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=0) & models.Q(probability__lte=1), name="fault_probability_0_1"
            ),
            # Every writer, not only the admin form: time.sleep() refuses a negative delay mid-step.
            models.CheckConstraint(
                condition=models.Q(delay_seconds__gte=0),
                name="fault_delay_not_negative",
                violation_error_message=_("The delay cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.phase}: {self.mode} p={self.probability}"


class IdempotentRequest(models.Model):
    """The first answer to an API request made with an Idempotency-Key, replayed on a repeat."""

    key = models.CharField(max_length=200)
    user_id = models.BigIntegerField()
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    # Indexed for the purge that runs every minute (sagas.engine.retention).
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="one_request_per_user_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"

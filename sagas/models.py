"""Durable saga state: one instance per saga, one log row per step attempt or operator act."""

import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from sagas.engine.definition import definition_title


class SagaStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")
    RUNNING = "RUNNING", _("Running")
    COMPENSATING = "COMPENSATING", _("Compensating")
    COMPLETED = "COMPLETED", _("Completed")
    COMPENSATED = "COMPENSATED", _("Compensated")
    FAILED = "FAILED", _("Failed")


TERMINAL_STATUSES = (SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED)
ACTIVE_STATUSES = (SagaStatus.PENDING, SagaStatus.RUNNING, SagaStatus.COMPENSATING)

# The console names a status by its code (FAILED), as the logs, the API and the commands do; in
# another language the code's translation stands in for it. The stored value never changes.
_STATUS_CODE_NAMES = {
    SagaStatus.PENDING: pgettext_lazy("saga status code", "PENDING"),
    SagaStatus.RUNNING: pgettext_lazy("saga status code", "RUNNING"),
    SagaStatus.COMPENSATING: pgettext_lazy("saga status code", "COMPENSATING"),
    SagaStatus.COMPLETED: pgettext_lazy("saga status code", "COMPLETED"),
    SagaStatus.COMPENSATED: pgettext_lazy("saga status code", "COMPENSATED"),
    SagaStatus.FAILED: pgettext_lazy("saga status code", "FAILED"),
}


def status_code_name(status: str) -> str:
    """A saga status as a person reads it in the active language: FAILED in English."""
    name = _STATUS_CODE_NAMES.get(status)
    return str(name) if name is not None else str(status)


# The audit rows store what was done as a code (OperatorAction in sagas.engine.styles and the
# engine's own notes); the page shows the code in English and its translation elsewhere.
_ACTION_NAMES = {
    "retry": pgettext_lazy("operator action code", "retry"),
    "compensate": pgettext_lazy("operator action code", "compensate"),
    "resume": pgettext_lazy("operator action code", "resume"),
    "forced resume": pgettext_lazy("operator action code", "forced resume"),
    "pause": pgettext_lazy("operator action code", "pause"),
    "unpause": pgettext_lazy("operator action code", "unpause"),
    "edit_input": pgettext_lazy("operator action code", "edit_input"),
    "skip_step": pgettext_lazy("operator action code", "skip_step"),
    "resolve": pgettext_lazy("operator action code", "resolve"),
    "definition_version_unknown": pgettext_lazy("operator action code", "definition_version_unknown"),
}


def action_code_name(action: str) -> str:
    """An audit row's action in the active language: the stored code itself in English."""
    name = _ACTION_NAMES.get(action)
    return str(name) if name is not None else action


class SagaStyle(models.TextChoices):
    ORCHESTRATION = "orchestration", _("Orchestration")
    CHOREOGRAPHY = "choreography", _("Choreography")


class Direction(models.TextChoices):
    FORWARD = "FORWARD", _("Forward")
    COMPENSATION = "COMPENSATION", _("Compensation")
    OPERATOR = "OPERATOR", _("Operator action")
    SYSTEM = "SYSTEM", _("System")
    EVENT = "EVENT", _("Event")


# The commands' human output names a saga's style, a step's direction and an attempt's status by
# their codes (orchestration, forward, SUCCEEDED), as the logs and the JSON do; in another language
# the code's translation stands in for it, as for a saga's status above.
_STYLE_CODE_NAMES = {
    SagaStyle.ORCHESTRATION: pgettext_lazy("saga style code", "orchestration"),
    SagaStyle.CHOREOGRAPHY: pgettext_lazy("saga style code", "choreography"),
}
_DIRECTION_CODE_NAMES = {
    Direction.FORWARD: pgettext_lazy("step direction code", "forward"),
    Direction.COMPENSATION: pgettext_lazy("step direction code", "compensation"),
    Direction.OPERATOR: pgettext_lazy("step direction code", "operator"),
    Direction.SYSTEM: pgettext_lazy("step direction code", "system"),
    Direction.EVENT: pgettext_lazy("step direction code", "event"),
}


def style_code_name(style: str) -> str:
    """A saga's style in the active language: the stored code itself in English."""
    name = _STYLE_CODE_NAMES.get(style)
    return str(name) if name is not None else style


def direction_code_name(direction: str) -> str:
    """A direction in the active language: the code in lower case in English (forward)."""
    name = _DIRECTION_CODE_NAMES.get(direction)
    return str(name) if name is not None else direction.lower()


class SagaInstance(models.Model):
    id = models.UUIDField(verbose_name=_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    definition_name = models.CharField(verbose_name=_("definition name"), max_length=100)
    definition_version = models.PositiveIntegerField(verbose_name=_("definition version"))
    style = models.CharField(
        verbose_name=_("style"), max_length=16, choices=SagaStyle.choices, default=SagaStyle.ORCHESTRATION
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=SagaStatus.choices, default=SagaStatus.PENDING
    )
    # Which way the saga is moving, kept when it stops as FAILED so a retry knows.
    direction = models.CharField(
        verbose_name=_("direction"), max_length=16, choices=Direction.choices, default=Direction.FORWARD
    )
    step_index = models.IntegerField(verbose_name=_("step index"), default=0)
    current_step = models.CharField(verbose_name=_("current step"), max_length=100, blank=True, default="")
    attempt = models.PositiveIntegerField(
        verbose_name=_("attempt"), default=0, help_text=_("Attempts of the current step so far.")
    )
    context = models.JSONField(
        verbose_name=_("context"), default=dict, help_text=_("The saga's input and each step's result.")
    )
    idempotency_key = models.CharField(verbose_name=_("idempotency key"), max_length=200, null=True, blank=True)
    # The id of the business object the saga acts on (an order for the order saga): people find a
    # saga by it, whole or by its first characters (sagas.lookup), so it is indexed.
    business_key = models.UUIDField(
        verbose_name=_("business key"),
        null=True,
        blank=True,
        help_text=_("The id of the business object the saga acts on, such as an order."),
    )
    # Who the saga belongs to: a user's id as text, never the username (see sagas.participant.customers).
    party = models.CharField(
        verbose_name=_("party"),
        max_length=160,
        blank=True,
        default="",
        help_text=_("Who the saga belongs to: for an order, its customer's user id."),
    )
    # The lease: who runs the saga now and until when. `version` fences out late commits.
    lease_owner = models.CharField(verbose_name=_("lease owner"), max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(verbose_name=_("lease expires at"), null=True, blank=True)
    version = models.PositiveBigIntegerField(verbose_name=_("version"), default=0)
    next_run_at = models.DateTimeField(
        verbose_name=_("next run at"), null=True, blank=True, help_text=_("Not before this time (retry backoff).")
    )
    deadline_at = models.DateTimeField(verbose_name=_("deadline at"), null=True, blank=True)
    paused = models.BooleanField(verbose_name=_("paused"), default=False)
    last_error = models.TextField(verbose_name=_("last error"), blank=True, default="")
    resolved_at = models.DateTimeField(
        verbose_name=_("resolved at"),
        null=True,
        blank=True,
        help_text=_("When a person marked a FAILED saga dealt with."),
    )
    resolved_by = models.CharField(verbose_name=_("resolved by"), max_length=150, blank=True, default="")
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("saga")
        verbose_name_plural = _("sagas")
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
        # Stored in English by migrate; marked so the permission pickers can translate them
        # (sagaproject.permission_labels).
        permissions = [
            ("retry_saga", gettext_noop("Can retry a failed saga")),
            ("compensate_saga", gettext_noop("Can compensate a saga")),
            ("resume_saga", gettext_noop("Can resume a stuck saga")),
            ("pause_saga", gettext_noop("Can pause and unpause a saga")),
            ("edit_saga_input", gettext_noop("Can edit a saga's input and retry")),
            ("skip_saga_step", gettext_noop("Can skip a failed step")),
            ("resolve_saga", gettext_noop("Can mark a failed saga resolved")),
        ]

    def __str__(self) -> str:
        kind = definition_title(self.definition_name, self.definition_version)
        return f"{kind} {self.id} ({status_code_name(self.status)})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class StepStatus(models.TextChoices):
    RUNNING = "RUNNING", _("Running")
    SUCCEEDED = "SUCCEEDED", _("Succeeded")
    REFUSED = "REFUSED", _("Refused (business)")
    FAILED = "FAILED", _("Failed (transient)")
    TIMED_OUT = "TIMED_OUT", _("Timed out")
    ABANDONED = "ABANDONED", _("Abandoned (lease lost)")
    RECORDED = "RECORDED", _("Recorded")


_STEP_STATUS_CODE_NAMES = {
    StepStatus.RUNNING: pgettext_lazy("step status code", "RUNNING"),
    StepStatus.SUCCEEDED: pgettext_lazy("step status code", "SUCCEEDED"),
    StepStatus.REFUSED: pgettext_lazy("step status code", "REFUSED"),
    StepStatus.FAILED: pgettext_lazy("step status code", "FAILED"),
    StepStatus.TIMED_OUT: pgettext_lazy("step status code", "TIMED_OUT"),
    StepStatus.ABANDONED: pgettext_lazy("step status code", "ABANDONED"),
    StepStatus.RECORDED: pgettext_lazy("step status code", "RECORDED"),
}


def step_status_code_name(status: str) -> str:
    """An attempt's status in the active language: the stored code itself in English (SUCCEEDED)."""
    name = _STEP_STATUS_CODE_NAMES.get(status)
    return str(name) if name is not None else status


class SagaStepLog(models.Model):
    saga = models.ForeignKey(SagaInstance, on_delete=models.CASCADE, related_name="steps", verbose_name=_("saga"))
    step_name = models.CharField(verbose_name=_("step name"), max_length=100)
    step_index = models.IntegerField(verbose_name=_("step index"), default=0)
    direction = models.CharField(verbose_name=_("direction"), max_length=16, choices=Direction.choices)
    attempt = models.PositiveIntegerField(verbose_name=_("attempt"), default=0)
    status = models.CharField(verbose_name=_("status"), max_length=16, choices=StepStatus.choices)
    idempotency_key = models.CharField(verbose_name=_("idempotency key"), max_length=200, blank=True, default="")
    started_at = models.DateTimeField(verbose_name=_("started at"))
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)
    result = models.JSONField(verbose_name=_("result"), default=dict, blank=True)
    error_type = models.CharField(verbose_name=_("error type"), max_length=200, blank=True, default="")
    error_message = models.TextField(verbose_name=_("error message"), blank=True, default="")
    traceback = models.TextField(verbose_name=_("traceback"), blank=True, default="")
    worker = models.CharField(verbose_name=_("worker"), max_length=200, blank=True, default="")
    # Operator and system records: what was done, by whom and why.
    action = models.CharField(verbose_name=_("action"), max_length=50, blank=True, default="")
    actor = models.CharField(verbose_name=_("actor"), max_length=150, blank=True, default="")
    reason = models.TextField(verbose_name=_("reason"), blank=True, default="")

    class Meta:
        verbose_name = _("step log")
        verbose_name_plural = _("step logs")
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["saga", "started_at"], name="steplog_saga_time")]

    def __str__(self) -> str:
        direction, status = direction_code_name(self.direction), step_status_code_name(self.status)
        return f"{self.step_name} {direction} #{self.attempt} {status}"

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class FaultRule(models.Model):
    """A switch that makes a participant operation misbehave on purpose."""

    class Mode(models.TextChoices):
        REFUSE = "refuse", _("Fail for good (business refusal)")
        TRANSIENT = "transient", _("Transient error")
        DELAY = "delay", _("Delay")
        HANG = "hang", _("Hang")

    class Phase(models.TextChoices):
        BEFORE = "before", _("Before the effect")
        AFTER = "after", _("After the effect (outcome lost)")

    # A fault point a participant registered (sagas.participant.faults.register_fault_points);
    # the engine names no business operation, so the admin offers the registered ones.
    operation = models.CharField(
        verbose_name=_("operation"),
        max_length=64,
        help_text=_("The participant operation, such as payments.payment_charge."),
    )
    phase = models.CharField(verbose_name=_("phase"), max_length=8, choices=Phase.choices, default=Phase.BEFORE)
    mode = models.CharField(verbose_name=_("mode"), max_length=16, choices=Mode.choices)
    probability = models.FloatField(verbose_name=_("probability"), default=1.0, help_text=_("Chance per call, 0 to 1."))
    delay_seconds = models.FloatField(
        verbose_name=_("delay seconds"),
        default=0.0,
        validators=[MinValueValidator(0.0, message=_("The delay cannot be negative."))],
        help_text=_("For delay; a hang lasts at least an hour."),
    )
    remaining = models.PositiveIntegerField(
        verbose_name=_("remaining"),
        null=True,
        blank=True,
        help_text=_("Fire this many times, then stop; empty for no limit."),
    )
    message = models.CharField(verbose_name=_("message"), max_length=200, blank=True, default="")
    enabled = models.BooleanField(verbose_name=_("enabled"), default=True)
    created_by = models.CharField(verbose_name=_("created by"), max_length=150, blank=True, default="")
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("fault rule")
        verbose_name_plural = _("fault rules")
        ordering = ["operation", "phase"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=0) & models.Q(probability__lte=1),
                name="fault_probability_0_1",
                violation_error_message=_("The probability is a chance per call, from 0 to 1."),
            ),
            # Every writer, not only the admin form: time.sleep() refuses a negative delay mid-step.
            models.CheckConstraint(
                condition=models.Q(delay_seconds__gte=0),
                name="fault_delay_not_negative",
                violation_error_message=_("The delay cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        """The rule as the banner and the admin name it, in the reader's language: where, when, what."""
        text = _("%(operation)s (%(phase)s) → %(mode)s") % {
            "operation": self.operation,
            "phase": self.get_phase_display(),
            "mode": self.get_mode_display(),
        }
        if self.probability < 1:
            text += _(", chance %(probability)s") % {"probability": self.probability}
        return text


class IdempotentRequest(models.Model):
    """The first answer to an API request made with an Idempotency-Key, replayed on a repeat."""

    key = models.CharField(verbose_name=_("key"), max_length=200)
    user_id = models.BigIntegerField(verbose_name=_("user id"))
    method = models.CharField(verbose_name=_("method"), max_length=10)
    path = models.CharField(verbose_name=_("path"), max_length=300)
    fingerprint = models.CharField(
        verbose_name=_("fingerprint"), max_length=64, help_text=_("SHA-256 of the request body.")
    )
    response_status = models.PositiveSmallIntegerField(verbose_name=_("response status"), null=True, blank=True)
    response_body = models.JSONField(verbose_name=_("response body"), null=True, blank=True)
    response_headers = models.JSONField(verbose_name=_("response headers"), default=dict, blank=True)
    # Indexed for the purge that runs every minute (sagas.engine.retention).
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotent API request")
        verbose_name_plural = _("idempotent API requests")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="one_request_per_user_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"

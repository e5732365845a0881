"""Input and output shapes of the staff saga API."""

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from sagas.api.toolkit.customers import CustomerNameField, CustomerNamesList
from sagas.api.toolkit.fields import RequiredText
from sagas.models import Direction, SagaStatus, SagaStyle, StepStatus


class SagaStepOutput(serializers.Serializer):
    step_name = serializers.CharField()
    step_index = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=Direction.choices)
    attempt = serializers.IntegerField()
    status = serializers.ChoiceField(choices=StepStatus.choices)
    idempotency_key = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    error_type = serializers.CharField()
    error_message = serializers.CharField()
    worker = serializers.CharField()
    action = serializers.CharField(help_text=gettext_lazy("For operator and system records: what was done."))
    actor = serializers.CharField(help_text=gettext_lazy("Who did it."))
    reason = serializers.CharField(help_text=gettext_lazy("Why, as given by the actor."))


class SagaOutput(serializers.Serializer):
    class Meta:
        list_serializer_class = CustomerNamesList

    id = serializers.UUIDField()
    type = serializers.CharField(source="definition_name")
    definition_version = serializers.IntegerField()
    style = serializers.ChoiceField(choices=SagaStyle.choices)
    status = serializers.ChoiceField(choices=SagaStatus.choices)
    direction = serializers.ChoiceField(choices=Direction.choices)
    current_step = serializers.CharField()
    step_index = serializers.IntegerField()
    attempt = serializers.IntegerField()
    # The engine's generic fields; the orders API shows the same facts as the order's id and customer.
    business_key = serializers.UUIDField(
        allow_null=True, help_text=gettext_lazy("The id of the business object, such as an order.")
    )
    party = CustomerNameField(help_text=gettext_lazy("Who the saga belongs to: a customer's username."))
    idempotency_key = serializers.CharField(allow_null=True)
    paused = serializers.BooleanField()
    last_error = serializers.CharField()
    lease_owner = serializers.CharField()
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    deadline_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class SagaDetailOutput(SagaOutput):
    context = serializers.JSONField(help_text=gettext_lazy("The saga's input and each step's result."))
    steps = SagaStepOutput(many=True, source="steps.all")


class SagaActionInput(serializers.Serializer):
    reason = RequiredText(max_length=2000, help_text=gettext_lazy("Why; it goes into the audit record."))


class SagaResumeInput(SagaActionInput):
    force = serializers.BooleanField(
        default=False, help_text=gettext_lazy("Take the saga over even though a worker's lease on it has not expired.")
    )

"""Staff saga API: list and read sagas, and retry, compensate or resume one."""

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sagas import services
from sagas.admin.operations import OPERATIONS
from sagas.api.filters import SagaFilter
from sagas.api.permissions import CanViewSagas, HasSagaActionPermission
from sagas.api.serializers import SagaActionInput, SagaDetailOutput, SagaOutput, SagaResumeInput
from sagas.api.toolkit.docs import CONFLICT, FIELD_ERRORS, READ_ERRORS, WRITE_ERRORS
from sagas.api.toolkit.pagination import NewestFirstCursorPagination
from sagas.engine.styles import OperatorAction
from sagas.models import SagaInstance

SAGA_ID = OpenApiParameter("saga_id", str, OpenApiParameter.PATH, description=_("The saga's id (a UUID)."))
ACTION_ERRORS = {**WRITE_ERRORS, 409: CONFLICT}


class SagaListApi(GenericAPIView):
    """Every saga, newest first, filtered by status, type, style and creation time."""

    # The browsable API and the schema show this (not the docstring), in the reader's language.
    description = _("Every saga, newest first, filtered by status, type, style and creation time.")

    name = _("Sagas")

    permission_classes = [CanViewSagas]
    queryset = SagaInstance.objects.all()
    filterset_class = SagaFilter
    pagination_class = NewestFirstCursorPagination
    serializer_class = SagaOutput

    @extend_schema(
        operation_id="sagas_list",
        summary=_("List sagas, newest first"),
        description=description,
        responses={200: SagaOutput(many=True), 400: FIELD_ERRORS, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SagaOutput(page, many=True).data)


class SagaDetailApi(APIView):
    """One saga with its whole step log, operator actions included."""

    # The browsable API and the schema show this (not the docstring), in the reader's language.
    description = _("One saga with its whole step log, operator actions included.")

    name = _("Saga")

    permission_classes = [CanViewSagas]

    @extend_schema(
        operation_id="sagas_retrieve",
        summary=_("Read a saga"),
        description=description,
        parameters=[SAGA_ID],
        responses={200: SagaDetailOutput, **READ_ERRORS},
    )
    def get(self, request: Request, saga_id: str) -> Response:
        return Response(SagaDetailOutput(services.saga_get(saga_id)).data)


class _SagaActionApi(APIView):
    """Validate the reason, call the admin operation's service and answer with the saga."""

    permission_classes = [HasSagaActionPermission]
    # An operation of the admin's OPERATIONS: its permission and its service, written once.
    operation: OperatorAction
    # Also what the browsable API draws its form from.
    serializer_class: type[SagaActionInput] = SagaActionInput

    def post(self, request: Request, saga_id: str) -> Response:
        data = self.serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        service = OPERATIONS[self.operation].service
        saga = service(saga_id, actor=request.user.get_username(), **data.validated_data)
        return Response(SagaDetailOutput(saga).data)


def _action_schema(operation_id: str, summary: str, description: str, request: type = SagaActionInput) -> Callable:
    schema = extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            description=description,
            parameters=[SAGA_ID],
            request=request,
            responses={
                200: OpenApiResponse(SagaDetailOutput, description=_("The saga after the action.")),
                **ACTION_ERRORS,
            },
        )
    )

    def decorate(view: type[_SagaActionApi]) -> type[_SagaActionApi]:
        # The browsable API and the schema say what the action does, in the reader's language: not
        # _SagaActionApi's docstring, which is about the code.
        view.description = description
        return schema(view)

    return decorate


@_action_schema(
    "sagas_retry",
    _("Run the failed step of a FAILED saga again"),
    _(
        "Runs the step that stopped a FAILED saga again, with a fresh set of attempts; the reason goes into "
        "the audit record. 409, saying why, when the saga's state does not allow it."
    ),
)
class SagaRetryApi(_SagaActionApi):
    name = _("Retry")
    operation = OperatorAction.RETRY


@_action_schema(
    "sagas_compensate",
    _("Stop the saga and undo its steps in reverse order"),
    _(
        "Stops a running or FAILED saga and undoes what it did, in reverse order; the reason goes into the "
        "audit record. 409, saying why, when the saga's state does not allow it."
    ),
)
class SagaCompensateApi(_SagaActionApi):
    name = _("Compensate")
    operation = OperatorAction.COMPENSATE


@_action_schema(
    "sagas_resume",
    _("Hand a stuck saga back to the workers"),
    _(
        "Clears a stuck saga's lease and backoff so that the workers pick it up again; `force` takes it over "
        "even while a worker's lease is still live. The reason goes into the audit record. 409, saying why, "
        "when the saga's state does not allow it."
    ),
    request=SagaResumeInput,
)
class SagaResumeApi(_SagaActionApi):
    name = _("Resume")
    operation = OperatorAction.RESUME
    serializer_class = SagaResumeInput

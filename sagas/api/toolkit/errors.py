"""The API's answer to the engine's errors, so views can call services without try blocks."""

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sagas.errors import ActionNotAllowed, InvalidSagaRequest, SagaNotFound


class ActionConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The saga's state does not allow this action.")
    default_code = "action_not_allowed"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, after turning SagaNotFound into 404, ActionNotAllowed into 409 and
    InvalidSagaRequest into a 400 naming the field."""
    if isinstance(exc, SagaNotFound):
        exc = NotFound(str(exc))
    elif isinstance(exc, ActionNotAllowed):
        exc = ActionConflict(str(exc))
    elif isinstance(exc, InvalidSagaRequest):
        exc = ValidationError({exc.field: [exc.message]})
    return exception_handler(exc, context)

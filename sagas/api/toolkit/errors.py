"""The API's answer to the engine's errors, so views can call services without try blocks."""

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sagas.errors import ActionNotAllowed, InvalidSagaRequest, SagaNotFound


class ActionConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The saga's state does not allow this action.")
    default_code = "action_not_allowed"


# DRF's JSON parser words a body it cannot read with Python's own message ("JSON parse error -
# Expecting property name ..."), which no catalogue translates; the client gets this sentence
# instead, in its language, and the code stays DRF's `parse_error`.
MALFORMED_JSON = gettext_lazy("The request body is not valid JSON.")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, after turning SagaNotFound into 404, ActionNotAllowed into 409,
    InvalidSagaRequest into a 400 naming the field, and a JSON parse error into a translated sentence."""
    if isinstance(exc, ParseError) and str(exc.detail).startswith("JSON parse error"):
        exc = ParseError(MALFORMED_JSON)
    elif isinstance(exc, SagaNotFound):
        exc = NotFound(str(exc))
    elif isinstance(exc, ActionNotAllowed):
        exc = ActionConflict(str(exc))
    elif isinstance(exc, InvalidSagaRequest):
        exc = ValidationError({exc.field: [exc.message]})
    return exception_handler(exc, context)

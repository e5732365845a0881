"""The API's answer to the engine's errors, so views can call services without try blocks."""

import math
from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException, ErrorDetail, NotFound, ParseError, Throttled, ValidationError
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
# DRF ends a throttled request's detail with when to try again, after an ASCII space; Japanese
# runs its sentences together, so the two are joined the reader's language's way.
TWO_SENTENCES = gettext_lazy("%(first)s %(second)s")


def _joined_throttle_detail(exc: Throttled) -> None:
    """The throttled answer's two sentences joined as the active language joins sentences."""
    if exc.wait is None:
        return
    wait = math.ceil(exc.wait)
    second = str(Throttled.extra_detail_singular if wait == 1 else Throttled.extra_detail_plural).format(wait=wait)
    text = str(exc.detail)
    if text.endswith(" " + second):
        first = text[: -len(second) - 1]
        exc.detail = ErrorDetail(TWO_SENTENCES % {"first": first, "second": second}, code=exc.detail.code)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, after turning SagaNotFound into 404, ActionNotAllowed into 409,
    InvalidSagaRequest into a 400 naming the field, and a JSON parse error into a translated sentence."""
    if isinstance(exc, ParseError) and str(exc.detail).startswith("JSON parse error"):
        exc = ParseError(MALFORMED_JSON)
    elif isinstance(exc, Throttled):
        _joined_throttle_detail(exc)
    elif isinstance(exc, SagaNotFound):
        exc = NotFound(str(exc))
    elif isinstance(exc, ActionNotAllowed):
        exc = ActionConflict(str(exc))
    elif isinstance(exc, InvalidSagaRequest):
        exc = ValidationError({exc.field: [exc.message]})
    return exception_handler(exc, context)

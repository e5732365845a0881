"""OpenAPI descriptions of the error answers every endpoint shares."""

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorOutput, description=description)


FIELD_ERRORS = OpenApiResponse(
    OpenApiTypes.OBJECT, description=gettext_lazy("Bad input: each field with a list of what is wrong with it.")
)
UNAUTHENTICATED = _error(gettext_lazy("No valid credentials: log in, or send `Authorization: Token <key>`."))
FORBIDDEN = _error(gettext_lazy("Authenticated, but not allowed to do this."))
NOT_FOUND = _error(gettext_lazy("No such resource, or not one of yours."))
CONFLICT = _error(gettext_lazy("The resource's state does not allow this now; the detail says why."))
UNSUPPORTED_MEDIA = _error(
    gettext_lazy("The body is in a format this endpoint does not read, or malformed; send JSON.")
)
THROTTLED = _error(gettext_lazy("Too many requests; wait as the Retry-After header says."))

READ_ERRORS = {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND, 429: THROTTLED}
WRITE_ERRORS = {400: FIELD_ERRORS, **READ_ERRORS, 415: UNSUPPORTED_MEDIA}

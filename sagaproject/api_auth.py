"""Getting an API token with a username and password."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from sagaproject.login_lockout import lockout_message
from sagas.api.toolkit.docs import FIELD_ERRORS, THROTTLED, UNSUPPORTED_MEDIA
from sagas.api.toolkit.fields import RequiredText


class TokenObtainInput(AuthTokenSerializer):
    """A username and password; neither may be blank."""

    username = RequiredText(label=_("Username"), write_only=True)
    password = RequiredText(
        label=_("Password"), style={"input_type": "password"}, trim_whitespace=False, write_only=True
    )
    # Only the answer carries the token; the request schema must not ask for one.
    token = None


class TokenObtainThrottle(SimpleRateThrottle):
    """Password guesses per client address; the rate is DEFAULT_THROTTLE_RATES["token_obtain"]."""

    scope = "token_obtain"

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenObtainApi(ObtainAuthToken):
    """Exchange a username and password for the user's API token; every call returns the same token."""

    # The browsable API and the schema show this (not the docstring), in the reader's language.
    description = _("Exchange a username and password for the user's API token; every call returns the same token.")

    name = _("API token")
    # No session: a password exchange must not depend on, or be refused by, a browser's CSRF state.
    authentication_classes = []
    throttle_classes = [TokenObtainThrottle]
    serializer_class = TokenObtainInput

    @extend_schema(
        operation_id="token_obtain",
        summary=_("Get your API token"),
        description=description,
        request=TokenObtainInput,
        responses={
            200: inline_serializer("TokenOutput", {"token": serializers.CharField()}),
            400: FIELD_ERRORS,
            415: UNSUPPORTED_MEDIA,
            429: THROTTLED,
        },
        auth=[],
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # django-axes refused this username from this address, right password or not: say so.
            if getattr(request, "axes_locked_out", False):
                raise Throttled(detail=lockout_message()) from None
            raise

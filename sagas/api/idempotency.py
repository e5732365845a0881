"""Idempotency-Key for unsafe API requests: a repeat gets the first answer back.

The row in `IdempotentRequest` is written before the request runs, and its unique
(user, key) constraint is the lock: of two concurrent requests with one key exactly one
inserts the row and runs; the other waits (polling) for the answer to be stored and replays
it, or gives up with 409 after `IN_FLIGHT_WAIT_SECONDS`. Only an accepted (2xx) answer is
stored. An answer in error releases the key, so the corrected request may use it again. A
row whose request died before answering is taken over after `ABANDONED_AFTER_SECONDS`; that is
safe because what the request starts (a saga) carries its own idempotency key.
"""

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from sagas.models import IdempotentRequest

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 150
# Visible ASCII: safe in a header, a log line and the saga's own key.
KEY_PATTERN = r"^[!-~]+$"
IN_FLIGHT_WAIT_SECONDS = 10.0
ABANDONED_AFTER_SECONDS = 60.0
_POLL_SECONDS = 0.05
REPLAYED_HEADER = "Idempotent-Replayed"
_STORED_HEADERS = ("Location",)


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy("This Idempotency-Key was already used for a different request; use a new key.")
    default_code = "idempotency_key_reused"


class IdempotencyKeyInFlight(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("A request with this Idempotency-Key is still being processed; retry shortly.")
    default_code = "idempotency_key_in_flight"


def idempotency_key_of(request: Request, *, form_field: str = "") -> str:
    """The request's Idempotency-Key header; a 400 naming the header when it is missing or malformed.

    With `form_field`, a request without the header may carry the key in that body field instead:
    for the browsable API's HTML form, which cannot set a header.
    """
    key = request.headers.get(HEADER, "").strip()
    if not key and form_field and isinstance(request.data, Mapping):
        key = str(request.data.get(form_field, "")).strip()
    if not key:
        raise ValidationError({HEADER: [_("This header is required: a unique value per intended request.")]})
    if len(key) > KEY_MAX_LENGTH or not re.match(KEY_PATTERN, key):
        raise ValidationError(
            {HEADER: [_("Use 1 to %(max)d visible ASCII characters without spaces.") % {"max": KEY_MAX_LENGTH}]}
        )
    return key


def fingerprint(method: str, path: str, payload: Any) -> str:
    """SHA-256 of the method, the path and the payload in canonical JSON."""
    canonical = json.dumps([method.upper(), path, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def respond_once(request: Request, key: str, payload: Any, produce: Callable[[], Response]) -> Response:
    """Run `produce` once per (user, key); a repeat with the same payload gets its stored answer.

    A repeat with another payload, method or path raises IdempotencyKeyReused (422); one
    that finds the first still running after the wait raises IdempotencyKeyInFlight (409).
    """
    user_id = request.user.pk
    print_ = fingerprint(request.method, request.path, payload)
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while True:
        record, claimed = _claim(user_id, key, request.method, request.path, print_)
        if claimed:
            return _run_and_store(record, produce)
        while record is not None:
            if record.fingerprint != print_:
                raise IdempotencyKeyReused()
            if record.response_status is not None:
                return _replay(record)
            if _release_if_abandoned(record):
                break
            if time.monotonic() >= deadline:
                raise IdempotencyKeyInFlight()
            time.sleep(_POLL_SECONDS)
            # None when the first request failed and released the key: then claim it anew.
            record = IdempotentRequest.objects.filter(pk=record.pk).first()


def _claim(user_id: int, key: str, method: str, path: str, print_: str) -> tuple[IdempotentRequest, bool]:
    """The row that holds the key, and whether this call inserted it (and so runs the request)."""
    for _try in range(5):
        try:
            with transaction.atomic(using="default"):
                row = IdempotentRequest.objects.create(
                    user_id=user_id, key=key, method=method, path=path[:300], fingerprint=print_
                )
            return row, True
        except IntegrityError:
            found = IdempotentRequest.objects.filter(user_id=user_id, key=key).first()
            if found is not None:
                return found, False
            # Released between our insert and our read: try to claim it again.
    raise IdempotencyKeyInFlight()


def _release_if_abandoned(record: IdempotentRequest) -> bool:
    """Delete the row of a request that died before answering; True when this call did."""
    cutoff = timezone.now() - timedelta(seconds=ABANDONED_AFTER_SECONDS)
    if record.created_at >= cutoff:
        return False
    deleted, _ = IdempotentRequest.objects.filter(
        pk=record.pk, response_status__isnull=True, created_at__lt=cutoff
    ).delete()
    return bool(deleted)


def _run_and_store(row: IdempotentRequest, produce: Callable[[], Response]) -> Response:
    try:
        response = produce()
    except BaseException:
        _release(row)
        raise
    if not status.is_success(response.status_code):
        _release(row)
        return response
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    headers = {name: response[name] for name in _STORED_HEADERS if response.has_header(name)}
    IdempotentRequest.objects.filter(pk=row.pk).update(
        response_status=response.status_code, response_body=body, response_headers=headers
    )
    return response


def _release(row: IdempotentRequest) -> None:
    IdempotentRequest.objects.filter(pk=row.pk, response_status__isnull=True).delete()


def _replay(record: IdempotentRequest) -> Response:
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(record.response_body, status=record.response_status, headers=headers)

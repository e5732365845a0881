"""Pagination shared by the API's lists."""

from datetime import UTC
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from sagas.participant.parsing import InvalidNumber, parse_whole_number


class NewestFirstCursorPagination(CursorPagination):
    """Newest first by creation time; a cursor stays cheap and stable however long the table grows.

    A page_size that is not a whole number from 1 to the maximum is a 400, not silently ignored.
    A cursor is opaque but not signed, so its position is checked to be a time before it reaches
    the database: a tampered one is "Invalid cursor" (404), never a server error.
    """

    ordering = "-created_at"
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200
    # DRF's own texts for these have no Japanese translation; the schema shows ours in the reader's language.
    cursor_query_description = gettext_lazy("Where the page starts: the `next` or `previous` link's cursor.")
    page_size_query_description = gettext_lazy("How many results a page holds.")

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            return parse_whole_number(raw, minimum=1, maximum=self.max_page_size)
        except InvalidNumber as error:
            raise ValidationError({self.page_size_query_param: [error.message]}) from None

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            position = parse_datetime(cursor.position)
            if position is not None and timezone.is_naive(position):
                position = timezone.make_aware(position, UTC)
            position = position.astimezone(UTC) if position is not None else None
        except (ValueError, OverflowError):
            position = None
        if position is None:
            raise NotFound(self.invalid_cursor_message)
        return Cursor(offset=cursor.offset, reverse=cursor.reverse, position=position.isoformat())

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

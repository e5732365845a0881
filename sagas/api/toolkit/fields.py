"""Serializer fields and filters whose OpenAPI schema states everything the API checks.

A client generated from the schema should never send a request the API refuses for its shape.
DRF's CharField trims whitespace, then refuses a blank value and any NUL character; the schema
of a plain CharField says only "a string", so a blank `reason` looked valid.
"""

from typing import Any

from django_filters import CharFilter
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Something besides whitespace, and no NUL character anywhere.
NOT_BLANK_PATTERN = r"^[^\u0000]*[^\u0000\s][^\u0000]*$"
# No NUL character; for values that are not trimmed (a password may be all spaces).
NO_NUL_PATTERN = r"^[^\u0000]*$"


class RequiredText(serializers.CharField):
    """A CharField that must hold something besides whitespace, and whose schema says so."""


class RequiredTextSchema(OpenApiSerializerFieldExtension):
    target_class = RequiredText

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        pattern = NOT_BLANK_PATTERN if self.target.trim_whitespace else NO_NUL_PATTERN
        return {**schema, "minLength": max(1, schema.get("minLength", 1)), "pattern": pattern}


class RequiredTextFilter(CharFilter):
    """A text filter whose schema refuses the blank value the filter form refuses."""

    def __init__(self, *args: Any, help_text: str = "", **kwargs: Any) -> None:
        super().__init__(*args, help_text=help_text, **kwargs)
        schema = {"type": "string", "minLength": 1, "pattern": NOT_BLANK_PATTERN, "description": help_text}
        extend_schema_field(schema)(self)

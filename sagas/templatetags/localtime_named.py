"""`{% load localtime_named %}{{ when|local_time }}`: a moment in the viewer's time zone, with the
zone named ("2026-11-29 18:04:05 JST"), so a reader never has to guess whose clock it is.

The zone is the active one: the user's saved preference, else settings.TIME_ZONE. The formats
(sagaproject/formats) end in the zone too, so the admin's own date columns agree with this.
"""

from datetime import datetime

from django import template
from django.utils import dateformat, formats, timezone

register = template.Library()

_FORMATS = {"datetime": "DATETIME_FORMAT", "short": "SHORT_DATETIME_FORMAT", "time": "TIME_FORMAT"}


@register.filter(name="local_time")
def local_time(value: datetime | None, style: str = "datetime") -> str:
    """The moment in the active zone: `datetime` (seconds), `short` (minutes), `time` (no date)
    or `precise` (milliseconds)."""
    if not isinstance(value, datetime):
        return ""
    if style not in (*_FORMATS, "precise"):
        raise template.TemplateSyntaxError(f"local_time takes one of {', '.join(_FORMATS)}, precise, not {style!r}.")
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    if style == "precise":
        # The step log's: attempts a few milliseconds apart must read apart.
        milliseconds = f"{value.microsecond // 1000:03d}"
        return dateformat.format(value, "Y-m-d H:i:s.") + milliseconds + dateformat.format(value, " T")
    return formats.date_format(value, _FORMATS[style])

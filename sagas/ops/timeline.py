"""The timeline picture of a saga: a server-rendered SVG with one bar per step attempt.

Forward steps and compensations get different colours, failed attempts a red outline and a
cross, operator actions a dashed line. Long idle gaps (an operator retrying hours later) are
cut down to a marked break so the attempts stay readable. No scripts, fonts or external
assets: the picture is plain markup inlined in the page.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sagas.engine.notes import note_in_language
from sagas.models import Direction, SagaStepLog, StepStatus, action_code_name

WIDTH = 960
LABEL_WIDTH = 210
RIGHT_PAD = 70
ROW_HEIGHT = 22
BAR_HEIGHT = 14
TOP = 30
AXIS_HEIGHT = 26
MIN_BAR = 3
# A break: room for the failure mark of a bar that ends where the break starts, the grey band,
# and a margin before the bar that starts where the break ends.
MARK_ROOM = 16
GAP_BAND = 18
GAP_MARGIN = 4
BREAK_WIDTH = MARK_ROOM + GAP_BAND + GAP_MARGIN
# Labels under the axis: one line each, a label moves down a line rather than cover another.
LABEL_LINE = 14
CHAR_WIDTH = 0.62  # of the font size: wide enough for digits and letters of a sans-serif font

COLOURS = {
    Direction.FORWARD: "#2f6fb0",
    Direction.COMPENSATION: "#d9822b",
    Direction.EVENT: "#6b5fb5",
}
FAILURE_COLOUR = "#c62828"
FAILED_STATUSES = (StepStatus.REFUSED, StepStatus.FAILED, StepStatus.TIMED_OUT, StepStatus.ABANDONED)


def format_duration(delta: timedelta) -> str:
    """A short human duration: 850 ms, 2.4 s, 3 m 10 s, 2 h 5 m."""
    seconds = delta.total_seconds()
    if seconds < 1:
        return _("%(ms)s ms") % {"ms": f"{seconds * 1000:.0f}"}
    if seconds < 60:
        return _("%(s)s s") % {"s": f"{seconds:.1f}"}
    if seconds < 3600:
        return _("%(m)d m %(s)d s") % {"m": int(seconds // 60), "s": int(seconds % 60)}
    return _("%(h)d h %(m)d m") % {"h": int(seconds // 3600), "m": int(seconds % 3600 // 60)}


@dataclass(frozen=True)
class _Segment:
    start: datetime
    end: datetime
    is_break: bool


class _TimeScale:
    """Maps instants to x positions, with long idle gaps squeezed into fixed-width breaks."""

    def __init__(self, intervals: list[tuple[datetime, datetime]], left: float, width: float) -> None:
        merged: list[list[datetime]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        busy = sum(((end - start) for start, end in merged), timedelta(0))
        threshold = max(timedelta(seconds=2), busy * 2)
        self.segments: list[_Segment] = []
        for index, (start, end) in enumerate(merged):
            if index:
                previous_end = merged[index - 1][1]
                self.segments.append(_Segment(previous_end, start, start - previous_end > threshold))
            self.segments.append(_Segment(start, end, False))
        breaks = sum(1 for segment in self.segments if segment.is_break)
        timed = sum(
            ((s.end - s.start).total_seconds() for s in self.segments if not s.is_break),
            0.0,
        )
        self.per_second = (width - breaks * BREAK_WIDTH) / timed if timed > 0 else 0.0
        self.left = left
        self.start = merged[0][0] if merged else timezone.now()
        self.end = merged[-1][1] if merged else self.start

    def _width(self, segment: _Segment) -> float:
        if segment.is_break:
            return BREAK_WIDTH
        return (segment.end - segment.start).total_seconds() * self.per_second

    def x(self, instant: datetime) -> float:
        position = self.left
        for segment in self.segments:
            if segment.is_break:
                # A break owns only the idle time inside it: the attempt that starts when the
                # break ends belongs to the next segment, right of the band, never under it.
                if instant < segment.end:
                    return position + MARK_ROOM + GAP_BAND / 2
            elif instant <= segment.end:
                return position + (instant - segment.start).total_seconds() * self.per_second
            position += self._width(segment)
        return position

    def breaks(self) -> list[tuple[float, timedelta]]:
        """The left x of each break and the idle time it stands for."""
        found, position = [], self.left
        for segment in self.segments:
            if segment.is_break:
                found.append((position, segment.end - segment.start))
            position += self._width(segment)
        return found


def _bar(log: SagaStepLog, row: int, scale: _TimeScale, now: datetime) -> str:
    end = log.finished_at or now
    x0 = scale.x(log.started_at)
    width = max(scale.x(end) - x0, MIN_BAR)
    y = TOP + row * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
    failed = log.status in FAILED_STATUSES
    running = log.finished_at is None
    classes = ["bar", log.direction.lower()]
    if failed:
        classes.append("failure")
    if running:
        classes.append("running")
    colour = COLOURS.get(log.direction, "#777")
    stroke = f' stroke="{FAILURE_COLOUR}" stroke-width="2"' if failed else ""
    opacity = ' fill-opacity="0.45" stroke-dasharray="3 2"' if running else ""
    tip = _("%(step)s (%(direction)s) attempt %(attempt)d: %(status)s") % {
        "step": log.step_name,
        "direction": log.get_direction_display().lower(),
        "attempt": log.attempt,
        "status": log.get_status_display(),
    }
    took = format_duration(end - log.started_at)
    tip += ", " + (_("%(duration)s so far") % {"duration": took} if running else took)
    if log.error_message:
        tip += f"\n{note_in_language(log.error_message)}"
    parts = [
        f'<rect class="{" ".join(classes)}" data-step="{escape(log.step_name)}" data-attempt="{log.attempt}" '
        f'x="{x0:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_HEIGHT}" rx="2" fill="{colour}"{stroke}{opacity}>'
        f"<title>{escape(tip)}</title></rect>"
    ]
    if failed:
        cx, cy = x0 + width + 8, y + BAR_HEIGHT / 2
        parts.append(
            f'<g class="failure-mark" stroke="{FAILURE_COLOUR}" stroke-width="2">'
            f'<line x1="{cx - 4:.1f}" y1="{cy - 4:.1f}" x2="{cx + 4:.1f}" y2="{cy + 4:.1f}"/>'
            f'<line x1="{cx - 4:.1f}" y1="{cy + 4:.1f}" x2="{cx + 4:.1f}" y2="{cy - 4:.1f}"/></g>'
        )
    return "".join(parts)


def _label(log: SagaStepLog, row: int) -> str:
    arrow = "\u21a9 " if log.direction == Direction.COMPENSATION else ""
    y = TOP + row * ROW_HEIGHT + ROW_HEIGHT / 2 + 4
    text = f"{arrow}{log.step_name} #{log.attempt}"
    return f'<text x="{LABEL_WIDTH - 8}" y="{y:.1f}" text-anchor="end">{escape(text)}</text>'


def _legend(with_events: bool) -> str:
    items = [
        (_("Forward step"), COLOURS[Direction.FORWARD], ""),
        (_("Compensation"), COLOURS[Direction.COMPENSATION], ""),
        (_("Failed attempt"), "#ffffff", f' stroke="{FAILURE_COLOUR}" stroke-width="2"'),
    ]
    if with_events:
        items.insert(2, (_("Event handled"), COLOURS[Direction.EVENT], ""))
    parts, x = [], LABEL_WIDTH
    for text, colour, extra in items:
        parts.append(f'<rect x="{x}" y="8" width="14" height="10" fill="{colour}"{extra}/>')
        parts.append(f'<text x="{x + 20}" y="17">{escape(text)}</text>')
        x += 130
    parts.append(f'<line x1="{x}" y1="13" x2="{x + 14}" y2="13" stroke="#555" stroke-dasharray="3 2"/>')
    parts.append(f'<text x="{x + 20}" y="17">{escape(_("Operator action"))}</text>')
    return "".join(parts)


@dataclass(frozen=True)
class AxisLabel:
    """A text under the axis, on the line (0 = first) where it covers no other label."""

    text: str
    x: float
    anchor: str  # "start", "middle" or "end", as SVG's text-anchor
    font_size: int
    line: int = 0

    @property
    def span(self) -> tuple[float, float]:
        """The x range the text takes, estimated from its length."""
        width = len(self.text) * self.font_size * CHAR_WIDTH
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}[self.anchor]
        return left, left + width


def place_axis_labels(labels: Sequence[AxisLabel], gap: float = 6) -> list[AxisLabel]:
    """The labels in the given order, each on the first line where it keeps `gap` from the others."""
    placed: list[AxisLabel] = []
    for label in labels:
        left, right = label.span
        line = 0
        while any(
            other.line == line and left < other.span[1] + gap and other.span[0] < right + gap for other in placed
        ):
            line += 1
        placed.append(replace(label, line=line))
    return placed


def render_timeline(
    logs: Sequence[SagaStepLog], operator_records: Sequence[SagaStepLog] = (), now: datetime | None = None
) -> SafeString:
    """The saga's step attempts as an SVG Gantt chart, ready to inline in a page."""
    now = now or timezone.now()
    attempts = [log for log in logs if log.direction in COLOURS]
    if not attempts:
        return format_html('<p class="timeline-empty">{}</p>', _("No step has run yet."))
    intervals = [(log.started_at, log.finished_at or now) for log in attempts]
    intervals += [(record.started_at, record.started_at) for record in operator_records]
    plot_width = WIDTH - LABEL_WIDTH - RIGHT_PAD
    scale = _TimeScale(intervals, LABEL_WIDTH, plot_width)
    axis_y = TOP + len(attempts) * ROW_HEIGHT + 4
    # The start time and the total duration first, so a break's label moves, never those.
    labels = place_axis_labels(
        [
            AxisLabel(f"{timezone.localtime(scale.start):%H:%M:%S %Z}", LABEL_WIDTH, "start", 12),
            AxisLabel(format_duration(scale.end - scale.start), WIDTH - RIGHT_PAD, "end", 12),
        ]
        + [
            AxisLabel(f"+{format_duration(idle)}", x + MARK_ROOM + GAP_BAND / 2, "middle", 10)
            for x, idle in scale.breaks()
        ]
    )
    lines = 1 + max(label.line for label in labels)
    height = TOP + len(attempts) * ROW_HEIGHT + AXIS_HEIGHT + (lines - 1) * LABEL_LINE
    failures = sum(1 for log in attempts if log.status in FAILED_STATUSES)
    summary = _("Timeline of %(attempts)d step attempts over %(duration)s, %(failures)d failed") % {
        "attempts": len(attempts),
        "duration": format_duration(scale.end - scale.start),
        "failures": failures,
    }
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="saga-timeline" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px" font-family="sans-serif" font-size="12" '
        f'aria-label="{escape(summary)}" data-attempts="{len(attempts)}" data-failures="{failures}">',
        f"<title>{escape(summary)}</title>",
        _legend(any(log.direction == Direction.EVENT for log in attempts)),
    ]
    for row in range(len(attempts)):
        if row % 2:
            body.append(
                f'<rect x="0" y="{TOP + row * ROW_HEIGHT}" width="{WIDTH}" height="{ROW_HEIGHT}" fill="#f4f6f8"/>'
            )
    # Breaks are background: drawn before the bars, so they can never cover one.
    for x, _idle in scale.breaks():
        body.append(
            f'<rect class="gap" x="{x + MARK_ROOM:.1f}" y="{TOP}" width="{GAP_BAND}" height="{axis_y - TOP}" '
            f'fill="#e9e9e9"/>'
        )
    for row, log in enumerate(attempts):
        body.append(_label(log, row))
        body.append(_bar(log, row, scale, now))
    for record in operator_records:
        x = scale.x(record.started_at)
        tip = _("%(action)s by %(actor)s: %(reason)s") % {
            "action": action_code_name(record.action) if record.action else record.get_direction_display(),
            "actor": record.actor,
            "reason": record.reason,
        }
        body.append(
            f'<line class="operator" x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{axis_y}" stroke="#555" '
            f'stroke-dasharray="3 2"><title>{escape(tip)}</title></line>'
        )
    body.append(f'<line x1="{LABEL_WIDTH}" y1="{axis_y}" x2="{WIDTH - RIGHT_PAD}" y2="{axis_y}" stroke="#999"/>')
    for label in labels:
        y = axis_y + 16 + label.line * LABEL_LINE
        kind = "gap-label" if label.font_size == 10 else "axis-label"
        body.append(
            f'<text class="{kind}" x="{label.x:.1f}" y="{y}" text-anchor="{label.anchor}" '
            f'font-size="{label.font_size}">{escape(label.text)}</text>'
        )
    body.append("</svg>")
    return mark_safe("".join(body))

"""The overview page's outcome chart: stacked bars per hour as inline SVG, no assets."""

from collections.abc import Sequence

from django.utils import dateformat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sagas.selectors import HourBucket

WIDTH = 720
HEIGHT = 180
LEFT = 40
BOTTOM = 24
TOP = 26
SERIES = (
    ("completed", gettext_lazy("Completed"), "#2e7d32"),
    ("compensated", gettext_lazy("Compensated"), "#8d6e63"),
    ("failed", gettext_lazy("Failed"), "#c62828"),
)


def render_outcome_chart(buckets: Sequence[HourBucket]) -> SafeString:
    """Completed, compensated and failed sagas per hour, stacked, oldest hour on the left."""
    peak = max((b.completed + b.compensated + b.failed for b in buckets), default=0)
    scale_max = max(peak, 1)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - 10) / max(len(buckets), 1)
    total = {key: sum(getattr(b, key) for b in buckets) for key, _label, _colour in SERIES}
    summary = ", ".join(f"{total[key]} {str(label).lower()}" for key, label, _colour in SERIES)
    aria_label = _("Sagas finished per hour over the last %(hours)d hours: %(summary)s") % {
        "hours": len(buckets),
        "summary": summary,
    }
    title = _("Last %(hours)d hours: %(summary)s") % {"hours": len(buckets), "summary": summary}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="outcome-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" style="max-width:{WIDTH}px" font-family="sans-serif" font-size="11" '
        f'aria-label="{escape(aria_label)}">',
        f"<title>{escape(title)}</title>",
    ]
    x = LEFT
    for key, label, colour in SERIES:
        parts.append(f'<rect x="{x}" y="6" width="12" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="15">{escape(label)} ({total[key]})</text>')
        x += 150
    base = HEIGHT - BOTTOM
    parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#999"/>')
    parts.append(f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{LEFT - 4}" y="{base}" text-anchor="end">0</text>')
    for index, bucket in enumerate(buckets):
        x0 = LEFT + index * slot + 2
        y = base
        for key, label, colour in SERIES:
            value = getattr(bucket, key)
            if not value:
                continue
            height = value / scale_max * plot_height
            y -= height
            hour = dateformat.format(bucket.start, "H:i T")  # the viewer's hour, its zone named
            parts.append(
                f'<rect class="{key}" x="{x0:.1f}" y="{y:.1f}" width="{slot - 4:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>{hour}: {value} {escape(str(label).lower())}</title></rect>'
            )
        if index % 3 == 0:
            axis = _("%(hour)sh") % {"hour": f"{bucket.start:%H}"}  # 22h; 22時 in Japanese
            parts.append(f'<text x="{x0:.1f}" y="{HEIGHT - 8}">{escape(axis)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))

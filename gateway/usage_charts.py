"""Lay out a token's usage as a stacked bar chart for a server-rendered SVG (no script).

Only geometry is computed here (numbers for x, y, width and height attributes);
colours are CSS classes, so the chart follows the light or dark theme and the
strict CSP (no inline style) holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from gateway import usage_queries
from gateway.usage_models import Granularity

WIDTH, HEIGHT = 960, 240
# LEFT leaves room for a 4-character y label ("500k") at the narrow layout's larger text.
LEFT, BOTTOM, TOP = 60, 28, 10
# Room half an x label needs (in viewBox units, at the narrow layout's larger text): one
# nearer an edge is left out, not cut.
LABEL_HALF_WIDTH = 34
# Bottom to top: what went through first, then the refusals.
STACK = ("allowed", "scope", "resource", "ip", "limit", "invalid")
LABELS = {
    "allowed": "Allowed",
    "scope": "Refused: scope",
    "resource": "Refused: resource",
    "ip": "Refused: IP",
    "limit": "Refused: limit",
    "invalid": "Invalid",
}
RANGES = {
    "24h": ("Last 24 hours", Granularity.HOUR, timedelta(hours=24)),
    "7d": ("Last 7 days", Granularity.HOUR, timedelta(days=7)),
    "90d": ("Last 90 days", Granularity.DAY, timedelta(days=90)),
}
DEFAULT_RANGE = "24h"
# Which steps get a time under the x axis, and how it reads: about six labels per range.
X_LABELS = {
    "24h": (lambda start: start.hour % 6 == 0, lambda start: f"{start:%H:%M}"),
    "7d": (lambda start: start.hour == 0, lambda start: f"{start:%b} {start.day}"),
    "90d": (lambda start: start.day in (1, 15), lambda start: f"{start:%b} {start.day}"),
}


@dataclass(frozen=True)
class Chart:
    """A period's points, and the bars, axis ticks and legend that draw them."""

    range_key: str
    label: str
    granularity: str
    points: list[dict]
    bars: list[dict]
    ticks: list[dict]
    x_labels: list[dict]
    legend: list[dict]
    total: int
    peak: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_width: int = WIDTH - LEFT
    baseline: int = HEIGHT - BOTTOM


def _nice_peak(value: int) -> int:
    """Return a round, even number at least `value` for the y axis's top (its half, the
    middle grid line, is then a whole number of requests too)."""
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 4, 6, 8, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _tick_text(value: int) -> str:
    """Return a y axis number in at most 4 characters: 5000 is 5k, 2000000 is 2M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return str(value)


def _x_labels(points: list[dict], range_key: str, slot: float) -> list[dict]:
    """Return the times under the x axis: centred under their step, none cut by an edge."""
    labelled, text = X_LABELS[range_key]
    labels = []
    for index, point in enumerate(points):
        x = LEFT + (index + 0.5) * slot
        if labelled(point["start"]) and LEFT + LABEL_HALF_WIDTH <= x <= WIDTH - LABEL_HALF_WIDTH:
            labels.append({"x": round(x, 2), "text": text(point["start"])})
    return labels


def period_for(range_key: str, now=None) -> usage_queries.Period:
    """Return the period a range choice (24h, 7d, 90d) shows, ending now."""
    _, granularity, span = RANGES[range_key]
    end = now or timezone.now()
    start = usage_queries.floor(end - span, granularity) + usage_queries.STEP[granularity]
    return usage_queries.Period(start=start, end=end, granularity=granularity)


def build(token, range_key: str, now=None) -> Chart:
    """Return the chart of the token's uses over a range ending `now` (default: the current
    time; an unknown range is the default range)."""
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    label, granularity, _ = RANGES[range_key]
    period = period_for(range_key, now)
    points = usage_queries.series(token, period)
    peak = _nice_peak(max((point["total"] for point in points), default=0))
    plot_width, plot_height = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    slot = plot_width / max(len(points), 1)
    bars = []
    for index, point in enumerate(points):
        base = HEIGHT - BOTTOM
        for outcome in STACK:
            count = point[outcome]
            if not count:
                continue
            height = count / peak * plot_height
            base -= height
            bars.append(
                {
                    "x": round(LEFT + index * slot + slot * 0.1, 2),
                    "y": round(base, 2),
                    "width": round(max(slot * 0.8, 1), 2),
                    "height": round(max(height, 0.5), 2),
                    "outcome": outcome,
                    "title": f"{point['start']:%b %d %H:%M} UTC: {count} {LABELS[outcome]}",
                }
            )
    ticks = [
        {
            "y": round(HEIGHT - BOTTOM - half / 2 * plot_height, 2),
            "value": peak * half // 2,
            "text": _tick_text(peak * half // 2),
        }
        for half in (0, 1, 2)
    ]
    legend = [{"outcome": outcome, "label": LABELS[outcome]} for outcome in STACK]
    return Chart(
        range_key=range_key,
        label=label,
        granularity=granularity,
        points=points,
        bars=bars,
        ticks=ticks,
        x_labels=_x_labels(points, range_key, slot),
        legend=legend,
        total=sum(point["total"] for point in points),
        peak=peak,
    )

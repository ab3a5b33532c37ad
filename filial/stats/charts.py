"""Charts drawn on the server as SVG: a line (gaps where a figure is unknown) and bars.

Each chart is an ``<svg role="img">`` with an ``aria-label`` and a ``<title>``; it scales with its ``viewBox`` (no
fixed width, so it fits a phone), takes its colours from classes in ``stats/static/stats/stats.css`` (no inline
style: strict CSP) and is always shown beside a table of the same figures for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 480  # viewBox units: on a phone (about 350 px of chart) a text of 11 units is still readable
HEIGHT = 220
BAR_WIDTH = 420
LEFT = 62
RIGHT = 12
TOP = 12
BOTTOM = 36


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}".replace(",", "\u00a0")
    return f"{value:.1f}".replace(".", ",")


def _open(label: str, height: int = HEIGHT, css: str = "", width: int = WIDTH) -> list[str]:
    text = escape(label)
    return [f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img" aria-label="{text}" '
            f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>{text}</title>']


def _scale(values: Sequence[float]) -> tuple[float, float]:
    top = max(values) if values else 0
    low = min(values) if values else 0
    low = min(0.0, low) if top == low else low - (top - low) * 0.1
    low = max(0.0, low) if min(values or [0]) >= 0 else low
    if top == low:
        top = low + 1
    return low, top + (top - low) * 0.05


def _short(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def line_chart(points: Sequence[tuple[str, float | None]], label: str, empty: str, *,
               whole: bool = True) -> SafeString:
    """A line over ``points`` ((x label, value or None)); None breaks the line (a gap, not a zero). A single
    known point between gaps is drawn as a dot."""
    known = [v for _x, v in points if v is not None]
    parts = _open(label, css="chart-line")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    if not known:
        parts.append(f'<text class="chart-empty" x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" '
                     f'text-anchor="middle">{escape(empty)}</text></svg>')
        return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
    low, high = _scale(known)
    n = len(points)

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h - (v - low) / (high - low) * plot_h

    for tick in range(5):  # grid lines and their values
        value = low + (high - low) * tick / 4
        if whole:
            value = round(value)
        yy = y(value)
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        parts.append(f'<text class="chart-axis" x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">'
                     f'{escape(_fmt(value))}</text>')
    step = max(1, math.ceil(n / 4))
    for i, (xl, _v) in enumerate(points):
        if i % step == 0:
            parts.append(f'<text class="chart-axis" x="{x(i):.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
                         f'{escape(xl)}</text>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (_xl, v) in enumerate(points):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            parts.append(f'<circle class="chart-dot" cx="{cx}" cy="{cy}" r="3"/>')
        else:
            parts.append(f'<polyline class="chart-path" points="{" ".join(seg)}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def bar_chart(items: Sequence[tuple[str, float | None]], label: str, empty: str) -> SafeString:
    """Horizontal bars, one per item (label, value or None); an unknown value has no bar and says «—»."""
    row = 22
    height = TOP + row * max(1, len(items)) + 8
    name_w = 160
    parts = _open(label, height=height, css="chart-bars", width=BAR_WIDTH)
    known = [v for _l, v in items if v is not None]
    if not known or max(known) <= 0:
        parts.append(f'<text class="chart-empty" x="{BAR_WIDTH / 2:.0f}" y="{height / 2 + 4:.0f}" '
                     f'text-anchor="middle">{escape(empty)}</text></svg>')
        return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
    top = max(known)
    bar_w = BAR_WIDTH - name_w - 56
    for i, (name, value) in enumerate(items):
        yy = TOP + i * row
        parts.append(f'<text class="chart-axis" x="{name_w - 6}" y="{yy + 14}" text-anchor="end">'
                     f'{escape(_short(name, 22))}</text>')
        if value is None:
            parts.append(f'<text class="chart-axis" x="{name_w + 4}" y="{yy + 14}">—</text>')
            continue
        w = max(1.0, bar_w * value / top) if value > 0 else 0
        parts.append(f'<rect class="chart-bar" x="{name_w}" y="{yy + 3}" width="{w:.1f}" height="{row - 8}"/>')
        parts.append(f'<text class="chart-axis" x="{name_w + w + 4:.1f}" y="{yy + 14}">{escape(_fmt(value))}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped

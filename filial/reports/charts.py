"""The report's charts as PNG, drawn with Pillow (no plotting library): a page's audience over the period.

Labels are digits only (values and «мм.гг»), so Pillow's built-in font is enough; the table beside the chart
in the report carries the words.
"""

from __future__ import annotations

import functools
import io
from datetime import date
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 520
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 110, 40, 30, 70
# A palette image (four colours) draws and encodes in a few milliseconds: a whole-network report has one chart per
# page. Indexes into PALETTE:
WHITE, INK, GRID, LINE = 0, 1, 2, 3
FILL = LINE
PALETTE = [255, 255, 255, 30, 34, 40, 220, 224, 230, 36, 99, 171]


@functools.cache
def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _nice_step(top: int) -> int:
    raw = max(top / 5, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def audience_png(points: list[list[Any]]) -> bytes:
    """A line chart of ``[[iso day, audience], …]`` (at least one point)."""
    image = Image.new("P", (WIDTH, HEIGHT), WHITE)
    image.putpalette(PALETTE)
    draw = ImageDraw.Draw(image)
    font = _font(22)
    days = [date.fromisoformat(p[0]) for p in points]
    values = [int(p[1]) for p in points]
    step = _nice_step(max(values) if values else 1)
    top = max(step, -(-max(values, default=0) // step) * step)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    first, last = days[0].toordinal(), days[-1].toordinal()
    span = max(last - first, 1)

    def xy(day: date, value: int) -> tuple[float, float]:
        x = MARGIN_LEFT + (day.toordinal() - first) / span * plot_w if len(days) > 1 else MARGIN_LEFT + plot_w / 2
        y = MARGIN_TOP + plot_h - value / top * plot_h
        return x, y

    for tick in range(0, top + 1, step):
        y = MARGIN_TOP + plot_h - tick / top * plot_h
        draw.line([(MARGIN_LEFT, y), (WIDTH - MARGIN_RIGHT, y)], fill=GRID, width=2)
        label = str(tick)
        draw.text((MARGIN_LEFT - 12 - draw.textlength(label, font=font), y - 12), label, fill=INK, font=font)
    draw.line([(MARGIN_LEFT, MARGIN_TOP), (MARGIN_LEFT, MARGIN_TOP + plot_h)], fill=INK, width=2)
    draw.line([(MARGIN_LEFT, MARGIN_TOP + plot_h), (WIDTH - MARGIN_RIGHT, MARGIN_TOP + plot_h)], fill=INK, width=2)
    coords = [xy(d, v) for d, v in zip(days, values, strict=True)]
    if len(coords) > 1:
        draw.line(coords, fill=LINE, width=5, joint="curve")
    every = max(1, len(coords) // 12)
    for i, ((x, y), d, v) in enumerate(zip(coords, days, values, strict=True)):
        draw.ellipse([x - 7, y - 7, x + 7, y + 7], fill=FILL)
        if i % every == 0 or i == len(coords) - 1:
            label = d.strftime("%m.%y")
            draw.text((x - draw.textlength(label, font=font) / 2, MARGIN_TOP + plot_h + 14), label, fill=INK,
                      font=font)
        if i == len(coords) - 1:
            text = str(v)
            draw.text((min(x + 10, WIDTH - MARGIN_RIGHT - draw.textlength(text, font=font)), y - 34), text,
                      fill=LINE, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()

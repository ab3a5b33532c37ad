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

WIDTH, HEIGHT = 960, 420  # 170 mm wide in the DOCX: about 140 dpi
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 90, 32, 26, 56
FONT_PX = 18
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


@functools.lru_cache(maxsize=512)
def _label(text: str) -> tuple[Any, int]:
    """A label's rendered mask and width, drawn once: a network's report draws the same ticks on every chart."""
    font = _font(FONT_PX)
    width = int(font.getlength(text)) + 2
    mask = Image.new("L", (width, FONT_PX + 6), 0)
    ImageDraw.Draw(mask).text((0, 0), text, fill=255, font=font)
    return mask.point(lambda v: 255 if v > 96 else 0).convert("1"), width  # a palette image has no half tones


def _text(image: Any, x: float, y: float, text: str, colour: int) -> None:
    mask, _width = _label(text)
    image.paste(colour, (int(x), int(y)), mask)


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
        _text(image, MARGIN_LEFT - 10 - _label(label)[1], y - FONT_PX // 2, label, INK)
    draw.line([(MARGIN_LEFT, MARGIN_TOP), (MARGIN_LEFT, MARGIN_TOP + plot_h)], fill=INK, width=2)
    draw.line([(MARGIN_LEFT, MARGIN_TOP + plot_h), (WIDTH - MARGIN_RIGHT, MARGIN_TOP + plot_h)], fill=INK, width=2)
    coords = [xy(d, v) for d, v in zip(days, values, strict=True)]
    if len(coords) > 1:
        draw.line(coords, fill=LINE, width=4, joint="curve")
    every = max(1, len(coords) // 12)
    for i, ((x, y), d, v) in enumerate(zip(coords, days, values, strict=True)):
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], fill=FILL)
        if i % every == 0 or i == len(coords) - 1:
            label = d.strftime("%m.%y")
            _text(image, x - _label(label)[1] / 2, MARGIN_TOP + plot_h + 12, label, INK)
        if i == len(coords) - 1:
            text = str(v)
            _text(image, min(x + 8, WIDTH - MARGIN_RIGHT - _label(text)[1]), y - FONT_PX - 10, text, LINE)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()

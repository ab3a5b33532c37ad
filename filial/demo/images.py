"""Demo photos, drawn by Pillow at load time (no binary files in the repository)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

PALETTES: dict[str, list[tuple[int, int, int]]] = {
    "warm": [(244, 162, 97), (231, 111, 81), (233, 196, 106), (42, 157, 143), (38, 70, 83)],
    "spring": [(131, 197, 190), (237, 246, 249), (255, 221, 210), (226, 149, 120), (0, 109, 119)],
    "autumn": [(188, 71, 73), (242, 232, 207), (106, 153, 78), (167, 201, 87), (56, 102, 65)],
    "winter": [(202, 240, 248), (144, 224, 239), (0, 180, 216), (3, 4, 94), (255, 255, 255)],
    "bright": [(255, 190, 11), (251, 86, 7), (255, 0, 110), (131, 56, 236), (58, 134, 255)],
}

MOTIFS = ("books", "balloons", "vinyl", "confetti", "sun")
CANVAS = (960, 640)


def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    height = size[1]
    column = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(height - 1, 1)
        column.putpixel((0, y), tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return column.resize(size)


def draw_photo(seed: int, motif: str = "books", palette: str = "warm", size: tuple[int, int] = (960, 640)) -> bytes:
    """A colourful JPEG: a gradient and simple shapes (bookshelves, balloons, vinyl records...).

    Drawn on a fixed canvas and then scaled to ``size``.
    """
    rng = random.Random(seed)
    colours = PALETTES.get(palette, PALETTES["warm"])
    width, height = CANVAS
    image = _gradient(CANVAS, colours[0], colours[-1])
    draw = ImageDraw.Draw(image)
    if motif == "books":
        for shelf in range(3):
            base = int(height * (0.35 + shelf * 0.25))
            draw.rectangle([0, base, width, base + 10], fill=(90, 60, 40))
            x = rng.randint(10, 60)
            while x < width - 40:
                w = rng.randint(18, 42)
                h = rng.randint(90, 140)
                draw.rectangle([x, base - h, x + w, base], fill=rng.choice(colours), outline=(40, 30, 20))
                draw.line([x + 4, base - h + 14, x + w - 4, base - h + 14], fill=(250, 240, 220), width=2)
                x += w + rng.randint(1, 6)
    elif motif == "balloons":
        for _ in range(9):
            cx, cy = rng.randint(60, width - 60), rng.randint(60, height - 200)
            r = rng.randint(35, 70)
            draw.line([cx, cy + r, cx + rng.randint(-30, 30), height], fill=(80, 80, 80), width=2)
            draw.ellipse([cx - r, cy - int(r * 1.2), cx + r, cy + r], fill=rng.choice(colours), outline=(255, 255, 255))
    elif motif == "vinyl":
        for _ in range(3):
            cx, cy = rng.randint(150, width - 150), rng.randint(150, height - 150)
            r = rng.randint(90, 140)
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(25, 25, 25))
            for ring in range(r - 8, r // 3, -9):
                draw.ellipse([cx - ring, cy - ring, cx + ring, cy + ring], outline=(60, 60, 60))
            label = r // 3
            draw.ellipse([cx - label, cy - label, cx + label, cy + label], fill=rng.choice(colours))
        for _ in range(4):
            x, y = rng.randint(0, width - 200), rng.randint(0, height - 80)
            draw.rounded_rectangle([x, y, x + rng.randint(120, 220), y + rng.randint(40, 70)], radius=12,
                                   fill=rng.choice(colours), outline=(255, 255, 255), width=3)
    elif motif == "confetti":
        for _ in range(160):
            x, y = rng.randint(0, width), rng.randint(0, height)
            s = rng.randint(4, 14)
            if rng.random() < 0.5:
                draw.ellipse([x, y, x + s, y + s], fill=rng.choice(colours))
            else:
                draw.rectangle([x, y, x + s, y + s // 2], fill=rng.choice(colours))
    else:  # sun
        cx, cy, r = int(width * 0.7), int(height * 0.3), 80
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 214, 10))
        for i in range(5):
            y = int(height * 0.62) + i * 40
            draw.polygon([(0, height), (0, y), (width // 2, y - 60 + i * 10), (width, y), (width, height)],
                         fill=colours[(i + 1) % len(colours)])
    if size != CANVAS:
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()

"""Decoding pictures that come from outside (photo uploads, readers' pictures) at a bounded cost.

- The size is read from the file's header (``Image.open`` decodes nothing) and a picture above
  ``FILIAL_MAX_PHOTO_PIXELS`` is refused before a byte of it is decoded; ``Image.MAX_IMAGE_PIXELS`` is set to the same
  figure at start-up (``core.apps``), so Pillow's own bomb check agrees wherever else it opens an image.
- A picture that is wanted smaller is decoded smaller: JPEG through the decoder's draft mode (1/2, 1/4, 1/8 scale
  while decoding), other formats reduced by whole factors (``Image.reduce``) before any resampling.
- At most ``FILIAL_PHOTO_CONCURRENCY`` pictures are decoded at once in one process (``decode_slot``); the others
  wait their turn (up to ``SLOT_WAIT`` seconds, then they are refused as "busy").
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image

SLOT_WAIT = 60.0

_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


class PictureRefused(ValueError):
    """The picture is refused; the message (translated) says why and what to do."""


class PictureBusy(PictureRefused):
    """Too many pictures are being decoded in this process right now."""


def max_pixels() -> int:
    return int(settings.FILIAL_MAX_PHOTO_PIXELS)


def apply_pillow_limit() -> None:
    """Pillow's own decompression-bomb limit = ours (it warns above it and refuses above twice it)."""
    Image.MAX_IMAGE_PIXELS = max_pixels()


def check_pixels(image: Image.Image) -> None:
    """Refuse, from the header alone, a picture with more pixels than the cap."""
    width, height = image.size
    if width * height > max_pixels():
        raise too_many_pixels(width * height)


def too_many_pixels(pixels: int | None) -> PictureRefused:
    cap = max_pixels()
    side = math.isqrt(cap)
    if pixels is None:
        return PictureRefused(_("The photo has too many pixels. Reduce it to at most %(max)s megapixels (for example "
                                "%(side)d×%(side)d) and upload it again.") % {"max": _megapixels(cap), "side": side})
    return PictureRefused(_("The photo has %(mp).1f megapixels. Reduce it to at most %(max)s megapixels (for "
                            "example %(side)d×%(side)d) and upload it again.")
                          % {"mp": pixels / 1e6, "max": _megapixels(cap), "side": side})


def open_checked(fh: IO[bytes]) -> Image.Image:
    """``Image.open`` (the header only) and the pixel check. Pillow itself refuses at open a picture of more than
    twice ``MAX_IMAGE_PIXELS``; that too comes out as our refusal."""
    try:
        image = Image.open(fh)
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise too_many_pixels(int(found[1]) if found else None) from exc
    check_pixels(image)
    return image


def _megapixels(pixels: int) -> str:
    value = pixels / 1e6
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    size = max(1, int(settings.FILIAL_PHOTO_CONCURRENCY))
    with _lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


@contextmanager
def decode_slot(wait: float = SLOT_WAIT) -> Iterator[None]:
    """Hold one of the process's ``FILIAL_PHOTO_CONCURRENCY`` decoding slots while the block runs."""
    semaphore = _semaphore()
    if not semaphore.acquire(timeout=wait):
        raise PictureBusy(_("The server is busy processing other photos. Try again in a minute."))
    try:
        yield
    finally:
        semaphore.release()


def open_reduced(fh: IO[bytes], box: int) -> Image.Image:
    """The picture in ``fh``, checked against the pixel cap from its header, decoded no larger than needed to fit
    a ``box``×``box`` square — JPEG through the decoder's draft mode (1/2, 1/4 or 1/8 scale while decoding, never
    below the box), other formats reduced by a whole factor right after decoding — then fitted into the box. Call
    inside :func:`decode_slot`."""
    image = open_checked(fh)
    fmt = image.format
    scale = box / max(image.size)
    if fmt == "JPEG" and scale < 1:  # the fitted size, which the draft keeps covered
        wanted = (math.ceil(image.width * scale), math.ceil(image.height * scale))
        image.draft("RGB" if image.mode not in ("L", "RGB") else image.mode, wanted)
    image.load()
    factor = max(image.size) // box
    if factor >= 2:
        if image.mode not in ("L", "LA", "RGB", "RGBA", "CMYK", "YCbCr"):  # palettes cannot be averaged
            image = image.convert("RGBA" if (image.mode in ("P", "PA") and "transparency" in image.info)
                                  or image.mode == "PA" else "RGB")
        image = image.reduce(factor)
    image.thumbnail((box, box), reducing_gap=None)
    image.format = fmt
    return image

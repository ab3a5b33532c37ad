"""Hostile photos (issue 10): refused from the header above the pixel cap, decoded with reduction, a bounded
number decoded at once, Pillow's bomb limit the same figure everywhere."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from PIL import Image, ImageFile, JpegImagePlugin

from filial.core import images
from filial.inbox import attachments
from filial.publishing import media
from filial.publishing.models import Media


def png_bytes(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 210, 220)).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 140, 160)).save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, int]]]:
    """The sizes at which Pillow really decoded image files (after any draft reduction)."""
    sizes: list[tuple[int, int]] = []
    real = ImageFile.ImageFile.load

    def load(self: Any) -> Any:
        if self.tile:  # not decoded yet: this call decodes
            sizes.append(self.size)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load, raising=False)
    yield sizes


def test_pillow_limit_is_ours() -> None:
    from django.conf import settings

    assert settings.FILIAL_MAX_PHOTO_PIXELS == 25_000_000
    assert Image.MAX_IMAGE_PIXELS == settings.FILIAL_MAX_PHOTO_PIXELS


def test_a_photo_over_the_cap_is_refused_from_its_header(decoded: list[tuple[int, int]]) -> None:
    """Before: a 7700×7700 PNG (59 megapixels, 190 KB) was decoded whole: 570 MB and 1.5–7 s in the web process."""
    data = png_bytes((7700, 7700))
    start = time.monotonic()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        media.photo_clean(io.BytesIO(data), len(data))
    assert time.monotonic() - start < 1
    assert refused.value.message_dict["file"] == [
        "The photo has 59.3 megapixels. Reduce it to at most 25 megapixels (for example 5000×5000) and upload it "
        "again."]
    assert decoded == []  # nothing was decoded
    with translation.override("ru"), pytest.raises(ValidationError) as refused_ru:
        media.photo_clean(io.BytesIO(data), len(data))
    assert refused_ru.value.message_dict["file"][0].startswith("Размер фотографии — 59.3 Мп. Уменьшите её не больше "
                                                               "чем до 25 Мп (например, до 5000×5000 пикселей)")


def test_renditions_are_decoded_reduced(net: Any, decoded: list[tuple[int, int]],
                                        django_capture_on_commit_callbacks: Any) -> None:
    data = jpeg_bytes((4000, 3000))
    with django_capture_on_commit_callbacks(execute=True):
        photo = media.media_upload(actor=net.users["editor_branch4"], unit=net.branch4, fh=io.BytesIO(data),
                                   size=len(data), name="big.jpg")
    assert (photo.width, photo.height) == (4000, 3000)
    photo = Media.objects.get(pk=photo.pk)
    assert set(photo.renditions) == {"thumb", "web"}
    # the upload decodes the photo once; each rendition is decoded at 1/2 … 1/8 scale by the JPEG decoder
    assert decoded[0] == (4000, 3000)
    assert decoded[1:] and all(w * h <= 2000 * 1500 for w, h in decoded[1:]), decoded
    with media.default_storage.open(photo.renditions["thumb"]) as fh, Image.open(fh) as thumb:
        assert max(thumb.size) == 320


def test_decoding_waits_for_a_free_slot(settings: Any) -> None:
    settings.FILIAL_PHOTO_CONCURRENCY = 1
    data = jpeg_bytes((64, 48))
    finished: list[float] = []

    def upload() -> None:
        media.photo_clean(io.BytesIO(data), len(data))
        finished.append(time.monotonic())

    with images.decode_slot():
        worker = threading.Thread(target=upload)
        worker.start()
        time.sleep(0.3)
        assert finished == []  # waiting for the slot this thread holds
        released = time.monotonic()
    worker.join(5)
    assert finished and finished[0] >= released
    with images.decode_slot(), translation.override("en"), pytest.raises(images.PictureBusy, match="busy"):
        with images.decode_slot(wait=0.05):
            pass


def test_readers_pictures_follow_the_same_cap_and_are_copied_reduced(decoded: list[tuple[int, int]]) -> None:
    assert attachments.safe_copy(png_bytes((7700, 7700))) is None
    assert decoded == []
    copy = attachments.safe_copy(jpeg_bytes((5000, 4000)))
    assert copy is not None
    with Image.open(io.BytesIO(copy[0])) as image:
        assert max(image.size) == attachments.MAX_SIDE
    assert decoded == [(2500, 2000)]  # decoded at half scale

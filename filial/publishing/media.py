"""Photo intake: check, orient, strip metadata (EXIF location included) and make resized copies; the cost of
decoding is bounded by ``core.images`` (pixel cap from the header, reduced decoding, a few at once)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.core import images, taskqueue
from filial.libraries.models import Unit
from filial.publishing.models import Media

ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_SIDE = 5000
RENDITIONS = {"thumb": 320, "web": 1280}


def _reject(message: str) -> ValidationError:
    return ValidationError({"file": [message]}, code="invalid_image")


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    fmt: str  # "JPEG" or "PNG"
    width: int
    height: int


def photo_clean(fh: IO[bytes], size: int) -> CleanPhoto:
    """Check an uploaded photo and re-encode its pixels only (metadata, EXIF location included, dropped), upright
    and at most ``MAX_SIDE`` a side. The pixel count is checked from the header before anything is decoded; the
    decoding itself takes one of the process's slots (``core.images``) and is reduced where the photo is larger
    than ``MAX_SIDE``."""
    limit = settings.FILIAL_MAX_PHOTO_BYTES
    if size > limit:
        raise _reject(_("The photo is too large: %(size)d MB, at most %(max)d MB.")
                      % {"size": size // (1024 * 1024), "max": limit // (1024 * 1024)})
    if size == 0:
        raise _reject(_("The file is empty."))
    try:
        probe = images.open_checked(fh)
        if probe.format not in ALLOWED_FORMATS:
            raise _reject(_("Only JPEG, PNG and WebP photos are accepted."))
        probe.verify()
        fh.seek(0)
        with images.decode_slot():
            image = images.open_reduced(fh, MAX_SIDE)
            source_format = image.format or "JPEG"
            has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
            transparency = image.info.get("transparency")
            ImageOps.exif_transpose(image, in_place=True)
            fmt = "PNG" if source_format == "PNG" and has_alpha else "JPEG"
            image.info = {} if transparency is None else {"transparency": transparency}  # pixels only
            data = _encode(image, fmt)
    except images.PictureRefused as exc:
        raise _reject(str(exc)) from exc
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise _reject(_("The file is not a photo or is damaged.")) from exc
    return CleanPhoto(data, fmt, image.width, image.height)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        rgb.save(out, "JPEG", quality=86, optimize=True, progressive=True)
    return out.getvalue()


@transaction.atomic
def media_upload(*, actor: Any, unit: Unit, fh: IO[bytes], size: int, name: str = "", alt_text: str = "") -> Media:
    """Store a checked photo. Metadata is dropped by re-encoding the pixels only."""
    if not access_for(actor).can_write(unit.pk):
        raise PermissionDenied(_("You cannot upload photos for this unit."))
    clean = photo_clean(fh, size)
    media = Media(
        unit=unit, uploaded_by=actor, original_name=name[:255], content_type=ALLOWED_FORMATS[clean.fmt],
        width=clean.width, height=clean.height, size=len(clean.data), alt_text=alt_text[:300],
    )
    extension = ".png" if clean.fmt == "PNG" else ".jpg"
    media.file.save(f"{media.key}{extension}", ContentFile(clean.data), save=False)
    media.save()
    audit_record(actor, "media.upload", media, {"name": media.original_name, "size": media.size},
                 system_id=unit.system_id)
    transaction.on_commit(lambda: _enqueue_renditions(media.pk))
    return media


def _enqueue_renditions(media_id: int) -> None:
    taskqueue.enqueue("filial.publishing.tasks.media_make_renditions", media_id)


def make_renditions(media: Media) -> dict[str, str]:
    """Resized copies for previews and networks; idempotent (a rerun overwrites the same files)."""
    source = media.file.name or ""
    fmt = "PNG" if media.content_type == "image/png" else "JPEG"
    renditions: dict[str, str] = {}
    base = source.rsplit(".", 1)[0]
    for name, side in RENDITIONS.items():
        # each copy decoded at the smallest scale that still covers it (JPEG draft mode: 1/8 for the thumbnail)
        with default_storage.open(source, "rb") as fh, images.decode_slot():
            data = _encode(images.open_reduced(fh, side), fmt)
        path = f"{base}.{name}.{'png' if fmt == 'PNG' else 'jpg'}"
        if default_storage.exists(path):
            default_storage.delete(path)
        renditions[name] = default_storage.save(path, ContentFile(data))
    Media.objects.filter(pk=media.pk).update(renditions=renditions)
    media.renditions = renditions
    return renditions

"""Photo intake: check, orient, strip metadata (EXIF location included) and make resized copies."""

from __future__ import annotations

import io
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
from filial.libraries.models import Unit
from filial.publishing.models import Media

ALLOWED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_SIDE = 5000
RENDITIONS = {"thumb": 320, "web": 1280}


def _reject(message: str) -> ValidationError:
    return ValidationError({"file": [message]}, code="invalid_image")


def _load(fh: IO[bytes], size: int) -> Image.Image:
    limit = settings.FILIAL_MAX_PHOTO_BYTES
    if size > limit:
        raise _reject(_("The photo is too large: %(size)d MB, at most %(max)d MB.")
                      % {"size": size // (1024 * 1024), "max": limit // (1024 * 1024)})
    if size == 0:
        raise _reject(_("The file is empty."))
    try:
        probe = Image.open(fh)
        if probe.format not in ALLOWED_FORMATS:
            raise _reject(_("Only JPEG, PNG and WebP photos are accepted."))
        if probe.width * probe.height > settings.FILIAL_MAX_PHOTO_PIXELS:
            raise _reject(_("The photo has too many pixels."))
        probe.verify()
        fh.seek(0)
        image = Image.open(fh)
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise _reject(_("The file is not a photo or is damaged.")) from exc
    return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.convert("RGB").save(out, "JPEG", quality=86, optimize=True, progressive=True)
    return out.getvalue()


@transaction.atomic
def media_upload(*, actor: Any, unit: Unit, fh: IO[bytes], size: int, name: str = "", alt_text: str = "") -> Media:
    """Store a checked photo. Metadata is dropped by re-encoding the pixels only."""
    if not access_for(actor).can_write(unit.pk):
        raise PermissionDenied(_("You cannot upload photos for this unit."))
    image = _load(fh, size)
    source_format = image.format or "JPEG"
    image = ImageOps.exif_transpose(image)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    fmt = "PNG" if source_format == "PNG" and has_alpha else "JPEG"
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    data = _encode(clean, fmt)
    media = Media(
        unit=unit, uploaded_by=actor, original_name=name[:255], content_type=ALLOWED_FORMATS[fmt],
        width=clean.width, height=clean.height, size=len(data), alt_text=alt_text[:300],
    )
    extension = ".png" if fmt == "PNG" else ".jpg"
    media.file.save(f"{media.key}{extension}", ContentFile(data), save=False)
    media.save()
    audit_record(actor, "media.upload", media, {"name": media.original_name, "size": media.size},
                 system_id=unit.system_id)
    transaction.on_commit(lambda: _enqueue_renditions(media.pk))
    return media


def _enqueue_renditions(media_id: int) -> None:
    from filial.publishing.tasks import media_make_renditions

    media_make_renditions(media_id)


def make_renditions(media: Media) -> dict[str, str]:
    """Resized copies for previews and networks; idempotent (a rerun overwrites the same files)."""
    name = media.file.name or ""
    with default_storage.open(name, "rb") as fh:
        image = Image.open(fh)
        image.load()
    fmt = "PNG" if media.content_type == "image/png" else "JPEG"
    renditions: dict[str, str] = {}
    base = name.rsplit(".", 1)[0]
    for name, side in RENDITIONS.items():
        copy = image.copy()
        copy.thumbnail((side, side))
        path = f"{base}.{name}.{'png' if fmt == 'PNG' else 'jpg'}"
        if default_storage.exists(path):
            default_storage.delete(path)
        renditions[name] = default_storage.save(path, ContentFile(_encode(copy, fmt)))
    Media.objects.filter(pk=media.pk).update(renditions=renditions)
    media.renditions = renditions
    return renditions

"""Readers' attachments: metadata always; our own copy of a small picture of an allowed type, never a hot link.

``pipeline.attachments_of`` keeps, for a photo whose network gives a direct address (VK photo sizes, MAX image
payloads), that address as ``source`` — server-side only: it is never rendered nor returned by the API. After the
items are committed, :func:`copy_item_images` (a worker task) downloads each such picture with a size limit
(``FILIAL_INBOX_IMAGE_MAX_BYTES``, 1 MiB), checks with Pillow that it is a JPEG, PNG or WebP within the pixel
limit, re-encodes it (nothing but pixels survives: no metadata, no polyglot payload), stores it under
``inbox/`` and drops the address. Staff browsers load only that copy, from our own site, after a permission check
(``views.attachment``); the strict CSP (``img-src 'self'``) blocks anything else anyway.
"""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from filial.inbox.models import InboxItem

log = logging.getLogger("filial.inbox")

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
# Tests replace this with an ``httpx.MockTransport``.
TRANSPORT: httpx.BaseTransport | None = None


def max_bytes() -> int:
    return int(settings.FILIAL_INBOX_IMAGE_MAX_BYTES)


def source_of(network: str, kind: str, body: dict[str, Any]) -> str:
    """The direct address of a picture attachment, where the network gives one."""
    if network == "vk" and kind == "photo":
        sizes = [s for s in body.get("sizes") or [] if isinstance(s, dict) and s.get("url")]
        if sizes:
            small = [s for s in sizes if int(s.get("width") or 0) <= 1280] or sizes
            return str(max(small, key=lambda s: int(s.get("width") or 0))["url"])
    if network == "max" and kind == "image":
        return str(body.get("url") or "")
    return ""


def _download(url: str) -> bytes | None:
    if urlsplit(url).scheme not in ("https", "http"):
        return None
    limit = max_bytes()
    with httpx.Client(transport=TRANSPORT, timeout=float(settings.FILIAL_NETWORK_TIMEOUT),
                      follow_redirects=False) as client, client.stream("GET", url) as response:
        if response.status_code != 200:
            return None
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def safe_copy(content: bytes) -> tuple[bytes, str, str] | None:
    """Re-encoded pixels of an allowed picture: (bytes, content type, extension), or None."""
    try:
        with Image.open(io.BytesIO(content)) as probe:
            fmt = str(probe.format or "")
            if fmt not in ALLOWED_FORMATS:
                return None
            if probe.width * probe.height > int(settings.FILIAL_MAX_PHOTO_PIXELS):
                return None
            probe.load()
            image = probe.convert("RGBA" if fmt in ("PNG", "WEBP") and probe.mode in ("RGBA", "LA", "P")
                                  else "RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        return None
    out = io.BytesIO()
    content_type, ext = ALLOWED_FORMATS[fmt]
    image.save(out, fmt, **({"quality": 85} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue(), content_type, ext


def copy_item_images(item_id: int) -> int:
    """Copy this item's small pictures; returns how many were stored."""
    item = InboxItem.objects.filter(pk=item_id).first()
    if item is None:
        return 0
    changed = False
    stored = 0
    attachments = [dict(a) for a in item.attachments or []]
    for n, attachment in enumerate(attachments):
        url = str(attachment.pop("source", "") or "")
        if not url:
            continue
        changed = True
        try:
            content = _download(url)
        except httpx.HTTPError as exc:
            log.info("inbox item %s: picture %d not copied: %s", item_id, n, exc)
            content = None
        copy = safe_copy(content) if content else None
        if copy is None:
            attachment["copy"] = "refused"
            continue
        data, content_type, ext = copy
        path = default_storage.save(f"inbox/{item.channel_id}/{item.pk}-{n}.{ext}", ContentFile(data))
        attachment.update(stored=path, content_type=content_type, size=len(data))
        stored += 1
    if changed:
        InboxItem.objects.filter(pk=item.pk).update(attachments=attachments)
    return stored

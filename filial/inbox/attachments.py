"""Readers' attachments: metadata always; our own copy of a small picture of an allowed type, never a hot link.

``pipeline.attachments_of`` keeps, for a photo whose network gives a direct address (VK photo sizes, MAX image
payloads), that address as ``source`` — server-side only: it is never rendered nor returned by the API. After the
items are committed, :func:`copy_item_images` (a worker task) downloads each such picture with a size limit
(``FILIAL_INBOX_IMAGE_MAX_BYTES``, 1 MiB), checks with Pillow that it is a JPEG, PNG or WebP within the pixel
limit (``FILIAL_MAX_PHOTO_PIXELS``, from the header), re-encodes it at most ``MAX_SIDE`` a side (nothing but
pixels survives: no metadata, no polyglot payload), stores it under ``inbox/`` and drops the address. Staff
browsers load only that copy, from our own site, after a permission check (``views.attachment``); the strict
CSP (``img-src 'self'``) blocks anything else anyway.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from filial.core import images
from filial.inbox.models import InboxItem
from filial.networks import connect, egress, registry

log = logging.getLogger("filial.inbox")

MAX_SIDE = 2048  # readers' pictures are kept at most this large a side
ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
# Tests replace this with an ``httpx.MockTransport``.
TRANSPORT: httpx.BaseTransport | None = None


def max_bytes() -> int:
    return int(settings.FILIAL_INBOX_IMAGE_MAX_BYTES)


def source_of(network: str, kind: str, body: dict[str, Any]) -> str:
    """The direct address of a picture attachment, where the network gives one (each network's ``hosts.py``)."""
    return registry.picture_source(network, kind, body)


MAX_REDIRECTS = 3


def _download(url: str, network: str, own_origin: str = "") -> bytes | None:
    """The picture at ``url`` if it is on the network's media hosts (or the page's own emulator), within the size
    limit. Addresses are checked after resolving and the connection goes to the checked address; a redirect is
    followed only to another allowed address."""
    own_host = egress.host_of(own_origin) if own_origin else ""

    def allow(host: str, address: egress.Address) -> bool:
        return egress.is_public(address) or bool(own_host and host == own_host and address.is_loopback)

    limit = max_bytes()
    with egress.guarded_client(allow, transport=TRANSPORT, timeout=float(settings.FILIAL_NETWORK_TIMEOUT)) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            if not egress.media_url_allowed(network, url, own_origin=own_origin):
                log.info("a %s picture at a host that is not the network's media host was not fetched", network)
                return None
            with client.stream("GET", url) as response:
                if response.is_redirect and response.headers.get("location"):
                    url = str(response.url.join(response.headers["location"]))
                    continue
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
    return None


def safe_copy(content: bytes) -> tuple[bytes, str, str] | None:
    """Re-encoded pixels of an allowed picture, at most ``MAX_SIDE`` a side: (bytes, content type, extension), or
    None. The pixel cap is checked from the header; decoding is reduced and takes a slot (``core.images``)."""
    try:
        with images.open_checked(io.BytesIO(content)) as probe:
            fmt = str(probe.format or "")
            if fmt not in ALLOWED_FORMATS:
                return None
        with images.decode_slot():
            picture = images.open_reduced(io.BytesIO(content), MAX_SIDE)
            image = picture.convert("RGBA" if fmt in ("PNG", "WEBP") and picture.mode in ("RGBA", "LA", "P")
                                    else "RGB")
    except images.PictureRefused:
        return None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        return None
    out = io.BytesIO()
    content_type, ext = ALLOWED_FORMATS[fmt]
    image.save(out, fmt, **({"quality": 85} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue(), content_type, ext


def copy_item_images(item_id: int) -> int:
    """Copy this item's small pictures; returns how many were stored."""
    item = InboxItem.objects.select_related("channel").filter(pk=item_id).first()
    if item is None:
        return 0
    network = item.channel.network
    api = connect.base_url(network, item.channel.api_base_url)
    # The page's own emulator (demo, tests) serves its pictures on loopback: that origin only, if it is allowed.
    own_origin = api if egress.api_url_problem(network, api) == "" and egress.host_of(api) in (
        egress.LOOPBACK_NAMES | {"127.0.0.1", "::1"}) else ""
    changed = False
    stored = 0
    attachments = [dict(a) for a in item.attachments or []]
    for n, attachment in enumerate(attachments):
        url = str(attachment.pop("source", "") or "")
        if not url:
            continue
        changed = True
        try:
            content = _download(url, network, own_origin)
        except httpx.HTTPError as exc:  # the address (it may hold a token: Telegram's file path) is not logged
            log.info("inbox item %s: picture %d not copied: %s", item_id, n, type(exc).__name__)
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

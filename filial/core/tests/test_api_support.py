"""Helpers shared by the API tests (no tests here): token clients per role, photos, a populated network."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from filial.accounts.models import AuditEntry
from filial.accounts.services import api_token_issue
from filial.channels.models import Channel
from filial.libraries.models import Unit
from filial.publishing import events as event_writes
from filial.publishing import services
from filial.publishing.media import media_upload
from filial.publishing.models import Delivery, Event, Media, Post, PostMedia
from filial.publishing.services import PostData

ROLES = ["admin", "methodologist", "editor_branch4", "editor_children", "viewer", "outsider", "anonymous"]


def client_for(net: Any, role: str) -> APIClient:
    """An API client speaking with the role's token (``anonymous``: no credentials at all)."""
    client = APIClient()
    if role != "anonymous":
        key, _expires = api_token_issue(user=net.users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def jpeg_bytes(size: tuple[int, int] = (64, 48), color: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


def jpeg_upload(name: str = "photo.jpg", **kw: Any) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(**kw), content_type="image/jpeg")


def compose(net: Any, role: str, unit: Unit, channels: list[Channel], **kw: Any) -> Post:
    data = PostData(unit=unit, kind=kw.pop("kind", "afisha"), text=kw.pop("text", "Приходите в библиотеку!"),
                    channels=channels, publish_at=kw.pop("publish_at", net.soon()), **kw)
    return services.post_create(actor=net.users[role], data=data)


@dataclass
class World:
    """Posts and an event in every state the permission tests need."""

    draft_b4: Post
    pending_b4: Post
    draft_ch: Post
    scheduled_ch: Post
    event_ch: Event
    photo_ch: Media  # a photo of the children's library's draft


def world(net: Any) -> World:
    c = net.channels
    draft_b4 = compose(net, "editor_branch4", net.branch4, [c["branch4_ok"]], title="Черновик филиала 4")
    pending_b4 = compose(net, "editor_branch4", net.branch4, [c["branch4_ok"]], title="На согласовании")
    services.post_submit(actor=net.users["editor_branch4"], post=pending_b4)
    draft_ch = compose(net, "editor_children", net.children, [c["children_ok"]], title="Черновик детской")
    scheduled_ch = compose(net, "editor_children", net.children, [c["children_ok"], c["children_tg"]],
                           title="Неделя детской книги")
    services.post_submit(actor=net.users["editor_children"], post=scheduled_ch)
    services.post_approve(actor=net.users["methodologist"], post=scheduled_ch)
    event_ch = event_writes.event_create(actor=net.users["editor_children"], unit=net.children,
                                           title="Неделя детской книги", starts_at=net.soon(48),
                                           place="Читальный зал")
    data = jpeg_bytes()
    photo_ch = media_upload(actor=net.users["editor_children"], unit=net.children, fh=io.BytesIO(data),
                            size=len(data), name="photo.jpg")
    PostMedia.objects.create(post=draft_ch, media=photo_ch)
    for post in (draft_b4, pending_b4, draft_ch, scheduled_ch):
        post.refresh_from_db()
    return World(draft_b4, pending_b4, draft_ch, scheduled_ch, event_ch, photo_ch)


def fingerprint() -> tuple[Any, ...]:
    """Everything an API write may change: a failed request must leave it as it was."""
    return (
        AuditEntry.objects.count(),
        sorted(Post.objects.values_list("id", "state", "text", "unit_id")),
        sorted(Delivery.objects.values_list("id", "state")),
        sorted(Event.objects.values_list("id", "title", "starts_at")),
        sorted(Unit.objects.values_list("id", "name", "parent_id")),
        sorted(Channel.objects.values_list("id", "name", "credentials_encrypted")),
        Media.objects.count(),
    )

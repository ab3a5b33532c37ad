"""What a delivery sends: the post as one page gets it (its own text where it has one, photos as their "web"
renditions, link, poll), and the summary of it kept with every attempt (sizes and flags, never text or tokens).
Also the reader's item a reply answers, from the fields an ``OutgoingMessage`` keeps of it."""

from __future__ import annotations

import mimetypes
import os
from datetime import datetime
from typing import Any

from django.core.files.storage import default_storage
from django.utils import timezone

from filial.core.images import PictureRefused
from filial.networks.base import InboundItem, Photo, PollSpec, PostPayload
from filial.outbox.jobs import PayloadError
from filial.publishing.marking import marked_text
from filial.publishing.media import make_renditions
from filial.publishing.models import Delivery, Media, Poll, PostChannel


def _photo(media: Media) -> Photo:
    """The network copy of a photo (the "web" rendition, made now if the worker has not yet), else the original."""
    original = str(media.file.name or "")
    path = str(media.renditions.get("web") or "")
    if not path:
        try:
            path = str(make_renditions(media).get("web") or "")
        except (OSError, PictureRefused):  # unreadable, or every decoding slot busy: send the original
            path = ""
    path = path or original
    try:
        with default_storage.open(path, "rb") as fh:
            content = fh.read()
    except OSError as exc:
        raise PayloadError(f"the photo {media.original_name or media.key} cannot be read: {exc}") from exc
    content_type = mimetypes.guess_type(path)[0] or media.content_type or "image/jpeg"
    filename = os.path.basename(path) if path != original else (media.original_name or os.path.basename(path))
    return Photo(content=content, filename=filename, content_type=content_type)


def build_payload(delivery: Delivery) -> PostPayload:
    post = delivery.post
    target = PostChannel.objects.filter(post_id=post.pk, channel_id=delivery.channel_id).first()
    text = target.text_override if target is not None and target.text_override.strip() else post.text
    text = marked_text(post, delivery.channel.network, text)
    media = [pm.media for pm in post.post_media.select_related("media").order_by("position")]
    poll_row = Poll.objects.filter(post_id=post.pk).prefetch_related("answers").first()
    poll = None
    if poll_row is not None:
        poll = PollSpec(question=poll_row.question, answers=[a.text for a in poll_row.answers.all()],
                        multiple=poll_row.multiple, anonymous=poll_row.anonymous, ends_at=poll_row.ends_at)
    return PostPayload(text=text, key=delivery.key, photos=[_photo(m) for m in media], link=post.link, poll=poll)


def request_summary(delivery: Delivery, payload: PostPayload | None) -> dict[str, Any]:
    """What was sent, for the attempts history: sizes and flags, never tokens or the text itself."""
    summary: dict[str, Any] = {"network": delivery.channel.network, "page": delivery.channel.external_id,
                               "key": delivery.key}
    if payload is not None:
        summary.update(text_chars=len(payload.text), photos=len(payload.photos), link=bool(payload.link),
                       poll=payload.poll is not None)
    return summary


def reply_item(data: dict[str, Any]) -> InboundItem:
    """An ``InboundItem`` from the fields kept in ``OutgoingMessage.reply_to`` (what ``Connector.reply`` reads)."""
    try:
        at = datetime.fromisoformat(str(data["at"])) if data.get("at") else timezone.now()
        return InboundItem(kind=str(data.get("kind") or "message"), external_id=str(data.get("external_id") or ""),
                           thread_id=str(data.get("thread_id") or ""), author_id=str(data.get("author_id") or ""),
                           author_name=str(data.get("author_name") or ""), text=str(data.get("text") or ""), at=at,
                           post_external_id=str(data.get("post_external_id") or ""),
                           reply_to=str(data.get("reply_to") or ""), raw=dict(data.get("raw") or {}))
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"the message this replies to is not readable: {exc}") from exc

"""Inbox rows for view and API tests, made through the real pipeline (``ingest``) from plain ``InboundItem``s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from filial.channels.models import Channel
from filial.inbox import pipeline
from filial.inbox.models import Conversation
from filial.networks.base import InboundItem

_ids = count(1)


def reader_message(channel: Channel, text: str, *, person: str = "", name: str = "Читатель",
                   at: datetime | None = None, raw: dict | None = None) -> Conversation:
    n = next(_ids)
    person = person or str(10_000 + n)
    item = InboundItem(kind="message", external_id=f"m{n}", thread_id=person, author_id=person, author_name=name,
                       text=text, at=at or datetime.now(tz=UTC) - timedelta(minutes=n % 50), raw=raw or {})
    channel = Channel.objects.select_related("unit__system").get(pk=channel.pk)
    pipeline.ingest(channel, [item])
    return Conversation.objects.get(channel=channel, kind="dialogue", thread_key=person)


def reader_comment(channel: Channel, text: str, *, post: str = "p1", name: str = "Читатель") -> Conversation:
    n = next(_ids)
    item = InboundItem(kind="comment", external_id=f"c{n}", thread_id=post, author_id=str(20_000 + n),
                       author_name=name, text=text, at=datetime.now(tz=UTC), post_external_id=post)
    channel = Channel.objects.select_related("unit__system").get(pk=channel.pk)
    pipeline.ingest(channel, [item])
    return Conversation.objects.get(channel=channel, kind="comments", thread_key=post)

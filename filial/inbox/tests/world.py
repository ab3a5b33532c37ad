"""The inbox's test world: the engine's world (four emulators on loopback, a page on each pointed at them) plus
helpers to publish a post there and to make readers write. No tests here."""

from __future__ import annotations

from typing import Any

from filial.channels.models import Channel
from filial.inbox.models import Conversation, InboxItem
from filial.outbox.tests.helpers import run_row
from filial.publishing.jobs import DELIVERY
from filial.publishing.models import Post
from filial.publishing.tests.test_engine_world import OK_GID, VK_GROUP, World

__all__ = ["OK_GID", "VK_GROUP", "World", "comment", "conversations", "message", "publish", "reload"]


def publish(world: World, page: str, text: str = "Открытый вопрос: какую книгу вы прочли летом?") -> tuple[Post, str]:
    """A post published on one page through the engine; returns it and its network id."""
    post = world.post(text, pages=(page,))
    delivery = world.delivery(post, page)
    assert run_row(DELIVERY, delivery.pk) == "published"
    delivery.refresh_from_db()
    return post, delivery.external_id


def comment(world: World, page: str, post_external_id: str, text: str, **reader: Any) -> Any:
    """A reader comments under our post on ``page``."""
    if page == "vk":
        post_id = int(post_external_id.rsplit("_", 1)[1])
        return world.vk.simulate("comment", {"group_id": VK_GROUP, "post_id": post_id, "text": text, **reader})
    if page == "ok":
        return world.ok.simulate("comment", {"topic_id": post_external_id, "text": text, **reader})
    if page == "tg":
        return world.tg.simulate("comment", {"chat_id": world.seeds["tg"]["chat_id"], "post_id": int(post_external_id),
                                             "text": text, "user": reader})
    if page == "max":
        return world.mx.simulate("comment", {"chat_id": world.seeds["max"]["chat_id"], "post_id": post_external_id,
                                             "text": text, **reader})
    raise KeyError(page)


def message(world: World, page: str, text: str, **reader: Any) -> Any:
    """A reader writes a direct message to the page."""
    if page == "vk":
        return world.vk.simulate("message", {"group_id": VK_GROUP, "text": text, **reader})
    if page == "ok":
        return world.ok.simulate("message", {"gid": OK_GID, "text": text, **reader})
    if page == "tg":
        return world.tg.simulate("message", {"token": world.seeds["tg"]["token"], "text": text, "user": reader})
    if page == "max":
        return world.mx.simulate("message", {"bot_token": world.seeds["max"]["token"], "text": text, **reader})
    raise KeyError(page)


def conversations(channel: Channel) -> list[Conversation]:
    return list(Conversation.objects.filter(channel=channel).order_by("id"))


def items(channel: Channel) -> list[InboxItem]:
    return list(InboxItem.objects.filter(channel=channel).order_by("at", "id"))


def reload(channel: Channel) -> Channel:
    return Channel.objects.select_related("unit__system").get(pk=channel.pk)

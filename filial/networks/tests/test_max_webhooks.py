"""MAX push updates: the subscription, the X-Max-Bot-Api-Secret check and Update parsing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from emulators.base import ServedEmulator
from emulators.networks.max import MaxEmulator
from filial.networks.base import PostPayload
from filial.networks.max.webhooks import (
    SECRET_HEADER,
    WebhookError,
    WebhookSecretError,
    consent_event,
    parse_update,
    parse_webhook,
    update_items,
    verify_secret,
)
from filial.networks.tests.max_conformance import World, make_world, shared_emulator

HOOK = "https://filial.example/hooks/max/7"
SECRET = "Zq9-secret_value"


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[MaxEmulator, ServedEmulator]]:
    yield from shared_emulator()


@pytest.fixture
def world(emulator: tuple[MaxEmulator, ServedEmulator]) -> Iterator[World]:
    yield from make_world(emulator)


def deliveries(world: World) -> list[dict[str, object]]:
    return list(world.app.state["webhook_outbox"])


def test_subscription_and_delivery_with_the_secret(world: World) -> None:
    conn = world.connector()
    conn.set_webhook(HOOK, SECRET)
    [sub] = conn.webhooks()
    assert sub["url"] == HOOK and sub["update_types"] == ["message_created"] and "secret" not in sub
    world.app.simulate("message", {"first_name": "Алла", "text": "Продлите, пожалуйста, книгу"})
    world.app.simulate("bot_started", {"first_name": "Кирилл"})  # not subscribed to: not delivered
    [delivery] = deliveries(world)
    assert delivery["url"] == HOOK and delivery["headers"][SECRET_HEADER] == SECRET  # type: ignore[index]
    [item] = parse_webhook(delivery["headers"], delivery["body"], secret=SECRET,  # type: ignore[arg-type]
                           chat_id=str(world.chat_id))
    assert item.kind == "message" and item.text == "Продлите, пожалуйста, книгу" and item.author_name == "Алла"
    assert world.app.state["updates"].get(str(world.seed["bot_user_id"]), {}).get("items", []) == []


def test_channel_comment_delivered_to_the_webhook_without_types_filter(world: World) -> None:
    conn = world.connector()
    published = conn.publish(PostPayload(text="Пост", key="1"))
    conn.client.subscribe(HOOK, SECRET, [])  # all update types
    world.app.simulate("comment", {"chat_id": world.chat_id, "post_id": published.external_id, "text": "Класс"})
    [delivery] = deliveries(world)
    [item] = parse_webhook(delivery["headers"], delivery["body"], secret=SECRET,  # type: ignore[arg-type]
                           chat_id=str(world.chat_id))
    assert item.kind == "comment" and item.post_external_id == published.external_id and item.text == "Класс"


@pytest.mark.parametrize("headers", [
    {SECRET_HEADER: "wrong-secret"},
    {SECRET_HEADER: SECRET + " "},
    {},
    {"X-Other": SECRET},
])
def test_wrong_or_missing_secret_is_refused(headers: dict[str, str]) -> None:
    body = json.dumps({"update_type": "message_created", "timestamp": 1})
    with pytest.raises(WebhookSecretError):
        parse_webhook(headers, body, secret=SECRET, chat_id="-1")


def test_secret_header_in_any_case_or_as_django_meta() -> None:
    verify_secret({"x-max-bot-api-secret": SECRET}, SECRET)
    verify_secret({"HTTP_X_MAX_BOT_API_SECRET": SECRET}, SECRET)


def test_no_configured_secret_is_refused() -> None:
    with pytest.raises(WebhookSecretError, match="no webhook secret"):
        verify_secret({SECRET_HEADER: ""}, "")


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"timestamp": 1}', b"\xff\xfe"])
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(WebhookError):
        parse_update(body)


def update(chat_type: str, chat_id: int, *, sender: dict[str, object] | None = None,
           link: dict[str, object] | None = None, kind: str = "message_created", text: str = "Привет",
           post_id: str | None = None) -> dict[str, object]:
    recipient: dict[str, object] = {"chat_id": chat_id, "chat_type": chat_type, "user_id": None}
    if post_id:
        recipient["post_id"] = post_id
    return {"update_type": kind, "timestamp": 1_767_000_000_000, "message": {
        "sender": sender or {"user_id": 501, "first_name": "Вера", "username": None, "is_bot": False,
                             "last_activity_time": 0, "name": "Вера"},
        "recipient": recipient, "timestamp": 1_767_000_000_000, "link": link,
        "body": {"mid": "mid.abc", "seq": 1, "text": text, "attachments": None}}}


def test_update_mapping() -> None:
    [dm] = update_items(update("dialog", 9001), chat_id="-700")
    assert (dm.kind, dm.thread_id, dm.author_id, dm.at.year) == ("message", "501", "501", 2025)
    reply: dict[str, object] = {"type": "reply",
                                "message": {"mid": "mid.post", "seq": 1, "text": "", "attachments": None}}
    [comment] = update_items(update("chat", -700, link=reply), chat_id="-700")
    assert (comment.kind, comment.thread_id, comment.post_external_id) == ("comment", "mid.post", "mid.post")
    [channel] = update_items(update("channel", -700, kind="comment_created", post_id="mid.post"), chat_id="-700")
    assert (channel.kind, channel.thread_id) == ("comment", "mid.post")
    assert update_items(update("chat", -800), chat_id="-700") == []  # another chat of the same bot
    bot = {"user_id": 9, "first_name": "Filial", "username": "filial_bot", "is_bot": True,
           "last_activity_time": 0, "name": "Filial"}
    assert update_items(update("chat", -700, sender=bot), chat_id="-700") == []  # our own post
    assert update_items({"update_type": "bot_started", "timestamp": 1, "chat_id": 1, "user": {}}, chat_id="-1") == []


def test_consent_events() -> None:
    user = {"user_id": 77, "first_name": "Лев", "username": None, "is_bot": False, "last_activity_time": 0,
            "name": "Лев"}
    assert consent_event({"update_type": "bot_started", "timestamp": 1, "chat_id": 5, "user": user}) == ("77", True)
    assert consent_event({"update_type": "bot_stopped", "timestamp": 1, "chat_id": 5, "user": user}) == ("77", False)
    assert consent_event(update("dialog", 5)) is None

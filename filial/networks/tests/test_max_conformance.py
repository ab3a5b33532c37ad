"""Every request MaxConnector makes in a full scenario, and every answer of the emulator, against the official
MAX Bot API OpenAPI schema (../shared/specs/max-bot-api/schema_2026_07_01.json; skipped where it is absent)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulators.base import ServedEmulator
from emulators.networks.max import MaxEmulator
from filial.networks.base import NetworkError, Photo, PostPayload
from filial.networks.tests.max_conformance import (
    World,
    image_bytes,
    make_world,
    request_problems,
    response_problems,
    shared_emulator,
    spec_defs,
)

HOOK = "https://filial.example/hooks/max/1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[MaxEmulator, ServedEmulator]]:
    yield from shared_emulator()


@pytest.fixture
def world(emulator: tuple[MaxEmulator, ServedEmulator]) -> Iterator[World]:
    spec_defs()  # skips with a clear message when the spec folder is absent
    yield from make_world(emulator)


@pytest.fixture
def group(emulator: tuple[MaxEmulator, ServedEmulator]) -> Iterator[World]:
    spec_defs()
    yield from make_world(emulator, chat_type="chat", title="Клуб")


def scenario(world: World) -> None:
    conn = world.connector()
    conn.verify()
    first = conn.publish(PostPayload(text="Анонс недели", key="1"))
    photos = [Photo(image_bytes(), "a.jpg"), Photo(image_bytes("PNG"), "b.png", "image/png")]
    second = conn.publish(PostPayload(text="Фотоотчёт", key="2", photos=photos, link="https://lib.example/r"))
    conn.edit(second.external_id, PostPayload(text="Фотоотчёт (дополнено)", key="2", photos=photos[:1]))
    world.app.simulate("view", {"mid": first.external_id, "count": 3})
    assert conn.post_stats([first.external_id, second.external_id])[first.external_id].views == 3
    assert conn.find_published(PostPayload(text="Анонс недели", key="1")) is not None
    world.app.simulate("message", {"first_name": "Зоя", "text": "Добрый день"})
    world.app.simulate("comment", {"chat_id": world.chat_id, "post_id": first.external_id, "text": "Отлично"})
    page = conn.fetch_updates(None)
    assert len(page.items) == 2
    dm = next(item for item in page.items if item.kind == "message")
    conn.reply(dm, "Здравствуйте!", key="r")
    conn.send_message(dm.author_id, "Книга пришла", key="m")
    assert conn.fetch_updates(page.cursor).items == []
    conn.set_webhook(HOOK, "s3cret-value")
    assert conn.webhooks()[0]["url"] == HOOK
    conn.remove_webhook(HOOK)
    conn.channel_info()
    conn.delete(first.external_id)
    conn.delete(first.external_id)
    conn.client.get_message(second.external_id)


def test_connector_requests_and_emulator_answers_follow_the_spec(world: World) -> None:
    scenario(world)
    operations = {r["operation"] for r in world.app.requests}
    assert operations >= {"getMyInfo", "getChat", "getMembership", "sendMessage", "editMessage", "deleteMessage",
                          "getMessages", "getMessageById", "getUploadUrl", "upload", "getUpdates", "subscribe",
                          "getSubscriptions", "unsubscribe"}
    problems = [p for entry in world.app.requests if entry["operation"] != "upload" for p in request_problems(entry)]
    problems += [p for entry in world.app.requests for p in response_problems(entry)]
    assert problems == []
    assert {r["status"] for r in world.app.requests} >= {200, 400, 404}  # not-ready retries, repeated delete


def test_group_chat_scenario_follows_the_spec(group: World) -> None:
    conn = group.connector()
    conn.verify()
    published = conn.publish(PostPayload(text="Вопрос дня", key="1"))
    group.app.simulate("comment", {"chat_id": group.chat_id, "reply_to": published.external_id, "text": "Ответ"})
    group.app.simulate("new_member", {"chat_id": group.chat_id, "first_name": "Новый"})
    [item] = conn.fetch_updates(None).items
    conn.reply(item, "Спасибо!", key="r")
    problems = [p for entry in group.app.requests for p in request_problems(entry) + response_problems(entry)]
    assert problems == []


def test_error_answers_follow_the_spec(world: World) -> None:
    world.app.conformance_exempt = "asks for count=500 on purpose (a 400 answer)"
    conn = world.connector()
    for action in (
        lambda: world.connector(token="bad").verify(),  # 401
        lambda: world.connector(chat_id=-5).channel_info(),  # 404
        lambda: conn.client.get_messages(chat_id=world.chat_id, count=500),  # 400
        lambda: conn.send_message("100001", "Привет", key="k"),  # 403
        lambda: conn.edit("mid.0", PostPayload(text="x", key="k")),  # 404
    ):
        with pytest.raises(NetworkError):
            action()
    world.app.add_fault("getChat", "rate_limit")
    with pytest.raises(NetworkError):
        conn.channel_info()
    statuses = {entry["status"] for entry in world.app.requests}
    assert statuses >= {400, 401, 403, 404, 429}
    assert [p for entry in world.app.requests for p in response_problems(entry)] == []


def entry(method: str, path: str, query: dict[str, str] | None = None, body: Any = None,
          operation: str = "sendMessage", auth: bool = True) -> dict[str, Any]:
    return {"operation": operation, "method": method, "path": path, "query": query or {}, "body": body,
            "authorization": "<redacted>" if auth else None}


@pytest.mark.parametrize(("bad", "expected"), [
    (entry("POST", "/messages", {"chat_id": "-1"}, {"text": "я" * 4001, "attachments": None, "link": None}),
     "body text"),
    (entry("POST", "/messages", {"chat_id": "-1"}, {"text": "x"}), "'attachments' is a required property"),
    (entry("POST", "/messages", {"chat_id": "x1"}, {"text": "x", "attachments": None, "link": None}), "chat_id"),
    (entry("POST", "/messages", {"chat_id": "-1", "access_token": "t"},
           {"text": "x", "attachments": None, "link": None}), "token is in the query"),
    (entry("GET", "/me", auth=False, operation="getMyInfo"), "Authorization"),
    (entry("PUT", "/messages", {}, {"text": "x", "attachments": None, "link": None}, "editMessage"),
     "'message_id' is missing"),
    (entry("GET", "/updates", {"limit": "0"}, operation="getUpdates"), "limit"),
    (entry("POST", "/uploads", {"type": "photo"}, operation="getUploadUrl"), "type"),
    (entry("GET", "/messages", {"chat_id": "-1", "page": "2"}, operation="getMessages"), "'page' is not in the spec"),
    (entry("POST", "/messages", {"chat_id": "-1"}, {"text": "x", "attachments": [{"type": "image", "payload": {
        "photos": {"k": {}}}}], "link": None}), "token"),
    (entry("GET", "/polls", operation="getPoll"), "no such operation"),
])
def test_the_checker_catches_what_the_spec_forbids(bad: dict[str, Any], expected: str) -> None:
    spec_defs()
    problems = request_problems(bad)
    assert any(expected in p for p in problems), problems


def test_the_checker_catches_bad_answers() -> None:
    spec_defs()
    answer = entry("GET", "/chats/-1", operation="getChat")
    answer.update(status=200, response={"chat_id": -1, "type": "supergroup", "title": "x"})
    problems = response_problems(answer)
    assert any("status" in p for p in problems) and any("supergroup" in p for p in problems)

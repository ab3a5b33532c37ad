"""Conformance with the Bot API spec (../shared/specs/telegram-bot-api/api.json).

A full scenario runs the real connector against the emulator; then every request it made is checked against the
spec (the method exists, required fields are present, no unknown fields, values have the listed types, texts and
lists respect the limits in the descriptions, a bot token was used) and every emulator answer against the
method's return types (required fields present, no field the spec does not know, nested types right).
"""

from __future__ import annotations

from typing import Any

import pytest

from filial.networks.base import NetworkError, Photo, PollSpec, PostPayload
from filial.networks.tests.helpers import load_json_spec
from filial.networks.tests.telegram_conformance import TelegramEnv, TelegramSpec, image_bytes, telegram_env


@pytest.fixture(scope="module")
def spec() -> TelegramSpec:
    data = load_json_spec("telegram-bot-api", "api.json")
    assert data["version"].startswith("Bot API")
    return TelegramSpec(data)


def full_scenario(env: TelegramEnv) -> None:
    connector = env.connector()
    connector.verify()
    photos = [Photo(image_bytes(color=(i * 40, 90, 90)), f"p{i}.jpg") for i in range(3)]
    text_post = connector.publish(PostPayload(text="Вечер <поэзии> & музыки", key="1", link="https://e.org/a"))
    connector.publish(PostPayload(text="Одна фотография", key="2", photos=photos[:1]))
    album = connector.publish(PostPayload(text="Альбом", key="3", photos=photos, poll=PollSpec("?", ["да", "нет"])))
    split = connector.publish(PostPayload(text="Длинно. " * 200, key="4", photos=photos[:2]))
    connector.edit(text_post.external_id, PostPayload(text="Исправлено", key="1", link="https://e.org/b"))
    connector.edit(album.external_id, PostPayload(text="Новая подпись", key="3", photos=photos,
                                                  poll=PollSpec("?", ["да", "нет"])))
    connector.edit(split.external_id, PostPayload(text="Коротко. " * 150, key="4", photos=photos[:2]))
    env.app.simulate("vote", {"chat_id": env.chat_id, "message_id": album.extra["poll_message_id"],
                              "option_ids": [0], "user": {"id": 61}})
    connector.find_published(PostPayload(text="Альбом", key="3", photos=photos, poll=PollSpec("?", ["да", "нет"])))
    env.app.simulate("comment", {"chat_id": env.chat_id, "post_id": int(text_post.external_id), "text": "Ура",
                                 "user": {"id": 62, "first_name": "Зоя"}})
    env.app.simulate("message", {"text": "/start", "user": {"id": 63, "first_name": "Иван", "username": "ivan"}})
    page = connector.fetch_updates(None)
    for item in page.items:
        connector.reply(item, "Спасибо!", key=f"r-{item.external_id}")
    connector.fetch_updates(page.cursor)
    connector.send_message("63", "Книга ждёт вас", key="dm")
    connector.poll_results(album)
    connector.post_stats([text_post.external_id])
    connector.set_webhook("https://filial.example/hooks/telegram/1", "secret-1")
    connector.webhook_info()
    connector.delete_webhook()
    connector.delete(split.external_id)
    # error answers are part of the protocol too
    for method, kind in (("sendMessage", "rate_limit"), ("sendMessage", "http_500"), ("getMe", "revoke_token")):
        env.app.add_fault(method, kind)
        with pytest.raises(NetworkError):
            connector.publish(PostPayload(text="ошибка", key="e")) if method == "sendMessage" else connector.verify()
    with pytest.raises(NetworkError):
        env.connector(token=env.token).send_message("63", "после отзыва", key="x")


def test_every_request_and_answer_of_a_full_scenario_conforms(spec: TelegramSpec) -> None:
    with telegram_env() as env:
        full_scenario(env)
        records = list(env.app.requests)
    methods = {r["method"] for r in records}
    assert {"getMe", "getChat", "getChatMember", "getChatMemberCount", "sendMessage", "sendPhoto", "sendMediaGroup",
            "sendPoll", "editMessageText", "editMessageCaption", "deleteMessages", "stopPoll", "getUpdates",
            "setWebhook", "getWebhookInfo", "deleteWebhook"} <= methods
    problems: list[str] = []
    for record in records:
        problems += spec.check_request(record)
        problems += spec.check_response(record)
    assert problems == []
    statuses = {r["status"] for r in records}
    assert {200, 401, 429, 500} <= statuses


def test_the_validator_catches_what_the_spec_forbids(spec: TelegramSpec) -> None:
    def request(method: str, params: dict[str, Any], **extra: Any) -> list[str]:
        return spec.check_request({"method": method, "params": params, "content_type": "json", "files": {},
                                   "token_kind": "bot", **extra})

    assert request("sendMessage", {"chat_id": 1, "text": "ok"}) == []
    assert request("sendMessage", {"chat_id": 1, "text": "ok"}, token_kind="malformed")
    assert any("required field missing" in p for p in request("sendMessage", {"chat_id": 1}))
    assert any("not a field" in p for p in request("sendMessage", {"chat_id": 1, "text": "x", "colour": "red"}))
    assert any("expected Integer" in p for p in request("getChatMember", {"chat_id": 1, "user_id": "7"}))
    assert any("4097 characters" in p for p in request("sendMessage", {"chat_id": 1, "text": "x" * 4097}))
    assert any("13 items" in p or "spec allows" in p
               for p in request("sendPoll", {"chat_id": 1, "question": "q",
                                             "options": [{"text": str(i)} for i in range(13)]}))
    assert any("no such Bot API method" in p for p in request("sendTelepathy", {}))
    form = {"method": "sendMediaGroup", "content_type": "multipart", "token_kind": "bot",
            "params": {"chat_id": "1", "media": '[{"type":"photo","media":"attach://a"}]'}, "files": {}}
    assert any("attach://a has no uploaded part" in p for p in spec.check_request(form))
    answer = {"method": "getMe", "status": 200, "response": {"ok": True, "result": {"id": 1, "is_bot": True}}}
    assert any("first_name: required" in p for p in spec.check_response(answer))
    answer = {"method": "sendMessage", "status": 200,
              "response": {"ok": True, "result": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "x"},
                                                  "views": 10}}}
    assert any("views: not a field" in p for p in spec.check_response(answer))
    error = {"method": "getMe", "status": 429,
             "response": {"ok": False, "error_code": 429, "description": "x", "parameters": {"retry_after": "5"}}}
    assert any("expected Integer" in p for p in spec.check_response(error))

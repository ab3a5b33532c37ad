"""Telegram webhooks: the secret header, Update parsing, and real delivery from the emulator to an endpoint."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from emulators.base import EmulatorApp, Request, Response
from filial.networks.base import PostPayload
from filial.networks.telegram import webhooks
from filial.networks.telegram.webhooks import SECRET_HEADER, WebhookPayloadError, WebhookSecretError
from filial.networks.tests.telegram_conformance import served_quietly, telegram_env

SECRET = "Filial_hook-secret_0123456789"
CHANNEL = -1001234567890


class Receiver(EmulatorApp):
    """A stand-in for the Django endpoint: verifies and parses with ``webhooks.handle`` like it will."""

    network = "receiver"
    title = "webhook receiver"
    expected_secret = SECRET
    channel_id: int | None = None

    def reset_state(self) -> None:
        self.state = {"items": [], "refused": [], "update_ids": []}

    def setup_routes(self) -> None:
        self.route("POST", r"/hooks/telegram", self._hook)

    def _hook(self, request: Request) -> Response:
        try:
            items = webhooks.handle(request.headers, request.body, expected_secret=self.expected_secret,
                                    channel_id=self.channel_id)
        except WebhookSecretError as exc:
            self.state["refused"].append(str(exc))
            return Response.json({"error": str(exc)}, 403)
        with self.lock:
            self.state["update_ids"].append(json.loads(request.body)["update_id"])
            self.state["items"].extend(items)
        return Response.json({"ok": True})


def comment_update(update_id: int = 10, channel: int = CHANNEL, post_id: int = 5) -> dict[str, Any]:
    root = {"message_id": 40, "date": 1, "chat": {"id": -100777, "type": "supergroup", "title": "Обсуждение"},
            "is_automatic_forward": True, "sender_chat": {"id": channel, "type": "channel", "title": "Канал"},
            "forward_origin": {"type": "channel", "date": 1, "message_id": post_id,
                               "chat": {"id": channel, "type": "channel", "title": "Канал"}}}
    return {"update_id": update_id, "message": {
        "message_id": 41, "message_thread_id": 40, "date": 1_700_000_000,
        "from": {"id": 9, "is_bot": False, "first_name": "Вера"},
        "chat": {"id": -100777, "type": "supergroup", "title": "Обсуждение"},
        "reply_to_message": root, "text": "Спасибо за пост!"}}


def test_secret_is_compared_and_required() -> None:
    webhooks.verify_secret({SECRET_HEADER: SECRET}, SECRET)
    webhooks.verify_secret({SECRET_HEADER.lower(): SECRET}, SECRET)
    webhooks.verify_secret({"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": SECRET}, SECRET)  # Django's META
    with pytest.raises(WebhookSecretError, match="missing"):
        webhooks.verify_secret({}, SECRET)
    with pytest.raises(WebhookSecretError, match="does not match"):
        webhooks.verify_secret({SECRET_HEADER: SECRET + "x"}, SECRET)
    with pytest.raises(WebhookSecretError, match="no webhook secret is configured"):
        webhooks.verify_secret({SECRET_HEADER: ""}, "")
    assert webhooks.valid_secret_token(SECRET) and not webhooks.valid_secret_token("a b")
    assert not webhooks.valid_secret_token("x" * 257)


def test_parse_a_comment_and_a_direct_message() -> None:
    items = webhooks.handle({SECRET_HEADER: SECRET}, json.dumps(comment_update()), expected_secret=SECRET,
                            channel_id=str(CHANNEL))
    assert len(items) == 1
    item = items[0]
    assert (item.kind, item.text, item.post_external_id, item.thread_id) == ("comment", "Спасибо за пост!", "5", "5")
    assert item.external_id == "-100777:41" and item.author_name == "Вера" and item.at.year == 2023
    assert webhooks.parse_update(comment_update(channel=-100999), channel_id=CHANNEL) == []  # another channel
    direct: dict[str, Any] = {"update_id": 11, "message": {"message_id": 3, "date": 1, "text": "Здравствуйте",
                                           "from": {"id": 7, "is_bot": False, "first_name": "Ян", "username": "yan"},
                                           "chat": {"id": 7, "type": "private", "first_name": "Ян"}}}
    [message] = webhooks.parse_update(json.dumps(direct).encode())
    assert (message.kind, message.thread_id, message.author_id, message.external_id) == ("message", "7", "7", "7:3")
    photo: dict[str, Any] = {"update_id": 12, "message": {**direct["message"], "photo": [{}]}}
    photo["message"].pop("text")
    assert webhooks.parse_update(photo)[0].text == "[photo]"


def test_not_inbox_updates_and_bad_bodies() -> None:
    assert webhooks.parse_update({"update_id": 1, "poll": {"id": "1"}}) == []
    assert webhooks.parse_update({"update_id": 2, "channel_post": {"message_id": 1}}) == []
    group_chat = {"update_id": 3, "message": {"message_id": 1, "date": 1, "text": "в общем чате",
                                              "from": {"id": 1, "is_bot": False, "first_name": "A"},
                                              "chat": {"id": -100777, "type": "supergroup", "title": "G"}}}
    assert webhooks.parse_update(group_chat) == []  # not under a post
    with pytest.raises(WebhookPayloadError):
        webhooks.parse_update(b"not json")
    with pytest.raises(WebhookPayloadError):
        webhooks.parse_update(b'{"message": {}}')


def member_update(update_id: int, chat: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    bot = {"id": 7000000001, "is_bot": True, "first_name": "Filial", "username": "filial_test_bot"}
    person = {"id": 7, "is_bot": False, "first_name": "Ян"}

    def member(status: str) -> dict[str, Any]:
        return {"status": status, "user": bot, **({"until_date": 0} if status == "kicked" else {})}

    return {"update_id": update_id, "my_chat_member": {
        "chat": chat, "from": person, "date": 1_700_000_000, "old_chat_member": member(old),
        "new_chat_member": member(new)}}


def test_blocking_the_bot_is_a_consent_change_not_an_item() -> None:
    private = {"id": 7, "type": "private", "first_name": "Ян"}
    blocked = member_update(20, private, "member", "kicked")
    assert webhooks.handle({SECRET_HEADER: SECRET}, json.dumps(blocked), expected_secret=SECRET) == []
    change = webhooks.consent_of(json.dumps(blocked).encode())
    assert change is not None and (change.person_id, change.allowed) == ("7", False)
    assert change.at.year == 2023 and change.at.tzinfo is not None
    change = webhooks.consent_of(member_update(21, private, "kicked", "member"))
    assert change is not None and (change.person_id, change.allowed) == ("7", True)
    # the bot kicked from (or added to) the channel: no consent of anybody
    channel = {"id": CHANNEL, "type": "channel", "title": "Канал"}
    assert webhooks.consent_of(member_update(22, channel, "administrator", "kicked")) is None
    assert webhooks.consent_of(member_update(23, channel, "left", "administrator")) is None
    assert webhooks.consent_of(comment_update()) is None
    with pytest.raises(WebhookPayloadError):
        webhooks.consent_of(b'{"my_chat_member": {}}')


def test_emulator_delivers_updates_to_the_webhook_with_the_secret() -> None:
    receiver = Receiver()
    with served_quietly(receiver) as endpoint, telegram_env() as env:
        receiver.channel_id = env.chat_id
        env.app.webhook_retry_delay = 0.05
        connector = env.connector()
        connector.set_webhook(f"{endpoint.url}/hooks/telegram", SECRET)
        info = connector.webhook_info()
        assert info["url"] == f"{endpoint.url}/hooks/telegram" and "secret_token" not in info
        post = connector.publish(PostPayload(text="Пост с обсуждением", key="w"))
        env.app.simulate("comment", {"chat_id": env.chat_id, "post_id": int(post.external_id),
                                     "text": "Комментарий", "user": {"id": 31, "first_name": "Лев"}})
        env.app.simulate("message", {"text": "/start", "user": {"id": 32, "first_name": "Майя"}})
        deadline = time.monotonic() + 5
        while len(receiver.state["items"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        kinds = [(i.kind, i.text) for i in receiver.state["items"]]
        assert kinds == [("comment", "Комментарий"), ("message", "/start")]
        assert receiver.state["items"][0].post_external_id == post.external_id
        env.app.wait_idle()  # the emulator drops an update when its 200 answer arrives, a moment after the receiver
        assert env.app.state["bots"][env.token]["updates"] == []  # all confirmed by 200 answers
        ids = receiver.state["update_ids"]
        assert ids == sorted(ids) and len(ids) == 3  # the automatic forward, the comment, /start

        # a wrong secret: the endpoint refuses, Telegram keeps the update and reports the error
        receiver.expected_secret = "another-secret"
        env.app.simulate("message", {"text": "ещё", "user": {"id": 32}})
        deadline = time.monotonic() + 5
        while not receiver.state["refused"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "does not match" in receiver.state["refused"][0]
        env.app.wait_idle()
        info = connector.webhook_info()
        assert info["pending_update_count"] == 1 and "403" in info["last_error_message"]
        connector.delete_webhook(drop_pending_updates=True)
        assert connector.webhook_info()["url"] == ""

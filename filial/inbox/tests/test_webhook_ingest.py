"""Webhook rows (the networks' pushes, stored by /hooks/...) become inbox items once, per network; consent and
edits are recorded; a crash while ingesting leaves the rows pending for the next run."""

from __future__ import annotations

from typing import Any

import pytest

from filial.channels.models import Channel, InboundEvent
from filial.channels.tests.test_webhooks import (
    MAX_SECRET_HEADER,
    OK_MESSAGE,
    SECRET,
    TG_BOT,
    TG_SECRET_HEADER,
    hooks,  # noqa: F401 - the fixture
    max_update,
    post,
    tg_update,
    url,
    vk_body,
    vk_comment,
    vk_message,
)
from filial.inbox import pipeline
from filial.inbox.models import Conversation, InboxItem, MessagingConsent
from filial.networks.tests.telegram_conformance import TelegramEnv, telegram_env

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_key(own_encryption_key: str) -> None:
    """Each test encrypts with a key of its own."""


def _items(channel: Channel) -> list[InboxItem]:
    return list(InboxItem.objects.filter(channel=channel).order_by("id"))


def test_vk_rows_become_items_edits_and_consent(hooks: dict[str, Channel]) -> None:  # noqa: F811
    channel = hooks["vk"]
    assert post(url(channel), vk_body("message_new", vk_message(text="Когда открыта библиотека?"),
                                      event_id="e0")).status_code == 200
    assert post(url(channel), vk_body("wall_reply_new", vk_comment(), event_id="e1")).status_code == 200
    assert post(url(channel), vk_body("wall_reply_edit", vk_comment(text="Спасибо!!"), event_id="e2")).status_code \
        == 200
    assert post(url(channel), vk_body("message_allow", {"user_id": 777, "key": "x"}, event_id="e3")).status_code \
        == 200
    assert pipeline.process_pending() == 4
    assert not InboundEvent.objects.filter(state=InboundEvent.State.PENDING).exists()
    message, comment = _items(channel)
    assert (message.kind, message.text, message.author_id) == ("message", "Когда открыта библиотека?", "501")
    assert "secret" not in message.raw  # the Callback API secret is not kept with the item
    assert comment.text == "Спасибо!!" and [r.text for r in comment.revisions.all()] == ["Спасибо!"]
    assert comment.conversation.post_external_id == "-100001_45"
    assert MessagingConsent.objects.get(channel=channel, person_id="777").allowed is True
    # The same events pushed again: nothing new.
    post(url(channel), vk_body("message_new", vk_message(text="Когда открыта библиотека?"), event_id="e0"))
    assert pipeline.process_pending() == 0
    assert len(_items(channel)) == 2
    post(url(channel), vk_body("message_deny", {"user_id": 777}, event_id="e9"))
    pipeline.process_pending()
    assert MessagingConsent.objects.get(channel=channel, person_id="777").allowed is False
    assert pipeline.may_message(channel, "777") is False and pipeline.may_message(channel, "1") is None


def test_telegram_rows_and_start_consent(hooks: dict[str, Channel]) -> None:  # noqa: F811
    channel = hooks["telegram"]
    for update_id, text in ((900, "/start"), (901, "Здравствуйте, есть ли «Дюна»?")):
        update = tg_update(update_id, text=text)
        update["message"]["message_id"] = update_id
        assert post(url(channel), update, **{TG_SECRET_HEADER: SECRET}).status_code == 200
    pipeline.process_pending()
    start, question = _items(channel)
    assert (start.text, start.handled_by) == ("/start", "consent")  # recorded, not shown as new
    assert (question.handled_by, question.conversation.state) == ("", Conversation.State.NEW)
    assert MessagingConsent.objects.get(channel=channel, person_id="42").allowed is True
    [conversation] = Conversation.objects.filter(channel=channel)
    assert conversation.kind == "dialogue" and conversation.person_name == "Вера"
    assert conversation.unit_id == channel.unit_id  # routed to the page's unit (children's library)


def _pending_updates(env: TelegramEnv) -> list[dict[str, Any]]:
    """The updates the emulated Telegram holds for the bot (what it would push to the webhook), taken away."""
    bot = env.app.state["bots"][env.token]
    updates, bot["updates"] = bot["updates"], []
    return list(updates)


def test_telegram_blocking_the_bot_through_the_webhook(hooks: dict[str, Channel]) -> None:  # noqa: F811
    channel = hooks["telegram"]
    with telegram_env(token=TG_BOT) as env:
        env.app.simulate("message", {"text": "/start", "user": {"id": 4242, "first_name": "Вера"}})
        env.app.simulate("block_bot", {"user_id": 4242})
        for update in _pending_updates(env):
            assert post(url(channel), update, **{TG_SECRET_HEADER: SECRET}).status_code == 200
        [consent_row] = InboundEvent.objects.filter(channel=channel, kind=InboundEvent.Kind.CONSENT)
        assert consent_row.payload["user_id"] == "4242" and consent_row.payload["allowed"] is False
        pipeline.process_pending()
        assert pipeline.may_message(channel, "4242") is False  # blocked after /start: reminders stop
        row = MessagingConsent.objects.get(channel=channel, person_id="4242")
        assert row.source == "telegram:webhook" and not row.allowed
        [start] = _items(channel)  # the block itself is no inbox item
        assert start.text == "/start"
        # "Restart": the unblock, then /start again
        env.app.simulate("message", {"text": "/start", "user": {"id": 4242}})
        unblock, restart = _pending_updates(env)
        assert "my_chat_member" in unblock and "message" in restart
        post(url(channel), unblock, **{TG_SECRET_HEADER: SECRET})
        post(url(channel), unblock, **{TG_SECRET_HEADER: SECRET})  # a repeated delivery is stored once
        pipeline.process_pending()
        assert pipeline.may_message(channel, "4242") is True
        assert InboundEvent.objects.filter(channel=channel, kind=InboundEvent.Kind.CONSENT).count() == 2
        # blocked again: the block's own date decides, not when the row happened to be processed
        env.app.simulate("block_bot", {"user_id": 4242})
        [block] = _pending_updates(env)
        post(url(channel), block, **{TG_SECRET_HEADER: SECRET})
        pipeline.process_pending()
        assert pipeline.may_message(channel, "4242") is False
        assert MessagingConsent.objects.get(channel=channel, person_id="4242").changed_at.timestamp() == \
            block["my_chat_member"]["date"]


def test_telegram_bot_kicked_from_the_channel_is_no_consent(hooks: dict[str, Channel]) -> None:  # noqa: F811
    channel = hooks["telegram"]
    with telegram_env(token=TG_BOT) as env:
        env.app.simulate("kick_bot", {"chat_id": env.chat_id})
        [kicked] = _pending_updates(env)
        assert kicked["my_chat_member"]["chat"]["type"] == "channel"
        assert post(url(channel), kicked, **{TG_SECRET_HEADER: SECRET}).status_code == 200
    assert not InboundEvent.objects.filter(channel=channel).exists()
    assert pipeline.process_pending() == 0
    assert not MessagingConsent.objects.filter(channel=channel).exists() and not _items(channel)


def test_max_and_ok_rows(hooks: dict[str, Channel]) -> None:  # noqa: F811
    assert post(url(hooks["max"]), max_update(text="Привет из MAX"), **{MAX_SECRET_HEADER: SECRET}).status_code == 200
    assert post(url(hooks["ok"], secret=SECRET), OK_MESSAGE).status_code == 200
    assert pipeline.process_pending() == 2
    assert [i.text for i in _items(hooks["max"])] == ["Привет из MAX"]
    assert [i.text for i in _items(hooks["ok"])] == ["Добрый день"]
    assert _items(hooks["ok"])[0].author_id == "123456789012"


def test_a_crash_while_ingesting_leaves_the_rows_pending(hooks: dict[str, Channel], monkeypatch: Any) -> None:  # noqa: F811
    channel = hooks["vk"]
    post(url(channel), vk_body("message_new", vk_message(), event_id="e0"))
    real = pipeline.ingest

    def crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise RuntimeError("killed")

    monkeypatch.setattr(pipeline, "ingest", crash)
    with pytest.raises(RuntimeError):
        pipeline.process_pending()
    monkeypatch.undo()
    assert InboundEvent.objects.get(channel=channel).state == InboundEvent.State.PENDING
    assert not InboxItem.objects.exists()
    assert pipeline.process_pending() == 1
    assert len(_items(channel)) == 1

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

"""Polling: each network's update path against its emulator — ingestion, dedup, a crash between the fetch and the
commit, the polling lease, routing, linking comments to our posts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from filial.conftest import Net
from filial.inbox import pipeline
from filial.inbox.models import Conversation, InboxItem, MessagingConsent
from filial.inbox.tests.world import World, comment, conversations, items, message, publish, reload
from filial.networks import connect
from filial.publishing.tests.test_engine_world import engine_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


@pytest.mark.parametrize("page", ["vk", "ok", "tg", "max"])
def test_comments_and_messages_arrive_once_per_network(world: World, page: str) -> None:
    channel = world.channels[page]
    assert pipeline.poll_page(channel.pk).startswith("ok")  # the first poll sets the cursor
    post, external = publish(world, page)
    comment(world, page, external, "Прочла «Мастера и Маргариту»")
    message(world, page, "Здравствуйте! Когда вы открыты в субботу?", first_name="Ольга")
    assert pipeline.poll_page(channel.pk).startswith("ok")
    got = items(channel)
    texts = sorted(i.text for i in got)
    assert texts == sorted(["Прочла «Мастера и Маргариту»", "Здравствуйте! Когда вы открыты в субботу?"]), texts
    threads = {c.kind: c for c in conversations(channel)}
    assert threads[Conversation.Kind.COMMENTS].post_id == post.pk  # linked to our post and delivery
    assert threads[Conversation.Kind.COMMENTS].delivery is not None
    assert threads[Conversation.Kind.DIALOGUE].state == Conversation.State.NEW
    assert all(c.unit_id == channel.unit_id for c in threads.values())
    assert all(c.due_at is not None and c.due_at > c.waiting_since for c in threads.values())  # type: ignore[operator]
    # Polling again brings nothing twice.
    assert pipeline.poll_page(channel.pk).startswith("ok")
    assert len(items(channel)) == 2
    assert reload(channel).updates_cursor


def test_telegram_crash_between_fetch_and_commit_loses_and_doubles_nothing(world: World, monkeypatch: Any) -> None:
    channel = world.channels["tg"]
    pipeline.poll_page(channel.pk)
    for n in range(3):
        message(world, "tg", f"Вопрос {n}", id=700 + n)
    before = reload(channel).updates_cursor
    real = pipeline.ingest

    def crash(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the rows are written... and the process dies before the commit
        raise RuntimeError("worker killed")

    monkeypatch.setattr(pipeline, "ingest", crash)
    with pytest.raises(RuntimeError):
        pipeline.poll_page(channel.pk)
    monkeypatch.setattr(pipeline, "ingest", real)
    assert InboxItem.objects.filter(channel=channel).count() == 0  # rolled back with the cursor
    assert reload(channel).updates_cursor == before
    assert reload(channel).updates_lease_owner == ""  # the lease was given back
    assert pipeline.poll_page(channel.pk).startswith("ok")
    assert sorted(i.text for i in items(channel)) == ["Вопрос 0", "Вопрос 1", "Вопрос 2"]
    message(world, "tg", "Вопрос 3", id=703)
    pipeline.poll_page(channel.pk)
    assert [i.text for i in items(channel)].count("Вопрос 0") == 1
    assert len(items(channel)) == 4
    assert Conversation.objects.filter(channel=channel).count() == 4  # one dialogue per person


def test_max_crash_after_fetch_repeats_the_fetch(world: World, monkeypatch: Any) -> None:
    channel = world.channels["max"]
    pipeline.poll_page(channel.pk)
    message(world, "max", "Продлите книгу, пожалуйста", first_name="Иван")

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(pipeline, "commit_page", crash)
    with pytest.raises(RuntimeError):
        pipeline.poll_page(channel.pk)
    monkeypatch.undo()
    pipeline.poll_page(channel.pk)
    pipeline.poll_page(channel.pk)
    assert [i.text for i in items(channel)] == ["Продлите книгу, пожалуйста"]


def test_two_pollers_never_poll_one_page_at_once(world: World) -> None:
    channel = world.channels["tg"]
    assert pipeline.claim_page(channel.pk, "worker-a")
    assert not pipeline.claim_page(channel.pk, "worker-b")
    assert pipeline.poll_page(channel.pk) == "busy"
    pipeline.release_page(channel.pk, "worker-a")
    assert pipeline.claim_page(channel.pk, "worker-b")
    pipeline.release_page(channel.pk, "worker-b")


def test_a_poller_whose_lease_expired_cannot_commit(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from filial.channels.models import Channel

    channel = reload(world.channels["tg"])
    assert pipeline.claim_page(channel.pk, "slow")
    Channel.objects.filter(pk=channel.pk).update(updates_lease_until=timezone.now() - timedelta(seconds=1))
    assert pipeline.claim_page(channel.pk, "fast")  # the expired lease is taken over
    message(world, "tg", "Здравствуйте", id=901)

    page = connect.connector_for_channel(channel).fetch_updates(None)
    with pytest.raises(pipeline.LeaseLost):
        pipeline.commit_page(channel, "slow", list(page.items), page.cursor)
    assert not InboxItem.objects.filter(channel=channel).exists()
    assert reload(channel).updates_cursor == ""


def test_vk_wall_comment_edit_keeps_history(world: World) -> None:
    channel = world.channels["vk"]
    pipeline.poll_page(channel.pk)
    _post, external = publish(world, "vk")
    made = comment(world, "vk", external, "Во сколько начало?")
    pipeline.poll_page(channel.pk)
    group = world.vk.state["groups"][str(world.seeds["vk"]["group_id"])]
    stored = group["comments"][str(made["comment_id"])]
    stored["text"] = "Во сколько начало встречи?"
    world.vk._event(group, "wall_reply_edit", {**stored})
    pipeline.poll_page(channel.pk)
    [item] = items(channel)
    assert item.text == "Во сколько начало встречи?"
    assert [r.text for r in item.revisions.all()] == ["Во сколько начало?"]


def test_vk_long_poll_brings_who_allowed_or_forbade_messages(world: World) -> None:
    channel = world.channels["vk"]
    pipeline.poll_page(channel.pk)
    group_id = world.seeds["vk"]["group_id"]
    world.vk.simulate("allow_messages", {"group_id": group_id, "user_id": 4242, "first_name": "Оля"})
    world.vk.simulate("allow_messages", {"group_id": group_id, "user_id": 4343})
    pipeline.poll_page(channel.pk)
    assert pipeline.may_message(channel, "4242") is True and pipeline.may_message(channel, "4343") is True
    world.vk.simulate("deny_messages", {"group_id": group_id, "user_id": 4343})
    pipeline.poll_page(channel.pk)
    assert pipeline.may_message(channel, "4343") is False and pipeline.may_message(channel, "4242") is True
    assert MessagingConsent.objects.get(channel=channel, person_id="4343").source == "vk:polling"


def test_telegram_reader_who_blocks_the_bot_may_not_be_written_to(world: World) -> None:
    channel = world.channels["tg"]
    token = world.seeds["tg"]["token"]
    pipeline.poll_page(channel.pk)
    message(world, "tg", "/start", id=4242, first_name="Оля")
    message(world, "tg", "/start", id=4343)
    world.tg.simulate("block_bot", {"token": token, "user_id": 4343})  # right after /start, in the same batch
    assert pipeline.poll_page(channel.pk).startswith("ok")
    assert pipeline.may_message(channel, "4343") is False and pipeline.may_message(channel, "4242") is True
    assert MessagingConsent.objects.get(channel=channel, person_id="4343").source == "telegram:polling"
    assert [i.text for i in items(channel)] == ["/start", "/start"]  # blocking is no inbox item
    world.tg.simulate("block_bot", {"token": token, "user_id": 4242})  # a batch of nothing but the block
    assert pipeline.poll_page(channel.pk).startswith("ok")
    assert pipeline.may_message(channel, "4242") is False
    message(world, "tg", "/start", id=4343)  # "Restart": unblocked, then /start
    assert pipeline.poll_page(channel.pk).startswith("ok")
    assert pipeline.may_message(channel, "4343") is True and pipeline.may_message(channel, "4242") is False


def test_telegram_bot_kicked_from_the_channel_is_no_consent(world: World) -> None:
    channel = world.channels["tg"]
    pipeline.poll_page(channel.pk)
    cursor = reload(channel).updates_cursor
    world.tg.simulate("kick_bot", {"token": world.seeds["tg"]["token"], "chat_id": world.seeds["tg"]["chat_id"]})
    assert pipeline.poll_page(channel.pk) == "ok: 0 new"
    assert reload(channel).updates_cursor != cursor  # the update is confirmed...
    assert not MessagingConsent.objects.filter(channel=channel).exists() and not items(channel)  # ...and ignored


def test_pages_with_a_webhook_are_not_polled(world: World) -> None:
    channel = world.channels["tg"]
    assert channel.pk in pipeline.pages_to_poll()
    channel.set_credentials({**channel.credentials, "webhook_secret": "s3cret"})
    channel.save()
    assert channel.pk not in pipeline.pages_to_poll()
    assert pipeline.poll_page(channel.pk) == "not_pollable"

"""Answering: a reply goes out through the engine (``message_send``) to the emulator, the conversation becomes
answered, our reply echoed back is not new; handlers claim items before the inbox; routing; consent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from filial.conftest import Net
from filial.inbox import handlers, pipeline, services
from filial.inbox.models import Conversation, InboxItem
from filial.inbox.tests.world import World, comment, conversations, message, publish, reload
from filial.networks.base import InboundItem
from filial.publishing.models import OutgoingMessage
from filial.publishing.tests.test_engine_world import engine_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


def _dialogue(world: World, page: str, text: str, **reader: Any) -> Conversation:
    channel = world.channels[page]
    pipeline.poll_page(channel.pk)
    if page == "tg":
        message(world, page, "/start", **reader)  # a bot answers only people who started it
    message(world, page, text, **reader)
    pipeline.poll_page(channel.pk)
    return Conversation.objects.select_related("channel__unit__system", "unit").get(channel=channel,
                                                                                   kind="dialogue")


def test_telegram_reply_is_delivered_and_answers_the_conversation(world: World, net: Net) -> None:
    conversation = _dialogue(world, "tg", "Есть ли у вас «Дюна»?", id=4242, first_name="Вера")
    assert conversation.state == Conversation.State.NEW
    editor = net.users["admin"]
    out = services.conversation_reply(actor=editor, conversation=conversation, text="Да, <b>есть</b> на абонементе")
    out.refresh_from_db()
    assert out.outgoing is not None and out.outgoing.state == OutgoingMessage.State.SENT
    assert out.external_id  # the network's id, so an echo of it is recognised
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ANSWERED and conversation.due_at is None
    [chat] = [c for key, c in world.tg.state["private"].items() if key.endswith(":4242")]
    texts = [m.get("text") for m in chat["messages"].values()]
    assert "Да, <b>есть</b> на абонементе" in texts  # sent as text, escaped for Telegram's HTML mode
    # The reader writes again: the conversation is new again, with a new deadline.
    message(world, "tg", "Спасибо! А до скольки вы работаете?", id=4242)
    pipeline.poll_page(conversation.channel_id)
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.NEW and conversation.due_at is not None


def test_vk_comment_reply_goes_under_the_comment_with_a_guid(world: World, net: Net) -> None:
    channel = world.channels["vk"]
    pipeline.poll_page(channel.pk)
    _post, external = publish(world, "vk")
    made = comment(world, "vk", external, "А будет ли встреча с автором?")
    pipeline.poll_page(channel.pk)
    [conversation] = [c for c in conversations(channel) if c.kind == "comments"]
    services.conversation_reply(actor=net.users["admin"], conversation=conversation, text="Да, в субботу в 12:00")
    group = world.vk.state["groups"][str(world.seeds["vk"]["group_id"])]
    ours = [c for c in group["comments"].values() if c["from_id"] < 0]
    assert [(c["text"], c.get("reply_to_comment")) for c in ours] == [("Да, в субботу в 12:00", made["comment_id"])]
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ANSWERED
    pipeline.poll_page(channel.pk)  # the community's own comment comes back through Long Poll: not an item
    assert InboxItem.objects.filter(channel=channel, direction="in").count() == 1


def test_our_reply_echoed_back_is_not_new(world: World, net: Net) -> None:
    conversation = _dialogue(world, "max", "Добрый день", first_name="Иван")
    out = services.conversation_reply(actor=net.users["admin"], conversation=conversation, text="Здравствуйте!")
    out.refresh_from_db()
    assert out.outgoing is not None
    sent_id = out.outgoing.external_id
    assert sent_id and out.external_id == sent_id
    # The echo arrives before the reply was settled into its inbox item (the worker settles every minute).
    InboxItem.objects.filter(pk=out.pk).update(external_id="")
    echo = InboundItem(kind="message", external_id=sent_id, thread_id=conversation.thread_key, author_id="bot",
                       author_name="", text="Здравствуйте!", at=datetime.now(tz=UTC))
    report = pipeline.ingest(reload(conversation.channel), [echo])
    assert report.echoes == 1 and report.new == 1
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ANSWERED  # not reopened by our own words
    assert services.sync_reply_states() == 1
    rows = list(conversation.items.order_by("id"))
    assert [(i.direction, i.echo, i.external_id) for i in rows][-1] == ("out", False, sent_id)
    assert len([i for i in rows if i.external_id == sent_id]) == 1
    # A repeat of the echo is a duplicate now.
    assert pipeline.ingest(reload(conversation.channel), [echo]).duplicates == 1


def test_a_failed_reply_shows_its_state_and_can_be_retried(world: World, net: Net) -> None:
    conversation = _dialogue(world, "tg", "Вопрос", id=5151)
    world.tg.state["bots"][world.seeds["tg"]["token"]]["blocked"].append(5151)  # the reader blocked the bot
    out = services.conversation_reply(actor=net.users["admin"], conversation=conversation, text="Ответ")
    out.refresh_from_db()
    assert out.outgoing is not None and out.outgoing.state == OutgoingMessage.State.FAILED
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.IN_PROGRESS  # not answered: nothing reached the reader


def test_only_writers_of_the_unit_reply(world: World, net: Net) -> None:
    conversation = _dialogue(world, "tg", "Вопрос", id=6161)
    with pytest.raises(PermissionDenied):
        services.conversation_reply(actor=net.users["viewer"], conversation=conversation, text="x")
    with pytest.raises(PermissionDenied):
        services.conversation_reply(actor=net.users["editor_children"], conversation=conversation, text="x")
    with pytest.raises(ValidationError):
        services.conversation_reply(actor=net.users["admin"], conversation=conversation, text="   ")


def test_handlers_claim_items_before_the_inbox(world: World) -> None:
    seen: list[str] = []

    def renewals(item: InboxItem) -> bool:
        seen.append(item.text)
        return item.text.strip().lower() == "продлить"

    def broken(item: InboxItem) -> bool:
        raise RuntimeError("a bug in a handler must not lose the item")

    handlers.register("broken", broken)
    handlers.register("renewals", renewals)
    try:
        conversation = _dialogue(world, "tg", "продлить", id=7171)
        start, item = conversation.items.all()
        assert (start.handled_by, item.handled_by) == ("consent", "renewals")
        assert conversation.state == Conversation.State.CLOSED and conversation.due_at is None  # not shown as new
        message(world, "tg", "А можно поговорить с библиотекарем?", id=7171)
        pipeline.poll_page(conversation.channel_id)
        conversation.refresh_from_db()
        assert conversation.state == Conversation.State.NEW
        assert seen == ["продлить", "А можно поговорить с библиотекарем?"]  # /start is the consent's
    finally:
        handlers.unregister("broken")
        handlers.unregister("renewals")


def test_routing_to_the_pages_unit_and_urgent_keywords(world: World, net: Net) -> None:
    channel = world.channels["tg"]
    channel.unit = net.branch4
    channel.save(update_fields=["unit"])
    conversation = _dialogue(world, "tg", "СРОЧНО: потеряла читательский билет", id=8181)
    assert conversation.unit_id == net.branch4.pk
    assert conversation.urgent
    assert conversation.waiting_since is not None and conversation.due_at is not None
    from filial.inbox.pipeline import _Deadlines

    assert conversation.due_at == _Deadlines().due(reload(channel), conversation.waiting_since, True)
    with pytest.raises(PermissionDenied):  # the central library's editor does not answer for branch No. 4
        services.conversation_reply(actor=net.users["editor_central"], conversation=conversation, text="x")
    services.conversation_reply(actor=net.users["editor_branch4"], conversation=conversation, text="Подойдите")
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ANSWERED


def test_delete_a_comment_where_the_network_allows(world: World, net: Net) -> None:
    channel = world.channels["tg"]
    pipeline.poll_page(channel.pk)
    _post, external = publish(world, "tg")
    made = comment(world, "tg", external, "Спам: купите слона", id=9191)
    pipeline.poll_page(channel.pk)
    item = InboxItem.objects.select_related("channel", "conversation__channel__unit__system").get(channel=channel)
    assert services.can_remove(item)
    with pytest.raises(PermissionDenied):
        services.item_remove(actor=net.users["viewer"], item=item)
    services.item_remove(actor=net.users["admin"], item=item)
    group = world.tg.state["chats"][str(made["chat"]["id"])]
    assert str(made["message_id"]) not in group["messages"]
    item.refresh_from_db()
    assert item.removed_at is not None and not services.can_remove(item)
    # VK: wall.deleteComment with the admin's user token.
    vk = world.channels["vk"]
    pipeline.poll_page(vk.pk)
    _p, ext = publish(world, "vk")
    comment(world, "vk", ext, "Реклама <a href=x>казино</a>")
    pipeline.poll_page(vk.pk)
    row = InboxItem.objects.select_related("channel", "conversation__channel__unit__system").get(
        channel=vk, kind="comment")
    assert services.can_remove(row)
    services.item_remove(actor=net.users["admin"], item=row)
    group = world.vk.state["groups"][vk.external_id]
    assert group["comments"][row.external_id.partition("_")[2]]["deleted"] is True
    # OK: Filial's connector (and its emulator) has no comment deletion yet; MAX channel comments have none in the
    # Bot API: shown as not possible.
    for page in ("ok", "max"):
        other = world.channels[page]
        pipeline.poll_page(other.pk)
        _p, ext = publish(world, page)
        comment(world, page, ext, "Комментарий")
        pipeline.poll_page(other.pk)
        row = InboxItem.objects.select_related("channel").get(channel=other, kind="comment")
        assert not services.can_remove(row), page
        with pytest.raises(ValidationError):
            services.item_remove(actor=net.users["admin"], item=row)

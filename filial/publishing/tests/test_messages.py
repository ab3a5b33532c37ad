"""Outgoing messages through the publishing engine, against the four emulators: direct messages and replies, each
class of error injected as a fault, the sweeper, claims under concurrency, and the services people act through."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from filial import settings as defaults  # the values settings.py reads (its production defaults)
from filial.accounts.models import AuditEntry
from filial.channels import connections
from filial.channels.models import Channel
from filial.conftest import Net, race
from filial.networks.base import InboundItem
from filial.networks.ratelimit import Claim, fingerprint, message_claims, reset_limiter
from filial.networks.vk.connector import random_id_for
from filial.outbox import claims, lanes, policy, queue, sweeper
from filial.outbox.models import Attempt
from filial.outbox.tests.helpers import claim_in_race, run_row
from filial.publishing import messages as message_writes
from filial.publishing.jobs import MESSAGE
from filial.publishing.models import OutgoingMessage
from filial.publishing.tests.test_engine_world import VK_GROUP, World, engine_world

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

S = OutgoingMessage.State
O = Attempt.Outcome  # noqa: E741
PAGES = ("vk", "ok", "tg", "max")
FAULT_METHOD = {"vk": "messages.send", "ok": "graph.user.messages", "tg": "sendMessage", "max": "sendMessage"}


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    # The tests call the engine step by step: a retry right after an attempt sleeps through the budget (Telegram's
    # 1/s per chat) instead of being handed back. test_a_hand_back_… sets the production default again.
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 2
    yield from engine_world(net, settings)


# --- the networks' side -------------------------------------------------------------------------------------
_readers = iter(range(8100, 9000))


def reader(world: World, page: str) -> str:
    """A new reader who may receive direct messages from the page; returns the network's id for them."""
    uid = next(_readers)
    if page == "vk":
        world.vk.simulate("allow_messages", {"group_id": VK_GROUP, "user_id": uid})
        return str(uid)
    if page == "ok":
        world.ok.simulate("allow_messages", {"uid": str(uid), "name": f"Читатель {uid}"})
        return str(uid)
    if page == "tg":
        world.tg.simulate("message", {"token": world.seeds["tg"]["token"], "text": "/start", "user": {"id": uid}})
        return str(uid)
    started = world.mx.simulate("bot_started", {"bot_token": world.seeds["max"]["token"], "first_name": "Павел"})
    return str(started["user_id"])


def inbound(world: World, page: str, text: str) -> InboundItem:
    """A reader writes to the page; the item as the inbox would read it."""
    connector = connections.connector_for(world.channels[page])
    uid = next(_readers)
    cursor = connector.fetch_updates(None).cursor if page == "vk" else None  # VK's inbox starts from now
    if page == "vk":
        world.vk.simulate("message", {"group_id": VK_GROUP, "user_id": uid, "text": text})
    elif page == "ok":
        world.ok.simulate("message", {"uid": str(uid), "name": "Мария", "text": text})
    elif page == "tg":
        for words in ("/start", text):
            world.tg.simulate("message", {"token": world.seeds["tg"]["token"], "text": words, "user": {"id": uid}})
    else:
        world.mx.simulate("message", {"bot_token": world.seeds["max"]["token"], "first_name": "Ира", "text": text})
    items = [i for i in connector.fetch_updates(cursor).items if i.kind == "message" and i.text == text]
    connections.close(connector)
    if page == "ok":
        time.sleep(1.05)  # reading took some of the emulator's 5/s for the token (the inbox's calls are not ours)
    assert len(items) == 1, items
    return items[0]


def sent_texts(world: World, page: str) -> list[str]:
    """Every text the page (its community, group or bot) sent in private dialogues, in order."""
    if page == "vk":
        return [m["text"] for m in world.vk.state["groups"][str(VK_GROUP)]["messages"] if m["out"]]
    if page == "ok":
        return [m["message"]["text"] for chat in world.ok.state["chats"].values() for m in chat["messages"]
                if str(m["sender"]["user_id"]).startswith("group:")]
    if page == "tg":
        return [m.get("text", "") for chat in world.tg.state.get("private", {}).values()
                for m in chat["messages"].values() if m.get("from", {}).get("is_bot")]
    return [m["message"]["body"]["text"] for m in world.mx.state["messages"].values()
            if m["message"]["sender"].get("is_bot") and m["message"]["recipient"].get("chat_type") == "dialog"]


def fault(world: World, page: str, kind: str, times: int = 1) -> None:
    app = {"vk": world.vk, "ok": world.ok, "tg": world.tg, "max": world.mx}[page]
    app.add_fault(FAULT_METHOD[page], kind, times=times)


def send(world: World, page: str, text: str, *, to: str | None = None, reply: InboundItem | None = None,
         **kwargs: Any) -> OutgoingMessage:
    """A message created through the service (queued on commit: HUEY is immediate in tests, but the test's
    transaction never commits, so the engine runs only when a test calls it)."""
    if reply is not None:
        return message_writes.message_send(
            channel=world.channels[page], recipient_id=reply.thread_id, text=text, purpose="inbox_reply",
            kind="reply", reply_to=dataclasses.asdict(reply), **kwargs)
    return message_writes.message_send(channel=world.channels[page], recipient_id=to or reader(world, page),
                                         text=text, purpose=kwargs.pop("purpose", "reminder"), **kwargs)


def outcomes(message: OutgoingMessage) -> list[str]:
    return list(message.attempt_log.order_by("id").values_list("outcome", flat=True))


def fresh(message: OutgoingMessage) -> OutgoingMessage:
    return OutgoingMessage.objects.get(pk=message.pk)


# --- sending ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_a_direct_message_and_a_reply_are_sent_and_stored_with_the_networks_id(world: World, page: str) -> None:
    dm = send(world, page, f"Ваша книга ждёт вас ({page})")
    assert (dm.state, dm.key) == (S.SCHEDULED, f"filial-m{dm.pk}")
    assert run_row(MESSAGE, dm.pk) == "sent"
    dm = fresh(dm)
    assert dm.state == S.SENT and dm.external_id and dm.delivered_at and dm.attempts == 1
    assert (dm.lease_owner, dm.lease_until, dm.sent_at) == ("", None, None)
    attempt = dm.attempt_log.get()
    assert (attempt.kind, attempt.outcome, attempt.external_id) == (Attempt.Kind.SEND, O.SENT, dm.external_id)
    assert attempt.request["key"] == dm.key and "token" not in str(attempt.request).lower()

    question = inbound(world, page, f"Когда вы открыты? ({page})")
    answer = send(world, page, f"С 10 до 19 ({page})", reply=question)
    assert run_row(MESSAGE, answer.pk) == "sent"
    answer = fresh(answer)
    assert answer.state == S.SENT and answer.external_id and answer.external_id != dm.external_id
    assert sent_texts(world, page) == [f"Ваша книга ждёт вас ({page})", f"С 10 до 19 ({page})"]
    # A sent row is never claimed again.
    assert run_row(MESSAGE, dm.pk) == "skipped" and len(sent_texts(world, page)) == 2


def test_vk_sends_one_messages_send_call_with_the_random_id_of_the_key(world: World) -> None:
    message = send(world, "vk", "Одна попытка — один вызов")
    assert run_row(MESSAGE, message.pk) == "sent"
    calls = [r for r in world.vk.requests if r.get("kind") == "api"]
    assert [c["method"] for c in calls] == ["messages.send"]
    (stored,) = [m for m in world.vk.state["groups"][str(VK_GROUP)]["messages"] if m["out"]]
    assert stored["random_id"] == random_id_for(f"filial-m{message.pk}")


def test_not_due_cancelled_and_paused_messages_are_left_alone(world: World) -> None:
    later = send(world, "tg", "Позже", due_at=timezone.now() + timedelta(hours=1))
    assert run_row(MESSAGE, later.pk) == "not_due"
    cancelled = send(world, "tg", "Отменено")
    message_writes.message_cancel(actor=world.net.users["admin"], message=cancelled)
    assert run_row(MESSAGE, cancelled.pk) == "skipped"
    paused = send(world, "tg", "На паузе")
    Channel.objects.filter(pk=world.channels["tg"].pk).update(status=Channel.Status.PAUSED)
    assert run_row(MESSAGE, paused.pk) == "paused"
    assert sent_texts(world, "tg") == [] and run_row(MESSAGE, 10**9) == "missing"


# --- errors -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_a_server_error_before_the_message_was_applied_is_retried_and_sent_once(world: World, page: str) -> None:
    message = send(world, page, f"Пятисотая ({page})")
    fault(world, page, "http_500")
    assert run_row(MESSAGE, message.pk) == "retry"
    message = fresh(message)
    assert (message.state, message.failures) == (S.SCHEDULED, 1) and message.next_attempt_at is not None
    assert run_row(MESSAGE, message.pk) == "sent"
    assert outcomes(message) == [O.TRANSIENT, O.SENT]
    assert sent_texts(world, page) == [f"Пятисотая ({page})"]


def test_vk_timeout_after_the_message_was_sent_is_retried_with_the_same_random_id(world: World) -> None:
    """VK de-duplicates messages.send by random_id: the repeat returns the message it already has."""
    message = send(world, "vk", "Ровно одно сообщение")
    fault(world, "vk", "timeout_after")
    assert run_row(MESSAGE, message.pk) == "retry"
    assert sent_texts(world, "vk") == ["Ровно одно сообщение"]  # VK has it; we did not hear back
    assert run_row(MESSAGE, message.pk) == "sent"
    message = fresh(message)
    sends = [r for r in world.vk.requests if r.get("method") == "messages.send"]
    assert len(sends) == 2 and len({r["params"]["random_id"] for r in sends}) == 1
    (stored,) = [m for m in world.vk.state["groups"][str(VK_GROUP)]["messages"] if m["out"]]
    assert message.external_id == str(stored["id"]) and outcomes(message) == [O.TRANSIENT, O.SENT]


@pytest.mark.parametrize("page", ["ok", "tg", "max"])
def test_a_timeout_after_apply_without_a_key_is_uncertain_and_never_resent_blindly(world: World, page: str) -> None:
    message = send(world, page, f"Может быть, ушло ({page})")
    fault(world, page, "timeout_after")
    assert run_row(MESSAGE, message.pk) == "uncertain"
    message = fresh(message)
    assert message.state == S.UNCERTAIN and outcomes(message) == [O.UNCERTAIN]
    assert run_row(MESSAGE, message.pk) == "skipped"
    assert sweeper.sweep().as_dict() == {"recovered": 0, "uncertain": 0, "requeued": 0, "upcoming": 0}
    assert sent_texts(world, page) == [f"Может быть, ушло ({page})"]  # it did go out, once

    # A person looks in the dialogue and says "it is there".
    admin = world.net.users["admin"]
    message = message_writes.message_confirm(actor=admin, message=message, external_id="seen-1")
    assert (message.state, message.external_id) == (S.SENT, "seen-1") and message.delivered_at
    assert outcomes(message)[-1] == O.CONFIRMED
    assert AuditEntry.objects.filter(action="message.confirm", object_id=str(message.pk)).exists()


def test_an_uncertain_message_that_is_not_there_is_sent_again_under_a_new_key(world: World) -> None:
    message = send(world, "tg", "Сбой до отправки")
    fault(world, "tg", "timeout_before")  # never applied, but the client cannot know that
    assert run_row(MESSAGE, message.pk) == "uncertain"
    assert sent_texts(world, "tg") == []
    message = message_writes.message_resend(actor=world.net.users["editor_central"], message=fresh(message))
    assert (message.state, message.generation, message.key) == (S.SCHEDULED, 1, f"filial-m{message.pk}-g1")
    assert run_row(MESSAGE, message.pk) == "sent"
    assert sent_texts(world, "tg") == ["Сбой до отправки"]
    assert outcomes(message) == [O.UNCERTAIN, O.RESEND, O.SENT]


@pytest.mark.parametrize("page", PAGES)
def test_a_rate_limit_answer_waits_and_nothing_is_lost(world: World, page: str) -> None:
    message = send(world, page, f"После паузы ({page})")
    fault(world, page, "rate_limit", times=2)
    results: list[str] = []
    for _ in range(4):
        results.append(run_row(MESSAGE, message.pk))
        if results[-1] != "retry_later":
            break
        message = fresh(message)
        assert (message.state, message.failures) == (S.SCHEDULED, 0)
        assert message.next_attempt_at is not None and message.next_attempt_at > timezone.now()
        assert run_row(MESSAGE, message.pk) == "not_due"
        OutgoingMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    # (VK's client waits out one "too many requests" answer itself, so it may need one round less.)
    assert results[-1] == "sent" and set(results[:-1]) == {"retry_later"}
    message = fresh(message)
    assert message.deferrals == len(results) - 1 and message.failures == 0
    assert outcomes(message) == [O.RETRY_LATER] * (len(results) - 1) + [O.SENT]
    assert sent_texts(world, page) == [f"После паузы ({page})"]


def test_a_vk_rate_limit_storm_is_waited_out_and_every_message_goes_once(world: World, monkeypatch: Any) -> None:
    """VK allows far fewer calls than our budget expects (another program uses the same community token): VK
    refuses with error 6; every message still goes out exactly once, and the refusals are waits, not failures."""
    from emulators.networks import vk as emulator

    monkeypatch.setitem(emulator.RATE_LIMITS, "group", 4)
    people = [reader(world, "vk") for _ in range(12)]
    messages = [send(world, "vk", f"Шторм {i}", to=p) for i, p in enumerate(people)]
    deadline = time.monotonic() + 40
    while OutgoingMessage.objects.filter(state=S.SCHEDULED).exists() and time.monotonic() < deadline:
        for m in OutgoingMessage.objects.filter(state=S.SCHEDULED).order_by("pk"):
            run_row(MESSAGE, m.pk)
        time.sleep(0.05)
    rows = OutgoingMessage.objects.filter(pk__in=[m.pk for m in messages])
    assert {r.state for r in rows} == {S.SENT} and {r.failures for r in rows} == {0}
    assert sorted(sent_texts(world, "vk")) == sorted(f"Шторм {i}" for i in range(12))
    refused = [r for r in world.vk.requests if (r.get("body") or {}).get("error", {}).get("error_code") == 6]
    assert refused  # the storm happened: VK refused calls (the client waits one out, the engine the others)


def test_a_vk_captcha_waits_and_is_not_a_failure(world: World) -> None:
    message = send(world, "vk", "Капча")
    fault(world, "vk", "captcha")
    assert run_row(MESSAGE, message.pk) == "retry_later"
    message = fresh(message)
    assert (message.state, message.failures, message.deferrals, message.last_error_code) == (S.SCHEDULED, 0, 1, "14")
    assert message.next_attempt_at is not None and message.next_attempt_at - timezone.now() > timedelta(seconds=50)
    OutgoingMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert run_row(MESSAGE, message.pk) == "sent" and sent_texts(world, "vk") == ["Капча"]


def test_endless_waits_are_bounded(world: World, settings: Any) -> None:
    settings.FILIAL_DELIVERY_MAX_DEFERRALS = 1
    message = send(world, "max", "Ждать вечно нельзя")
    fault(world, "max", "rate_limit", times=2)
    assert run_row(MESSAGE, message.pk) == "retry_later"
    OutgoingMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert run_row(MESSAGE, message.pk) == "failed"


@pytest.mark.parametrize("page", ["vk", "tg"])
def test_a_revoked_token_pauses_the_page_and_messages_resume_after_reauthorisation(world: World, page: str) -> None:
    first, second = send(world, page, "Первое"), send(world, page, "Второе")
    fault(world, page, "revoke_token")
    assert run_row(MESSAGE, first.pk) == "needs_reauth"
    channel = Channel.objects.get(pk=world.channels[page].pk)
    assert channel.status == Channel.Status.NEEDS_REAUTH
    first = fresh(first)
    assert (first.state, first.failures) == (S.SCHEDULED, 0) and outcomes(first) == [O.NEEDS_REAUTH]
    assert AuditEntry.objects.filter(action="channel.needs_reauth", object_id=str(channel.pk)).exists()
    assert run_row(MESSAGE, second.pk) == "paused" and sweeper.sweep().requeued == 0

    # Re-authorised: new credentials, the page active again; the waiting messages go out.
    credentials = channel.credentials
    if page == "vk":
        fresh_seed = world.vk.seed(group_id=VK_GROUP, community_token="renewed-community-token")
        credentials["community_token"] = fresh_seed["credentials"]["community_token"]
    else:
        fresh_seed = world.tg.seed(title="ЦГБ Медногорска", chat_id=world.seeds["tg"]["chat_id"])
        credentials = {"bot_token": fresh_seed["token"]}
        world.tg.state["bots"][fresh_seed["token"]]["started"] = [int(first.recipient_id), int(second.recipient_id)]
    channel.set_credentials(credentials)
    channel.status = Channel.Status.ACTIVE
    channel.save()
    assert queue.channel_resumed(channel.pk) == 2  # HUEY is immediate in tests: sent right away
    states = {m.state for m in OutgoingMessage.objects.filter(pk__in=[first.pk, second.pk])}
    if page == "tg":  # Telegram allows one message a second per chat: different chats here, both at once
        assert states == {S.SENT}
    else:
        assert states == {S.SENT}
    assert sorted(sent_texts(world, page)) == ["Второе", "Первое"]


def test_a_reader_who_did_not_allow_messages_fails_permanently_without_retries(world: World) -> None:
    world.vk.simulate("deny_messages", {"group_id": VK_GROUP, "user_id": 9901})
    message = send(world, "vk", "Вам письмо", to="9901")
    assert run_row(MESSAGE, message.pk) == "failed"
    message = fresh(message)
    assert (message.state, message.last_error_code, message.attempts) == (S.FAILED, "901", 1)
    assert run_row(MESSAGE, message.pk) == "skipped" and sweeper.sweep().requeued == 0
    assert [r["method"] for r in world.vk.requests if r.get("kind") == "api"] == ["messages.send"]
    assert sent_texts(world, "vk") == []


def test_the_same_dedupe_key_gives_one_row_and_one_message(world: World) -> None:
    person = reader(world, "max")
    first = send(world, "max", "Напоминание о книге", to=person, dedupe_key="reminder:42:rule-1:2026-11-25")
    again = send(world, "max", "Напоминание о книге", to=person, dedupe_key="reminder:42:rule-1:2026-11-25")
    assert again.pk == first.pk and OutgoingMessage.objects.count() == 1
    assert run_row(MESSAGE, first.pk) == "sent"
    third = send(world, "max", "Напоминание о книге", to=person, dedupe_key="reminder:42:rule-1:2026-11-25")
    assert third.pk == first.pk and third.state == S.SENT
    assert sent_texts(world, "max") == ["Напоминание о книге"]


# --- rate limits: hand-backs ----------------------------------------------------------------------------------
def test_a_hand_back_for_the_rate_limit_is_not_a_deferral(world: World, settings: Any) -> None:
    """Telegram allows one message a second in a chat: the second message to the same person is handed back
    (released, due at the budget's time) instead of holding the worker; no attempt, no deferral."""
    settings.FILIAL_DELIVERY_MAX_DEFERRALS = 0  # a single counted wait would fail the message
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = defaults.FILIAL_RATE_LIMIT_MAX_SLEEP
    person = reader(world, "tg")
    one, two = send(world, "tg", "Раз", to=person), send(world, "tg", "Два", to=person)
    assert lanes.run_lane(MESSAGE, world.channels["tg"].pk) == {S.SENT: 1, "deferred": 1}  # one lane, both rows
    assert fresh(one).state == S.SENT
    two = fresh(two)
    assert (two.state, two.deferrals, two.attempts, two.lease_owner) == (S.SCHEDULED, 0, 0, "")
    assert two.next_attempt_at is not None and two.next_attempt_at - timezone.now() <= timedelta(seconds=1.2)
    assert outcomes(two) == []
    time.sleep(max(0.0, (two.next_attempt_at - timezone.now()).total_seconds()) + 0.05)
    assert run_row(MESSAGE, two.pk) == "sent" and sent_texts(world, "tg") == ["Раз", "Два"]


def test_the_default_rate_limit_sleep_is_short(world: World, settings: Any) -> None:
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = defaults.FILIAL_RATE_LIMIT_MAX_SLEEP
    assert 0.2 <= policy.max_sleep() <= 0.5  # type: ignore[operator]
    policy.patient = True
    try:
        assert policy.max_sleep() is None
    finally:
        policy.patient = False


def test_what_a_message_costs_on_each_network() -> None:
    vk = {"access_token": "user", "community_token": "community"}
    assert message_claims("vk", "1", vk, "5") == [Claim("vk.community", fingerprint("community"), 1)]
    bot = fingerprint("bot")
    assert message_claims("telegram", "-100", {"bot_token": "bot"}, "77") == [
        Claim("telegram.bot", bot, 1), Claim("telegram.chat", f"{bot}:77", 1)]
    assert message_claims("max", "1", {"bot_token": "bot"}, "77") == [Claim("max.bot", bot, 1)]
    ok = {"access_token": "rest", "bot_token": "messages-key"}
    assert message_claims("ok", "1", ok, "77") == [Claim("ok.token", fingerprint("messages-key"), 1)]
    assert message_claims("ok", "1", ok, "77", comment=True) == [Claim("ok.token", fingerprint("rest"), 1)]


def test_a_restarted_worker_remembers_recent_messages(world: World, settings: Any) -> None:
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = defaults.FILIAL_RATE_LIMIT_MAX_SLEEP
    person = reader(world, "tg")
    first = send(world, "tg", "До перезапуска", to=person)
    assert run_row(MESSAGE, first.pk) == "sent"
    reset_limiter()  # as in a new worker process: the in-memory budget is primed from the attempts
    second = send(world, "tg", "После перезапуска", to=person)
    assert run_row(MESSAGE, second.pk) == "deferred"  # the chat's 1/s still counts the message sent before


def test_rows_due_together_are_queued_interleaved_across_pages() -> None:
    now = timezone.now()
    rows = [(1, now, "a"), (2, now, "a"), (3, now, "a"), (4, now, "b"), (5, now - timedelta(seconds=5), "b"),
            (6, now + timedelta(seconds=9), "a"), (7, now + timedelta(seconds=9), "c"), (8, now, "c")]
    order = [pk for pk, *_ in queue.interleave(rows, now)]
    # Overdue and due-now rows form one group, round-robin by page (each page's own order kept); later rows follow.
    assert order == [5, 1, 8, 4, 2, 3, 6, 7]


# --- the sweeper and claims ---------------------------------------------------------------------------------
def _expire(message: OutgoingMessage, *, sent: bool, owner: str = "dead-worker") -> None:
    OutgoingMessage.objects.filter(pk=message.pk).update(
        state=S.SENDING, lease_owner=owner, lease_until=timezone.now() - timedelta(seconds=1),
        sent_at=timezone.now() - timedelta(minutes=6) if sent else None)


def test_the_sweeper_sends_again_with_the_same_random_id_on_vk(world: World) -> None:
    message = send(world, "vk", "Работник упал после отправки")
    connections.connector_for(world.channels["vk"]).send_message(message.recipient_id, message.text, message.key)
    _expire(message, sent=True)
    assert sweeper.sweep().recovered == 1
    message = fresh(message)
    assert message.state == S.SENT and sent_texts(world, "vk") == ["Работник упал после отправки"]
    assert outcomes(message) == [O.LEASE_EXPIRED, O.SENT]


def test_the_sweeper_marks_a_sent_message_uncertain_where_there_is_no_key(world: World) -> None:
    message = send(world, "max", "Упал после отправки в MAX")
    nothing = send(world, "max", "Упал до отправки")
    _expire(message, sent=True)
    _expire(nothing, sent=False)
    report = sweeper.sweep()
    assert (report.recovered, report.uncertain) == (1, 1)
    message = fresh(message)
    assert message.state == S.UNCERTAIN and "person must check" in message.attempt_log.get().error_message
    assert fresh(nothing).state == S.SENT
    assert sent_texts(world, "max") == ["Упал до отправки"]


def test_the_leases_of_a_killed_local_worker_are_recovered_at_once(world: World) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    message = send(world, "tg", "Работник убит")
    OutgoingMessage.objects.filter(pk=message.pk).update(
        state=S.SENDING, lease_owner=f"{claims.worker_name().split(':')[0]}:{gone.stdout.strip()}:1:abc",
        lease_until=timezone.now() + timedelta(minutes=4))
    assert sweeper.sweep().recovered == 1
    assert fresh(message).state == S.SENT


@pytest.mark.parametrize("page", ["vk", "max"])
def test_a_worker_that_lost_its_lease_does_not_send(world: World, page: str) -> None:
    """On MAX (no idempotency key) the stamp before the request is fenced by the lease; on VK a lane's young claim
    is the fence (a repeat carries the same key), so the lease is checked once the claim has grown old."""
    message = send(world, page, "Медленный работник")
    rows = claims.claim_batch(MESSAGE, world.channels[page].pk, "slow-worker", 5)
    assert [r.pk for r in rows] == [message.pk]
    OutgoingMessage.objects.filter(pk=message.pk).update(lease_owner="someone-else")
    context = lanes.LaneContext(idempotent=page == "vk", claimed_at=time.monotonic() - policy.lease_seconds())
    results: Counter[str] = Counter()
    assert not lanes.run_batch(MESSAGE, rows, "slow-worker", results, context)
    assert results == {"lease_lost": 1} and sent_texts(world, page) == []
    assert fresh(message).lease_owner == "someone-else"


@pytest.mark.django_db(transaction=True)
def test_lanes_of_one_page_claiming_at_once_never_take_the_same_message(net: Net) -> None:
    """Threads claim batches of one page's messages at once, as the lanes of two workers that both got the page:
    every message is taken by exactly one claim (SQLite here; PostgreSQL when FILIAL_DATABASE_URL is set)."""
    channel = net.channels["central_vk"]
    ids = [OutgoingMessage.objects.create(channel=channel, recipient_id=str(i), text="x", purpose="bench",
                                          due_at=timezone.now() - timedelta(seconds=1)).pk for i in range(8)]
    wins: dict[int, list[str]] = {pk: [] for pk in ids}

    def lane(n: int) -> None:
        for batch in range(len(ids)):
            token = f"worker-{n}-{batch}"
            for row in claim_in_race(MESSAGE, channel.pk, token, 2):
                wins[row.pk].append(token)

    race(lane, 6)
    assert all(len(w) == 1 for w in wins.values()), wins
    for pk, (token,) in wins.items():
        row = OutgoingMessage.objects.get(pk=pk)
        assert (row.state, row.lease_owner) == (S.SENDING, token)


def test_attempts_belong_to_a_delivery_or_a_message_never_both_or_neither(world: World) -> None:
    from django.db import IntegrityError, transaction

    message = send(world, "vk", "Проверка ограничения")
    with pytest.raises(IntegrityError), transaction.atomic():
        Attempt.objects.create(started_at=timezone.now(), outcome=O.SENT)
    post = world.post(due_now=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Attempt.objects.create(delivery=world.delivery(post), message=message, started_at=timezone.now(),
                               outcome=O.SENT)


# --- the services ---------------------------------------------------------------------------------------------
def test_sending_checks_permissions_text_and_kind(world: World) -> None:
    channel = world.channels["vk"]
    with pytest.raises(PermissionDenied):
        message_writes.message_send(channel=channel, recipient_id="1", text="Нельзя", purpose="dialogue",
                                       actor=world.net.users["viewer"])
    with pytest.raises(ValidationError) as too_long:
        message_writes.message_send(channel=channel, recipient_id="1", text="я" * 4097, purpose="dialogue")
    assert "4096" in str(too_long.value)
    with pytest.raises(ValidationError) as bad:
        message_writes.message_send(channel=world.channels["max"], recipient_id=" ", text=" ", purpose="Bad code",
                                      kind="reply")
    assert set(bad.value.message_dict) == {"recipient_id", "text", "purpose", "reply_to"}
    editor = world.net.users["editor_central"]
    row = message_writes.message_send(channel=channel, recipient_id="1", text="Можно", purpose="dialogue",
                                        actor=editor)
    assert row.created_by == editor
    assert AuditEntry.objects.filter(action="message.send", object_id=str(row.pk)).exists()


def test_retry_cancel_and_their_permissions(world: World) -> None:
    message = send(world, "max", "Сбой")
    OutgoingMessage.objects.filter(pk=message.pk).update(state=S.FAILED, failures=3, last_error="boom")
    with pytest.raises(PermissionDenied):
        message_writes.message_retry(actor=world.net.users["viewer"], message=message)
    with pytest.raises(ValidationError):
        message_writes.message_resend(actor=world.net.users["admin"], message=message)
    retried = message_writes.message_retry(actor=world.net.users["editor_central"], message=message)
    assert (retried.state, retried.failures, retried.last_error) == (S.SCHEDULED, 0, "")
    assert AuditEntry.objects.filter(action="message.retry", object_id=str(message.pk)).exists()
    assert run_row(MESSAGE, message.pk) == "sent"
    with pytest.raises(ValidationError):
        message_writes.message_cancel(actor=world.net.users["admin"], message=message)
    other = send(world, "max", "Не отправлять")
    cancelled = message_writes.message_cancel(actor=world.net.users["admin"], message=other)
    assert cancelled.state == S.CANCELLED and run_row(MESSAGE, other.pk) == "skipped"
    assert sent_texts(world, "max") == ["Сбой"]

"""A page's lane: the queue's unit of work sends a page's due rows a batch at a time (one claim, one connector),
gives the rest back at once when the page must wait, and resumes at the budget's time through the worker's waker.
Also the waker itself, and what a starting worker finds in the queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huey.storage import MemoryStorage
from limits import parse

from filial import settings as defaults  # the values settings.py reads (its production defaults)
from filial.channels.models import Channel
from filial.conftest import Net, race
from filial.networks.ratelimit import Claim, Limiter, Meter, WouldWait
from filial.networks.tests.vk_conformance import api_records
from filial.outbox import jobs as outbox_jobs
from filial.outbox import lanes, queue, sweeper
from filial.outbox.models import Attempt
from filial.outbox.tests.helpers import run_row
from filial.outbox.waker import Waker
from filial.publishing.jobs import DELIVERY, MESSAGE
from filial.publishing.models import OutgoingMessage
from filial.publishing.tests.test_engine_world import VK_GROUP, World, engine_world
from filial.publishing.tests.test_messages import reader, send, sent_texts

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

S = OutgoingMessage.State
MESSAGE = MESSAGE


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = defaults.FILIAL_RATE_LIMIT_MAX_SLEEP  # long waits hand back
    settings.FILIAL_LANE_BATCH = 5
    yield from engine_world(net, settings)


def states(messages: list[OutgoingMessage]) -> list[str]:
    by_pk = dict(OutgoingMessage.objects.filter(pk__in=[m.pk for m in messages]).values_list("pk", "state"))
    return [by_pk[m.pk] for m in messages]


@pytest.fixture
def resumed(monkeypatch: Any) -> list[tuple[str, int, Any]]:
    """Lanes queued to go on later: (kind, page, eta) instead of Huey's schedule or the waker."""
    calls: list[tuple[str, int, Any]] = []
    monkeypatch.setattr(queue, "lane_at", lambda job, channel_id, at: calls.append((job.name, channel_id, at)))
    monkeypatch.setattr(queue.transaction, "on_commit", lambda fn, *a, **k: fn())
    return calls


# --- one pacer: the shared limiter ----------------------------------------------------------------------------
def test_a_vk_post_with_ten_photos_is_paced_by_the_shared_limiter_alone(world: World) -> None:
    """12 user-token calls in a row (upload server, ten photos.saveWallPhoto, wall.post) against VK's 3/s, with
    the lane's 0.3 s bound on waiting for a free budget: the lane's units pay the first calls, the connector takes
    the rest one per call from the same limiter, and VK refuses none."""
    post = world.post("Фотоотчёт о выставке", photos=10)
    assert run_row(DELIVERY, world.delivery(post).pk) == "published"
    assert len(world.vk_wall()[0]["attachments"]) == 10
    calls = api_records(world.vk)
    assert len(calls) == 12 and all(r["body"] and "error" not in r["body"] for r in calls)
    attempt = world.delivery(post).attempt_log.get()  # one try: no deferral, no refusal retried
    assert attempt.outcome == Attempt.Outcome.PUBLISHED and "rate_wait_ms" in attempt.request


def test_a_later_call_that_would_wait_too_long_stops_before_it_leaves(world: World, monkeypatch: Any) -> None:
    """Other work took the page's budget mid-publication: the call that would wait too long does not leave; the row
    is retried later (a deferral, recorded), and nothing is on the wall."""
    original = lanes.pace

    def impatient(connector: Any, shared: Any, claims: Any) -> Any:
        meter = original(connector, shared, claims)
        meter.max_wait = 0.0
        return meter

    monkeypatch.setattr(lanes, "pace", impatient)
    post = world.post("Два фото с выставки", photos=2)  # four calls: the lane's three units pay the first three
    delivery = world.delivery(post)
    assert run_row(DELIVERY, delivery.pk) == "retry_later"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.deferrals, world.vk_wall()) == ("scheduled", 1, [])
    attempt = delivery.attempt_log.get()
    assert attempt.outcome == Attempt.Outcome.RETRY_LATER and attempt.error_code == "rate_wait"
    assert [r["method"] for r in api_records(world.vk)][-1] == "photos.saveWallPhoto"  # wall.post never left


def test_a_meter_pays_with_the_lanes_units_first_then_takes_its_own() -> None:
    limiter = Limiter("memory://", margin=0.0, margin_fraction=0.0, items={"slow": parse("3/minute")})
    meter = Meter(limiter, max_wait=0)
    claim = [Claim("slow", "page")]
    limiter.acquire([Claim("slow", "page", 2)])
    meter.prepaid([Claim("slow", "page", 2)])
    meter.take(claim)
    meter.take(claim)  # both paid by the lane: the limiter still has one unit
    assert meter.taken == 0 and limiter.wait_time(claim) == 0
    meter.take(claim)
    assert meter.taken == 1 and limiter.wait_time(claim) > 0
    with pytest.raises(WouldWait):  # before the request leaves: nothing taken
        meter.take(claim)
    meter.prepaid([Claim("slow", "page", 1)])
    meter.prepaid([])  # a new operation: what the last one left unused does not carry over
    with pytest.raises(WouldWait):
        meter.take(claim)


# --- batches ---------------------------------------------------------------------------------------------------
def test_a_lane_sends_the_pages_due_messages_in_batches_with_few_statements(world: World) -> None:
    due = [send(world, "vk", f"Книга {i} ждёт вас") for i in range(12)]
    later = send(world, "vk", "Завтра", due_at=timezone.now() + timedelta(days=1))
    other_page = send(world, "max", "Другая страница")
    with CaptureQueriesContext(connection) as queries:
        results = lanes.run_lane(MESSAGE, world.channels["vk"].pk)
    assert results == {S.SENT: 12}
    assert states(due) == [S.SENT] * 12 and states([later, other_page]) == [S.SCHEDULED, S.SCHEDULED]
    assert sorted(sent_texts(world, "vk")) == sorted(f"Книга {i} ждёт вас" for i in range(12))
    assert Attempt.objects.filter(message__in=due, outcome=Attempt.Outcome.SENT).count() == 12
    # One claim and one read per batch of 5; per message an UPDATE and an INSERT in one transaction (VK's
    # random_id makes the batch's claim the fence: no stamp per message).
    assert len(queries) <= 12 * 4 + 3 * 3 + 2, [q["sql"][:80] for q in queries]


def test_rows_of_a_page_whose_network_has_no_key_are_stamped_one_by_one(world: World, monkeypatch: Any) -> None:
    messages = [send(world, "max", f"Сообщение {i}") for i in range(3)]
    stamped: list[int] = []
    original = lanes.mark_sent

    def mark_sent(job: outbox_jobs.Job, pk: int, token: str) -> bool:
        stamped.append(pk)
        return original(job, pk, token)

    monkeypatch.setattr(lanes, "mark_sent", mark_sent)
    assert lanes.run_lane(MESSAGE, world.channels["max"].pk) == {S.SENT: 3}
    assert stamped == [m.pk for m in messages]  # MAX has no idempotency key: "may have left" is known per row


def test_a_long_rate_wait_gives_the_rest_of_the_batch_back_at_once(world: World, resumed: list[Any]) -> None:
    """Telegram allows one message a second in a chat: the second and third to one person wait, handed back
    together (no attempt, no deferral), and the lane is to go on when the budget allows."""
    person = reader(world, "tg")
    one, two, three = (send(world, "tg", text, to=person) for text in ("Раз", "Два", "Три"))
    resumed.clear()  # what creating them queued
    results = lanes.run_lane(MESSAGE, world.channels["tg"].pk)
    assert results == {S.SENT: 1, "deferred": 2}
    assert states([one, two, three]) == [S.SENT, S.SCHEDULED, S.SCHEDULED]
    rest = OutgoingMessage.objects.filter(pk__in=[two.pk, three.pk])
    assert {(m.attempts, m.deferrals, m.lease_owner) for m in rest} == {(0, 0, "")}
    assert not Attempt.objects.filter(message__in=[two, three]).exists()
    [(kind, page, at)] = resumed
    assert (kind, page) == ("message", world.channels["tg"].pk)
    assert timedelta(seconds=0.3) < at - timezone.now() <= timedelta(seconds=1.2)
    assert {m.next_attempt_at for m in rest} == {at}
    time.sleep(max(0.0, (at - timezone.now()).total_seconds()) + 0.05)
    assert lanes.run_lane(MESSAGE, world.channels["tg"].pk) == {S.SENT: 1, "deferred": 1}
    assert sent_texts(world, "tg") == ["Раз", "Два"]


def test_one_readers_refusal_does_not_stop_the_batch_but_a_revoked_token_does(world: World,
                                                                               resumed: list[Any]) -> None:
    world.vk.simulate("deny_messages", {"group_id": VK_GROUP, "user_id": 9951})
    first = send(world, "vk", "Первому")
    refused = send(world, "vk", "Не разрешил", to="9951")
    last = send(world, "vk", "Последнему")
    assert lanes.run_lane(MESSAGE, world.channels["vk"].pk) == {S.SENT: 2, S.FAILED: 1}
    assert states([first, refused, last]) == [S.SENT, S.FAILED, S.SENT]

    waiting = [send(world, "vk", f"После отзыва {i}") for i in range(3)]
    resumed.clear()  # what creating them queued
    world.vk.add_fault("messages.send", "revoke_token")
    assert lanes.run_lane(MESSAGE, world.channels["vk"].pk) == {"needs_reauth": 1}
    assert Channel.objects.get(pk=world.channels["vk"].pk).status == Channel.Status.NEEDS_REAUTH
    rows = OutgoingMessage.objects.filter(pk__in=[m.pk for m in waiting]).order_by("pk")
    assert [(m.state, m.attempts, m.next_attempt_at) for m in rows] == [(S.SCHEDULED, 1, None),
                                                                        (S.SCHEDULED, 0, None),
                                                                        (S.SCHEDULED, 0, None)]
    assert resumed == []  # the page waits for its re-authorisation, which queues it again
    assert lanes.run_lane(MESSAGE, world.channels["vk"].pk) == {}  # a paused page's rows are not claimed


@pytest.mark.django_db(transaction=True)
def test_lanes_of_one_page_running_at_once_never_take_the_same_row(net: Net, settings: Any) -> None:
    """Four threads run the same page's lane (two workers that both got it from the queue): every message goes
    exactly once (the suite's in-memory SQLite here, PostgreSQL when FILIAL_DATABASE_URL is set; the same race on
    the file database the product uses, without retries: ``outbox/tests/test_race_file_db.py``)."""
    settings.FILIAL_LANE_BATCH = 3
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 5
    worlds = engine_world(net, settings)
    world = next(worlds)
    page = world.channels["vk"].pk
    messages = [send(world, "vk", f"Поток {i}") for i in range(30)]
    try:
        race(lambda _n: lanes.run_lane(MESSAGE, page), 4)
        assert states(messages) == [S.SENT] * 30
        assert sorted(sent_texts(world, "vk")) == sorted(f"Поток {i}" for i in range(30))
        assert Attempt.objects.filter(message__in=messages).count() == 30
    finally:
        worlds.close()


# --- the waker -------------------------------------------------------------------------------------------------
def test_the_waker_fires_each_key_once_at_its_earliest_time() -> None:
    fired: list[tuple[str, float]] = []
    done = threading.Event()
    start = time.monotonic()

    def fire(key: str) -> None:
        fired.append((key, time.monotonic() - start))
        if len(fired) == 2:
            done.set()

    waker: Waker[str] = Waker(fire)
    now = timezone.now()
    waker.wake("b", now + timedelta(seconds=0.25))
    waker.wake("a", now + timedelta(seconds=0.30))
    waker.wake("a", now + timedelta(seconds=0.10))  # earlier: replaces
    waker.wake("b", now + timedelta(seconds=0.50))  # later: ignored
    assert done.wait(2)
    left = waker.stop()
    assert [key for key, _at in fired] == ["a", "b"]
    assert 0.08 <= fired[0][1] < 0.2 and 0.23 <= fired[1][1] < 0.4
    assert left == {}


def test_a_stopping_waker_hands_back_what_has_not_fired() -> None:
    fired: list[str] = []
    waker: Waker[tuple[str, int]] = Waker(lambda key: fired.append(key[0]))
    at = timezone.now() + timedelta(seconds=30)
    waker.wake(("message", 7), at)
    left = waker.stop()
    assert fired == [] and list(left) == [("message", 7)]
    assert abs((left[("message", 7)] - at).total_seconds()) < 0.05
    with pytest.raises(RuntimeError):
        waker.wake(("message", 8), at)


def test_a_worker_resumes_waiting_lanes_through_its_waker_and_schedules_them_when_it_stops(
        world: World, monkeypatch: Any) -> None:
    queued: list[tuple[str, int, Any]] = []
    monkeypatch.setattr(queue, "queue_lane", lambda job, channel_id, eta: queued.append((job.name, channel_id, eta)))
    queue.start_waker()
    try:
        soon = timezone.now() + timedelta(seconds=0.2)
        queue.resume_lane(MESSAGE, 11, soon)
        queue.resume_lane(MESSAGE, 12, timezone.now() + timedelta(seconds=30))  # long: Huey's schedule at once
        queue.resume_lane(MESSAGE, 13, timezone.now() + timedelta(seconds=5))
        assert queued[0][:2] == ("message", 12) and len(queued) == 1
        time.sleep(0.4)
        assert queued[1] == ("message", 11, None)  # fired by the waker: queued to run now
    finally:
        queue.stop_waker()
    assert queued[2][:2] == ("message", 13) and queued[2][2] is not None  # still waiting: on Huey's schedule
    assert queue.waker is None


# --- what a starting worker finds in the queue ----------------------------------------------------------------
def test_a_starting_worker_queues_the_due_rows_no_queued_lane_covers(world: World, monkeypatch: Any) -> None:
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "_immediate", False)
    monkeypatch.setattr(HUEY, "storage", MemoryStorage("filial-lanes-test-queue"))
    covered = send(world, "vk", "В очереди")
    lost = send(world, "max", "Потерянная")
    queue.queue_lane(MESSAGE, world.channels["vk"].pk, None)  # the vk page's lane waits in the queue
    queue.queue_lane(MESSAGE, world.channels["max"].pk, timezone.now() + timedelta(minutes=5))  # later: no cover
    found = queue.queued_work(HUEY)
    assert found.covers(MESSAGE, covered.pk, world.channels["vk"].pk)
    assert not found.covers(MESSAGE, lost.pk, world.channels["max"].pk)
    assert sweeper.sweep(queued=found).requeued == 1
    lanes = [(t.args, t.eta) for t in HUEY.pending() if t.name.endswith("run_lane")]
    assert (("message", world.channels["max"].pk), None) in lanes

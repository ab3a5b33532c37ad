"""Poll counting against the four emulators: votes cast on each network are fetched, stored and summed; the end
time closes every poll (Telegram's with exactly one stopPoll); a failing network keeps the others' counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone

from filial.conftest import Net
from filial.inbox import polls
from filial.inbox.models import PollTally
from filial.inbox.poll_results import Status, poll_report
from filial.networks.ratelimit import get_limiter
from filial.networks.telegram.connector import parse_external_id
from filial.outbox import limits
from filial.outbox.tests.helpers import run_row
from filial.publishing.jobs import DELIVERY
from filial.publishing.models import Delivery, Poll, Post
from filial.publishing.tests.test_engine_world import FAULT_DELAY, VK_GROUP, World, engine_world

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

ANSWERS = ["Классика", "Фантастика", "Детективы"]


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    settings.FILIAL_POLL_RETRY_BASE = 0  # a failed count is due again at once: tests step the worker
    for world in engine_world(net, settings):  # one world; the loop lets engine_world clean up afterwards
        # Publishing just used the pages' budgets: a count waits for them (seconds) instead of coming back later.
        settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 5
        yield world


def publish_poll(world: World, pages: tuple[str, ...] = ("vk", "ok", "tg", "max"),
                 ends_in: timedelta | None = timedelta(days=3)) -> Post:
    post = world.post("Что почитать летом? Голосуйте!", pages=pages, poll=("Ваш выбор на лето", ANSWERS))
    if ends_in is not None:
        Poll.objects.filter(post=post).update(ends_at=timezone.now() + ends_in)
    for page in pages:
        run_row(DELIVERY, world.delivery(post, page).pk)
    return post


def vk_poll_id(world: World) -> int:
    attachment = next(str(a) for a in world.vk_wall()[-1]["attachments"] if str(a).startswith("poll"))
    return int(attachment.rsplit("_", 1)[1])


def tg_poll_message(world: World, post: Post) -> int:
    messages = parse_external_id(world.delivery(post, "tg").external_id)
    return messages.poll or messages.main


def vote_vk(world: World, answer: int, user_id: int) -> None:
    world.vk.simulate("vote", {"group_id": VK_GROUP, "poll_id": vk_poll_id(world), "answer": answer,
                               "user_id": user_id})


def vote_ok(world: World, post: Post, answer: int, uid: str) -> None:
    world.ok.simulate("vote", {"topic_id": world.delivery(post, "ok").external_id, "answer": answer, "uid": uid})


def vote_tg(world: World, post: Post, answer: int, user_id: int) -> None:
    world.tg.simulate("vote", {"chat_id": world.seeds["tg"]["chat_id"], "message_id": tg_poll_message(world, post),
                               "user": {"id": user_id, "first_name": f"Reader {user_id}"}, "option_ids": [answer]})


def tg_calls(world: World, method: str) -> int:
    return sum(1 for r in world.tg.requests if r.get("method") == method)


def tg_updates(world: World) -> list[dict[str, Any]]:
    """The ``poll`` updates the page's bot has waiting (what the update pipeline would see)."""
    token = world.channels["tg"].credentials["bot_token"]
    answer = httpx.post(f"{world.channels['tg'].api_base_url}/bot{token}/getUpdates",
                        json={"allowed_updates": ["poll"]}, timeout=5).json()
    return [u["poll"] for u in answer["result"] if "poll" in u]


def tally(world: World, post: Post, page: str) -> PollTally:
    return PollTally.objects.get(delivery=world.delivery(post, page))


def votes(world: World, post: Post, page: str) -> list[int]:
    return list(tally(world, post, page).counts.order_by("position").values_list("votes", flat=True))


def make_ended(post: Post) -> None:
    Poll.objects.filter(post=post).update(ends_at=timezone.now() - timedelta(seconds=1))


def test_votes_on_each_network_are_fetched_stored_and_summed(world: World) -> None:
    post = publish_poll(world)
    assert world.delivery(post, "max").state == Delivery.State.FAILED  # MAX has no polls: the connector says so
    for user, answer in ((1, 0), (2, 0), (3, 1)):
        vote_vk(world, answer, 9000 + user)
    for user, answer in ((1, 1), (2, 2)):
        vote_ok(world, post, answer, f"58000000{user}")
    vote_tg(world, post, 2, 7001)

    report = polls.poll_sweep()  # creates the tallies and (Huey immediate in tests) runs the fetches
    assert report.created == 3 and report.queued == 3  # VK, OK, Telegram; none for MAX
    assert votes(world, post, "vk") == [2, 1, 0] and tally(world, post, "vk").total_voters == 3
    assert votes(world, post, "ok") == [0, 1, 1] and tally(world, post, "ok").total_voters == 2
    assert tally(world, post, "vk").counted_at is not None and not tally(world, post, "vk").closed
    # A running Telegram poll is not read (stopPoll would close it): it waits for its end time.
    tg = tally(world, post, "tg")
    assert tg.counted_at is None and tg.next_fetch_at == Poll.objects.get(post=post).ends_at
    assert tg_calls(world, "stopPoll") == 0

    result = poll_report(world.net.users["admin"], post.pk)
    assert result is not None
    by_network = {p.network: p for p in result.pages}
    assert by_network["vk"].status == Status.COUNTED and by_network["ok"].status == Status.COUNTED
    assert by_network["telegram"].status == Status.TELEGRAM_WAITS and by_network["max"].status == Status.NO_POLLS
    assert [a.votes for a in result.answers] == [2, 2, 1]  # matched by position across networks
    assert result.total_voters == 5
    assert [a.percent for a in result.answers] == [40.0, 40.0, 20.0]

    # Nothing is due again before the interval: a second sweep fetches nothing.
    vk_calls = len(world.vk.requests)
    assert polls.poll_sweep().queued == 0
    assert len(world.vk.requests) == vk_calls


def test_new_votes_arrive_with_the_next_periodic_count(world: World) -> None:
    post = publish_poll(world, pages=("vk", "ok"))
    polls.poll_sweep()
    assert votes(world, post, "vk") == [0, 0, 0]
    vote_vk(world, 2, 9101)
    vote_ok(world, post, 2, "580000101")
    first = tally(world, post, "vk").counted_at
    PollTally.objects.update(next_fetch_at=timezone.now() - timedelta(seconds=1))  # the interval has passed
    assert polls.poll_sweep().queued == 2
    assert votes(world, post, "vk") == [0, 0, 1] and votes(world, post, "ok") == [0, 0, 1]
    later = tally(world, post, "vk").counted_at
    assert first is not None and later is not None and later > first


def test_end_time_closes_every_poll_and_telegram_with_one_stop_poll(world: World) -> None:
    post = publish_poll(world, pages=("vk", "ok", "tg"))
    assert "end_date" in next(r for r in world.vk.requests if r.get("method") == "polls.create")["params"]
    polls.poll_sweep()
    vote_vk(world, 0, 9201)
    vote_ok(world, post, 1, "580000201")
    for user in (1, 2, 3):
        vote_tg(world, post, user % 2, 7100 + user)

    make_ended(post)
    PollTally.objects.filter(post=post, closed=False).update(next_fetch_at=Poll.objects.get(post=post).ends_at)
    polls.poll_sweep()
    assert tg_calls(world, "stopPoll") == 1
    for page in ("vk", "ok", "tg"):
        row = tally(world, post, page)
        assert row.closed and row.closed_at is not None and row.next_fetch_at is None, page
    assert votes(world, post, "tg") == [1, 2, 0] and tally(world, post, "tg").total_voters == 3
    assert tally(world, post, "tg").closed_by == PollTally.ClosedBy.NETWORK
    assert tally(world, post, "vk").closed_by == PollTally.ClosedBy.NETWORK
    assert tally(world, post, "ok").closed_by == PollTally.ClosedBy.FILIAL  # OK has no end time: frozen here
    message = world.tg.state["chats"][str(world.seeds["tg"]["chat_id"])]["messages"][str(tg_poll_message(world, post))]
    assert message["poll"]["is_closed"] is True

    # After the end nothing is fetched again, whatever runs: sweeps, a repeated task, "refresh now".
    before = (len(world.vk.requests), len(world.ok.requests), len(world.tg.requests))
    vote_ok(world, post, 0, "580000202")  # OK keeps its poll open; our count stays the one at the end time
    polls.poll_sweep()
    for page in ("vk", "ok", "tg"):
        assert polls.fetch_one(world.delivery(post, page).pk) == "skipped"
    done = polls.poll_refresh(actor=world.net.users["admin"], post=post)
    assert done.queued == 0 and done.closed == 3
    assert (len(world.vk.requests), len(world.ok.requests), len(world.tg.requests)) == before
    assert votes(world, post, "ok") == [0, 1, 0]
    result = poll_report(world.net.users["admin"], post.pk)
    assert result is not None and result.all_closed and result.total_voters == 5


def test_telegram_stop_poll_is_not_sent_twice_after_a_lost_answer(world: World) -> None:
    post = publish_poll(world, pages=("tg",))
    polls.poll_sweep()
    make_ended(post)
    # A worker stamped stopPoll and died before its answer was stored: the poll may be closed already.
    PollTally.objects.filter(post=post).update(stop_sent_at=timezone.now(), next_fetch_at=timezone.now())
    assert polls.fetch_one(world.delivery(post, "tg").pk) == "closed"
    assert tg_calls(world, "stopPoll") == 0
    assert tally(world, post, "tg").closed


def test_telegram_stop_poll_timeout_is_not_repeated(world: World) -> None:
    post = publish_poll(world, pages=("tg",))
    polls.poll_sweep()
    vote_tg(world, post, 2, 7201)
    make_ended(post)
    world.tg.add_fault("stopPoll", "timeout_after")
    assert polls.fetch_one(world.delivery(post, "tg").pk) == "failed"
    row = tally(world, post, "tg")
    assert row.closed and "did not answer" in row.error  # outcome unknown: never a second stopPoll
    assert polls.fetch_one(world.delivery(post, "tg").pk) == "skipped"
    world.tg.wait_idle(FAULT_DELAY + 1)  # the emulator logs the request once its injected delay is over
    assert tg_calls(world, "stopPoll") == 1
    # The poll did close; the update Telegram sends then carries the final counts, and they are taken.
    closed = [u for u in tg_updates(world) if u.get("is_closed")]
    assert closed and polls.record_telegram_poll_update(world.channels["tg"].pk, closed[-1])
    row = tally(world, post, "tg")
    assert row.closed and row.error == "" and votes(world, post, "tg") == [0, 0, 1] and row.total_voters == 1


def test_telegram_stop_poll_refused_before_it_applied_is_tried_again(world: World) -> None:
    post = publish_poll(world, pages=("tg",))
    polls.poll_sweep()
    vote_tg(world, post, 1, 7301)
    make_ended(post)
    world.tg.add_fault("stopPoll", "http_502")
    assert polls.fetch_one(world.delivery(post, "tg").pk) == "failed"
    row = tally(world, post, "tg")
    assert not row.closed and row.stop_sent_at is None and row.error
    assert polls.fetch_one(world.delivery(post, "tg").pk) == "closed"
    assert votes(world, post, "tg") == [0, 1, 0]


def test_a_failed_fetch_on_one_network_keeps_the_others_and_says_so(world: World) -> None:
    post = publish_poll(world, pages=("vk", "ok"))
    vote_vk(world, 1, 9301)
    vote_ok(world, post, 0, "580000301")
    world.ok.add_fault("mediatopic.getByIds", "http_500", times=1)
    polls.poll_sweep()
    ok = tally(world, post, "ok")
    assert ok.counted_at is None and ok.error and ok.failures == 1
    assert votes(world, post, "vk") == [0, 1, 0]

    result = poll_report(world.net.users["admin"], post.pk)
    assert result is not None
    pages = {p.network: p for p in result.pages}
    assert pages["ok"].status == Status.FAILED and pages["ok"].votes == [None, None, None]  # not zero
    assert result.total_voters == 1 and [a.votes for a in result.answers] == [0, 1, 0]
    assert [p.network for p in result.failed_pages] == ["ok"]

    # The retry succeeds; a later failure keeps the last counts, marked stale, still in the sum.
    polls.poll_sweep()
    assert votes(world, post, "ok") == [1, 0, 0] and tally(world, post, "ok").error == ""
    world.ok.add_fault("mediatopic.getByIds", "http_500", times=1)
    PollTally.objects.filter(post=post).update(next_fetch_at=timezone.now())
    polls.poll_sweep()
    result = poll_report(world.net.users["admin"], post.pk)
    assert result is not None
    pages = {p.network: p for p in result.pages}
    assert pages["ok"].status == Status.STALE and pages["ok"].votes == [1, 0, 0]
    assert result.total_voters == 2


def test_counts_draw_on_the_pages_rate_limit_budget(world: World, settings: Any) -> None:
    post = publish_poll(world, pages=("vk",))
    claims = polls.poll_claims("vk", world.channels["vk"].credentials)
    limiter = limits.limiter()
    while limiter.try_acquire(claims):  # someone else used the page's whole budget just now
        pass
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 0
    polls.poll_sweep()
    row = tally(world, post, "vk")
    assert row.counted_at is None and row.next_fetch_at is not None and row.next_fetch_at > timezone.now()
    assert not any(r.get("method") == "polls.getById" for r in world.vk.requests)
    get_limiter().reset()
    PollTally.objects.filter(pk=row.pk).update(next_fetch_at=timezone.now())
    polls.poll_sweep()
    assert tally(world, post, "vk").counted_at is not None


def test_telegram_poll_updates_give_running_counts(world: World) -> None:
    post = publish_poll(world, pages=("tg",))
    polls.poll_sweep()
    vote_tg(world, post, 0, 7401)
    vote_tg(world, post, 2, 7402)
    updates = tg_updates(world)
    assert updates
    for update in updates:
        assert polls.record_telegram_poll_update(world.channels["tg"].pk, update)
    row = tally(world, post, "tg")
    assert votes(world, post, "tg") == [1, 0, 1] and row.total_voters == 2 and not row.closed
    assert tg_calls(world, "stopPoll") == 0
    # Another question does not match.
    assert not polls.record_telegram_poll_update(world.channels["tg"].pk, {**updates[-1], "question": "Другое"})


def test_refresh_now_queues_counts_for_writers_only(world: World, django_capture_on_commit_callbacks: Any) -> None:
    post = publish_poll(world, pages=("vk", "tg"))
    from django.core.exceptions import PermissionDenied

    for role in ("viewer", "editor_children"):
        with pytest.raises(PermissionDenied):
            polls.poll_refresh(actor=world.net.users[role], post=post)
    vote_vk(world, 0, 9501)
    with django_capture_on_commit_callbacks(execute=True):
        done = polls.poll_refresh(actor=world.net.users["editor_central"], post=post)
    assert done.queued == 1 and done.waiting_for_end == 1  # Telegram only at its end time
    assert votes(world, post, "vk") == [1, 0, 0]
    again = polls.poll_refresh(actor=world.net.users["editor_central"], post=post)
    assert again.queued == 0  # counted seconds ago


def test_refresh_is_audited(world: World) -> None:
    from filial.accounts.models import AuditEntry

    post = publish_poll(world, pages=("vk",))
    polls.poll_refresh(actor=world.net.users["admin"], post=post)
    entry = AuditEntry.objects.get(action="poll.refresh")
    assert entry.actor == world.net.users["admin"] and entry.changes == {"post": post.pk, "queued": 1}


def test_a_tally_is_fetched_by_one_worker_at_a_time(world: World) -> None:
    post = publish_poll(world, pages=("vk",))
    polls.ensure_tallies()
    row = tally(world, post, "vk")
    PollTally.objects.filter(pk=row.pk).update(lease_owner="other-worker",
                                               lease_until=timezone.now() + timedelta(minutes=1))
    assert polls.fetch_one(world.delivery(post, "vk").pk) == "busy"
    assert polls.poll_sweep().queued == 0  # leased rows are not queued again
    assert not any(r.get("method") == "polls.getById" for r in world.vk.requests)
    PollTally.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # it died
    assert polls.fetch_one(world.delivery(post, "vk").pk) == "counted"
    row.refresh_from_db()
    assert row.lease_owner == "" and row.lease_until is None


def test_a_poll_without_end_time_is_followed_for_a_while(world: World, settings: Any) -> None:
    settings.FILIAL_POLL_FOLLOW_DAYS = 30
    post = publish_poll(world, pages=("vk", "tg"), ends_in=None)
    polls.poll_sweep()
    assert tally(world, post, "vk").next_fetch_at is not None
    assert tally(world, post, "tg").next_fetch_at is None  # Telegram: no end time, no stopPoll ever
    Delivery.objects.filter(post=post).update(published_at=timezone.now() - timedelta(days=31))
    PollTally.objects.filter(post=post).update(next_fetch_at=timezone.now())
    polls.poll_sweep()
    row = tally(world, post, "vk")
    assert row.counted_at is not None and row.next_fetch_at is None and not row.closed
    assert tg_calls(world, "stopPoll") == 0


def test_the_pages_poller_feeds_telegram_poll_updates_into_the_counts(world: World) -> None:
    from filial.inbox import pipeline

    post = publish_poll(world, pages=("tg",))
    polls.poll_sweep()
    pipeline.poll_page(world.channels["tg"].pk)  # the updates of the publication itself
    vote_tg(world, post, 1, 7501)
    vote_tg(world, post, 1, 7502)
    vote_tg(world, post, 0, 7503)
    assert pipeline.poll_page(world.channels["tg"].pk)  # getUpdates: the poll's new state comes with the rest
    row = tally(world, post, "tg")
    assert votes(world, post, "tg") == [1, 2, 0] and row.total_voters == 3 and not row.closed
    assert tg_calls(world, "stopPoll") == 0  # counted without closing the poll

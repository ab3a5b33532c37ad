"""The daily statistics against the network emulators over HTTP (every request checked against the specs when the
emulator stops): figures stored, None where the network does not give a figure (with its reason), one row per page
and day however often it runs, a failure leaves a gap row, publishing goes first, the VK backfill."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from filial.channels.connections import connection
from filial.channels.models import Channel
from filial.channels.services import channel_create
from filial.channels.tests.emulated import AUDIENCE, Page, emulated
from filial.conftest import Net
from filial.networks.base import PostPayload
from filial.networks.ratelimit import Claim, Limiter
from filial.networks.statistics import gives, keeps_history, unknown_figures
from filial.publishing.models import Delivery, Post
from filial.stats import collect
from filial.stats.models import PageDay, PublicationDay, Source

NETWORKS = ("vk", "ok", "telegram", "max")


@pytest.fixture(params=NETWORKS)
def page(request: Any) -> Iterator[Page]:
    with emulated(request.param) as p:
        yield p


def connect(net: Net, page: Page) -> Channel:
    return channel_create(actor=net.users["admin"], unit=net.branch4, network=page.network, name=page.name,
                          external_id=page.external_id, credentials=page.credentials, api_base_url=page.api_url)


def publish(channel: Channel, text: str, days_ago: float = 1) -> Delivery:
    """A post really published on the emulated page, recorded as the outbox would have."""
    with connection(channel) as connector:
        published = connector.publish(PostPayload(text=text, key=f"k-{text}"))
    at = timezone.now() - timedelta(days=days_ago)
    post = Post.objects.create(unit=channel.unit, kind="note", text=text, state=Post.State.PUBLISHED, publish_at=at)
    return Delivery.objects.create(post=post, channel=channel, state=Delivery.State.PUBLISHED, due_at=at,
                                   published_at=at, external_id=published.external_id)


def activity(page: Page, delivery: Delivery) -> None:
    """Readers view, like, repost and comment, as each emulator records it."""
    ext = delivery.external_id
    if page.network == "vk":
        group, post_id = page.seeded["group_id"], int(ext.rsplit("_", 1)[1])
        page.simulate("view", group_id=group, post_id=post_id, count=40)
        page.simulate("like", group_id=group, post_id=post_id, count=5)
        page.simulate("repost", group_id=group, post_id=post_id, count=2)
        page.simulate("comment", group_id=group, post_id=post_id, text="Спасибо!")
    elif page.network == "ok":
        page.simulate("view", topic_id=ext, count=40)
        page.simulate("like", topic_id=ext, count=5)
        page.simulate("reshare", topic_id=ext, count=2)
        page.simulate("comment", topic_id=ext, text="Спасибо!")
    elif page.network == "max":
        page.simulate("view", mid=ext, count=40)


def fresh_limiter() -> Limiter:
    return Limiter("memory://")


def test_a_round_stores_what_each_network_gives_and_null_with_a_reason_for_the_rest(net: Net, page: Page) -> None:
    channel = connect(net, page)
    first, second = publish(channel, "Новые книги"), publish(channel, "Вечер поэзии", days_ago=3)
    activity(page, first)
    outcome = collect.collect_page(channel, limiter=fresh_limiter())
    assert outcome.outcome == "done", outcome
    day = PageDay.objects.get(channel=channel)
    assert day.audience == AUDIENCE[page.network] and day.source == Source.JOB and day.error == ""
    assert day.day == timezone.localtime(timezone.now(), channel.unit.tz).date()
    rows = {row.delivery_id: row for row in PublicationDay.objects.filter(channel=channel)}
    assert set(rows) == {first.pk, second.pk}
    row, quiet = rows[first.pk], rows[second.pk]
    unknown = unknown_figures(page.network)
    by_network: dict[str, dict[str, int | None]] = {
                "vk": {"views": 40, "likes": 5, "reposts": 2, "comments": 1, "reach": 32},
                "ok": {"views": 40, "likes": 5, "reposts": 2, "comments": 1, "reach": None},
                "telegram": dict.fromkeys(("views", "likes", "reposts", "comments", "reach")),
                "max": {"views": 40, "likes": None, "reposts": None, "comments": None, "reach": None}}
    expected = by_network[page.network]
    assert {name: getattr(row, name) for name in expected} == expected
    for name, value in expected.items():
        assert (value is None) == (name in unknown)  # every None here is declared, with its reason
        assert gives(page.network, name) == (name not in unknown)
    if page.network != "telegram":
        assert quiet.views == 0  # a post nobody saw has 0 views: a real zero, not an unknown
    assert quiet.likes is None if "likes" in unknown else quiet.likes == 0


def test_the_reasons_are_said_in_russian(settings: Any) -> None:
    from django.utils import translation

    with translation.override("ru"):
        assert unknown_figures("telegram")["views"] == "Telegram не сообщает ботам число просмотров"
        assert "просмотр" in unknown_figures("max")["likes"]
    assert unknown_figures("vk") == {} and keeps_history("vk") and not keeps_history("telegram")


def test_twice_a_day_is_one_row_updated(net: Net) -> None:
    with emulated("vk") as page:
        channel = connect(net, page)
        delivery = publish(channel, "Новые книги")
        collect.collect_page(channel, limiter=fresh_limiter())
        activity(page, delivery)
        page.simulate("new_member", group_id=page.seeded["group_id"], user_id=9001)
        collect.collect_page(channel, limiter=fresh_limiter())
    assert PageDay.objects.filter(channel=channel).count() == 1
    assert PageDay.objects.get(channel=channel).audience == AUDIENCE["vk"] + 1
    assert PublicationDay.objects.filter(delivery=delivery).count() == 1
    assert PublicationDay.objects.get(delivery=delivery).views == 40


def test_a_failure_leaves_a_gap_row_not_a_zero(net: Net) -> None:
    with emulated("ok") as page:
        channel = connect(net, page)
        delivery = publish(channel, "Новые книги")
        page.server.stop()  # the network is unreachable
        outcome = collect.collect_page(channel, limiter=fresh_limiter())
    assert outcome.outcome == "failed"
    day = PageDay.objects.get(channel=channel)
    assert day.audience is None and day.error
    row = PublicationDay.objects.get(delivery=delivery)
    assert row.views is None and row.likes is None and row.error
    assert Channel.objects.get(pk=channel.pk).audience is None  # nothing made up on the page either


def test_a_publication_the_network_no_longer_has_is_a_gap_with_its_reason(net: Net) -> None:
    with emulated("vk") as page:
        channel = connect(net, page)
        delivery = publish(channel, "Новые книги")
        with connection(channel) as connector:
            connector.delete(delivery.external_id)
        collect.collect_page(channel, limiter=fresh_limiter())
    row = PublicationDay.objects.get(delivery=delivery)
    assert row.views is None and row.reach is None and row.error


def test_only_the_last_days_publications_are_read(net: Net, settings: Any) -> None:
    settings.FILIAL_STATS_DAYS = 5
    with emulated("max") as page:
        channel = connect(net, page)
        recent, old = publish(channel, "Свежее", days_ago=2), publish(channel, "Старое", days_ago=9)
        collect.collect_page(channel, limiter=fresh_limiter())
    assert set(PublicationDay.objects.values_list("delivery_id", flat=True)) == {recent.pk}
    assert old.stat_days.count() == 0


# --- publishing goes first ------------------------------------------------------------------------------------------
def test_a_page_with_a_due_publication_is_left_alone(net: Net) -> None:
    with emulated("telegram") as page:
        channel = connect(net, page)
        post = Post.objects.create(unit=channel.unit, kind="note", text="Скоро", state=Post.State.SCHEDULED,
                                   publish_at=timezone.now() + timedelta(minutes=3))
        due = Delivery.objects.create(post=post, channel=channel, due_at=timezone.now() + timedelta(minutes=3))
        limiter = fresh_limiter()
        outcome = collect.collect_page(channel, limiter=limiter)
        assert outcome.outcome == "deferred" and not PageDay.objects.filter(channel=channel).exists()
        assert limiter.wait_time(collect.reserve_claims(collect.connector_class(channel), channel)) == 0  # untouched
        due.due_at = timezone.now() + timedelta(hours=2)  # later than the quiet time: the round goes ahead
        due.save(update_fields=["due_at"])
        assert collect.collect_page(channel, limiter=limiter).outcome == "done"


def test_a_round_never_takes_the_units_a_publication_needs(net: Net) -> None:
    """With the page's budget nearly spent, the round gives up (taking nothing) rather than leave a publication
    waiting; with room for both it goes ahead."""
    with emulated("vk") as page:
        channel = connect(net, page)
        publish(channel, "Новые книги")
        cls = collect.connector_class(channel)
        needed = cls.stats_claims(channel.external_id, channel.credentials, 1)
        reserve = collect.reserve_claims(cls, channel)
        limiter = fresh_limiter()
        budget = limiter.items[needed[0].budget].amount  # vk.user: 3 a second
        spent = budget - needed[0].cost  # the round would fit, but no publication beside it
        limiter.try_acquire([Claim(needed[0].budget, needed[0].identity, spent)])
        outcome = collect.collect_page(channel, limiter=limiter)
        assert outcome.outcome == "deferred" and outcome.reason.startswith("rate budget")
        assert not PageDay.objects.filter(channel=channel).exists()
        # the units a publication needs are still there for it, at once
        assert limiter.wait_time(reserve) == 0 and limiter.try_acquire(reserve)
        assert collect.collect_page(channel, limiter=fresh_limiter()).outcome == "done"


# --- backfill ------------------------------------------------------------------------------------------------------
def test_vk_backfill_rebuilds_past_days_from_joins_and_leaves(net: Net) -> None:
    with emulated("vk") as page:
        channel = connect(net, page)
        group = page.seeded["group_id"]
        now = int(timezone.now().timestamp())
        for n, days_ago in enumerate((5, 5, 3, 1)):
            page.simulate("new_member", group_id=group, user_id=8000 + n, at=now - days_ago * 86400)
        page.simulate("leave", group_id=group, user_id=8000, at=now - 2 * 86400)
        today = timezone.localtime(timezone.now(), channel.unit.tz).date()
        written = collect.backfill(net.users["admin"], channel, today - timedelta(days=7), today - timedelta(days=1))
    rows = dict(PageDay.objects.filter(channel=channel, source=Source.BACKFILL).values_list("day", "audience"))
    assert written == len(rows) == 7
    now_audience = AUDIENCE["vk"] + 3
    # VK counts days in Moscow time; the unit is two hours ahead, so compare the totals around the changes
    assert rows[today - timedelta(days=1)] in (now_audience, now_audience - 1)
    assert rows[today - timedelta(days=7)] == now_audience - 3  # before all four joins and the leave
    # between: never below the count before the joins, never above the count after the four joins
    assert all(value is not None and now_audience - 3 <= value <= now_audience + 1 for value in rows.values())


def test_backfill_is_refused_where_the_network_keeps_no_history(net: Net) -> None:
    with emulated("telegram") as page:
        channel = connect(net, page)
        today = timezone.localdate()
        with pytest.raises(ValidationError):
            collect.backfill(net.users["admin"], channel, today - timedelta(days=3), today)
        with pytest.raises(collect.PermissionDenied):
            collect.backfill(net.users["viewer"], channel, today - timedelta(days=3), today)


# --- the nightly schedule ------------------------------------------------------------------------------------------
@override_settings(FILIAL_STATS_NIGHT_START=1, FILIAL_STATS_NIGHT_END=5)
def test_pages_are_queued_once_their_night_slot_has_come(net: Net) -> None:
    from filial.stats import schedule

    channel = net.channels["children_ok"]
    tz = channel.unit.tz
    slot = schedule.slot(channel.pk)
    assert 1 <= slot.hour < 5
    day = timezone.localdate() - timedelta(days=1)
    from datetime import datetime

    before = datetime.combine(day, slot, tz) - timedelta(minutes=1)
    after = datetime.combine(day, slot, tz) + timedelta(minutes=1)
    assert channel.pk not in schedule.pages_due(before)
    assert channel.pk in schedule.pages_due(after)
    assert channel.pk not in schedule.pages_due(datetime.combine(day, slot, tz).replace(hour=6))  # the night is over
    PageDay.objects.create(channel=channel, day=day, audience=5, measured_at=after, source=Source.JOB)
    assert channel.pk not in schedule.pages_due(after)  # done tonight
    PageDay.objects.filter(channel=channel).update(audience=None, error="timeout",
                                                   measured_at=after - timedelta(hours=2))
    assert channel.pk in schedule.pages_due(after)  # an old failure is tried again in the night


def test_a_tick_collects_its_pages_one_after_another_and_puts_off_the_busy_ones(net: Net) -> None:
    from filial.stats.tasks import collect_pages

    with emulated("telegram") as free_page, emulated("max") as busy_page:
        free, busy = connect(net, free_page), connect(net, busy_page)
        post = Post.objects.create(unit=busy.unit, kind="note", text="Скоро", state=Post.State.SCHEDULED,
                                   publish_at=timezone.now() + timedelta(minutes=1))
        Delivery.objects.create(post=post, channel=busy, due_at=timezone.now() + timedelta(minutes=1))
        counts = collect_pages([free.pk, busy.pk, 10**9])
    assert counts == {"done": 1, "failed": 0, "deferred": 1, "gone": 1, "left": 0}
    assert list(PageDay.objects.values_list("channel_id", flat=True)) == [free.pk]
    assert collect_pages([free.pk], seconds=-1)["left"] == 1  # out of time: left for the next tick


def test_the_job_waits_while_the_outbox_has_work_due_anywhere(net: Net) -> None:
    assert not collect.outbox_busy()
    channel = net.channels["children_tg"]
    now = timezone.now()
    post = Post.objects.create(unit=channel.unit, kind="note", text="Пора", state=Post.State.SCHEDULED, publish_at=now)
    due = Delivery.objects.create(post=post, channel=channel, due_at=now - timedelta(seconds=1))
    assert collect.outbox_busy()
    assert collect.wait_for_outbox(0.3, pause=0.05) >= 0.3  # bounded: a stuck row cannot stop the job for good
    Delivery.objects.filter(pk=due.pk).update(next_attempt_at=now + timedelta(minutes=5))  # a retry later
    assert not collect.outbox_busy()
    Delivery.objects.filter(pk=due.pk).update(next_attempt_at=None)
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.NEEDS_REAUTH)  # a paused page sends nothing
    assert not collect.outbox_busy()
    Delivery.objects.filter(pk=due.pk).update(state=Delivery.State.SENDING)  # being sent: busy too
    assert collect.outbox_busy()
    assert collect.wait_for_outbox(0.0) < 0.5

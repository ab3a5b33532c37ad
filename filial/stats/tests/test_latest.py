"""Each publication's latest figures (``PublicationLatest``) agree with a recomputation from its daily measurements
after every writer: a collection round, a re-collection the same day, an earlier day collected after a later one,
a backfill, the demo's seeding (and again), and the full refresh the migration does."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from filial.channels.tests.emulated import emulated
from filial.conftest import Net
from filial.publishing.models import Delivery
from filial.stats import collect
from filial.stats.latest import refresh_all
from filial.stats.models import PublicationDay, PublicationLatest
from filial.stats.seed import PageHistory, seed_history
from filial.stats.tests.test_collect import activity, connect, fresh_limiter, publish
from filial.stats.tests.test_seed import delivery as seeded_delivery

FIELDS = ("channel_id", "published_at", "day", "views", "likes", "reposts", "comments", "reach", "measured_at")


def recomputed() -> dict[int, tuple[Any, ...]]:
    """The last measurement of each published delivery, found the slow way."""
    out: dict[int, tuple[Any, ...]] = {}
    rows = PublicationDay.objects.filter(delivery__state=Delivery.State.PUBLISHED).select_related("delivery")
    for row in rows.order_by("delivery_id", "day"):
        d = row.delivery
        out[row.delivery_id] = (d.channel_id, d.published_at, row.day, row.views, row.likes, row.reposts,
                                row.comments, row.reach, row.measured_at)
    return out


def kept() -> dict[int, tuple[Any, ...]]:
    return {r[0]: tuple(r[1:]) for r in PublicationLatest.objects.values_list("delivery_id", *FIELDS)}


def test_collection_recollection_an_earlier_day_and_backfill_keep_the_latest_rows(net: Net) -> None:
    with emulated("vk") as page:
        channel = connect(net, page)
        first, second = publish(channel, "Новые книги"), publish(channel, "Вечер поэзии", days_ago=3)
        collect.collect_page(channel, limiter=fresh_limiter())
        assert kept() == recomputed() and set(kept()) == {first.pk, second.pk}
        assert kept()[first.pk][3] == 0  # no views yet
        activity(page, first)
        collect.collect_page(channel, limiter=fresh_limiter())  # the same day again: the row is replaced
        assert kept() == recomputed() and kept()[first.pk][3] == 40
        tomorrow = timezone.now() + timedelta(days=1)
        collect.collect_page(channel, now=tomorrow, limiter=fresh_limiter())
        today = collect.local_day(channel, timezone.now())
        assert kept() == recomputed() and kept()[first.pk][2] == today + timedelta(days=1)
        activity(page, first)
        collect.collect_page(channel, limiter=fresh_limiter())  # today written after tomorrow: tomorrow stays
        assert kept() == recomputed() and kept()[first.pk][2] == today + timedelta(days=1)
        assert kept()[first.pk][3] == 40
        before = kept()
        collect.backfill(net.users["admin"], channel, today - timedelta(days=7), today - timedelta(days=1))
    assert kept() == recomputed() == before


def test_seeding_and_reseeding_keep_the_latest_rows(net: Net) -> None:
    now = timezone.now()
    ok, tg = net.channels["branch4_ok"], net.channels["children_tg"]
    first = seeded_delivery(net, "branch4_ok", 3, now)
    quiet = seeded_delivery(net, "children_tg", 10, now)
    pages = [PageHistory(ok, date(2014, 11, 20), 380), PageHistory(tg, date(2023, 3, 6), 90)]
    seed_history(pages, now=now, seed=7)
    assert kept() == recomputed() and set(kept()) == {first.pk, quiet.pk}
    assert kept()[quiet.pk][3] is None  # Telegram gives no views: unknown, not 0
    seed_history(pages, now=now + timedelta(days=2), seed=7)
    assert kept() == recomputed()
    assert kept()[first.pk][2] == timezone.localtime(now + timedelta(days=2), ok.unit.tz).date()


def test_the_full_refresh_rebuilds_the_same_rows(net: Net) -> None:
    now = timezone.now()
    seeded_delivery(net, "branch4_ok", 5, now)
    seed_history([PageHistory(net.channels["branch4_ok"], date(2014, 11, 20), 380)], now=now, seed=3)
    before = kept()
    PublicationLatest.objects.all().delete()
    refresh_all()
    assert kept() == before == recomputed() and before


def test_a_measurement_entered_or_removed_by_hand_and_a_deleted_post_keep_the_rows(net: Net) -> None:
    now = timezone.now()
    first = seeded_delivery(net, "branch4_ok", 5, now)
    seed_history([PageHistory(net.channels["branch4_ok"], date(2014, 11, 20), 380)], now=now, seed=3)
    last_day = kept()[first.pk][2]
    PublicationDay.objects.create(delivery=first, channel=first.channel, day=last_day + timedelta(days=1), views=999,
                                  measured_at=now)  # entered by hand, a day later
    assert kept() == recomputed() and kept()[first.pk][3] == 999
    PublicationDay.objects.get(delivery=first, day=last_day + timedelta(days=1)).delete()
    assert kept() == recomputed() and kept()[first.pk][2] == last_day
    first.post.delete()  # the post goes, with its deliveries and their figures
    assert kept() == recomputed() == {}

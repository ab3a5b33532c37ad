"""stats.seed writes history as the job would: the known figures on their days, growth to today, reproducible
publication figures, None for what the network does not give."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from filial.conftest import Net
from filial.publishing.models import Delivery, Post
from filial.stats.models import PageDay, PublicationDay, Source
from filial.stats.seed import PageHistory, seed_history


def delivery(net: Net, key: str, days_ago: int, now: datetime) -> Delivery:
    channel = net.channels[key]
    at = now - timedelta(days=days_ago)
    post = Post.objects.create(unit=channel.unit, kind="note", text="Было", state=Post.State.PUBLISHED, publish_at=at)
    return Delivery.objects.create(post=post, channel=channel, state=Delivery.State.PUBLISHED, due_at=at,
                                   published_at=at, external_id=f"x{post.pk}")


def test_history_keeps_the_anchors_and_grows_to_today(net: Net) -> None:
    now = timezone.now()
    ok, tg = net.channels["branch4_ok"], net.channels["children_tg"]
    anchors = [(date(2014, 11, 30), 19), (date(2014, 12, 31), 44)]
    first = delivery(net, "branch4_ok", 3, now)
    quiet = delivery(net, "children_tg", 10, now)
    pages, publications = seed_history([PageHistory(ok, date(2014, 11, 20), 380, anchors),
                                        PageHistory(tg, date(2023, 3, 6), 90)], now=now, seed=7)
    assert pages == PageDay.objects.count() and publications == PublicationDay.objects.count()
    rows = {day: int(audience or 0) for day, audience in
            PageDay.objects.filter(channel=ok, audience__isnull=False).values_list("day", "audience")}
    assert rows[date(2014, 12, 31)] == 44 and rows[date(2014, 11, 30)] == 19
    assert rows[date(2014, 11, 20)] == 0
    today = timezone.localtime(now, ok.unit.tz).date()
    assert rows[today] == 380 and list(dict(sorted(rows.items())).values()) == sorted(rows.values())
    assert all(row.source == Source.SEED and row.measured_at <= now for row in PageDay.objects.all())
    assert all((today - timedelta(days=n)) in rows for n in range(300))  # daily over the last year
    figures = list(PublicationDay.objects.filter(delivery=first).order_by("day").values_list("views", "reach"))
    views = [int(v) for v, _reach in figures if v is not None]
    assert len(figures) == len(views) == 4 and views[-1] >= views[0] > 0
    assert all(reach is None for _views, reach in figures)  # OK does not give the reach
    assert not PublicationDay.objects.filter(delivery=quiet, views__isnull=False).exists()  # Telegram: unknown
    assert PublicationDay.objects.filter(delivery=quiet).count() == 11
    before = list(PublicationDay.objects.order_by("delivery_id", "day").values_list("views", "likes", "reposts"))
    seed_history([PageHistory(ok, date(2014, 11, 20), 380, anchors), PageHistory(tg, date(2023, 3, 6), 90)],
                 now=now, seed=7)
    after = list(PublicationDay.objects.order_by("delivery_id", "day").values_list("views", "likes", "reposts"))
    assert before == after and PageDay.objects.count() == pages  # the same figures again, no new rows

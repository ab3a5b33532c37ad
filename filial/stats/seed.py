"""History written as the daily job would have written it (source ``seed``): the demo's past, measured days.

For a page: one ``PageDay`` a day (a week apart in the long quiet years in between, to keep the demo's build fast)
from the day it started to today, through the known figures (``anchors``, kept exactly on their days) and growing to
today's audience. For a publication: one ``PublicationDay`` a day from its publication for ``FILIAL_STATS_DAYS`` days,
the figures growing the way a post's do (most in the first days), reproducible from a fixed seed; a figure the
page's network does not give stays None, as the job would leave it.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from filial.channels.models import Channel
from filial.core.timeutils import local_to_aware
from filial.publishing.models import Delivery
from filial.stats.collect import FIGURES, connector_class, stats_days
from filial.stats.latest import refresh_latest
from filial.stats.models import PageDay, PublicationDay, Source

MEASURED_AT = time(3, 0)  # the night job's hour, in the unit's zone
DAILY_RECENT_DAYS = 400  # daily rows over the last year and a bit; weekly before that (outside the anchors' year)


@dataclass(frozen=True)
class PageHistory:
    channel: Channel
    started_on: date
    audience_now: int
    anchors: Sequence[tuple[date, int]] = ()  # figures known on their days (kept exactly)


def _measured(channel: Channel, day: date, now: datetime) -> datetime:
    at = local_to_aware(datetime.combine(day, MEASURED_AT), channel.unit.tz)  # 03:00: never a DST edge in Russia
    return min(at, now)


def audience_curve(history: PageHistory, today: date) -> list[tuple[date, int]]:
    """(day, audience) for the days a row is written: through the anchors, then to today's audience."""
    points = [(history.started_on, 0), *sorted(history.anchors), (today, history.audience_now)]
    anchor_years = {day.year for day, _value in history.anchors}
    out: list[tuple[date, int]] = []
    for (day0, value0), (day1, value1) in itertools.pairwise(points):
        span = (day1 - day0).days
        if span <= 0:
            continue
        concave = span > 120  # a long stretch grows fast first, then slower
        for step in range(span):
            day = day0 + timedelta(days=step)
            daily = (day.year in anchor_years or (today - day).days <= DAILY_RECENT_DAYS
                     or (day - history.started_on).days < 60)
            if not daily and day.weekday() != 6 and (day + timedelta(days=1)).day != 1:
                continue  # weekly (Sundays) and each month's last day
            share = step / span
            if concave:
                share = share ** 0.7
            out.append((day, round(value0 + (value1 - value0) * share)))
    out.append((today, history.audience_now))
    return out


def page_rows(history: PageHistory, today: date, now: datetime) -> list[PageDay]:
    channel = history.channel
    return [PageDay(channel_id=channel.pk, day=day, audience=value, measured_at=_measured(channel, day, now),
                    source=Source.SEED, error="")
            for day, value in audience_curve(history, today) if day >= history.started_on]


def publication_rows(deliveries: Iterable[Delivery], audiences: dict[int, list[tuple[date, int]]], now: datetime,
                     seed: int = 2014) -> list[PublicationDay]:
    """Daily figures of each published delivery for ``FILIAL_STATS_DAYS`` days after its publication. ``audiences``:
    each page's curve (the figures scale with the page's audience on the day)."""
    rows: list[PublicationDay] = []
    days = stats_days()
    unknown_of: dict[str, set[str]] = {}
    for delivery in deliveries:
        channel = delivery.channel
        if delivery.published_at is None:
            continue
        if channel.network not in unknown_of:
            unknown_of[channel.network] = set(connector_class(channel).stats_unknown)
        unknown = unknown_of[channel.network]
        zone = channel.unit.tz
        first = timezone.localtime(delivery.published_at, zone).date()
        today = timezone.localtime(now, zone).date()
        audience = _audience_on(audiences.get(channel.pk, []), first) or 50
        rng = random.Random(f"{seed}:{channel.network}:{channel.external_id}:{delivery.published_at.isoformat()}")
        total_views = max(5, round(audience * rng.uniform(0.25, 0.7)))
        rates = {"likes": rng.uniform(0.03, 0.09), "reposts": rng.uniform(0.004, 0.02),
                 "comments": rng.uniform(0.003, 0.015), "reach": rng.uniform(0.7, 0.9)}
        speed = rng.uniform(0.4, 0.9)
        for offset in range(days):
            day = first + timedelta(days=offset)
            if day > today:
                break
            views = round(total_views * (1 - math.exp(-speed * (offset + 1))))
            values: dict[str, int | None] = {"views": views}
            for name, rate in rates.items():
                values[name] = math.floor(views * rate)
            rows.append(PublicationDay(
                delivery_id=delivery.pk, channel_id=channel.pk, day=day,
                measured_at=max(_measured(channel, day, now), delivery.published_at) if day < today else now,
                source=Source.SEED, error="",
                **{name: None if name in unknown else values[name] for name in FIGURES}))
    return rows


def _audience_on(curve: list[tuple[date, int]], day: date) -> int | None:
    found = None
    for when, value in curve:
        if when > day:
            break
        found = value
    return found


def seed_history(pages: Sequence[PageHistory], *, now: datetime | None = None, seed: int = 2014) -> tuple[int, int]:
    """Write the pages' history and their published deliveries' figures (replacing earlier seed rows of those
    days). Returns (page days, publication days) written."""
    now = now or timezone.now()
    page_days: list[PageDay] = []
    curves: dict[int, list[tuple[date, int]]] = {}
    for history in pages:
        today = timezone.localtime(now, history.channel.unit.tz).date()
        rows = page_rows(history, today, now)
        curves[history.channel.pk] = [(row.day, int(row.audience or 0)) for row in rows]
        page_days.extend(rows)
    deliveries = (Delivery.objects.filter(channel_id__in=list(curves), state=Delivery.State.PUBLISHED,
                                          published_at__isnull=False, published_at__lte=now)
                  .select_related("channel__unit__system").order_by("pk"))
    publication_days = publication_rows(deliveries, curves, now, seed)
    with transaction.atomic():
        PageDay.objects.bulk_create(page_days, batch_size=2000, update_conflicts=True,
                                    unique_fields=["channel", "day"],
                                    update_fields=["audience", "measured_at", "source", "error"])
        PublicationDay.objects.bulk_create(publication_days, batch_size=2000, update_conflicts=True,
                                           unique_fields=["delivery", "day"],
                                           update_fields=[*FIGURES, "measured_at", "source", "error"])
        refresh_latest(row.delivery_id for row in publication_days)
    return len(page_days), len(publication_days)

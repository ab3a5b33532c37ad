"""Reads of the stored snapshots for the API (``stats/api.py``): a page's days and its publications' days, a post's
days on each of its pages, scoped to what the user may see, with the figures the network does not give and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.channels.models import Channel
from filial.channels.selectors import channel_get
from filial.networks.statistics import unknown_figures
from filial.publishing.models import Delivery, Post
from filial.publishing.selectors import posts_visible
from filial.stats.models import PageDay, PublicationDay

DEFAULT_DAYS = 30  # a period not given: the last 30 days
MAX_DAYS = 366  # the longest period one request reads


@dataclass
class PageStats:
    channel: Channel
    start: date
    end: date
    unknown: dict[str, str]
    days: list[PageDay] = field(default_factory=list)
    publications: list[PublicationDay] = field(default_factory=list)


@dataclass
class DeliveryStats:
    delivery: Delivery
    unknown: dict[str, str]
    days: list[PublicationDay] = field(default_factory=list)


def period(channel_or_none: Channel | None, start: date | None, end: date | None) -> tuple[date, date]:
    """The period asked for, or the last 30 days to today (the page's day); at most a year."""
    tz = channel_or_none.unit.tz if channel_or_none is not None else timezone.get_current_timezone()
    end = end or timezone.localtime(timezone.now(), tz).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ValidationError({"from": _("The period ends before it starts: give the first day, then the last.")})
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError({"to": _("Ask for at most %(days)d days at a time.") % {"days": MAX_DAYS}})
    return start, end


def page_stats(user: Any, channel_id: int, start: date | None, end: date | None) -> PageStats | None:
    """The page's days and its publications' days from ``start`` to ``end``; None when the user may not see it."""
    channel = channel_get(user, channel_id)
    if channel is None:
        return None
    start, end = period(channel, start, end)
    result = PageStats(channel=channel, start=start, end=end, unknown=unknown_figures(channel.network))
    result.days = list(PageDay.objects.filter(channel=channel, day__gte=start, day__lte=end).order_by("day"))
    result.publications = list(
        PublicationDay.objects.filter(channel=channel, day__gte=start, day__lte=end)
        .select_related("delivery").order_by("day", "delivery_id"))
    return result


def post_stats(user: Any, post_id: int, start: date | None, end: date | None
               ) -> tuple[Post, list[DeliveryStats]] | None:
    """Each page the post went to, with its days (all of them, or those of the period); None when not visible."""
    post = posts_visible(user).filter(pk=post_id).first()
    if post is None:
        return None
    if start is not None or end is not None:
        start, end = period(None, start, end)
    deliveries = list(Delivery.objects.filter(post=post).select_related("channel").order_by("pk"))
    rows = PublicationDay.objects.filter(delivery__in=deliveries).order_by("delivery_id", "day")
    if start is not None and end is not None:
        rows = rows.filter(day__gte=start, day__lte=end)
    by_delivery: dict[int, list[PublicationDay]] = {}
    for row in rows:
        by_delivery.setdefault(row.delivery_id, []).append(row)
    unknown: dict[str, dict[str, str]] = {}
    result = []
    for delivery in deliveries:
        network = delivery.channel.network
        if network not in unknown:
            unknown[network] = unknown_figures(network)
        result.append(DeliveryStats(delivery=delivery, unknown=unknown[network],
                                    days=by_delivery.get(delivery.pk, [])))
    return post, result

"""Rows for the dashboards' tests: published posts and the daily figures, written directly."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone

from filial.channels.models import Channel
from filial.publishing.models import Delivery, Post
from filial.stats.models import PageDay, PublicationDay, Source


def page_day(channel: Channel, day: date, audience: int | None, *, error: str = "") -> PageDay:
    measured = datetime(day.year, day.month, day.day, 6, 0, tzinfo=channel.unit.tz)
    return PageDay.objects.create(channel=channel, day=day, audience=audience, measured_at=measured,
                                  source=Source.JOB, error=error)


def publication(channel: Channel, published_at: datetime, *, kind: str = Post.Kind.NOTE, text: str = "Пост",
                figures: dict[str, Any] | None = None, measured_on: date | None = None) -> Delivery:
    post = Post.objects.create(unit=channel.unit, kind=kind, text=text, state=Post.State.PUBLISHED,
                               publish_at=published_at)
    delivery = Delivery.objects.create(post=post, channel=channel, state=Delivery.State.PUBLISHED,
                                       due_at=published_at, published_at=published_at,
                                       url=f"https://example.org/{channel.pk}/{post.pk}")
    if figures is not None:
        day = measured_on or timezone.localdate(published_at, channel.unit.tz)
        measure(delivery, day, **figures)
    return delivery


def measure(delivery: Delivery, day: date, **figures: Any) -> PublicationDay:
    measured = datetime(day.year, day.month, day.day, 7, 0, tzinfo=delivery.channel.unit.tz)
    return PublicationDay.objects.create(delivery=delivery, channel=delivery.channel, day=day,
                                         measured_at=measured, **figures)

"""When each page's daily statistics are taken: a slot in the night of its unit's zone, spread by the page's id."""

from __future__ import annotations

import zlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from filial.channels.models import Channel
from filial.stats.models import PageDay, Source


def night() -> tuple[int, int]:
    start = int(settings.FILIAL_STATS_NIGHT_START) % 24
    end = int(settings.FILIAL_STATS_NIGHT_END) % 24
    return start, end if end > start else start + 1


def slot(channel_id: int) -> time:
    """The page's local time of day for its statistics: the same every night, spread over the night's minutes."""
    start, end = night()
    minutes = (end - start) * 60
    offset = zlib.crc32(f"stats-slot:{channel_id}".encode()) % max(1, minutes)
    return time(start + offset // 60, offset % 60)


def due_now(channel_id: int, local: datetime) -> bool:
    """True when the page's slot of this local night has passed and the night is not over."""
    _start, end = night()
    return slot(channel_id) <= local.time() and local.hour < end


def pages_due(now: datetime | None = None) -> list[int]:
    """Active pages whose slot has come tonight and whose day has no figure yet (no row, or a failure's gap)."""
    now = now or timezone.now()
    candidates: list[tuple[int, date]] = []
    zones: dict[str, ZoneInfo] = {}
    rows = (Channel.objects.filter(status=Channel.Status.ACTIVE).order_by("pk")
            .values_list("pk", "unit__timezone", "unit__system__timezone"))
    for pk, unit_zone, system_zone in rows.iterator(chunk_size=1000):
        name = unit_zone or system_zone
        zone = zones.setdefault(name, ZoneInfo(name))
        local = timezone.localtime(now, zone)
        if due_now(pk, local):
            candidates.append((pk, local.date()))
    if not candidates:
        return []
    days = {day for _pk, day in candidates}
    done = set(PageDay.objects.filter(day__in=days, channel_id__in=[pk for pk, _day in candidates],
                                      source=Source.JOB)
               .filter(Q(error="") | Q(measured_at__gte=now - timedelta(hours=1)))
               .values_list("channel_id", "day"))
    return [pk for pk, day in candidates if (pk, day) not in done]

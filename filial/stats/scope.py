"""What a statistics dashboard covers: its period (a preset or a custom from–to, bounded, cut into chart buckets)
and its scope (the network, a unit's subtree or one page, among the units a person may read), parsed from a
request's query."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from filial.accounts.selectors import Access, system_timezone
from filial.channels.models import Channel
from filial.core.params import BadParameter, optional_day, optional_id
from filial.libraries.models import Unit
from filial.networks import registry

PRESETS = (7, 30, 90, 365)
DEFAULT_DAYS = 30
MAX_DAYS = 5 * 366  # a custom period: at most five years


# --- the period -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bucket:
    n: int
    lo: date
    hi: date

    @property
    def label(self) -> str:
        return f"{self.lo:%d.%m.%Y}" if self.lo == self.hi else f"{self.lo:%d.%m}–{self.hi:%d.%m.%Y}"

    def short(self, grain: str) -> str:
        """The chart's axis label: a day, a week's last day, a month."""
        if grain == "month":
            return f"{self.lo:%m.%Y}"
        return f"{self.hi:%d.%m}"


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    preset: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def grain(self) -> str:
        """The audience chart's step: a day up to a month, a week up to half a year, then a month."""
        if self.days <= 31:
            return "day"
        if self.days <= 184:
            return "week"
        return "month"

    def buckets(self) -> list[Bucket]:
        out: list[Bucket] = []
        if self.grain == "day":
            return [Bucket(i, self.start + timedelta(i), self.start + timedelta(i)) for i in range(self.days)]
        if self.grain == "week":  # weeks ending on the period's last day
            hi = self.end
            while hi >= self.start:
                out.append(Bucket(0, max(self.start, hi - timedelta(6)), hi))
                hi -= timedelta(7)
            out.reverse()
        else:  # calendar months
            lo = self.start
            while lo <= self.end:
                following = (lo.replace(day=1) + timedelta(32)).replace(day=1)
                out.append(Bucket(0, lo, min(self.end, following - timedelta(1))))
                lo = following
        return [Bucket(i, b.lo, b.hi) for i, b in enumerate(out)]

    def bounds(self, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
        """[start 00:00, the day after the end 00:00) in ``tz`` (aware)."""
        return (datetime.combine(self.start, time(), tzinfo=tz),
                datetime.combine(self.end + timedelta(1), time(), tzinfo=tz))

    def query(self) -> dict[str, str]:
        if self.preset:
            return {"days": str(self.preset)}
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def period_from(params: Mapping[str, Any], today: date) -> Period:
    """``?days=7|30|90|365`` or ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` (bounded; at most five years); default the last
    30 days up to ``today``. A bad value is a :class:`BadParameter` (a 400 naming it)."""
    start = optional_day(params.get("from"), "from")
    end = optional_day(params.get("to"), "to")
    if start or end:
        end = end or today
        start = start or end - timedelta(DEFAULT_DAYS - 1)
        if start > end:
            raise BadParameter("from", _("The period's first day must not be after its last day."))
        if (end - start).days + 1 > MAX_DAYS:
            raise BadParameter("from", _("Choose a period of at most five years."))
        return Period(start, end)
    raw = str(params.get("days") or DEFAULT_DAYS).strip()
    if raw not in {str(p) for p in PRESETS}:
        raise BadParameter("days", _("Choose 7, 30, 90 or 365 days, or give the first and the last day."))
    days = int(raw)
    return Period(today - timedelta(days - 1), today, days)


# --- the scope --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """What a dashboard covers: the pages of the units a person may read, narrowed to a network, a unit (with its
    sub-units) or one page."""

    access: Access
    network: str = ""
    unit: Unit | None = None
    channel: Channel | None = None

    def channels(self) -> QuerySet[Channel]:
        qs = Channel.objects.filter(unit_id__in=self.access.read_units)
        if self.channel is not None:
            return qs.filter(pk=self.channel.pk)
        if self.network:
            qs = qs.filter(network=self.network)
        if self.unit is not None:
            qs = qs.filter(unit__system_id=self.unit.system_id, unit__path__startswith=self.unit.path)
        return qs

    def tz(self) -> zoneinfo.ZoneInfo:
        if self.channel is not None:
            return self.channel.unit.tz
        if self.unit is not None:
            return self.unit.tz
        return system_timezone(self.access)

    def query(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.network:
            out["network"] = self.network
        if self.unit is not None:
            out["unit"] = str(self.unit.pk)
        return out


def scope_from(access: Access, params: Mapping[str, Any], channel_id: int | None = None) -> Scope:
    """The scope a request asks for; a unit or page the person may not read is a 404 (as if it did not exist)."""
    if channel_id is not None:
        channel = Channel.objects.select_related("unit", "unit__system").filter(
            pk=channel_id, unit_id__in=access.read_units).first()
        if channel is None:
            raise Http404
        return Scope(access, channel=channel)
    network = str(params.get("network") or "").strip()
    if network and network not in registry.names():
        raise BadParameter("network", _("Choose one of the networks in the list."))
    unit_id = optional_id(params.get("unit"), "unit")
    unit = None
    if unit_id is not None:
        if unit_id not in access.read_units:
            raise Http404
        unit = Unit.objects.select_related("system").get(pk=unit_id)
    return Scope(access, network=network, unit=unit)


def units_for_filter(access: Access) -> list[Unit]:
    return list(Unit.objects.filter(id__in=access.read_units).order_by("system_id", "path"))


def networks_for_filter() -> list[tuple[str, str]]:
    return [(s.name, s.label) for s in registry.specs()]

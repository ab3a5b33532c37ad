"""The report's figures: pure computation from stored data for a scope (a unit's subtree or the whole network)
and a period, as plain JSON-able values.

Everything comes from rows that are kept (published deliveries, ``stats.PageDay`` snapshots, poll tallies, inbox
items, reminders, renewals, paid orders), so computing again for the same period gives the same numbers. A figure
the data does not give is ``None`` (unknown), never 0. Days are the unit's local days (``Unit.tz``); the period is
``start``…``end`` inclusive.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncMonth

from filial.channels.models import Channel
from filial.circulation.models import Renewal
from filial.core.timeutils import local_to_aware
from filial.inbox import workhours
from filial.inbox.models import Conversation, InboxItem, OpeningHours, PollTally
from filial.inbox.pipeline import inbox_settings
from filial.libraries.models import LibrarySystem, Unit
from filial.networks import registry
from filial.paid.selectors import customer_summary, source_summary
from filial.publishing.models import Delivery, Post
from filial.readers.models import Reminder
from filial.stats.models import PageDay

VERSION = 1
REMINDER_SENT = ("sent",)  # the reminder's message went out (``Reminder.state`` mirrors the message's)


@dataclass(frozen=True)
class Scope:
    system: LibrarySystem
    unit: Unit | None  # None: the whole network
    start: date
    end: date

    @property
    def tz(self) -> ZoneInfo:
        return self.unit.tz if self.unit is not None else ZoneInfo(self.system.timezone)

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as aware datetimes: from the start day's midnight to the midnight after the end day."""
        first = local_to_aware(datetime.combine(self.start, time.min), self.tz)
        after = local_to_aware(datetime.combine(self.end + timedelta(days=1), time.min), self.tz)
        return first, after


def scope_units(system: LibrarySystem, unit: Unit | None) -> list[Unit]:
    """The units a report covers: ``unit`` and its sub-units, or every unit of the system."""
    units = Unit.objects.filter(system=system)
    if unit is not None:
        units = units.filter(path__startswith=unit.path)
    return list(units.order_by("path"))


def compute(system: LibrarySystem, unit: Unit | None, start: date, end: date) -> dict[str, Any]:
    """Every figure of the report for ``unit``'s subtree (or the whole ``system``) and ``start``…``end``."""
    scope = Scope(system, unit, start, end)
    units = scope_units(system, unit)
    unit_ids = [u.pk for u in units]
    pages = _pages(scope, unit_ids)
    inbox = _inbox(scope, unit_ids)
    return {
        "version": VERSION,
        "system": {"id": system.pk, "name": system.name, "short_name": system.short_name},
        "scope": {"id": unit.pk if unit else None, "name": unit.name if unit else system.name,
                  "units": [{"id": u.pk, "name": u.name} for u in units]},
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "pages": pages,
        "totals": _totals(pages),
        "inbox": inbox,
        "debtors": _debtors(scope, unit_ids),
        "paid": _paid(scope, unit_ids),
        "remote": _remote(scope, unit_ids),
    }


# --- pages ----------------------------------------------------------------------------------------------


def _pages(scope: Scope, unit_ids: list[int]) -> list[dict[str, Any]]:
    first, after = scope.bounds()
    published = Q(deliveries__state=Delivery.State.PUBLISHED, deliveries__published_at__gte=first,
                  deliveries__published_at__lt=after)
    channels = list(
        Channel.objects.filter(unit_id__in=unit_ids)
        .filter(Q(started_on__lte=scope.end) | Q(started_on__isnull=True))
        .annotate(published=Count("deliveries", filter=published))
        .select_related("unit")
        .order_by("unit__path", "started_on", "name")
    )
    audience = _audience(scope, [c.pk for c in channels])
    # A page without a start date is in the report only if it published or was measured in the period.
    channels = [c for c in channels if c.started_on is not None or c.published or audience.get(c.pk)]
    ids = [c.pk for c in channels]
    kinds: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = (Delivery.objects.filter(channel_id__in=ids, state=Delivery.State.PUBLISHED, published_at__gte=first,
                                    published_at__lt=after)
            .values("channel_id", "post__kind").annotate(n=Count("id")).order_by("channel_id", "-n", "post__kind"))
    for row in rows:
        kinds[row["channel_id"]].append({"kind": row["post__kind"], "count": row["n"]})
    polls = _polls(ids, first, after)
    events = _events(ids, first, after)
    result = []
    for c in channels:
        connector = registry.connector_class(c.network)
        series = audience.get(c.pk, [])
        in_period = [point for point in series if point[0] >= scope.start.isoformat()]
        end_value = in_period[-1] if in_period else None  # measured within the period, else unknown
        start_value = _start_audience(scope, c, series)
        result.append({
            "id": c.pk,
            "unit": {"id": c.unit_id, "name": c.unit.name},
            "network": c.network,
            "kind": c.kind,
            "name": c.name,
            "url": c.url,
            "since": c.started_on.isoformat() if c.started_on else None,
            "started_in_period": bool(c.started_on and c.started_on >= scope.start),
            "audience_noun": connector.audience_noun(c.kind),
            "post_noun": connector.post_noun(),
            "published": sum(k["count"] for k in kinds.get(c.pk, [])),
            "by_kind": kinds.get(c.pk, []),
            "audience_end": end_value[1] if end_value else None,
            "audience_end_day": end_value[0] if end_value else None,
            "audience_start": start_value,
            "growth": (end_value[1] - start_value) if end_value and start_value is not None else None,
            "audience_series": _monthly(series, scope.start),
            "polls": polls.get(c.pk, []),
            "events": events.get(c.pk, []),
        })
    return result


def _audience(scope: Scope, ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Known audiences (``PageDay``, unknown days left out): the day before the period, and the last measured day
    of each month of the period — what the report uses (growth, the audience at the end, the chart's points).
    The last days are found in the database, so a year of daily rows per page is not read."""
    known = PageDay.objects.filter(channel_id__in=ids, audience__isnull=False)
    lasts = (known.filter(day__gte=scope.start, day__lte=scope.end).annotate(month=TruncMonth("day"))
             .values("channel_id", "month").annotate(last=Max("day")).values_list("channel_id", "last"))
    wanted = {(channel_id, day) for channel_id, day in lasts}
    before = scope.start - timedelta(days=1)
    wanted |= set(known.filter(day=before).values_list("channel_id", "day"))
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    rows = (known.filter(day__in={day for _c, day in wanted}).order_by("channel_id", "day")
            .values_list("channel_id", "day", "audience"))
    for channel_id, day, value in rows.iterator(chunk_size=5000):
        if value is not None and (channel_id, day) in wanted:
            found[channel_id].append((day.isoformat(), value))
    return found


def _start_audience(scope: Scope, channel: Channel, series: list[tuple[str, int]]) -> int | None:
    """The audience before the period: the snapshot of the day before it; 0 for a page started in the period;
    otherwise unknown."""
    before = (scope.start - timedelta(days=1)).isoformat()
    if series and series[0][0] == before:
        return series[0][1]
    if channel.started_on is not None and channel.started_on >= scope.start:
        return 0
    return None


def _monthly(series: list[tuple[str, int]], start: date) -> list[list[Any]]:
    """The last known audience of each month of the period (the chart's points)."""
    months: dict[str, list[Any]] = {}
    first = start.isoformat()
    for day, value in series:
        if day >= first:
            months[day[:7]] = [day, value]
    return list(months.values())


def _polls(ids: list[int], first: datetime, after: datetime) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    deliveries = (Delivery.objects.filter(channel_id__in=ids, state=Delivery.State.PUBLISHED, published_at__gte=first,
                                          published_at__lt=after, post__poll__isnull=False)
                  .select_related("post__poll").prefetch_related("post__poll__answers")
                  .order_by("published_at", "id"))
    tallies = {t.delivery_id: t for t in PollTally.objects.filter(delivery__in=deliveries).prefetch_related("counts")}
    for d in deliveries:
        poll = d.post.poll
        tally = tallies.get(d.pk)
        votes = {c.position: c.votes for c in tally.counts.all()} if tally else {}
        found[d.channel_id].append({
            "question": poll.question,
            "published": d.published_at.date().isoformat() if d.published_at else None,
            "manual": bool(tally and tally.closed_by == PollTally.ClosedBy.MANUAL),
            "total_voters": tally.total_voters if tally else None,
            "answers": [{"text": a.text, "votes": votes.get(a.position) if tally else None}
                        for a in poll.answers.all()],
        })
    return found


def _events(ids: list[int], first: datetime, after: datetime) -> dict[int, list[dict[str, Any]]]:
    """Events the pages covered in the period (a published post about the event) and their photo reports."""
    found: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    rows = (Delivery.objects.filter(channel_id__in=ids, state=Delivery.State.PUBLISHED, published_at__gte=first,
                                    published_at__lt=after, post__event__isnull=False)
            .values_list("channel_id", "post__event_id", "post__event__title", "post__event__starts_at", "post__kind")
            .order_by("post__event__starts_at", "post__event_id"))
    for channel_id, event_id, title, starts_at, kind in rows:
        entry = found[channel_id].setdefault(event_id, {"title": title, "day": starts_at.date().isoformat(),
                                                        "posts": 0, "photo_reports": 0})
        entry["posts"] += 1
        if kind == Post.Kind.PHOTO_REPORT:
            entry["photo_reports"] += 1
    return {k: list(v.values()) for k, v in found.items()}


def _totals(pages: list[dict[str, Any]]) -> dict[str, Any]:
    known = [p["audience_end"] for p in pages if p["audience_end"] is not None]
    return {
        "pages": len(pages),
        "networks": sorted({p["network"] for p in pages}, key=registry.position),
        "published": sum(p["published"] for p in pages),
        "audience": sum(known) if known else None,
        "audience_unknown_pages": sum(1 for p in pages if p["audience_end"] is None),
        "polls": sum(len(p["polls"]) for p in pages),
        "events": sum(len(p["events"]) for p in pages),
        "photo_reports": sum(e["photo_reports"] for p in pages for e in p["events"]),
    }


# --- inbox ----------------------------------------------------------------------------------------------


def _inbox(scope: Scope, unit_ids: list[int]) -> dict[str, Any]:
    """Readers' items in the period; answered: a reply of ours followed in the same conversation; the answer
    time is to the first such reply; the deadline is the inbox's (working hours, the unit's opening hours)."""
    first, after = scope.bounds()
    items = list(
        InboxItem.objects.filter(conversation__unit_id__in=unit_ids, at__gte=first, echo=False)
        .filter(Q(direction=InboxItem.Direction.OUT) | Q(at__lt=after))
        .order_by("conversation_id", "at", "id")
        .values_list("conversation_id", "direction", "at", "conversation__unit_id", "author_id",
                     "conversation__channel__network")
    )
    settings = inbox_settings(scope.system.pk)
    schedules: dict[int, Any] = {}
    tzs = {u.pk: u.tz for u in Unit.objects.filter(pk__in=unit_ids).select_related("system", "parent")}
    received = answered = within = 0
    waits: list[float] = []
    pending: list[tuple[datetime, int]] = []
    current = None
    for conversation_id, direction, at, unit_id, _author, _network in items:
        if conversation_id != current:
            current, pending = conversation_id, []
        if direction == InboxItem.Direction.IN:
            received += 1
            pending.append((at, unit_id))
            continue
        for asked, unit in pending:
            answered += 1
            waits.append((at - asked).total_seconds() / 60)
            if unit not in schedules:
                schedules[unit] = workhours.schedule_from_rows(
                    OpeningHours.objects.filter(unit_id=unit).values_list("weekday", "opens", "closes"))
            due = workhours.add_working_hours(asked, settings.normal_hours, schedules[unit], tzs[unit])
            if at <= due:
                within += 1
        pending = []
    return {
        "items": received,
        "answered": answered,
        "median_minutes": round(statistics.median(waits)) if waits else None,
        "within_deadline": within,
        "within_deadline_share": round(100 * within / answered, 1) if answered else None,
        "deadline_hours": settings.normal_hours,
        "conversations": Conversation.objects.filter(unit_id__in=unit_ids, items__at__gte=first,
                                                     items__at__lt=after).distinct().count(),
    }


# --- debtors --------------------------------------------------------------------------------------------


def _debtors(scope: Scope, unit_ids: list[int]) -> dict[str, Any]:
    first, after = scope.bounds()
    reminders = Reminder.objects.filter(unit_id__in=unit_ids, date__gte=scope.start, date__lte=scope.end)
    sent = reminders.filter(state__in=REMINDER_SENT)
    renewals = Renewal.objects.filter(loan__unit_id__in=unit_ids, requested_at__gte=first, requested_at__lt=after)
    returned = (sent.filter(loans__returned__isnull=False, loans__returned__gte=scope.start,
                            loans__returned__lte=scope.end)
                .values_list("loans__id", "date", "loans__returned"))
    after_reminder = {loan for loan, reminded, back in returned if back is not None and back >= reminded}
    return {
        "reminders": sent.count(),
        "readers_reminded": sent.exclude(reader=None).values("reader").distinct().count(),
        "renewals": renewals.count(),
        "renewals_granted": renewals.filter(state=Renewal.State.GRANTED).count(),
        "renewals_by_readers": renewals.filter(source=Renewal.Channel.READER).count(),
        "returned_after_reminder": len(after_reminder),
    }


# --- paid services --------------------------------------------------------------------------------------


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _paid(scope: Scope, unit_ids: list[int]) -> dict[str, Any]:
    # The categories that had customers in the period (the summary lists every category, with zeros).
    categories = [r for r in customer_summary(unit_ids, scope.start, scope.end) if r.customers]
    sources = source_summary(unit_ids, scope.start, scope.end)
    return {
        "categories": [{"category": r.category, "code": r.code, "is_individual": r.is_individual,
                        "customers": r.customers, "orders": r.orders, "total": _money(r.total)} for r in categories],
        "sources": [{"channel_id": r.channel_id, "channel": r.channel, "network": r.network,
                     "customers": r.customers,
                     "orders": r.orders, "total": _money(r.total)} for r in sources],
        "customers": sum(r.customers for r in categories),
        "orders": sum(r.orders for r in categories),
        "total": _money(sum((r.total for r in categories), Decimal("0"))),
    }


# --- remote users (form 6-НК, section 4) ----------------------------------------------------------------

REMOTE_RULE = (
    "Удалённые пользователи (форма 6-НК, раздел 4) — люди, которых библиотека обслужила без посещения: "
    "ответила на сообщение или комментарий на своей странице в социальной сети, продлила книгу по сообщению "
    "читателя, отправила напоминание о сроке возврата. Каждый человек считается один раз за период (по его "
    "учётной записи в сети или по читательскому билету). Обращения удалённых пользователей — отвеченные "
    "сообщения и комментарии и просьбы о продлении, присланные через страницы. Подписчики, просмотры и отметки "
    "«нравится» обращениями не считаются: это не обслуживание, а посещения страниц в сети не являются "
    "посещениями сайта библиотеки."
)


def _remote(scope: Scope, unit_ids: list[int]) -> dict[str, Any]:
    first, after = scope.bounds()
    answered_people: set[tuple[str, str]] = set()
    answered_items = 0
    conversations = (Conversation.objects.filter(unit_id__in=unit_ids, items__at__gte=first, items__at__lt=after)
                     .distinct().values_list("id", flat=True))
    rows = (InboxItem.objects.filter(conversation_id__in=list(conversations), echo=False, at__gte=first)
            .order_by("conversation_id", "at", "id")
            .values_list("conversation_id", "direction", "at", "author_id", "channel__network"))
    pending: list[tuple[str, str]] = []
    current = None
    for conversation_id, direction, at, author, network in rows:
        if conversation_id != current:
            current, pending = conversation_id, []
        if direction == InboxItem.Direction.IN:
            if at < after:
                pending.append((network, author))
            continue
        answered_items += len(pending)
        answered_people.update(p for p in pending if p[1])
        pending = []
    readers: set[int] = set(
        Reminder.objects.filter(unit_id__in=unit_ids, date__gte=scope.start, date__lte=scope.end,
                                state__in=REMINDER_SENT).exclude(reader=None).values_list("reader_id", flat=True))
    renewals = Renewal.objects.filter(loan__unit_id__in=unit_ids, requested_at__gte=first, requested_at__lt=after,
                                      source=Renewal.Channel.READER)
    readers |= set(renewals.values_list("loan__reader_id", flat=True))
    return {
        "users": len(answered_people) + len(readers),
        "requests": answered_items + renewals.count(),
        "rule": REMOTE_RULE,
    }


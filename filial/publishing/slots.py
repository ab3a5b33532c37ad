"""Posting slots: a page's usual posting times (weekday + wall-clock time in its unit's zone), and the composer's
"next free slot" (the earliest slot in the future that no other live post takes on any of the chosen pages).

A slot lasts ``FILIAL_SLOT_MINUTES`` (60): it is taken on a page when a live delivery (not cancelled, not failed)
of another post is due on that page at or after the slot's time and before its end. Slot times on a DST night
follow the rule of recurring posts (``series.wall_time``: a skipped time moves forward by the jump).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel
from filial.publishing.models import Delivery, PostingSlot
from filial.publishing.series import wall_time

TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
MAX_SLOTS_PER_DAY = 24
SEARCH_WEEKS = 8


def slot_minutes() -> int:
    return int(settings.FILIAL_SLOT_MINUTES)


# --- writes -----------------------------------------------------------------------------------------------------
def parse_times(text: str) -> list[time]:
    """"10:00, 18.30" → [10:00, 18:30]; raises ValidationError naming what is not a time."""
    out: list[time] = []
    for part in re.split(r"[,;\s]+", text.strip()):
        if not part:
            continue
        match = TIME_RE.match(part)
        if match is None:
            raise ValidationError(_("“%(value)s” is not a time such as 10:00.") % {"value": part[:20]})
        value = time(int(match.group(1)), int(match.group(2)))
        if value not in out:
            out.append(value)
    if len(out) > MAX_SLOTS_PER_DAY:
        raise ValidationError(_("At most %(n)d times a day.") % {"n": MAX_SLOTS_PER_DAY})
    return sorted(out)


@transaction.atomic
def slots_set(*, actor: Any, channel: Channel, slots: Sequence[tuple[int, time]]) -> list[PostingSlot]:
    """Replace the page's posting slots. Those who write for the page's unit plan its times."""
    if not access_for(actor).can_write(channel.unit_id):
        raise PermissionDenied(_("You cannot plan the posting times of this page."))
    wanted = sorted({(int(d), t.replace(second=0, microsecond=0)) for d, t in slots})
    if any(d not in range(7) for d, _t in wanted):
        raise ValidationError(_("Unknown day of the week."))
    before = [f"{s.weekday} {s.time:%H:%M}" for s in PostingSlot.objects.filter(channel=channel)]
    PostingSlot.objects.filter(channel=channel).delete()
    rows = PostingSlot.objects.bulk_create([PostingSlot(channel=channel, weekday=d, time=t) for d, t in wanted])
    after = [f"{d} {t:%H:%M}" for d, t in wanted]
    if before != after:
        audit_record(actor, "channel.slots", channel, {"slots": [before, after]}, system_id=channel.unit.system_id)
    return rows


# --- reads ------------------------------------------------------------------------------------------------------
def slots_by_weekday(channel: Channel) -> dict[int, list[time]]:
    out: dict[int, list[time]] = {d: [] for d in range(7)}
    for slot in PostingSlot.objects.filter(channel=channel).order_by("weekday", "time"):
        out[slot.weekday].append(slot.time)
    return out


def _instants(slots: list[PostingSlot], tz: Any, after: datetime, until: datetime) -> set[datetime]:
    out: set[datetime] = set()
    day = after.astimezone(tz).date() - timedelta(days=1)
    last = until.astimezone(tz).date()
    by_day: dict[int, list[time]] = {}
    for slot in slots:
        by_day.setdefault(slot.weekday, []).append(slot.time)
    while day <= last:
        for value in by_day.get(day.weekday(), []):
            at = wall_time(day, value, tz)
            if after < at <= until:
                out.add(at)
        day += timedelta(days=1)
    return out


def next_free_slot(user: Any, channels: Sequence[Channel], *, after: datetime | None = None,
                   exclude_post_id: int | None = None) -> datetime | None:
    """The earliest slot after ``after`` (now) that is free on every chosen page.

    Slots every chosen page with slots has at that instant come first (pages in other zones meet at the same
    instant only if their local times agree); when they never meet within ``SEARCH_WEEKS`` weeks, the earliest
    slot of any chosen page that is free on all of them. Pages without slots take any time. None: no chosen
    page has slots, or every slot is taken.
    """
    access = access_for(user)
    pages = [c for c in channels if c.unit.system_id in access.systems]
    if not pages:
        return None
    after = after or timezone.now()
    until = after + timedelta(weeks=SEARCH_WEEKS)
    slots: dict[int, list[PostingSlot]] = {}
    for slot in PostingSlot.objects.filter(channel__in=[c.pk for c in pages]):
        slots.setdefault(slot.channel_id, []).append(slot)
    per_page = [_instants(slots[c.pk], c.unit.tz, after, until) for c in pages if c.pk in slots]
    if not per_page:
        return None
    window = timedelta(minutes=slot_minutes())
    busy = Delivery.objects.filter(channel__in=[c.pk for c in pages], due_at__gte=after - window,
                                   due_at__lt=until + window).exclude(
        state__in=[Delivery.State.CANCELLED, Delivery.State.FAILED])
    if exclude_post_id is not None:
        busy = busy.exclude(post_id=exclude_post_id)
    taken = sorted(busy.values_list("due_at", flat=True))

    def free(at: datetime) -> bool:
        i = bisect_left(taken, at)
        return i == len(taken) or taken[i] >= at + window

    common = set.intersection(*per_page)
    for candidates in (sorted(common), sorted(set.union(*per_page))):
        for at in candidates:
            if free(at):
                return at
    return None

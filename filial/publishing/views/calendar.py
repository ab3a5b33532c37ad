"""The content calendar: month and week views of the network's posts and events.

Days are days in the library system's time zone: a post at 01:00 in Yekaterinburg (20:00 UTC the day
before) is shown on its local day. Rescheduling is done through the edit form linked from each item.
"""

from __future__ import annotations

import calendar as pycalendar
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from filial.accounts.selectors import access_for, system_timezone
from filial.core.params import check_day
from filial.publishing import services
from filial.publishing.forms.posts import PostFilterForm, local_to_aware_day
from filial.publishing.models import Post
from filial.publishing.selectors import events_visible
from filial.publishing.views.posts import post_qs_for_lists

STATE_MARKS: dict[str, str] = {
    Post.State.DRAFT: "✎",
    Post.State.PENDING: "…",
    Post.State.RETURNED: "↩",
    Post.State.SCHEDULED: "◷",
    Post.State.PUBLISHED: "✓",
    Post.State.CANCELLED: "✕",
}


def _parse_anchor(raw: str, today: date) -> date:
    """``?date=`` as a day or a month (``2031-06``); garbage shows today, a date outside the bounds is a 400."""
    for parse in (date.fromisoformat, lambda s: date.fromisoformat(f"{s}-01")):
        try:
            day = parse(raw)
        except (TypeError, ValueError):
            continue
        return check_day(day, "date")
    return today


def _month_shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@login_required
@require_GET
def calendar_view(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    tz = system_timezone(access)
    today = timezone.now().astimezone(tz).date()
    mode = "week" if request.GET.get("view") == "week" else "month"
    anchor = _parse_anchor(request.GET.get("date", ""), today)
    filters = PostFilterForm(request.GET or None, user=request.user)

    if mode == "month":
        first = anchor.replace(day=1)
        weeks = pycalendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
        start, end = weeks[0][0], weeks[-1][-1] + timedelta(days=1)
        prev_date, next_date = _month_shift(first, -1), _month_shift(first, 1)
    else:
        start = anchor - timedelta(days=anchor.weekday())
        end = start + timedelta(days=7)
        weeks = [[start + timedelta(days=i) for i in range(7)]]
        prev_date, next_date = start - timedelta(days=7), start + timedelta(days=7)
        first = start

    start_at, end_at = local_to_aware_day(start, tz), local_to_aware_day(end, tz)
    posts = list(
        filters.apply(post_qs_for_lists(request.user))
        .filter(publish_at__gte=start_at, publish_at__lt=end_at)
        .order_by("publish_at", "id")
    )
    events_qs = events_visible(request.user).filter(starts_at__gte=start_at, starts_at__lt=end_at)
    unit = filters.value("unit")
    if unit is not None:
        events_qs = events_qs.filter(unit__path__startswith=unit.path)
    events = list(events_qs.order_by("starts_at", "id"))

    by_day: dict[date, list[dict[str, Any]]] = {}
    for post in posts:
        assert post.publish_at is not None
        local = post.publish_at.astimezone(tz)
        by_day.setdefault(local.date(), []).append({
            "kind": "post", "at": local, "post": post, "mark": STATE_MARKS.get(post.state, ""),
            "editable": access.can_write(post.unit_id) and post.state in services.EDITABLE_STATES,
        })
    for event in events:
        local = event.starts_at.astimezone(tz)
        by_day.setdefault(local.date(), []).append({"kind": "event", "at": local, "event": event})
    for items in by_day.values():
        items.sort(key=lambda i: (i["at"], i["kind"] != "event"))

    grid = [
        [{"date": d, "items": by_day.get(d, []), "in_month": mode == "week" or d.month == first.month,
          "today": d == today} for d in week]
        for week in weeks
    ]
    return render(request, "publishing/calendar.html", {
        "mode": mode, "grid": grid, "anchor": anchor, "first": first, "week_end": end - timedelta(days=1),
        "prev_date": prev_date.isoformat(), "next_date": next_date.isoformat(), "today": today,
        "today_str": today.isoformat(), "filters": filters, "tz_name": tz.key,
        "can_compose": bool(access.write_units), "post_count": len(posts), "event_count": len(events),
        "states": [(value, label, STATE_MARKS[value]) for value, label in Post.State.choices],
        "weekdays": weeks[0],
    })

"""Events: an agenda by month or of what is coming, forms, detail with the posts attached, iCal export."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import icalendar
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from filial.accounts.selectors import access_for, units_for
from filial.core.params import id_or_none
from filial.libraries.models import LibrarySystem, Unit
from filial.publishing import events as event_writes
from filial.publishing.forms.events import EventFilterForm, EventForm
from filial.publishing.models import Event, Post
from filial.publishing.selectors import PUBLIC_STATES, events_visible, posts_visible

UPCOMING_LIMIT = 200
ICAL_PAST_DAYS = 365


@dataclass
class EventRow:
    """An event as the agenda shows it: local times in its unit's zone, whether it is over."""

    event: Event
    starts: datetime
    ends: datetime | None
    past: bool
    tz_note: str  # the unit's zone when it differs from the page's zone, else ""

    @property
    def ends_same_day(self) -> bool:
        return self.ends is not None and self.ends.date() == self.starts.date()


@dataclass
class Day:
    day: date
    events: list[EventRow] = field(default_factory=list)


def _home_tz(request: HttpRequest) -> zoneinfo.ZoneInfo:
    """The time zone for month boundaries: the user's (first) library system's, else the site's."""
    systems = sorted(access_for(request.user).systems)
    tz_name = settings.TIME_ZONE
    if systems:
        tz_name = (LibrarySystem.objects.filter(pk=systems[0]).values_list("timezone", flat=True).first()
                   or tz_name)
    return zoneinfo.ZoneInfo(tz_name)


def _visible_units(request: HttpRequest) -> QuerySet[Unit]:
    return Unit.objects.filter(system_id__in=access_for(request.user).systems).select_related("system")


def _filtered(request: HttpRequest, form: EventFilterForm) -> QuerySet[Event]:
    events = events_visible(request.user).select_related("unit__system")
    if form.is_valid():
        unit = form.cleaned_data.get("unit")
        if unit is not None:
            events = events.filter(unit__path__startswith=unit.path)
        if form.cleaned_data.get("scope"):
            events = events.filter(scope=form.cleaned_data["scope"])
    return events


def _month_start(value: str | None) -> date | None:
    if not value:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m")  # naive on purpose: a calendar month
    except ValueError:
        return None
    if not 1900 <= parsed.year <= 2200:
        return None
    return date(parsed.year, parsed.month, 1)


def _shift_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _aware_day_start(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _group_by_day(events: Sequence[Event], now: datetime, home_tz: zoneinfo.ZoneInfo) -> list[Day]:
    days: dict[date, Day] = {}
    for event in events:
        tz = event.unit.tz
        starts = event.starts_at.astimezone(tz)
        ends = event.ends_at.astimezone(tz) if event.ends_at else None
        row = EventRow(event=event, starts=starts, ends=ends, past=(event.ends_at or event.starts_at) < now,
                       tz_note="" if tz.key == home_tz.key else tz.key)
        days.setdefault(starts.date(), Day(starts.date())).events.append(row)
    return sorted(days.values(), key=lambda d: d.day)


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    tz = _home_tz(request)
    now = timezone.now()
    form = EventFilterForm(request.GET or None, units=_visible_units(request))
    events = _filtered(request, form).annotate(
        post_count=Count("posts", filter=Q(posts__state__in=PUBLIC_STATES), distinct=True)
    ).order_by("starts_at", "pk")
    month = _month_start(request.GET.get("month"))
    today = now.astimezone(tz).date()
    context: dict[str, Any] = {"form": form, "now": now, "month": month, "can_create": bool(access.write_units)}
    if month is not None:
        start = _aware_day_start(month, tz)
        end = _aware_day_start(_shift_month(month, 1), tz)
        events = events.filter(Q(starts_at__gte=start) | Q(ends_at__gte=start), starts_at__lt=end)
        context.update(prev_month=_shift_month(month, -1), next_month=_shift_month(month, 1),
                       this_month=today.replace(day=1))
        event_rows = list(events)
    else:
        start = _aware_day_start(today, tz)
        events = events.filter(Q(starts_at__gte=start) | Q(ends_at__gte=now))
        event_rows = list(events[:UPCOMING_LIMIT])
        context["this_month"] = today.replace(day=1)
        context["truncated"] = len(event_rows) == UPCOMING_LIMIT
    context["days"] = _group_by_day(event_rows, now, tz)
    context["filter_query"] = urlencode(
        {k: v for k, v in request.GET.items() if k in ("unit", "scope") and v}
    )
    return render(request, "publishing/event_list.html", context)


def _get_visible(request: HttpRequest, pk: int) -> Event:
    event = events_visible(request.user).select_related("unit__system", "created_by").filter(pk=pk).first()
    if event is None:
        raise Http404(_("No such event."))
    return event


def _post_create_url(event: Event, kind: str) -> str:
    try:
        base = reverse("publishing:post_create")
    except NoReverseMatch:
        base = "/posts/new/"
    return f"{base}?{urlencode({'event': event.pk, 'kind': kind})}"


@login_required
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = _get_visible(request, pk)
    access = access_for(request.user)
    posts = (
        posts_visible(request.user).filter(event=event)
        .select_related("unit__system")
        .prefetch_related("targets__channel")
        .order_by("publish_at", "pk")
    )
    context = {
        "event": event,
        "posts": posts,
        "can_edit": access.can_write(event.unit_id),
        "can_write_posts": bool(access.write_units),
        "started": event.starts_at <= timezone.now(),
        "poster_url": _post_create_url(event, Post.Kind.AFISHA),
        "report_url": _post_create_url(event, Post.Kind.PHOTO_REPORT),
    }
    return render(request, "publishing/event_detail.html", context)


@login_required
def event_create(request: HttpRequest) -> HttpResponse:
    units = units_for(request.user, "write")
    if not access_for(request.user).write_units:
        raise PermissionDenied(_("You cannot create events."))
    initial: dict[str, Any] = {}
    wanted_unit = id_or_none(request.GET.get("unit"))
    if wanted_unit is not None and units.filter(pk=wanted_unit).exists():
        initial["unit"] = wanted_unit
    form = EventForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            event = event_writes.event_create(actor=request.user, **form.service_fields())
        except ValidationError as err:
            form.add_service_errors(err)
        else:
            messages.success(request, _("The event is saved."))
            return redirect("publishing:event_detail", pk=event.pk)
    return render(request, "publishing/event_form.html", {"form": form, "event": None})


@login_required
def event_edit(request: HttpRequest, pk: int) -> HttpResponse:
    event = _get_visible(request, pk)
    if not access_for(request.user).can_write(event.unit_id):
        raise PermissionDenied(_("You cannot edit events of this unit."))
    form = EventForm(request.POST or None, units=units_for(request.user, "write"), event=event)
    if request.method == "POST" and form.is_valid():
        try:
            event = event_writes.event_update(actor=request.user, event=event, **form.service_fields())
        except ValidationError as err:
            form.add_service_errors(err)
        else:
            messages.success(request, _("The event is saved."))
            return redirect("publishing:event_detail", pk=event.pk)
    return render(request, "publishing/event_form.html", {"form": form, "event": event})


@require_POST
@login_required
def event_delete(request: HttpRequest, pk: int) -> HttpResponse:
    event = _get_visible(request, pk)
    title = event.title
    event_writes.event_delete(actor=request.user, event=event)
    messages.success(request, _("The event “%(title)s” is deleted.") % {"title": title})
    return redirect("publishing:event_list")


@login_required
def event_ical(request: HttpRequest) -> HttpResponse:
    """All visible events from a year back on as an iCalendar feed; ``?unit=`` and ``?scope=`` filter it."""
    form = EventFilterForm(request.GET or None, units=_visible_units(request))
    if request.GET and not form.is_valid():
        return HttpResponseBadRequest(_("Unknown unit or type."), content_type="text/plain; charset=utf-8")
    since = timezone.now() - timedelta(days=ICAL_PAST_DAYS)
    events = _filtered(request, form).filter(Q(starts_at__gte=since) | Q(ends_at__gte=since)).order_by(
        "starts_at", "pk"
    )
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Filial//Library events//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Library events"))
    for event in events:
        cal.add_component(_vevent(request, event))
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="events.ics"'
    return response


def _vevent(request: HttpRequest, event: Event) -> icalendar.Event:
    item = icalendar.Event()
    item.add("uid", f"{event.uid}@filial")
    item.add("dtstamp", event.updated_at.astimezone(UTC))
    item.add("dtstart", event.starts_at.astimezone(UTC))
    if event.ends_at is not None:
        item.add("dtend", event.ends_at.astimezone(UTC))
    item.add("summary", event.title)
    location = event.place or event.unit.address
    if location:
        item.add("location", location)
    if event.description:
        item.add("description", event.description)
    item.add("categories", [event.get_scope_display()])
    item.add("url", request.build_absolute_uri(reverse("publishing:event_detail", args=[event.pk])))
    return item

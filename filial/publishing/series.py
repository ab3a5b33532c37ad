"""Recurring posts: a template post repeats weekly on chosen days, monthly on a day, or every N days, at the
template's local time, until a date or for a number of times.

- **Occurrences** are ordinary posts, copies of the template, created by a periodic generator
  (``tasks.generate_series_occurrences``, every minute) for the next ``FILIAL_SERIES_HORIZON_DAYS`` (7)
  days, and always at least the next one. They follow the template's approval: while the template is scheduled
  or published (approved, or written by someone who publishes directly) they are scheduled at once; while it is
  a draft, awaiting approval or returned, nothing is generated.
- **Once**: ``SeriesOccurrence`` is unique per (series, time), and each run holds the series row locked, so two
  generators or a restart never create an occurrence twice.
- **Anchored**: an occurrence is a scheduled post at once (the calendar shows it), but its deliveries are made
  ("armed") only ``FILIAL_SERIES_ARM_MINUTES`` (10) before its time, by the same generator. Times that passed
  while no worker ran — never armed, or never created — are recorded as skipped and their posts cancelled, never
  published late (``FILIAL_SERIES_LATE_GRACE`` seconds, 120, of tolerance): a restart does not fire a burst of
  catch-up posts. The rule counts skipped times too (the fifth Tuesday stays the fifth).
- **Time**: the template's wall-clock time in its unit's zone on every date. A time that a DST jump skips moves
  forward by the jump (02:30 on the night clocks go 02:00 → 03:00 is published at 03:30); a time that happens
  twice is the first of the two. A monthly day the month does not have is its last day (31 → 30 April).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.publishing import services
from filial.publishing.models import (
    Delivery,
    Poll,
    PollAnswer,
    Post,
    PostChannel,
    PostMedia,
    PostSeries,
    SeriesOccurrence,
)

Frequency = PostSeries.Frequency
MAX_SKIPPED_PER_RUN = 1000  # a very long outage: record this many skipped times per run, the next run goes on


def horizon() -> timedelta:
    return timedelta(days=float(settings.FILIAL_SERIES_HORIZON_DAYS))


def arm_ahead() -> timedelta:
    return timedelta(minutes=float(settings.FILIAL_SERIES_ARM_MINUTES))


def late_grace() -> timedelta:
    return timedelta(seconds=float(settings.FILIAL_SERIES_LATE_GRACE))


@dataclass
class Rule:
    frequency: str
    weekdays: list[int]
    month_day: int | None = None
    interval: int = 1
    until: date | None = None
    count: int | None = None


# --- the rule --------------------------------------------------------------------------------------------------
def wall_time(day: date, local: Any, tz: ZoneInfo) -> datetime:
    """``day`` at the wall-clock time ``local`` in ``tz`` (see the module's note on DST)."""
    value = datetime(day.year, day.month, day.day, local.hour, local.minute, tzinfo=tz)  # fold=0
    return value.astimezone(UTC).astimezone(tz)  # a skipped time comes back moved forward by the gap


def _dates(series: PostSeries, start: date) -> Iterator[date]:
    """The dates after ``start`` (the template's date) that the rule names, in order."""
    if series.frequency == Frequency.DAILY:
        step = max(1, int(series.interval or 1))
        day = start
        while True:
            day += timedelta(days=step)
            yield day
    elif series.frequency == Frequency.WEEKLY:
        days = {int(d) for d in series.weekdays or []}
        if not days:
            return
        day = start
        while True:
            day += timedelta(days=1)
            if day.weekday() in days:
                yield day
    else:
        want = int(series.month_day or start.day)
        year, month = start.year, start.month
        while True:
            last = calendar.monthrange(year, month)[1]
            day = date(year, month, min(want, last))
            if day > start:
                yield day
            month += 1
            if month > 12:
                year, month = year + 1, 1


def occurrences(series: PostSeries, anchor: datetime | None = None) -> Iterator[tuple[int, datetime]]:
    """(index, time) of every occurrence after the template (index 0), within ``until`` and ``count``."""
    template = series.template
    anchor = anchor or template.publish_at
    if anchor is None:
        return
    tz = template.unit.tz
    local = anchor.astimezone(tz)
    for index, day in enumerate(_dates(series, local.date()), start=1):
        if series.count is not None and index >= series.count:
            return
        if series.until is not None and day > series.until:
            return
        yield index, wall_time(day, local.time(), tz)


def describe(series: PostSeries) -> str:
    time_text = ""
    if series.template.publish_at:
        time_text = series.template.publish_at.astimezone(series.template.unit.tz).strftime("%H:%M")
    if series.frequency == Frequency.WEEKLY:
        names = [str(WEEKDAYS[d]) for d in sorted(series.weekdays or [])]
        text = _("Every week on %(days)s at %(time)s") % {"days": ", ".join(names), "time": time_text}
    elif series.frequency == Frequency.MONTHLY:
        text = _("Every month on day %(day)d at %(time)s") % {"day": series.month_day or 1, "time": time_text}
    else:
        n = max(1, series.interval or 1)
        text = ngettext("Every day at %(time)s", "Every %(n)d days at %(time)s", n) % {"n": n, "time": time_text}
    if series.until:
        text += ", " + _("until %(date)s") % {"date": series.until.strftime("%d.%m.%Y")}
    if series.count:
        text += ", " + ngettext("%(n)d time in all", "%(n)d times in all", series.count) % {"n": series.count}
    return text


# --- setting and stopping ----------------------------------------------------------------------------------------
def validate_rule(rule: Rule, post: Post) -> None:
    errors: dict[str, list[str]] = {}
    if rule.frequency not in Frequency.values:
        errors.setdefault("repeat", []).append(_("Choose how the post repeats."))
    if rule.frequency == Frequency.WEEKLY and (not rule.weekdays or any(d not in range(7) for d in rule.weekdays)):
        errors.setdefault("repeat_weekdays", []).append(_("Choose the days of the week."))
    if rule.frequency == Frequency.MONTHLY and not (rule.month_day and 1 <= rule.month_day <= 31):
        errors.setdefault("repeat_month_day", []).append(_("Choose a day of the month from 1 to 31."))
    if rule.frequency == Frequency.DAILY and not 1 <= (rule.interval or 0) <= 365:
        errors.setdefault("repeat_interval", []).append(_("Repeat every 1 to 365 days."))
    if rule.count is not None and not 2 <= rule.count <= 1000:
        errors.setdefault("repeat_count", []).append(_("A series has from 2 to 1000 posts."))
    if post.publish_at is None:
        errors.setdefault("publish_at", []).append(_("Choose when to publish: the series starts then."))
    elif rule.until is not None and rule.until <= post.publish_at.astimezone(post.unit.tz).date():
        errors.setdefault("repeat_until", []).append(_("The series must end after its first post."))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def series_set(*, actor: Any, post: Post, rule: Rule | None) -> PostSeries | None:
    """Make ``post`` the template of a series with ``rule`` (or change its rule); None removes a series that has
    made no posts yet, and stops one that has."""
    post = Post.objects.select_related("unit").get(pk=post.pk)
    if not access_for(actor).can_write(post.unit_id):
        raise PermissionDenied(_("You cannot edit posts of this unit."))
    if SeriesOccurrence.objects.filter(post=post, index__gt=0).exists():
        raise ValidationError({"repeat": [_("This post is an occurrence of a series: change the series' first "
                                            "post instead.")]})
    current = PostSeries.objects.select_for_update().filter(template=post).first()
    if rule is None:
        if current is None:
            return None
        if current.occurrences.filter(index__gt=0).exists():
            return series_stop(actor=actor, series=current)
        audit_record(actor, "series.delete", post, {"frequency": current.frequency}, system_id=post.unit.system_id)
        current.delete()
        return None
    validate_rule(rule, post)
    assert post.publish_at is not None  # validate_rule says so
    fields = {"frequency": rule.frequency, "weekdays": sorted(set(rule.weekdays)), "month_day": rule.month_day,
              "interval": rule.interval or 1, "until": rule.until, "count": rule.count}
    if current is None:
        current = PostSeries.objects.create(template=post, created_by=actor if getattr(actor, "is_authenticated",
                                                                                         False) else None,
                                            generated_until=post.publish_at, **fields)
        action = "series.create"
    else:
        if current.state == PostSeries.State.STOPPED:
            raise ValidationError({"repeat": [_("This series is stopped.")]})
        unchanged = all(getattr(current, name) == value for name, value in fields.items())
        if unchanged and current.occurrences.filter(index=0, at=post.publish_at).exists():
            refresh_future(current)
            return current
        for name, value in fields.items():
            setattr(current, name, value)
        # A new rule: the posts made ahead by the old one that are not armed yet go; the generator makes the new
        # rule's from now on (times before now are not made, not even as skipped).
        now = timezone.now()
        for occurrence in current.occurrences.filter(index__gt=0, at__gt=now, state=SeriesOccurrence.State.CREATED,
                                                     post__state=Post.State.SCHEDULED,
                                                     post__deliveries__isnull=True).select_related("post").distinct():
            if occurrence.post is not None:
                occurrence.post.delete()
            occurrence.delete()
        latest = current.occurrences.filter(index__gt=0).order_by("-at").values_list("at", flat=True).first()
        current.generated_until = post.publish_at if latest is None else max(latest, now)
        current.state = PostSeries.State.ACTIVE
        current.save(update_fields=[*fields, "generated_until", "state"])
        action = "series.update"
    SeriesOccurrence.objects.filter(series=current, index=0).exclude(at=post.publish_at).delete()
    SeriesOccurrence.objects.get_or_create(series=current, at=post.publish_at,
                                           defaults={"index": 0, "post": post})
    audit_record(actor, action, post, {k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()},
                 system_id=post.unit.system_id)
    refresh_future(current)
    return current


@transaction.atomic
def series_stop(*, actor: Any, series: PostSeries) -> PostSeries:
    """No more posts: the series stops and its occurrences that have not gone out yet are cancelled."""
    series = PostSeries.objects.select_for_update().select_related("template__unit").get(pk=series.pk)
    if not access_for(actor).can_write(series.template.unit_id):
        raise PermissionDenied(_("You cannot edit posts of this unit."))
    if series.state == PostSeries.State.STOPPED:
        return series
    cancelled = 0
    for occurrence in series.occurrences.filter(index__gt=0, post__isnull=False).select_related("post"):
        post = occurrence.post
        assert post is not None
        if post.state in {Post.State.PUBLISHED, Post.State.CANCELLED}:
            continue
        if post.deliveries.exclude(state__in=[Delivery.State.SCHEDULED, Delivery.State.CANCELLED]).exists():
            continue
        services.post_cancel(actor=actor, post=post)
        cancelled += 1
    series.state = PostSeries.State.STOPPED
    series.stopped_at = timezone.now()
    series.save(update_fields=["state", "stopped_at"])
    audit_record(actor, "series.stop", series.template, {"cancelled": cancelled},
                 system_id=series.template.unit.system_id)
    return series


# --- the generator ---------------------------------------------------------------------------------------------
APPROVED = {Post.State.SCHEDULED, Post.State.PUBLISHED}


def generate_all(now: datetime | None = None) -> int:
    """Periodic: every active series makes its occurrences due within the horizon. Returns how many it made."""
    created = 0
    now = now or timezone.now()
    waiting = Q(state=PostSeries.State.FINISHED, occurrences__state=SeriesOccurrence.State.CREATED,
                occurrences__post__state=Post.State.SCHEDULED, occurrences__at__gte=now - timedelta(days=2))
    series_ids = (PostSeries.objects.filter(Q(state=PostSeries.State.ACTIVE) | waiting).order_by("pk")
                  .values_list("pk", flat=True).distinct())
    for pk in list(series_ids):
        try:
            created += generate(pk, now)
        except Exception:  # one broken series must not stop the others
            import logging

            logging.getLogger("filial.engine").exception("recurring post %s: generation failed", pk)
    return created


def generate(series_id: int, now: datetime | None = None) -> int:
    """Create the occurrences of one series due within the horizon (at least the next one); record those that
    fell in the past as skipped. Idempotent. Returns how many posts it created."""
    now = now or timezone.now()
    with transaction.atomic():
        series = (PostSeries.objects.select_for_update().select_related("template__unit__system")
                  .filter(pk=series_id).first())
        if series is None or series.state == PostSeries.State.STOPPED:
            return 0
        if series.state == PostSeries.State.FINISHED:  # every time is made: only arming is left
            _arm(series, now)
            return 0
        template = series.template
        if template.state == Post.State.CANCELLED:
            series.state = PostSeries.State.STOPPED
            series.stopped_at = now
            series.save(update_fields=["state", "stopped_at"])
            return 0
        if template.state not in APPROVED or template.publish_at is None:
            return 0  # waits for approval
        mark = series.generated_until or template.publish_at
        known = set(series.occurrences.values_list("at", flat=True))
        has_future = series.occurrences.filter(index__gt=0, at__gt=now, state=SeriesOccurrence.State.CREATED).exists()
        end = now + horizon()
        late = now - late_grace()
        created = skipped = 0
        finished = True
        for index, at in occurrences(series):
            if at <= mark:
                continue
            if at <= late:
                if at not in known and skipped < MAX_SKIPPED_PER_RUN:
                    if _occurrence(series, index, at, skipped=True):
                        skipped += 1
                mark = at
                if skipped >= MAX_SKIPPED_PER_RUN:
                    finished = False
                    break
                continue
            if at > end and has_future:
                finished = False
                break
            if at not in known and _occurrence(series, index, at, skipped=False):
                created += 1
            has_future = True
            mark = at
        series.generated_until = mark
        fields = ["generated_until"]
        if finished:
            series.state = PostSeries.State.FINISHED
            fields.append("state")
        series.save(update_fields=fields)
        skipped += _arm(series, now)
        if skipped:
            audit_record(None, "series.skipped", template, {"skipped": skipped, "until": now.isoformat()},
                         system_id=template.unit.system_id)
    return created


def _arm(series: PostSeries, now: datetime) -> int:
    """Make the deliveries of the occurrences due within ``arm_ahead()``; cancel, as skipped, those whose time
    passed unarmed (no worker ran). Returns how many were skipped."""
    skipped = 0
    rows = (series.occurrences.filter(index__gt=0, state=SeriesOccurrence.State.CREATED,
                                      post__state=Post.State.SCHEDULED, at__lte=now + arm_ahead())
            .select_related("post").order_by("at"))
    for occurrence in rows:
        post = occurrence.post
        assert post is not None
        if post.deliveries.exists():
            continue  # armed already (or scheduled again by a person)
        if occurrence.at <= now - late_grace():
            Post.objects.filter(pk=post.pk).update(state=Post.State.CANCELLED, updated_at=now)
            occurrence.state = SeriesOccurrence.State.SKIPPED
            occurrence.note = "the worker was not running at that time: not published late"
            occurrence.save(update_fields=["state", "note"])
            skipped += 1
        elif post.publish_at is not None:
            services._sync_deliveries(post)
    return skipped


def _occurrence(series: PostSeries, index: int, at: datetime, *, skipped: bool) -> bool:
    """Record one occurrence (and create its post); False if another generator already did."""
    try:
        with transaction.atomic():
            occurrence = SeriesOccurrence.objects.create(
                series=series, at=at, index=index,
                state=SeriesOccurrence.State.SKIPPED if skipped else SeriesOccurrence.State.CREATED,
                note="the worker was not running at that time: not published late" if skipped else "")
            if not skipped:
                occurrence.post = _copy(series.template, at)
                occurrence.save(update_fields=["post"])
    except IntegrityError:
        return False
    return True


def _copy(template: Post, at: datetime) -> Post:
    """A scheduled copy of the template at ``at``, with its pages, texts, photos and poll."""
    post = Post.objects.create(
        unit=template.unit, author=template.author, kind=template.kind, title=template.title, text=template.text,
        link=template.link, publish_at=at, state=Post.State.SCHEDULED, reviewed_by=template.reviewed_by,
        reviewed_at=timezone.now(), review_comment="",
    )
    _fill(post, template, at)
    # No deliveries yet: ``_arm`` makes them shortly before ``at`` (see the module's note on anchoring).
    audit_record(None, "post.create", post, {"series": template.pk, "publish_at": at.isoformat()},
                 system_id=template.unit.system_id)
    return post


def refresh_future(series: PostSeries) -> int:
    """The template changed and is approved (scheduled or published): the occurrences made but not yet armed take
    its new content. Returns how many. (An unapproved change waits for approval like the template itself.)"""
    template = Post.objects.select_related("unit").get(pk=series.template_id)
    if template.state not in APPROVED:
        return 0
    rows = (series.occurrences.filter(index__gt=0, state=SeriesOccurrence.State.CREATED,
                                      post__state=Post.State.SCHEDULED, post__deliveries__isnull=True)
            .select_related("post").distinct())
    changed = 0
    for occurrence in rows:
        post = occurrence.post
        assert post is not None
        post.kind, post.title, post.text, post.link = template.kind, template.title, template.text, template.link
        post.save(update_fields=["kind", "title", "text", "link", "updated_at"])
        PostChannel.objects.filter(post=post).delete()
        PostMedia.objects.filter(post=post).delete()
        Poll.objects.filter(post=post).delete()
        _fill(post, template, occurrence.at)
        changed += 1
    return changed


def _fill(post: Post, template: Post, at: datetime) -> None:
    """The template's pages (with their texts), photos and poll, onto ``post``."""
    PostChannel.objects.bulk_create([PostChannel(post=post, channel_id=t.channel_id, text_override=t.text_override)
                                     for t in template.targets.all()])
    PostMedia.objects.bulk_create([PostMedia(post=post, media_id=m.media_id, position=m.position)
                                   for m in template.post_media.all()])
    poll = Poll.objects.filter(post=template).prefetch_related("answers").first()
    if poll is not None:
        copy = Poll.objects.create(post=post, question=poll.question, multiple=poll.multiple,
                                   anonymous=poll.anonymous,
                                   ends_at=poll.ends_at + (at - template.publish_at)
                                   if poll.ends_at and template.publish_at else None)
        PollAnswer.objects.bulk_create([PollAnswer(poll=copy, text=a.text, position=a.position)
                                        for a in poll.answers.all()])


# --- reads ------------------------------------------------------------------------------------------------------
def series_of(post: Post) -> PostSeries | None:
    """The series ``post`` is the template or an occurrence of."""
    found = PostSeries.objects.select_related("template__unit").filter(template=post).first()
    if found is None:
        occurrence = SeriesOccurrence.objects.select_related("series__template__unit").filter(post=post).first()
        found = occurrence.series if occurrence is not None else None
    return found


def upcoming(series: PostSeries, now: datetime | None = None, limit: int = 5) -> list[dict[str, Any]]:
    """The next times of a series: created posts (with their post) and, for an active series, those to come."""
    now = now or timezone.now()
    rows: list[dict[str, Any]] = [
        {"at": o.at, "post": o.post, "skipped": False}
        for o in series.occurrences.filter(at__gt=now, index__gt=0, state=SeriesOccurrence.State.CREATED)
        .select_related("post").order_by("at")[:limit]
    ]
    if series.state == PostSeries.State.ACTIVE and len(rows) < limit:
        seen = {r["at"] for r in rows} | set(series.occurrences.values_list("at", flat=True))
        for _index, at in occurrences(series):
            if len(rows) >= limit:
                break
            if at > now and at not in seen:
                rows.append({"at": at, "post": None, "skipped": False})
    return rows


def skipped(series: PostSeries, limit: int = 10) -> list[SeriesOccurrence]:
    return list(series.occurrences.filter(state=SeriesOccurrence.State.SKIPPED).order_by("-at")[:limit])

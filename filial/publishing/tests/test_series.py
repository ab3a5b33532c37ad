"""Recurring posts: the rule (weekly, monthly, every N days), DST, downtime (anchored), races and approval."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import OperationalError
from django.utils import timezone

from filial.conftest import Net, race
from filial.publishing import series as S
from filial.publishing.models import Delivery, Post, PostSeries, SeriesOccurrence
from filial.publishing.services import PostData, post_approve, post_create, post_submit, post_update

YEKT = ZoneInfo("Asia/Yekaterinburg")


def local(day: date, hh: int, mm: int = 0, tz: ZoneInfo = YEKT) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)


def next_weekday(weekday: int, weeks_ahead: int = 1) -> date:
    today = timezone.now().astimezone(YEKT).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def template(net: Net, at: datetime, *, actor: str = "admin", text: str = "Книжный факт") -> Post:
    user = net.users[actor]
    post = post_create(actor=user, data=PostData(unit=net.central, kind=Post.Kind.BOOK_FACT, text=text,
                                                 channels=[net.channels["central_vk"]], publish_at=at))
    return post


def make_series(net: Net, at: datetime, rule: S.Rule, *, actor: str = "admin") -> PostSeries:
    post = template(net, at, actor=actor)
    found = S.series_set(actor=net.users[actor], post=post, rule=rule)
    assert found is not None
    post_submit(actor=net.users[actor], post=post)
    found.refresh_from_db()
    return found


def times(series: PostSeries, tz: ZoneInfo = YEKT, state: str | None = SeriesOccurrence.State.CREATED) -> list[str]:
    rows = series.occurrences.filter(index__gt=0).order_by("at")
    if state is not None:
        rows = rows.filter(state=state)
    return [o.at.astimezone(tz).strftime("%a %d.%m %H:%M") for o in rows]


def test_weekly_book_fact_every_tuesday_at_11(net: Net) -> None:
    tuesday = next_weekday(1)
    first = local(tuesday, 11)
    series = make_series(net, first, S.Rule(frequency="weekly", weekdays=[1]))
    assert series.template.state == Post.State.SCHEDULED
    assert S.describe(series).startswith("Every week on Tuesday at 11:00")

    # A day before the first post: the horizon (7 days) ends before the next Tuesday, made anyway ("at least one").
    assert S.generate(series.pk, now=first - timedelta(days=1)) == 1
    assert times(series) == [f"Tue {(tuesday + timedelta(days=7)):%d.%m} 11:00"]
    occurrence = series.occurrences.get(index=1)
    post = occurrence.post
    assert post is not None and post.state == Post.State.SCHEDULED and post.text == "Книжный факт"
    assert list(post.targets.values_list("channel_id", flat=True)) == [net.channels["central_vk"].pk]
    assert not post.deliveries.exists()  # armed only shortly before its time

    # Idempotent: again and again, nothing new.
    assert S.generate(series.pk, now=first - timedelta(days=1)) == 0
    assert S.generate(series.pk, now=first) == 0
    # Ten minutes before: armed (its delivery is due at its time, 06:00 UTC).
    S.generate(series.pk, now=occurrence.at - timedelta(minutes=5))
    delivery = Delivery.objects.get(post=post)
    assert delivery.due_at == occurrence.at and delivery.due_at.astimezone(UTC).hour == 6
    assert delivery.state == Delivery.State.SCHEDULED


def test_weekly_on_several_days_makes_a_week_ahead(net: Net) -> None:
    monday = next_weekday(0)
    series = make_series(net, local(monday, 10), S.Rule(frequency="weekly", weekdays=[0, 2, 4]))
    assert S.generate(series.pk, now=local(monday, 9)) == 2  # within the week ahead
    assert S.generate(series.pk, now=local(monday + timedelta(days=1), 9)) == 1
    assert times(series) == [f"Wed {monday + timedelta(days=2):%d.%m} 10:00",
                             f"Fri {monday + timedelta(days=4):%d.%m} 10:00",
                             f"Mon {monday + timedelta(days=7):%d.%m} 10:00"]


def test_monthly_on_the_31st_uses_the_last_day_of_shorter_months_and_count_ends_it(net: Net) -> None:
    year = timezone.now().year + 1
    series = make_series(net, local(date(year, 1, 31), 12), S.Rule(frequency="monthly", weekdays=[], month_day=31,
                                                                   count=4))
    now = local(date(year, 1, 30), 12)
    assert S.generate(series.pk, now=now) == 1  # February's is beyond the horizon: the next one only
    for month in (2, 3, 4):
        S.generate(series.pk, now=local(date(year, month, 25), 12))
    series.refresh_from_db()
    feb = 29 if year % 4 == 0 else 28
    assert times(series, state=None) == [f"{local(date(year, 2, feb), 12):%a} {feb:02d}.02 12:00",
                             f"{local(date(year, 3, 31), 12):%a} 31.03 12:00",
                             f"{local(date(year, 4, 30), 12):%a} 30.04 12:00"]
    assert series.state == PostSeries.State.FINISHED  # four posts in all, the template included


def test_every_n_days_until_a_date(net: Net) -> None:
    start = next_weekday(3)
    series = make_series(net, local(start, 18), S.Rule(frequency="daily", weekdays=[], interval=3,
                                                       until=start + timedelta(days=7)))
    S.generate(series.pk, now=local(start, 17))
    series.refresh_from_db()
    assert [o.at for o in series.occurrences.filter(index__gt=0)] == [
        local(start + timedelta(days=3), 18), local(start + timedelta(days=6), 18)]
    assert series.state == PostSeries.State.FINISHED


def test_dst_skipped_time_moves_forward_and_repeated_time_is_the_first(net: Net) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    net.central.timezone = "Europe/Berlin"
    net.central.save()
    year = timezone.now().year + 1
    spring = max(date(year, 3, d) for d in range(25, 32) if date(year, 3, d).weekday() == 6)
    autumn = max(date(year, 10, d) for d in range(25, 32) if date(year, 10, d).weekday() == 6)
    first = local(spring - timedelta(days=1), 2, 30, berlin)
    series = make_series(net, first, S.Rule(frequency="daily", weekdays=[], count=3))
    S.generate(series.pk, now=first)
    got = [o.at for o in series.occurrences.filter(index__gt=0).order_by("at")]
    # 02:30 does not exist on the spring night: 03:30 CEST (the same instant as 02:30 CET would be), 01:30 UTC.
    assert [g.astimezone(UTC).strftime("%d %H:%M") for g in got] == [f"{spring.day:02d} 01:30",
                                                                      f"{spring.day + 1:02d} 00:30"]
    assert got[0].astimezone(berlin).strftime("%H:%M") == "03:30"

    late = local(autumn - timedelta(days=1), 2, 30, berlin)
    post = template(net, late, text="Осенний факт")
    autumn_series = S.series_set(actor=net.users["admin"], post=post, rule=S.Rule(frequency="daily", weekdays=[],
                                                                                   count=2))
    post_submit(actor=net.users["admin"], post=post)
    assert autumn_series is not None
    S.generate(autumn_series.pk, now=late)
    at = autumn_series.occurrences.get(index=1).at
    assert at.astimezone(UTC).strftime("%H:%M") == "00:30"  # 02:30 CEST, the first of the two 02:30s


def test_times_that_passed_while_the_worker_was_down_are_skipped_not_published(net: Net) -> None:
    start = next_weekday(2)
    first = local(start, 9)
    series = make_series(net, first, S.Rule(frequency="daily", weekdays=[]))
    assert S.generate(series.pk, now=first - timedelta(hours=1)) == 6  # the next six days
    # The worker is down for three days and two hours: the three times in between were never armed.
    back = first + timedelta(days=3, hours=2)
    S.generate(series.pk, now=back)
    skipped = times(series, state=SeriesOccurrence.State.SKIPPED)
    assert skipped == [f"{local(start + timedelta(days=d), 9):%a %d.%m} 09:00" for d in (1, 2, 3)]
    for occurrence in series.occurrences.filter(state=SeriesOccurrence.State.SKIPPED):
        assert occurrence.post is not None and occurrence.post.state == Post.State.CANCELLED
    # Nothing overdue was armed: no delivery of the series is due before the worker came back.
    assert not Delivery.objects.filter(post__occurrence__series=series, post__occurrence__index__gt=0,
                                       due_at__lt=back).exists()

    # Down for a month: the rule's times in between are recorded as skipped, with no post; nothing is armed late.
    much_later = first + timedelta(days=30, hours=1)
    S.generate(series.pk, now=much_later)
    missed = series.occurrences.filter(state=SeriesOccurrence.State.SKIPPED, post__isnull=True)
    assert missed.count() == 30 - 10  # days 11..30 were never created; 4..10 were created and are cancelled
    assert not Delivery.objects.filter(post__occurrence__series=series, post__occurrence__index__gt=0,
                                       due_at__lt=much_later).exists()
    upcoming = series.occurrences.filter(state=SeriesOccurrence.State.CREATED, at__gt=much_later)
    assert upcoming.count() == 7 and not series.occurrences.filter(
        state=SeriesOccurrence.State.CREATED, at__lte=much_later, index__gt=0).exclude(
        post__state=Post.State.CANCELLED).exists()


def test_a_short_restart_within_the_grace_still_publishes(net: Net) -> None:
    start = next_weekday(4)
    first = local(start, 9)
    series = make_series(net, first, S.Rule(frequency="daily", weekdays=[], count=2))
    S.generate(series.pk, now=first)
    occurrence = series.occurrences.get(index=1)
    S.generate(series.pk, now=occurrence.at + timedelta(seconds=60))  # one minute late: armed, goes out at once
    assert Delivery.objects.filter(post=occurrence.post, state=Delivery.State.SCHEDULED).count() == 1


def test_occurrences_follow_the_templates_approval(net: Net) -> None:
    net.central.approval_required = True
    net.central.save()
    start = next_weekday(1)
    series = make_series(net, local(start, 11), S.Rule(frequency="weekly", weekdays=[1, 3]),
                         actor="editor_central")
    assert series.template.state == Post.State.PENDING
    assert S.generate(series.pk, now=local(start, 10)) == 0  # waits for approval
    assert not series.occurrences.filter(index__gt=0).exists()

    post_approve(actor=net.users["methodologist"], post=series.template)
    assert S.generate(series.pk, now=local(start, 10)) == 1  # Thursday; next Tuesday is beyond the week
    assert {o.post.state for o in series.occurrences.filter(index__gt=0) if o.post} == {Post.State.SCHEDULED}

    # The editor changes the template: it goes back for approval, and the series waits again.
    template_post = Post.objects.get(pk=series.template_id)
    post_update(actor=net.users["editor_central"], post=template_post, data=PostData(
        unit=net.central, kind=Post.Kind.BOOK_FACT, text="Книжный факт: новое", channels=[net.channels["central_vk"]],
        publish_at=template_post.publish_at))
    assert Post.objects.get(pk=series.template_id).state == Post.State.PENDING
    assert S.generate(series.pk, now=local(start + timedelta(days=3), 10)) == 0


def test_stopping_a_series_cancels_what_has_not_gone_out(net: Net) -> None:
    start = next_weekday(0)
    series = make_series(net, local(start, 10), S.Rule(frequency="daily", weekdays=[]))
    S.generate(series.pk, now=local(start, 9))
    made = [o.post for o in series.occurrences.filter(index__gt=0)]
    S.series_stop(actor=net.users["admin"], series=series)
    series.refresh_from_db()
    assert series.state == PostSeries.State.STOPPED
    assert {Post.objects.get(pk=p.pk).state for p in made if p} == {Post.State.CANCELLED}
    assert Post.objects.get(pk=series.template_id).state == Post.State.SCHEDULED
    assert S.generate(series.pk, now=local(start, 9)) == 0


def test_a_rule_is_checked(net: Net) -> None:
    from django.core.exceptions import ValidationError

    post = template(net, local(next_weekday(1), 11))
    with pytest.raises(ValidationError) as info:
        S.series_set(actor=net.users["admin"], post=post, rule=S.Rule(frequency="weekly", weekdays=[]))
    assert "repeat_weekdays" in info.value.error_dict
    with pytest.raises(ValidationError):
        S.series_set(actor=net.users["admin"], post=post, rule=S.Rule(frequency="monthly", weekdays=[], month_day=32))
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        S.series_set(actor=net.users["editor_children"], post=post, rule=S.Rule(frequency="daily", weekdays=[]))


@pytest.mark.django_db(transaction=True)
def test_two_generators_racing_make_each_occurrence_once(net: Net) -> None:
    start = next_weekday(2)
    series = make_series(net, local(start, 9), S.Rule(frequency="daily", weekdays=[]))
    now = local(start, 8)
    made: list[int] = []

    def worker(_n: int) -> None:
        while True:
            try:
                made.append(S.generate(series.pk, now=now))
                return
            except OperationalError as exc:
                # The test database is SQLite in memory (shared cache): a busy table fails at once instead of
                # waiting as the file database does (busy timeout); wait and try again like it would.
                if "locked" not in str(exc):
                    raise
                time.sleep(0.02)

    race(worker, 4, timeout=30)
    assert sum(made) == 6 and sorted(made) == [0, 0, 0, 6]
    ats = list(series.occurrences.filter(index__gt=0).values_list("at", flat=True))
    assert len(ats) == len(set(ats)) == 6
    assert Post.objects.filter(occurrence__series=series, occurrence__index__gt=0).count() == 6


def test_the_periodic_task_generates_and_arms(net: Net) -> None:
    from filial.publishing.tasks import generate_series_occurrences

    series = make_series(net, timezone.now() + timedelta(minutes=2),
                         S.Rule(frequency="daily", weekdays=[], count=2))
    generate_series_occurrences.call_local()
    series.refresh_from_db()
    occurrence = series.occurrences.get(index=1)
    assert occurrence.post is not None and series.state == PostSeries.State.FINISHED
    assert not occurrence.post.deliveries.exists()  # tomorrow: not armed yet
    # A finished series still arms its last occurrence when its time comes.
    assert S.generate_all(now=occurrence.at - timedelta(minutes=3)) == 0
    assert occurrence.post.deliveries.count() == 1


def test_changing_the_template_or_the_rule_changes_the_posts_made_ahead(net: Net) -> None:
    monday = next_weekday(0)
    admin = net.users["admin"]
    series = make_series(net, local(monday, 10), S.Rule(frequency="weekly", weekdays=[2, 4]))
    S.generate(series.pk, now=local(monday, 9))
    assert times(series) == [f"Wed {monday + timedelta(days=2):%d.%m} 10:00",
                             f"Fri {monday + timedelta(days=4):%d.%m} 10:00"]
    template_post = Post.objects.get(pk=series.template_id)
    post_update(actor=admin, post=template_post, data=PostData(
        unit=net.central, kind=Post.Kind.BOOK_FACT, text="Книжный факт, исправленный",
        channels=[net.channels["central_vk"], net.channels["central_ok"]], publish_at=template_post.publish_at))
    S.series_set(actor=admin, post=template_post, rule=S.Rule(frequency="weekly", weekdays=[2, 4]))
    for occurrence in series.occurrences.filter(index__gt=0):
        assert occurrence.post is not None and occurrence.post.text == "Книжный факт, исправленный"
        assert occurrence.post.targets.count() == 2

    S.series_set(actor=admin, post=template_post, rule=S.Rule(frequency="weekly", weekdays=[3]))
    assert series.occurrences.filter(index__gt=0).count() == 0  # the old rule's posts made ahead are gone
    S.generate(series.pk, now=local(monday, 9))
    assert times(series) == [f"Thu {monday + timedelta(days=3):%d.%m} 10:00"]

"""Answer deadlines in working hours: weekends, holidays and moved days off, shortened pre-holiday days, working
weekend days, opening hours and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from filial.inbox import workhours
from filial.inbox.workhours import DEFAULT_SCHEDULE, add_working_hours

EKB = ZoneInfo("Asia/Yekaterinburg")
MSK = ZoneInfo("Europe/Moscow")


def local(tz: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def test_across_a_weekend() -> None:
    start = local(EKB, 2026, 11, 27, 16, 0)  # Friday 16:00
    assert add_working_hours(start, 8, DEFAULT_SCHEDULE, EKB) == local(EKB, 2026, 11, 30, 15, 0)  # Monday


def test_a_message_in_the_night_waits_for_the_opening() -> None:
    start = local(EKB, 2026, 11, 25, 2, 30)
    assert add_working_hours(start, 4, DEFAULT_SCHEDULE, EKB) == local(EKB, 2026, 11, 25, 13, 0)


def test_new_year_holidays_2026_2027() -> None:
    # 31.12.2026 is a day off (moved from 04.01.2026), 1-8 January are holidays, 9-10 January a weekend.
    start = local(EKB, 2026, 12, 31, 10, 0)
    assert add_working_hours(start, 8, DEFAULT_SCHEDULE, EKB) == local(EKB, 2027, 1, 11, 17, 0)
    assert add_working_hours(start, 12, DEFAULT_SCHEDULE, EKB) == local(EKB, 2027, 1, 12, 12, 0)
    before = local(EKB, 2026, 12, 30, 17, 0)  # Wednesday: one hour left that day
    assert add_working_hours(before, 8, DEFAULT_SCHEDULE, EKB) == local(EKB, 2027, 1, 11, 16, 0)


def test_shortened_pre_holiday_day() -> None:
    assert workhours.is_shortened(date(2026, 4, 30))
    assert workhours.day_hours(date(2026, 4, 30), DEFAULT_SCHEDULE) == (time(9), time(17))
    start = local(EKB, 2026, 4, 30, 16, 0)  # one hour left before 17:00; 1 May a holiday, 2-3 May a weekend
    assert add_working_hours(start, 2, DEFAULT_SCHEDULE, EKB) == local(EKB, 2026, 5, 4, 10, 0)


def test_working_saturday_by_decree_is_worked_and_shortened() -> None:
    saturday = date(2027, 2, 20)  # works for Monday 22.02.2027, the day before 23 February: shortened
    assert workhours.working_weekend(saturday) == date(2027, 2, 22)
    assert workhours.is_day_off(date(2027, 2, 22))
    assert workhours.day_hours(saturday, DEFAULT_SCHEDULE) == (time(9), time(17))
    start = local(EKB, 2027, 2, 19, 17, 0)
    assert add_working_hours(start, 4, DEFAULT_SCHEDULE, EKB) == local(EKB, 2027, 2, 20, 12, 0)


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2027])
def test_the_rule_and_the_package_agree_with_the_published_calendars(year: int) -> None:
    day, shortened, weekends = date(year, 1, 1), set(), set()
    while day.year == year:
        if workhours.shortened_by_rule(day):
            shortened.add(day)
        if workhours.working_weekend(day):
            weekends.add(day)
        day += timedelta(days=1)
    assert shortened == workhours.SHORTENED[year]
    assert weekends == workhours.WORKING_WEEKENDS[year]


def test_time_zones_count_in_the_units_own_hours() -> None:
    start = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 09:00 in Yekaterinburg, 07:00 in Moscow
    assert add_working_hours(start, 4, DEFAULT_SCHEDULE, EKB) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert add_working_hours(start, 4, DEFAULT_SCHEDULE, MSK) == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_unit_open_on_saturday_and_closed_on_monday() -> None:
    schedule = {d: (time(10), time(19)) for d in (1, 2, 3, 4, 5)}  # Tuesday to Saturday
    start = local(EKB, 2026, 11, 28, 17, 0)  # Saturday
    assert add_working_hours(start, 4, schedule, EKB) == local(EKB, 2026, 12, 1, 12, 0)  # Tuesday
    # Friday 11.06.2027 is shortened (closes 18:00), Saturday 12 June a holiday, Monday 14 June a day off.
    friday = local(EKB, 2027, 6, 11, 17, 0)
    assert add_working_hours(friday, 2, schedule, EKB) == local(EKB, 2027, 6, 15, 11, 0)


def test_no_working_time_at_all_falls_back_to_calendar_hours() -> None:
    start = local(EKB, 2026, 11, 27, 16, 0)
    assert add_working_hours(start, 8, {}, EKB) == local(EKB, 2026, 11, 30, 15, 0)  # empty = the default
    closed = {0: (time(9), time(9))}
    assert add_working_hours(start, 8, closed, EKB) == start + timedelta(hours=8)

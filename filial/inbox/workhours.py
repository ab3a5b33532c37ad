"""Answer deadlines in working hours: a unit's weekly opening hours, in its time zone, on the Russian production
calendar (public holidays, days off moved by government decree, working weekend days, shortened pre-holiday days).

What ``holidays.RU`` (the ``holidays`` package) gives: the public holidays of the Labour Code (art. 112) and the
days off moved by the government's decrees ("Day off (substituted from 03.01.2026)"). What it lacks, added here:

- **working weekend days**: the weekend day a decree moves a day off from becomes a working day (2027-02-20). They
  are read from the package's own "substituted from" entries (a substituted-from day that is a weekend and not a
  holiday itself) and, for 2024–2027, checked against ``WORKING_WEEKENDS`` (the decrees below);
- **shortened pre-holiday days** (Labour Code art. 95: the working day right before a non-working holiday is one
  hour shorter; a working weekend day moved in place of such a day is shortened instead). ``SHORTENED`` lists
  them for 2024–2027 as published in the production calendars; other years use the rule.

Sources: Labour Code of the Russian Federation, art. 95 and 112; government decrees on moving days off:
2024 — No. 1335 of 10.08.2023 (consultant.ru/document/cons_doc_LAW_455140); 2025 — No. 1335 of 04.10.2024
(cons_doc_LAW_481586); 2026 — No. 1466 of 24.09.2025 (cons_doc_LAW_515170); 2027 — decree of 2026
(cons_doc_LAW_544706); production calendars 2024–2027 (consultant.ru/law/ref/calendar/proizvodstvennye/).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Days that are working days although they fall on a weekend (decrees above).
WORKING_WEEKENDS: dict[int, frozenset[date]] = {
    2024: frozenset({date(2024, 4, 27), date(2024, 11, 2), date(2024, 12, 28)}),
    2025: frozenset({date(2025, 11, 1)}),
    2026: frozenset(),
    2027: frozenset({date(2027, 2, 20)}),
}
# Pre-holiday days one hour shorter (production calendars).
SHORTENED: dict[int, frozenset[date]] = {
    2024: frozenset({date(2024, 2, 22), date(2024, 3, 7), date(2024, 4, 27), date(2024, 5, 8), date(2024, 6, 11),
                     date(2024, 11, 2), date(2024, 12, 28)}),
    2025: frozenset({date(2025, 3, 7), date(2025, 4, 30), date(2025, 6, 11), date(2025, 11, 1)}),
    2026: frozenset({date(2026, 4, 30), date(2026, 5, 8), date(2026, 6, 11), date(2026, 11, 3)}),
    2027: frozenset({date(2027, 2, 20), date(2027, 4, 30), date(2027, 6, 11), date(2027, 11, 3)}),
}
# Non-working public holidays of art. 112 (since 2013): the days a shortened day precedes.
ART_112 = {(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8), (2, 23), (3, 8), (5, 1), (5, 9),
           (6, 12), (11, 4)}
DEFAULT_SCHEDULE: dict[int, tuple[time, time]] = {day: (time(9), time(18)) for day in range(5)}
_SUBSTITUTED = re.compile(r"substituted from (\d{2})/(\d{2})/(\d{4})")
MAX_DAYS = 400


@lru_cache(maxsize=64)
def _year(year: int) -> tuple[frozenset[date], dict[date, date]]:
    """(days off, {working weekend day: the day off it was moved to}) of one year, from ``holidays.RU``."""
    calendar = holidays.RU(years=year, language="en_US")
    off = frozenset(calendar.keys())
    moved: dict[date, date] = {}
    for day, name in calendar.items():
        match = _SUBSTITUTED.search(str(name))
        if match:
            source = date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
            if source.weekday() >= 5 and source not in off:
                moved[source] = day
    return off, moved


def is_day_off(day: date) -> bool:
    """A public holiday or a day off moved there by decree."""
    return day in _year(day.year)[0]


def working_weekend(day: date) -> date | None:
    """For a weekend day worked by decree: the weekday whose work it takes (that one is a day off)."""
    moved = _year(day.year)[1]
    if day in moved:
        return moved[day]
    return None


def is_shortened(day: date) -> bool:
    if day.year in SHORTENED:
        return day in SHORTENED[day.year]
    return shortened_by_rule(day)


def shortened_by_rule(day: date) -> bool:
    """Art. 95: the working day right before an art. 112 holiday; a working weekend day that took the place of
    such a day (or of a day off right before a run of days off ending in such a holiday)."""
    if is_day_off(day):
        return False
    nxt = day + timedelta(days=1)
    if day.weekday() < 5 and (nxt.month, nxt.day) in ART_112:
        return True
    partner = working_weekend(day)
    if partner is None:
        return False
    probe = partner + timedelta(days=1)
    for _ in range(10):
        if (probe.month, probe.day) in ART_112:
            return True
        if not (is_day_off(probe) or probe.weekday() >= 5):
            return False
        probe += timedelta(days=1)
    return False


Schedule = Mapping[int, tuple[time, time]]


def day_hours(day: date, schedule: Schedule) -> tuple[time, time] | None:
    """The unit's working hours on ``day`` on the production calendar, or None when it is closed."""
    if is_day_off(day):
        return None
    weekday = day.weekday()
    partner = working_weekend(day)
    if partner is not None and weekday not in schedule:
        weekday = partner.weekday()  # works as the weekday it replaces
    hours = schedule.get(weekday)
    if hours is None:
        return None
    opens, closes = hours
    if is_shortened(day):
        shorter = (datetime.combine(day, closes) - timedelta(hours=1)).time()
        closes = max(opens, shorter)
    if closes <= opens:
        return None
    return opens, closes


def _aware(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at).replace(tzinfo=tz, fold=0)


def add_working_hours(start: datetime, hours: float, schedule: Schedule, tz: ZoneInfo) -> datetime:
    """The moment ``hours`` working hours after ``start`` (aware) in this schedule and zone."""
    schedule = schedule or DEFAULT_SCHEDULE
    remaining = timedelta(hours=hours)
    local = start.astimezone(tz)
    day = local.date()
    for _ in range(MAX_DAYS):
        window = day_hours(day, schedule)
        if window is not None:
            opens, closes = _aware(day, window[0], tz), _aware(day, window[1], tz)
            cursor = max(opens, local)
            if cursor < closes:
                available = closes - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
        day += timedelta(days=1)
    return start + timedelta(hours=hours)  # no working time at all within a year: calendar hours


def schedule_from_rows(rows: Iterable[tuple[int, time, time]]) -> dict[int, tuple[time, time]]:
    schedule = {weekday: (opens, closes) for weekday, opens, closes in rows}
    return schedule or dict(DEFAULT_SCHEDULE)

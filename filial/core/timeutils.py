"""Aware datetimes: local wall-clock time in a unit's zone to UTC and back, DST-safe."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def local_to_aware(naive: datetime, tz: ZoneInfo) -> datetime:
    """Interpret a wall-clock time in ``tz``.

    A time that does not exist there (skipped by a DST jump) is an error; an ambiguous one (repeated by
    a DST fall-back) is an error too, since guessing could publish an hour early or late.
    """
    if naive.tzinfo is not None:
        return naive
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    roundtrip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive:
        raise ValidationError(
            _("%(time)s does not exist in the time zone %(tz)s (the clocks jump forward)."),
            code="nonexistent_time", params={"time": naive.strftime("%d.%m.%Y %H:%M"), "tz": tz.key},
        )
    if first.utcoffset() != second.utcoffset():
        raise ValidationError(
            _("%(time)s happens twice in the time zone %(tz)s (the clocks go back); choose another time."),
            code="ambiguous_time", params={"time": naive.strftime("%d.%m.%Y %H:%M"), "tz": tz.key},
        )
    return first


def to_local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)

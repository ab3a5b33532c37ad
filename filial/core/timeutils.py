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


# --- a time zone as people say it -------------------------------------------------------------------------------
# Russia's zones by the city people name them after («по екатеринбургскому времени»); the zones that keep another
# city's time are named after it (Astrakhan keeps Samara time, Chita Yakutsk time...).
_ZONE_CITY = {
    "Europe/Kaliningrad": "kaliningrad", "Europe/Moscow": "moscow", "Europe/Simferopol": "moscow",
    "Europe/Kirov": "moscow", "Europe/Volgograd": "moscow", "Europe/Samara": "samara",
    "Europe/Astrakhan": "samara", "Europe/Saratov": "samara", "Europe/Ulyanovsk": "samara",
    "Asia/Yekaterinburg": "yekaterinburg", "Asia/Omsk": "omsk", "Asia/Novosibirsk": "novosibirsk",
    "Asia/Barnaul": "novosibirsk", "Asia/Tomsk": "novosibirsk", "Asia/Krasnoyarsk": "krasnoyarsk",
    "Asia/Novokuznetsk": "krasnoyarsk", "Asia/Irkutsk": "irkutsk", "Asia/Yakutsk": "yakutsk",
    "Asia/Chita": "yakutsk", "Asia/Khandyga": "yakutsk", "Asia/Vladivostok": "vladivostok",
    "Asia/Ust-Nera": "vladivostok", "Asia/Magadan": "magadan", "Asia/Sakhalin": "magadan",
    "Asia/Srednekolymsk": "magadan", "Asia/Kamchatka": "kamchatka", "Asia/Anadyr": "kamchatka",
}


def _city_phrases() -> dict[str, str]:
    return {
        "kaliningrad": _("in Kaliningrad time"), "moscow": _("in Moscow time"), "samara": _("in Samara time"),
        "yekaterinburg": _("in Yekaterinburg time"), "omsk": _("in Omsk time"),
        "novosibirsk": _("in Novosibirsk time"), "krasnoyarsk": _("in Krasnoyarsk time"),
        "irkutsk": _("in Irkutsk time"), "yakutsk": _("in Yakutsk time"), "vladivostok": _("in Vladivostok time"),
        "magadan": _("in Magadan time"), "kamchatka": _("in Kamchatka time"),
    }


def tz_phrase(tz_name: str, at: datetime | None = None) -> str:
    """The zone as people say it: «по екатеринбургскому времени»; another zone by its name and UTC offset."""
    city = _ZONE_CITY.get(tz_name)
    if city:
        return _city_phrases()[city]
    try:
        offset = (at or datetime.now(UTC)).astimezone(ZoneInfo(tz_name)).strftime("%z")
    except (KeyError, ValueError):
        return _("in the time zone %(zone)s") % {"zone": tz_name}
    sign, hours, minutes = offset[0], int(offset[1:3]), offset[3:5]
    utc = f"UTC{sign}{hours}" + (f":{minutes}" if minutes != "00" else "") if hours or minutes != "00" else "UTC"
    return _("in the time of %(zone)s (%(utc)s)") % {"zone": tz_name, "utc": utc}

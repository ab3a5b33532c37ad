"""Numbers and dates a request carries (query string, path, body): parsed once, here, and bounded.

Every id is 1 … 2^63 - 1 (what both databases store in a BIGINT; SQLite cannot even bind a larger Python
int), every date and time lies between ``EARLIEST`` and ``LATEST`` (a library's posts, events and loans; times
outside it have no sensible local offset, e.g. local mean time before the zones of the 1920s). A value outside
is a :class:`BadParameter`: a 400 with the parameter's name and a plain message, in the API (see
``filial.core.api.exception_handler``) and in the pages (``BadRequest``, rendered by ``handler400``).
Path ids use the ``id`` converter (registered by ``CoreConfig.ready``): anything else there is a 404.
"""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.utils.translation import gettext as _

ID_MIN = 1
ID_MAX = 2**63 - 1
EARLIEST = date(1970, 1, 1)
LATEST = date(2100, 12, 31)


class BadParameter(BadRequest):
    """A number or date of a request that cannot be used: a 400 naming the parameter."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def id_message() -> str:
    return _("Give a whole number from 1 to %(max)s.") % {"max": ID_MAX}


def time_message() -> str:
    return _("Give a time between %(earliest)s and %(latest)s.") % {
        "earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}


def date_message() -> str:
    return _("Give a date between %(earliest)s and %(latest)s (YYYY-MM-DD).") % {
        "earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}


def parse_id(raw: object, name: str) -> int:
    """An id (a row's primary key) given as text or a number; anything else is a :class:`BadParameter`."""
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise BadParameter(name, id_message())
    value = int(text)
    if not ID_MIN <= value <= ID_MAX:
        raise BadParameter(name, id_message())
    return value


def optional_id(raw: object, name: str) -> int | None:
    """``parse_id`` for an optional filter: empty means "not given"."""
    if raw is None or str(raw).strip() == "":
        return None
    return parse_id(raw, name)


def in_range(day: date) -> bool:
    """``day`` (or a time's own date) lies within the bounds."""
    if isinstance(day, datetime):
        day = day.date()
    return EARLIEST <= day <= LATEST


def check_day(day: date, name: str) -> date:
    if not in_range(day):
        raise BadParameter(name, date_message())
    return day


def check_moment(moment: datetime, name: str) -> datetime:
    """A time whose (local or UTC) date is within the bounds; its day is checked, the zone is kept."""
    check_day(moment.date(), name)
    return moment


def parse_day(raw: object, name: str) -> date:
    """A date ``YYYY-MM-DD`` within the bounds."""
    try:
        day = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise BadParameter(name, date_message()) from None
    return check_day(day, name)


def optional_day(raw: object, name: str) -> date | None:
    if raw is None or str(raw).strip() == "":
        return None
    return parse_day(raw, name)


class IdConverter:
    """``<id:pk>`` in a URL: 1 … 2^63 - 1 digits; a longer or larger number does not match (a 404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not ID_MIN <= number <= ID_MAX:
            raise ValueError(value)
        return number

    def to_url(self, value: object) -> str:
        return str(value)


class IndexConverter(IdConverter):
    """``<index:n>`` in a URL: a position in a short list, 0 … 9999 (an attachment of an inbox item)."""

    regex = "[0-9]{1,4}"

    def to_python(self, value: str) -> int:
        return int(value)


def id_or_none(raw: object) -> int | None:
    """A prefill from a link (``/posts/new/?unit=3``): an id, or None for anything else (nothing to prefill)."""
    try:
        return optional_id(raw, "")
    except BadParameter:
        return None


def day_or_none(raw: object) -> date | None:
    """A date prefill from a link: a date within the bounds, or None."""
    try:
        return optional_day(raw, "")
    except BadParameter:
        return None


def validate_day(value: date) -> None:
    """A form field's validator: a date within the bounds."""
    if value is not None and not in_range(value):
        raise ValidationError(date_message(), code="out_of_range")


class DayField(forms.DateField):
    """A form's date within the bounds (a filter, a due date, a repeat's last day)."""

    default_validators = [validate_day]

"""REST API glue shared by every app: errors from services become clean 400/403 answers; times are read
and shown in a unit's time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from filial.accounts.selectors import Access, system_timezone
from filial.core.params import (
    ID_MAX,
    ID_MIN,
    BadParameter,
    check_day,
    check_moment,
    in_range,
    parse_id,
    time_message,
)
from filial.core.timeutils import local_to_aware
from filial.libraries.models import Unit


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error answer is an object (see ``filial.core.schema``): ``{"detail": …}``, or for a 400 the fields'
    messages ``{"field": [...], "non_field_errors": [...]}``."""
    if isinstance(exc, BadParameter):
        exc = exceptions.ValidationError({exc.name: [exc.message]})
    elif isinstance(exc, DjangoValidationError):
        detail: Any
        if hasattr(exc, "error_dict"):
            detail = {k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()}
            if "__all__" in detail:
                detail["non_field_errors"] = detail.pop("__all__")
        else:
            detail = {"non_field_errors": [str(m) for m in exc.messages]}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):  # ValidationError("…") outside a serializer
        response.data = {"non_field_errors": response.data}
    return response


class LocalDateTimeField(serializers.DateTimeField):
    """ISO 8601 input; a naive value stays naive so the caller can place it in the right unit's zone
    (with :func:`make_aware`), an aware one is kept as it is."""

    def enforce_timezone(self, value: datetime) -> datetime:
        if not in_range(value.date()):  # year 0182 with local mean time is no library's event
            raise serializers.ValidationError(time_message())
        if timezone.is_naive(value):
            return value
        return super().enforce_timezone(value)


def make_aware(value: datetime | None, tz: zoneinfo.ZoneInfo, field: str) -> datetime | None:
    """A naive wall-clock time in ``tz`` to an aware one; a DST gap or overlap is a 400 on ``field``."""
    if value is None or timezone.is_aware(value):
        return value
    try:
        return local_to_aware(value, tz)
    except DjangoValidationError as exc:
        raise DjangoValidationError({field: exc.messages}) from exc


def local_iso(value: datetime | None, tz: zoneinfo.ZoneInfo) -> str | None:
    """An aware time as ISO 8601 with the offset of ``tz`` (the unit's wall clock)."""
    return value.astimezone(tz).isoformat() if value is not None else None


def localize_fields(data: dict[str, Any], instance: Any, tz: zoneinfo.ZoneInfo, names: Iterable[str]) -> None:
    for name in names:
        if name in data:
            data[name] = local_iso(getattr(instance, name), tz)


def first_writable_unit(access: Access) -> Unit:
    """The user's first unit (in tree order) they may write for; 403 if there is none."""
    unit = Unit.objects.filter(id__in=access.write_units).select_related("system").order_by("path").first()
    if unit is None:
        raise exceptions.PermissionDenied(_("You cannot write for any unit."))
    return unit


def system_units(access: Access) -> Any:
    """Units of the user's library systems: what a request body may refer to (writes are checked later)."""
    return Unit.objects.filter(system_id__in=access.systems).select_related("system")


def user_tz(access: Access, unit: Unit | None = None) -> zoneinfo.ZoneInfo:
    """The zone for times given without an offset in a query: the unit's, else the user's system's."""
    if unit is not None:
        return unit.tz
    return system_timezone(access)


def parse_bound(raw: str, tz: zoneinfo.ZoneInfo, *, end: bool, field: str) -> datetime:
    """A ``from``/``to`` query value: a date (whole day, in ``tz``) or an ISO 8601 time."""
    value = raw.strip()
    try:  # a date first: parse_datetime() would read "2031-06-01" as its midnight
        day = parse_date(value)
        moment = None if day else parse_datetime(value)
    except ValueError:
        moment = day = None
    if moment is not None:
        check_moment(moment, field)
        return moment if timezone.is_aware(moment) else make_aware(moment, tz, field) or moment
    if day is not None:
        check_day(day, field)
        if end:  # the whole day, up to its last microsecond
            return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz) - timedelta(microseconds=1)
        return datetime.combine(day, time.min, tzinfo=tz)
    raise exceptions.ValidationError({field: [_("Give a date (YYYY-MM-DD) or a time in ISO 8601.")]})


def int_param(raw: str, name: str) -> int:
    """An id in a query parameter (1 … 2^63 - 1); anything else is a 400 on ``name``."""
    return parse_id(raw, name)


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An id in a request body, bounded like every id (filial/core/params.py)."""
    return serializers.IntegerField(min_value=ID_MIN, max_value=ID_MAX, **kwargs)


def choice_params(raw: str, allowed: Iterable[str], name: str) -> list[str]:
    """A comma-separated list of choices (``?state=pending,returned``); an unknown one is a 400."""
    values = [v.strip() for v in raw.split(",") if v.strip()]
    allowed = list(allowed)
    if not values:  # "?state=%09": given, but nothing in it
        raise exceptions.ValidationError({name: [_("Choose one or more of: %(values)s.") % {
            "values": ", ".join(allowed)}]})
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise exceptions.ValidationError(
            {name: [_("Unknown value: %(values)s.") % {"values": ", ".join(unknown)}]}
        )
    return values


class Pagination(LimitOffsetPagination):
    """``?limit=&offset=``; a page is at most ``max_limit`` rows (a larger limit is cut down, never sent to the
    database as a number it cannot hold)."""

    max_limit = 1000


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """An object referred to by its id: a whole number 1 … 2^63 - 1 (``1.5``, ``true`` or ``"1e3"`` are refused,
    not truncated to another object's id)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("pk_field", id_field())
        super().__init__(**kwargs)

"""Template helpers shared by every app: state and network badges, times in a unit's zone."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import template
from django.utils.html import format_html

from filial.core import timeutils
from filial.networks import registry

register = template.Library()


@register.simple_tag
def state_badge(obj: Any, field: str = "state") -> str:
    """``{% state_badge post %}`` → a coloured, labelled state pill (text, not colour alone)."""
    value = getattr(obj, field)
    label = getattr(obj, f"get_{field}_display")()
    return format_html('<span class="state state-{}">{}</span>', value, label)


@register.simple_tag
def net_badge(network: str, label: str = "") -> str:
    """``{% net_badge channel.network channel.get_network_display %}``."""
    short = registry.short_label(network)
    return format_html('<span class="net net-{}" title="{}">{}</span>', network, label or short, short)


@register.filter
def in_tz(value: datetime | None, tz_name: str) -> datetime | None:
    """``{{ post.publish_at|in_tz:post.unit.tz_name|date:"d.m.Y H:i" }}``: wall-clock time in that zone."""
    if value is None or not tz_name:
        return value
    return value.astimezone(zoneinfo.ZoneInfo(tz_name))


@register.filter
def grouped(value: int | None) -> str:
    """``{{ 13800|grouped }}`` → "13 800" in Russian, "13,800" in English."""
    if value is None:
        return ""
    from django.utils.formats import number_format

    return number_format(value, force_grouping=True)


@register.inclusion_tag("core/_network_error.html")
def network_error(network: str, code: Any, raw: str, truncate: int = 0) -> dict[str, Any]:
    """``{% network_error d.channel.network d.last_error_code d.last_error %}``: what happened and what to do, in
    plain words (the network's rule, ``networks/advice.py``), with the network's raw answer folded under
    «Подробности». Nothing when there is no error."""
    raw = str(raw or "")
    if not raw and not code:
        return {"advice": None}
    advice = registry.explain_error(str(network or ""), code, raw)
    if truncate and len(raw) > truncate:
        raw = raw[:truncate] + "…"
    return {"advice": advice, "raw": raw, "code": str(code or ""), "label": registry.label(str(network or ""))}


@register.filter
def tz_phrase(tz_name: str) -> str:
    """``{{ unit.tz_name|tz_phrase }}``: «по екатеринбургскому времени» (``core.timeutils.tz_phrase``)."""
    return timeutils.tz_phrase(str(tz_name or ""))

"""The engagement formulas the dashboards show, written once; an unknown input gives an unknown result, never 0.

- ERpost = (likes + reposts + comments) per publication / audience · 100 %
- ERview = (likes + reposts + comments) / views · 100 %
- ERR = mean publication reach / audience · 100 %, over the last 30 days of the period (TGStat's definition)

For several pages the pages' per-publication figures are added up and divided by their audiences added up (only
pages whose figure is known take part): the audience-weighted mean of the pages' rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

ERR_DAYS = 30  # TGStat's ERR window: publications of the last 30 days


_TEXTS: dict[tuple[str | None, str], str] = {}


def text(message: str) -> str:
    """``gettext(message)``, remembered per language: a network's dashboard asks for the same few reasons once per
    page and cell (thousands of times a request)."""
    key = (get_language(), message)
    found = _TEXTS.get(key)
    if found is None:
        found = _TEXTS[key] = _(message)
    return found


@dataclass(frozen=True, slots=True)
class Figure:
    """A number the dashboard shows: ``value`` None is unknown and ``reason`` says why; ``measured_at`` (and the
    ``day`` the figure is about) say when the network was asked."""

    value: float | int | None
    reason: str = ""
    measured_at: datetime | None = None
    day: date | None = None

    @property
    def known(self) -> bool:
        return self.value is not None

    def __str__(self) -> str:
        return self.__html__()  # a template turns a value into text before escaping it: the markup, marked safe

    def __html__(self) -> SafeString:
        """A rate as a page shows it (``{{ row.er_post }}``): «2,50 %», or «—» with the reason."""
        if self.value is not None:
            return format_html("{}&nbsp;%", formats.number_format(self.value, 2))
        return format_html('<span aria-hidden="true">—</span><span class="visually-hidden">{}</span> '
                           '<span class="stat-why">{}</span>', text(gettext_noop("unknown")), self.reason)


_UNKNOWN: dict[str, Figure] = {}


def unknown(reason: str) -> Figure:
    """An unknown figure with its reason: one shared (immutable) object per reason, not one per page and cell."""
    found = _UNKNOWN.get(reason)
    if found is None:
        found = _UNKNOWN[reason] = Figure(None, reason)
    return found


def no_audience() -> str:
    return text(gettext_noop("The audience was not measured in this period."))


def zero_audience() -> str:
    return text(gettext_noop("The audience is zero: a rate per follower cannot be computed."))


def percent(part: float, whole: float) -> float:
    return round(part / whole * 100, 2)


def er_post(engagement_sum: int | None, engagement_posts: int, audience: int | None, *,
            reason: str = "", measured_at: datetime | None = None) -> Figure:
    """(likes + reposts + comments) per publication over the audience. ``engagement_posts`` counts the
    publications whose three figures are all known; ``reason`` is the network's own reason when it never gives
    one of them."""
    if reason:
        return unknown(reason)
    if not engagement_posts or engagement_sum is None:
        return unknown(text(gettext_noop(
            "No publication of this period has its likes, reposts and comments measured.")))
    if audience is None:
        return unknown(no_audience())
    if audience == 0:
        return unknown(zero_audience())
    return Figure(percent(engagement_sum / engagement_posts, audience), measured_at=measured_at)


def er_view(engagement_sum: int | None, views_sum: int | None, *, reason: str = "",
            measured_at: datetime | None = None) -> Figure:
    """(likes + reposts + comments) over views, for the publications where both are known."""
    if reason:
        return unknown(reason)
    if engagement_sum is None or views_sum is None:
        return unknown(text(gettext_noop(
            "No publication of this period has both its views and its reactions measured.")))
    if views_sum == 0:
        return unknown(text(gettext_noop("No views were recorded: a rate per view cannot be computed.")))
    return Figure(percent(engagement_sum, views_sum), measured_at=measured_at)


def err(reach_sum: int | None, reach_posts: int, audience: int | None, *, reason: str = "",
        measured_at: datetime | None = None) -> Figure:
    """Mean reach of the publications of the last 30 days over the audience."""
    if reason:
        return unknown(reason)
    if not reach_posts or reach_sum is None:
        return unknown(text(gettext_noop("No publication of the last 30 days has its reach measured.")))
    if audience is None:
        return unknown(no_audience())
    if audience == 0:
        return unknown(zero_audience())
    return Figure(percent(reach_sum / reach_posts, audience), measured_at=measured_at)

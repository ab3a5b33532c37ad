"""Reads for library systems and units, and the network overview (dashboard).

``dashboard_for`` runs a fixed number of queries whatever the number of units and pages.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from filial.accounts.selectors import Access, access_for
from filial.channels.models import Channel
from filial.libraries.models import LibrarySystem, Unit
from filial.publishing.models import Delivery, Post
from filial.publishing.selectors import deliveries_visible, posts_visible
from filial.stats.models import PageDay

# The network's rule is regularity: a page that has published nothing for longer than this is "quiet".
QUIET_AFTER_DAYS = 7
UPCOMING_DAYS = 7
# Pages in these states are expected to post; paused and archived ones are not warned about.
WORKING_STATUSES = (Channel.Status.ACTIVE, Channel.Status.NEEDS_REAUTH)


@dataclass
class PageRow:
    """One page on the dashboard with what is due for it."""

    channel: Channel
    audience: int | None = None
    audience_at: datetime | None = None
    next_at: datetime | None = None
    next_overdue: bool = False
    week_count: int = 0
    last_published_at: datetime | None = None
    quiet_days: int | None = None

    @property
    def working(self) -> bool:
        return self.channel.status in WORKING_STATUSES

    @property
    def quiet(self) -> bool:
        """Nothing published for more than ``QUIET_AFTER_DAYS`` days (only for working pages)."""
        return self.working and self.quiet_days is not None and self.quiet_days > QUIET_AFTER_DAYS

    @property
    def never_published(self) -> bool:
        return self.working and self.last_published_at is None


@dataclass
class UnitNode:
    unit: Unit
    pages: list[PageRow] = field(default_factory=list)
    children: list[UnitNode] = field(default_factory=list)
    pending: int | None = None  # None: the user may not read this unit's drafts
    can_approve: bool = False


@dataclass
class SystemTree:
    system: LibrarySystem
    roots: list[UnitNode] = field(default_factory=list)


@dataclass
class Summary:
    pages: int = 0
    # The pages' latest measured audience (``stats.PageDay``) added up, over the pages ever measured; None: none
    # is. ``audience_at``: the latest of those measurements (each page's own date is on its row).
    audience: int | None = None
    audience_pages: int = 0
    audience_at: datetime | None = None
    audience_tz: str = ""  # the system's time zone: the date shown with ``audience_at``
    scheduled_this_week: int = 0
    pending: int = 0
    pending_is_own: bool = False  # the count is what *this user* may approve
    needs_reauth: int = 0
    quiet: int = 0


@dataclass
class Dashboard:
    systems: list[SystemTree]
    summary: Summary
    now: datetime
    week_start: datetime
    week_end: datetime


def _week_bounds(now: datetime, tz_name: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 in ``tz_name``, as aware datetimes."""
    tz = zoneinfo.ZoneInfo(tz_name)
    local = now.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).date()
    start = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
    end_day = monday + timedelta(days=7)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz)
    return start, end


def _page_stats(user: Any, channel_ids: list[int], now: datetime) -> dict[int, dict[str, Any]]:
    """Per page: next scheduled delivery, deliveries in the next days, last published one (one query)."""
    if not channel_ids:
        return {}
    scheduled = Q(state=Delivery.State.SCHEDULED)
    rows = (
        deliveries_visible(user)
        .filter(channel_id__in=channel_ids)
        .order_by()
        .values("channel_id")
        .annotate(
            next_at=Min("due_at", filter=scheduled),
            week_count=Count(
                "id", filter=scheduled & Q(due_at__gte=now, due_at__lt=now + timedelta(days=UPCOMING_DAYS))
            ),
            last_published_at=Max(
                Coalesce(F("published_at"), F("due_at")), filter=Q(state=Delivery.State.PUBLISHED)
            ),
        )
    )
    return {row["channel_id"]: dict(row) for row in rows}


def _latest_snapshot(field_name: str) -> Subquery:
    """The page's latest measured audience (``stats.PageDay``; a day whose measuring failed is skipped)."""
    return Subquery(
        PageDay.objects.filter(channel_id=OuterRef("pk"), audience__isnull=False)
        .order_by("-day", "-measured_at").values(field_name)[:1]
    )


def _page_row(channel: Any, stats: dict[str, Any] | None, now: datetime) -> PageRow:
    row = PageRow(channel=channel)
    snap_at, snap_followers = channel.snap_at, channel.snap_followers
    if snap_followers is not None and (
        channel.audience is None or channel.audience_updated_at is None or snap_at >= channel.audience_updated_at
    ):
        row.audience, row.audience_at = snap_followers, snap_at
    elif channel.audience is not None:
        row.audience, row.audience_at = channel.audience, channel.audience_updated_at
    if stats:
        row.next_at = stats["next_at"]
        row.next_overdue = row.next_at is not None and row.next_at < now
        row.week_count = stats["week_count"]
        row.last_published_at = stats["last_published_at"]
    if row.last_published_at is not None:
        row.quiet_days = max((now - row.last_published_at).days, 0)
    return row


def dashboard_for(user: Any, *, now: datetime | None = None) -> Dashboard:
    """The network overview for ``user``: every system they belong to, its unit tree, pages and what is due.

    Everyone in a library system reads the overview of all its pages; counts of posts awaiting approval
    are given only for units the user may read.
    """
    now = now or timezone.now()
    access: Access = access_for(user)
    units = list(
        Unit.objects.filter(system_id__in=access.systems).select_related("system").order_by("system__name", "path")
    )
    channels = list(
        Channel.objects.filter(unit__system_id__in=access.systems)
        .exclude(status=Channel.Status.ARCHIVED)
        .annotate(snap_followers=_latest_snapshot("audience"), snap_at=_latest_snapshot("measured_at"))
        .order_by("unit__path", "network", "name")
    )
    stats = _page_stats(user, [c.pk for c in channels], now)
    pending_by_unit: dict[int, int] = {}
    if access.read_units:
        pending_by_unit = dict(
            Post.objects.filter(state=Post.State.PENDING, unit_id__in=access.read_units)
            .order_by()
            .values("unit_id")
            .annotate(n=Count("id"))
            .values_list("unit_id", "n")
        )

    tz_name = units[0].system.timezone if units else settings.TIME_ZONE
    week_start, week_end = _week_bounds(now, tz_name)
    scheduled_this_week = (
        posts_visible(user)
        .filter(unit__system_id__in=access.systems, state=Post.State.SCHEDULED,
                publish_at__gte=week_start, publish_at__lt=week_end)
        .count()
        if access.systems else 0
    )

    nodes: dict[int, UnitNode] = {}
    trees: dict[int, SystemTree] = {}
    for unit in units:
        node = UnitNode(unit=unit, can_approve=access.can_approve(unit.pk))
        if access.can_read(unit.pk):
            node.pending = pending_by_unit.get(unit.pk, 0)
        nodes[unit.pk] = node
        tree = trees.setdefault(unit.system_id, SystemTree(system=unit.system))
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        if parent is not None:
            parent.children.append(node)
        else:
            tree.roots.append(node)

    summary = Summary()
    for channel in channels:
        row = _page_row(channel, stats.get(channel.pk), now)
        owner = nodes.get(channel.unit_id)
        if owner is None:  # pragma: no cover - a page always belongs to a unit of a listed system
            continue
        channel.unit = owner.unit  # reuse the loaded unit (and its system): no query per page
        owner.pages.append(row)
        summary.pages += 1
        if channel.snap_followers is not None:
            summary.audience = (summary.audience or 0) + channel.snap_followers
            summary.audience_pages += 1
            if summary.audience_at is None or channel.snap_at > summary.audience_at:
                summary.audience_at = channel.snap_at
        summary.needs_reauth += channel.status == Channel.Status.NEEDS_REAUTH
        summary.quiet += row.quiet
    summary.scheduled_this_week = scheduled_this_week
    summary.audience_tz = tz_name
    if access.approve_units:
        summary.pending_is_own = True
        summary.pending = sum(n for uid, n in pending_by_unit.items() if uid in access.approve_units)
    else:
        summary.pending = sum(pending_by_unit.values())
    return Dashboard(systems=list(trees.values()), summary=summary, now=now,
                     week_start=week_start, week_end=week_end)

"""The daily statistics of a page: its audience and its recent publications' figures, as the network gives them.

One round per page a day, spread over the night in the unit's zone (``tasks.py`` picks the pages whose slot has
come). A round writes one ``PageDay`` for the page's local day and one ``PublicationDay`` per publication of the last
``FILIAL_STATS_DAYS`` days; a second round the same day updates those rows (idempotent). A figure the network does
not give (the connector's ``stats_unknown``) is stored as None; a failed request stores the rows with None and the
error, so the gap shows: never a zero, never a guess.

Publishing goes first. A round shares the page's rate budgets with the outbox (the same limiter, the same claims)
but:

- the job waits (``wait_for_outbox``) before each page while the outbox has a row due now anywhere or one being
  sent, so publishing has the worker's CPU and the database first;
- it leaves the page alone while the page has a publication, message or edit due within
  ``FILIAL_STATS_QUIET_SECONDS`` (or being sent);
- it takes its units only when a publication's worth of units stays free beside them (a reserve), and it never
  sleeps for the budget: it gives up and comes back at the next tick.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.connections import connection
from filial.channels.models import Channel
from filial.networks import registry
from filial.networks.base import Connector, NetworkError, PostPayload, PostStats
from filial.networks.ratelimit import Claim, Limiter
from filial.outbox.jobs import all_jobs
from filial.outbox.limits import limiter as shared_limiter
from filial.publishing.models import Delivery
from filial.stats.latest import refresh_latest
from filial.stats.models import PageDay, PublicationDay, Source

log = logging.getLogger("filial.stats")

FIGURES = ("views", "likes", "reposts", "comments", "reach")
BUSY_STATES = ("scheduled", "sending")


@dataclass(frozen=True)
class Round:
    """What one round did: ``done`` (rows written), ``deferred`` (publishing goes first: nothing written, try
    later) or ``failed`` (gap rows written with the error)."""

    channel_id: int
    outcome: str
    day: date | None = None
    publications: int = 0
    reason: str = ""


def stats_days() -> int:
    return max(1, int(settings.FILIAL_STATS_DAYS))


def connector_class(channel: Channel) -> type[Connector]:
    spec = registry.find(channel.network)
    if spec is None:
        raise ValidationError(_("This page's network is not known to Filial."))
    return spec.connector_class()


def local_day(channel: Channel, now: datetime) -> date:
    """The page's day at ``now`` in its unit's zone."""
    return timezone.localtime(now, channel.unit.tz).date()


# --- publishing goes first -------------------------------------------------------------------------------------
def page_busy(channel_id: int, now: datetime, quiet: float | None = None) -> bool:
    """True while the page has outbox work (a publication, a message, an edit) due within the quiet time or being
    sent: the statistics wait."""
    horizon = now + timedelta(seconds=float(settings.FILIAL_STATS_QUIET_SECONDS if quiet is None else quiet))
    return any(job.objects().filter(channel_id=channel_id, state__in=BUSY_STATES, due_at__lte=horizon).exists()
               for job in all_jobs())


def outbox_busy(now: datetime | None = None) -> bool:
    """True while the outbox has work due now anywhere (a row due and claimable on an active page, or one being
    sent): the statistics let it have the worker's CPU and the database first."""
    now = now or timezone.now()
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return any(job.objects().filter(ready, state="scheduled", due_at__lte=now,
                                    channel__status=Channel.Status.ACTIVE).exists()
               or job.objects().filter(state="sending").exists()
               for job in all_jobs())


def wait_for_outbox(max_wait: float, *, pause: float = 0.25) -> float:
    """Sleep while the outbox is busy (:func:`outbox_busy`), at most ``max_wait`` seconds (a row stuck as due must
    not stop the statistics for good); returns the seconds waited."""
    started = time.monotonic()
    while outbox_busy() and time.monotonic() - started < max_wait:
        time.sleep(pause)
    return time.monotonic() - started


def reserve_claims(cls: type[Connector], channel: Channel) -> list[Claim]:
    """The units one plain publication of the page needs: kept free beside a statistics round."""
    return cls.publish_claims(channel.external_id, channel.credentials, PostPayload(text="-", key="stats-reserve"))


def _merged(*groups: list[Claim]) -> list[Claim]:
    totals: Counter[tuple[str, str]] = Counter()
    for group in groups:
        for claim in group:
            totals[(claim.budget, claim.identity)] += claim.cost
    return [Claim(budget, identity, cost) for (budget, identity), cost in totals.items()]


def take_budget(limiter: Limiter, claims: list[Claim], reserve: list[Claim]) -> bool:
    """Take ``claims`` now if they fit with ``reserve`` left over; never wait."""
    if not claims:
        return True
    if limiter.wait_time(_merged(claims, reserve)) > 0:
        return False
    return limiter.try_acquire(claims)


# --- the round ---------------------------------------------------------------------------------------------------
def recent_deliveries(channel: Channel, now: datetime) -> list[Delivery]:
    since = now - timedelta(days=stats_days())
    return list(Delivery.objects.filter(channel=channel, state=Delivery.State.PUBLISHED, published_at__gte=since,
                                        published_at__lte=now)
                .exclude(external_id="").only("pk", "external_id", "channel_id").order_by("published_at", "pk"))


def _reason(exc: Exception) -> str:
    """The gap's reason as a person reads it, with the network's own words after it."""
    detail = str(exc) if isinstance(exc, NetworkError) else f"{type(exc).__name__}: {exc}"
    return (_("The network did not give the figures (the collection tries again; if it repeats, check the page's "
              "connection): %(detail)s") % {"detail": detail})[:300]


def collect_page(channel: Channel, *, now: datetime | None = None, limiter: Limiter | None = None,
                 source: str = Source.JOB, respect_publishing: bool = True) -> Round:
    """One statistics round of ``channel`` (see the module's docstring). ``now`` (tests) sets the day."""
    now = now or timezone.now()
    day = local_day(channel, now)
    if respect_publishing and page_busy(channel.pk, now):
        return Round(channel.pk, "deferred", day, reason="publishing is due")
    cls = connector_class(channel)
    deliveries = recent_deliveries(channel, now)
    claims = cls.stats_claims(channel.external_id, channel.credentials, len(deliveries))
    if respect_publishing and not take_budget(limiter or shared_limiter(), claims, reserve_claims(cls, channel)):
        return Round(channel.pk, "deferred", day, reason="rate budget kept for publishing")
    unknown = set(cls.stats_unknown)
    audience: int | None = None
    audience_error = ""
    figures: dict[str, PostStats] = {}
    figures_error = ""
    try:
        with connection(channel) as connector:
            if respect_publishing:
                connector.prepaid(claims)  # taken above: the first calls use them, the rest take their own
            try:
                audience = None if "audience" in unknown else connector.page_audience()
            except Exception as exc:  # a gap, not a stop: the publications are still read
                audience_error = _reason(exc)
                log.warning("stats: audience of page %s failed: %s", channel.pk, audience_error)
            if deliveries:
                try:
                    figures = connector.post_stats([d.external_id for d in deliveries])
                except Exception as exc:
                    figures_error = _reason(exc)
                    log.warning("stats: publications of page %s failed: %s", channel.pk, figures_error)
    except Exception as exc:  # no connector at all (credentials, address): every row is a gap
        audience_error = figures_error = _reason(exc)
    measured = now
    write_round(channel, day, measured, source, audience, audience_error, deliveries, figures, figures_error,
                unknown)
    if audience is not None:
        Channel.objects.filter(pk=channel.pk).update(audience=audience, audience_updated_at=measured)
    failed = bool(audience_error or figures_error)
    return Round(channel.pk, "failed" if failed else "done", day, len(deliveries),
                 reason=audience_error or figures_error)


def write_round(channel: Channel, day: date, measured: datetime, source: str, audience: int | None,
                audience_error: str, deliveries: list[Delivery], figures: dict[str, PostStats],
                figures_error: str, unknown: set[str]) -> None:
    """Store one round: the page's day and its publications' day, replacing what the same day had."""
    gone = _("The network no longer shows this publication")
    rows = []
    for delivery in deliveries:
        stats = figures.get(delivery.external_id)
        values: dict[str, Any] = {name: None if name in unknown or stats is None else getattr(stats, name)
                                  for name in FIGURES}
        error = figures_error or ("" if stats is not None else gone)
        rows.append(PublicationDay(delivery_id=delivery.pk, channel_id=channel.pk, day=day, measured_at=measured,
                                   source=source, error=error[:300], **values))
    with transaction.atomic():
        PageDay.objects.update_or_create(channel_id=channel.pk, day=day, defaults={
            "audience": audience, "measured_at": measured, "source": source, "error": audience_error[:300]})
        if rows:
            PublicationDay.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["delivery", "day"],
                update_fields=[*FIGURES, "channel", "measured_at", "source", "error"])
            refresh_latest(row.delivery_id for row in rows)


# --- the audience sampled when a page is connected or verified ----------------------------------------------------
def record_audience(channel: Channel, audience: int | None, at: datetime, *, source: str = Source.JOB) -> PageDay:
    """The page's audience as measured at ``at`` (a page just connected or checked): the day's row."""
    day, _created = PageDay.objects.update_or_create(
        channel_id=channel.pk, day=local_day(channel, at),
        defaults={"audience": audience, "measured_at": at, "source": source, "error": ""})
    return day


def audience_measured(sender: Any, *, channel: Channel, audience: int | None, at: datetime, **kwargs: Any) -> None:
    """Receiver of ``channels.signals.audience_measured`` (connected in ``StatsConfig.ready``)."""
    record_audience(channel, audience, at)


# --- backfill ------------------------------------------------------------------------------------------------------
def backfill(actor: Any, channel: Channel, start: date, end: date, *, limiter: Limiter | None = None) -> int:
    """Past days' audience of ``channel`` from ``start`` to ``end``, where its network keeps that history (VK's
    community statistics). Days already measured by the daily job or entered by hand are kept; the rest are written
    (source ``backfill``). Returns the days written. ``actor`` None: the system (a command run by the
    installation's administrator)."""
    if actor is not None and not access_for(actor).can_write(channel.unit_id):
        raise PermissionDenied(_("You cannot change this page's statistics."))
    if end < start:
        raise ValidationError(_("The period ends before it starts: give the first day, then the last."))
    today = local_day(channel, timezone.now())
    end = min(end, today)
    cls = connector_class(channel)
    if not cls.audience_history:
        raise ValidationError(_("%(network)s keeps no daily history of a page's audience: only the daily "
                                "collection can record it from now on.") % {"network": channel.get_network_display()})
    claims = cls.history_claims(channel.external_id, channel.credentials, (end - start).days + 1)
    (limiter or shared_limiter()).acquire(claims, max_wait=60.0)
    with connection(channel) as connector:
        connector.prepaid(claims)
        figures = connector.audience_by_day(start, end)
    kept = set(PageDay.objects.filter(channel=channel, day__gte=start, day__lte=end, audience__isnull=False,
                                      source__in=[Source.JOB, Source.MANUAL]).values_list("day", flat=True))
    measured = timezone.now()
    rows = [PageDay(channel_id=channel.pk, day=day, audience=value, measured_at=measured, source=Source.BACKFILL,
                    error="") for day, value in sorted(figures.items()) if day not in kept and start <= day <= end]
    with transaction.atomic():
        PageDay.objects.bulk_create(rows, update_conflicts=True, unique_fields=["channel", "day"],
                                    update_fields=["audience", "measured_at", "source", "error"])
        if actor is not None:
            audit_record(actor, "stats.backfill", channel, {"from": start.isoformat(), "to": end.isoformat(),
                                                             "days": len(rows)})
    return len(rows)

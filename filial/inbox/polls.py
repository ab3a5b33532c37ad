"""Poll votes counted on every network (writes): the worker's periodic fetch, the end time, "refresh now".

A poll is composed once with its post (``publishing.Poll``) and published natively by each page's connector
(VK ``polls.create`` with ``end_date``, OK's poll media block, Telegram ``sendPoll``; MAX has no polls). For every
published delivery of a poll post on a network with polls, a :class:`~filial.inbox.models.PollTally` holds the
last counts per answer (``PollCount``, matched by position), the time of that count and why the last try failed.

Fetching (``poll_sweep`` every minute → ``fetch_one(delivery_id)`` tasks):

- a tally is due at ``next_fetch_at``: every ``FILIAL_POLL_FETCH_INTERVAL`` seconds (900) while the poll runs,
  and exactly at the poll's end time; after a failure with backoff; each fetch draws on the page's rate-limit
  budget through the engine's shared limiter (:func:`poll_claims`) and is claimed with a lease, so two workers
  never fetch the same tally at once;
- the end time (``Poll.ends_at``) is honoured everywhere: VK closes the poll itself (the connector passes
  ``end_date``), and the fetch at the end time takes its final counts; Telegram's ``close_date`` only reaches
  5-600 s ahead, so the connector sends none and the worker calls ``stopPoll`` at the end time, exactly once
  (``stop_sent_at`` is claimed with one conditional UPDATE before the request leaves), which also returns the
  final counts; OK has no end time: the counts taken at the end time are frozen (the poll stays open on OK,
  and the page says so). After the end nothing is fetched again;
- Telegram returns a running poll's counts only in ``poll`` updates (the Bot API has no call to read them):
  :func:`record_telegram_poll_update` stores them when the update pipeline sees one; a periodic fetch never
  calls ``stopPoll`` before the end time;
- polls without an end time are counted for ``FILIAL_POLL_FOLLOW_DAYS`` (30) after publication, then the last
  counts stay.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels import connections
from filial.channels.models import Channel
from filial.channels.services import channel_needs_reauth
from filial.core import taskqueue
from filial.inbox.models import PollCount, PollTally
from filial.networks import registry
from filial.networks.base import NetworkError, PollResults, Published
from filial.networks.ratelimit import Claim, WouldWait
from filial.outbox.claims import worker_name
from filial.outbox.limits import limiter
from filial.publishing.models import Delivery, Poll, Post

log = logging.getLogger("filial.polls")

MAX_FAILURES_AFTER_END = 6  # final counts that keep failing: give up after this many tries (the page says so)
QUEUED_FOR = timedelta(minutes=5)  # a queued fetch the queue lost is queued again after this
REFRESH_MIN_AGE = timedelta(seconds=10)  # "refresh now" does not fetch a count younger than this again
POLL_FETCH = "filial.inbox.tasks.poll_fetch"  # the Huey task that fetches one delivery's count


def fetch_interval() -> timedelta:
    return timedelta(seconds=float(settings.FILIAL_POLL_FETCH_INTERVAL))


def follow_for() -> timedelta:
    return timedelta(days=float(settings.FILIAL_POLL_FOLLOW_DAYS))


def lease_for() -> timedelta:
    return timedelta(seconds=float(settings.FILIAL_POLL_LEASE_SECONDS))


def has_native_polls(network: str) -> bool:
    return bool(registry.connector_class(network).capabilities.polls)


def poll_networks() -> list[str]:
    return [name for name in registry.names() if has_native_polls(name)]


def poll_claims(network: str, credentials: dict[str, Any]) -> list[Claim]:
    """The budget one count of one page's poll draws on (the connector's ``poll_claims``: reading calls;
    Telegram's stopPoll)."""
    return registry.connector_class(network).poll_claims(credentials)


def _at_end_only(network: str) -> bool:
    return registry.connector_class(network).poll_counts_at_end_only


def _closes_on_network(tally: PollTally) -> bool:
    """Whether the network itself ends the poll (OK's never end: Filial stops counting them)."""
    return registry.connector_class(tally.delivery.channel.network).polls_close_on_network


def _backoff(failures: int) -> timedelta:
    base = float(settings.FILIAL_POLL_RETRY_BASE)
    delay = min(float(settings.FILIAL_POLL_RETRY_CAP), base * 2 ** max(0, failures - 1))
    return timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))


# --- which deliveries are counted ---------------------------------------------------------------------------
def ensure_tallies(post_id: int | None = None, now: datetime | None = None) -> int:
    """Create the missing tallies of published poll deliveries on networks with polls. Returns how many."""
    now = now or timezone.now()
    rows = Delivery.objects.filter(state=Delivery.State.PUBLISHED, post__poll__isnull=False,
                                   channel__network__in=poll_networks(), poll_tally__isnull=True)
    if post_id is not None:
        rows = rows.filter(post_id=post_id)
    new = [PollTally(delivery_id=pk, post_id=post, next_fetch_at=now) for pk, post in
           rows.values_list("pk", "post_id")[:1000]]
    PollTally.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _next_fetch(poll: Poll, delivery: Delivery, network: str, now: datetime) -> datetime | None:
    """When to count a running poll next: the interval, never later than its end time; None = not any more."""
    if registry.connector_class(network).poll_counts_at_end_only:  # Telegram: stopPoll at the end time
        return poll.ends_at
    nxt = now + fetch_interval()
    if poll.ends_at is not None:
        return min(nxt, poll.ends_at)
    published = delivery.published_at or delivery.created_at
    if published is not None and nxt > published + follow_for():
        return None
    return nxt


# --- the worker -----------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    created: int = 0
    queued: int = 0


def poll_sweep(now: datetime | None = None, limit: int = 500) -> SweepReport:
    """Periodic: create the missing tallies, queue the fetches that are due (the end times among them)."""
    now = now or timezone.now()
    report = SweepReport(created=ensure_tallies(now=now))
    due = list(PollTally.objects.filter(closed=False, next_fetch_at__lte=now)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .order_by("next_fetch_at").values_list("pk", "delivery_id")[:limit])
    if due:
        # Queued: come back only if the queue loses the task (the fetch sets the real next time).
        PollTally.objects.filter(pk__in=[pk for pk, _d in due], next_fetch_at__lte=now).update(
            next_fetch_at=now + QUEUED_FOR)
    for _pk, delivery_id in due:
        taskqueue.enqueue(POLL_FETCH, delivery_id)
    report.queued = len(due)
    return report


def _claim(tally_id: int, token: str, now: datetime) -> bool:
    return PollTally.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=tally_id, closed=False,
    ).update(lease_owner=token, lease_until=now + lease_for()) == 1


def _release(tally_id: int, token: str, **fields: Any) -> bool:
    return PollTally.objects.filter(pk=tally_id, lease_owner=token).update(
        lease_owner="", lease_until=None, **fields) == 1


def _fail(tally: PollTally, token: str, message: str, now: datetime, *, ended: bool,
          retry_after: float | None = None, close: bool = False) -> str:
    failures = tally.failures + 1
    fields: dict[str, Any] = {"error": message[:500], "error_at": now, "failures": failures}
    if close or (ended and failures >= MAX_FAILURES_AFTER_END):
        fields.update(closed=True, closed_at=now, next_fetch_at=None)
        if _closes_on_network(tally):
            fields["closed_by"] = PollTally.ClosedBy.NETWORK
    else:
        wait = timedelta(seconds=retry_after) if retry_after else _backoff(failures)
        fields["next_fetch_at"] = now + wait
    _release(tally.pk, token, **fields)
    log.warning("poll count of delivery %s failed: %s", tally.delivery_id, message)
    return "failed"


def _store(tally: PollTally, results: PollResults, now: datetime, *, close: bool,
           next_fetch_at: datetime | None) -> None:
    """The counts, their time and the tally's next step in one transaction (written even if the lease expired:
    what the network answered is the newest count there is)."""
    with transaction.atomic():
        PollCount.objects.filter(tally_id=tally.pk).delete()
        PollCount.objects.bulk_create([
            PollCount(tally_id=tally.pk, position=i, text=str(text)[:300], votes=max(0, int(votes)))
            for i, (text, votes) in enumerate(results.answers)])
        fields: dict[str, Any] = {
            "total_voters": max(0, int(results.total_voters)), "counted_at": now, "error": "", "error_at": None,
            "failures": 0, "next_fetch_at": None if close else next_fetch_at, "lease_owner": "", "lease_until": None,
        }
        if close:
            fields.update(closed=True, closed_at=now, closed_by=(
                PollTally.ClosedBy.NETWORK if _closes_on_network(tally) else PollTally.ClosedBy.FILIAL))
        PollTally.objects.filter(pk=tally.pk).update(**fields)


def fetch_one(delivery_id: int, now: datetime | None = None) -> str:
    """Count one page's poll now (a Huey task calls this). Returns what happened, for logs and tests."""
    now = now or timezone.now()
    tally = (PollTally.objects.select_related("delivery__channel", "delivery__post")
             .filter(delivery_id=delivery_id).first())
    if tally is None or tally.closed:
        return "skipped"
    poll = Poll.objects.filter(post_id=tally.post_id).first()
    if poll is None:
        return "skipped"
    delivery = tally.delivery
    channel = delivery.channel
    ended = poll.ends_at is not None and poll.ends_at <= now
    token = f"{worker_name()}:{uuid.uuid4().hex[:10]}"
    if not _claim(tally.pk, token, now):
        return "busy"
    at_end_only = registry.connector_class(channel.network).poll_counts_at_end_only
    if at_end_only and not ended:
        _release(tally.pk, token, next_fetch_at=poll.ends_at)  # reading counts would close the poll
        return "waiting_for_end"
    if channel.status != Channel.Status.ACTIVE:
        return _fail(tally, token, _("The page is %(status)s: its poll is not counted.")
                     % {"status": channel.get_status_display().lower()}, now, ended=ended)
    connector = None
    try:
        channel = connections.refresh_if_due(channel)
        connector = connections.connector_for(channel)
        claims = poll_claims(channel.network, channel.credentials)
        try:
            limiter().acquire(claims, max_wait=float(settings.FILIAL_RATE_LIMIT_MAX_SLEEP))
        except WouldWait as wait:
            _release(tally.pk, token, next_fetch_at=now + timedelta(seconds=wait.seconds))
            return "deferred"
        connector.prepaid(claims)  # the connector's first calls use them (the shared limiter paces)
        stopping = at_end_only  # reading the counts closes the poll (Telegram stopPoll)
        if stopping and not PollTally.objects.filter(pk=tally.pk, stop_sent_at__isnull=True).update(
                stop_sent_at=timezone.now()):
            # stopPoll went out before and its answer was lost: the poll is closed, the counts are the last known.
            _release(tally.pk, token, closed=True, closed_at=now, closed_by=PollTally.ClosedBy.NETWORK,
                     next_fetch_at=None)
            return "closed"
        try:
            results = connector.poll_results(Published(external_id=delivery.external_id, url=delivery.url))
        except NetworkError as exc:
            if exc.needs_reauth:
                channel_needs_reauth(channel.pk, exc)
            if stopping and not exc.outcome_unknown and not exc.permanent:
                PollTally.objects.filter(pk=tally.pk).update(stop_sent_at=None)  # nothing was applied: try again
            already_closed = stopping and "already been closed" in str(exc)
            unknown = stopping and exc.outcome_unknown
            if already_closed:
                message = _("Telegram says the poll was already closed; its final counts are the last known.")
            elif unknown:
                message = _("Telegram did not answer when the poll was closed; its final counts are the last known.")
            else:
                message = str(exc)
            return _fail(tally, token, message, now, ended=ended, retry_after=exc.retry_after,
                         close=already_closed or unknown)
    except NetworkError as exc:  # refreshing the token or building the connector
        if exc.needs_reauth:
            channel_needs_reauth(channel.pk, exc)
        return _fail(tally, token, str(exc), now, ended=ended, retry_after=exc.retry_after)
    except Exception as exc:
        log.exception("counting the poll of delivery %s failed unexpectedly", delivery_id)
        return _fail(tally, token, f"unexpected error: {exc!r}", now, ended=ended)
    finally:
        connections.close(connector)
    if results is None:
        return _fail(tally, token, _("The network shows no poll in this post."), now, ended=ended)
    _store(tally, results, timezone.now(), close=ended,
           next_fetch_at=_next_fetch(poll, delivery, channel.network, now))
    return "closed" if ended else "counted"


# --- pushed counts (Telegram ``poll`` updates) ------------------------------------------------------------------
def record_telegram_poll_update(channel_id: int, poll: dict[str, Any], now: datetime | None = None) -> bool:
    """Store the counts a Telegram ``poll`` update carries (sent for polls our bot sent, on every vote and when
    one closes) in the open tally of that page whose question and answers match; the newest such delivery wins.
    The update pipeline (getUpdates or the webhook) calls this; returns whether a tally took the counts."""
    if not isinstance(poll, dict) or not isinstance(poll.get("options"), list):
        return False
    now = now or timezone.now()
    question = str(poll.get("question") or "").strip()
    texts = [str(option.get("text") or "").strip() for option in poll["options"] if isinstance(option, dict)]
    closed = bool(poll.get("is_closed"))
    # Open tallies; and, for the update sent when a poll closes, tallies closed without their final counts (the
    # answer to stopPoll was lost).
    open_or_unknown = Q(closed=False) | Q(closed=True, error__gt="") if closed else Q(closed=False)
    candidates = (PollTally.objects.filter(open_or_unknown, delivery__channel_id=channel_id,
                                           post__poll__question=question)
                  .select_related("delivery__channel").order_by("-delivery__published_at", "-pk"))
    for tally in candidates:
        answers = list(Poll.objects.get(post_id=tally.post_id).answers.values_list("text", flat=True))
        if [a.strip() for a in answers] != texts:
            continue
        results = PollResults(answers=[(str(o.get("text") or ""), int(o.get("voter_count") or 0))
                                       for o in poll["options"]],
                              total_voters=int(poll.get("total_voter_count") or 0))
        _store(tally, results, now, close=closed, next_fetch_at=tally.next_fetch_at)
        return True
    return False


# --- staff actions --------------------------------------------------------------------------------------------
@dataclass
class RefreshReport:
    queued: int = 0
    waiting_for_end: int = 0  # Telegram polls before their end time
    closed: int = 0


def poll_refresh(*, actor: Any, post: Post) -> RefreshReport:
    """"Refresh now": queue a count of every open tally of the post (Telegram ones only at their end time)."""
    access = access_for(actor)
    if not access.can_write(post.unit_id):
        raise PermissionDenied(_("You cannot refresh the poll results of this unit."))
    now = timezone.now()
    ensure_tallies(post_id=post.pk, now=now)
    report = RefreshReport()
    ids: list[int] = []
    rows = PollTally.objects.filter(post_id=post.pk).select_related("delivery__channel")
    ends_at = Poll.objects.filter(post_id=post.pk).values_list("ends_at", flat=True).first()
    ended = ends_at is not None and ends_at <= now
    for tally in rows:
        if tally.closed:
            report.closed += 1
        elif _at_end_only(tally.delivery.channel.network) and not ended:
            report.waiting_for_end += 1
        elif tally.counted_at is None or tally.counted_at < now - REFRESH_MIN_AGE or tally.error:
            ids.append(tally.delivery_id)
    report.queued = len(ids)
    with transaction.atomic():
        if ids:
            PollTally.objects.filter(delivery_id__in=ids).update(next_fetch_at=now + QUEUED_FOR)
            transaction.on_commit(lambda: _enqueue(ids))
        poll = Poll.objects.filter(post_id=post.pk).first()
        if poll is not None:
            audit_record(actor, "poll.refresh", poll, {"post": post.pk, "queued": report.queued},
                         system_id=post.unit.system_id)
    return report


def _enqueue(delivery_ids: Iterable[int]) -> None:
    for delivery_id in delivery_ids:
        taskqueue.enqueue(POLL_FETCH, delivery_id)


def poll_results_enter(*, actor: Any, delivery: Delivery, votes: list[int], total_voters: int | None = None,
                       now: datetime | None = None) -> PollTally:
    """Historic results typed by hand from the page (a poll Filial did not count): the tally is closed, marked
    ``manual``, and never fetched. ``votes`` follow the poll's answers in order. ``actor`` None: the demo."""
    now = now or timezone.now()
    post = delivery.post
    if actor is not None and not access_for(actor).can_write(post.unit_id):
        raise PermissionDenied(_("You cannot enter the results of this poll."))
    poll = Poll.objects.filter(post=post).prefetch_related("answers").first()
    if poll is None or delivery.state != Delivery.State.PUBLISHED:
        raise ValidationError(_("Results can be entered only for a published poll."))
    answers = list(poll.answers.all())
    if len(votes) != len(answers) or any(v < 0 for v in votes):
        raise ValidationError(_("Enter the number of votes (0 or more) for every answer."))
    with transaction.atomic():
        tally, _created = PollTally.objects.update_or_create(delivery=delivery, defaults={
            "post": post, "total_voters": total_voters if total_voters is not None else sum(votes),
            "counted_at": now, "closed": True, "closed_at": now, "closed_by": PollTally.ClosedBy.MANUAL,
            "next_fetch_at": None, "error": "", "failures": 0,
        })
        PollCount.objects.filter(tally=tally).delete()
        PollCount.objects.bulk_create([PollCount(tally=tally, position=a.position, text=a.text, votes=v)
                                       for a, v in zip(answers, votes, strict=True)])
        audit_record(actor, "poll.results_entered", post, {"delivery": delivery.pk, "votes": votes},
                     system_id=post.unit.system_id)
    return tally

"""A page's lane: the outbox sends a page's due rows of one kind, a batch at a time.

One task (``tasks.run_lane``) claims up to ``FILIAL_LANE_BATCH`` due rows of one page with one UPDATE and a lease
(``claims.claim_batch``) and sends them in order with one connector, at the page's rate limit. Life of a row::

    scheduled ──claim──▶ sending ──▶ done (published / sent)
        ▲                   │──────▶ failed      (permanent error, or temporary ones beyond the bound)
        │                   │──────▶ uncertain   (no answer after the request left, no idempotency key)
        └───────────────────┘        retry_after waits, temporary errors (backoff), needs re-authorisation,
                                     rate-limit hand-backs

- **Before the network call** the rate limiter is asked for the page's budget; the lease is then renewed and
  ``sent_at`` stamped in one fenced UPDATE, so a worker that lost its lease never sends, and the sweeper knows
  whether a request may have left. On a network with idempotency keys (VK) a lane's young claim is the fence
  instead, its batch stamped at the claim: a repeat carries the same key. A budget that is not free within
  ``FILIAL_RATE_LIMIT_MAX_SLEEP`` is a *hand-back*: the row and the rest of its batch go back to ``scheduled`` for
  the budget's time in one UPDATE, and the waker queues the lane again at that time. A hand-back is neither an
  attempt nor a deferral. The limiter is the only pacer: a send of several calls in a row (a VK post with
  photos) pays its first calls with the row's units and takes one per further call through the connector's meter
  (:func:`pace`), each wait at most the budget's window plus that bound; longer is a deferral, before the call.
- **Success**: state, external id, link, time and the ``Attempt`` row in ONE transaction (``jobs.record_done``),
  then the kind's outcome hook (``Job.on_done``).
- **Errors** (``NetworkError`` flags): needs_reauth → the page is paused (``channels.services.channel_needs_reauth``),
  the row waits; outcome_unknown → a retry with the same key where the network has one, otherwise ``uncertain``
  and a look-up on the network where the kind can (:func:`lookup_uncertain`); permanent → failed; retry_after →
  back to scheduled after that wait (a deferral, bounded); other → bounded retries with backoff and jitter.

A lane runs at most ``FILIAL_LANE_SLICE`` seconds, then queues itself behind the other work. Rows stay the truth:
a lane lost with a killed worker leaves ``scheduled`` rows that the sweeper queues again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from filial.channels.connections import close, connector_for, refresh_if_due
from filial.channels.models import Channel
from filial.channels.services import channel_needs_reauth
from filial.networks import registry
from filial.networks.base import Connector, NetworkError, Published
from filial.networks.ratelimit import Claim, Limiter, Meter, WouldWait, lookup_claims
from filial.outbox import policy
from filial.outbox.claims import claim_batch, lease_token, mark_sent
from filial.outbox.jobs import Job, PayloadError, Try, finish, record_attempt, record_done
from filial.outbox.limits import limiter
from filial.outbox.models import Attempt
from filial.outbox.policy import backoff, lane_batch, lane_slice, lease_seconds, max_attempts, max_deferrals
from filial.outbox.queue import queue_lane, requeue, resume_lane

log = logging.getLogger("filial.engine")
Outcome = Attempt.Outcome


def run_lane(job: Job, channel_id: int) -> Counter[str]:
    """Send the page's due rows of this kind, a batch at a time; returns how many rows ended how."""
    results: Counter[str] = Counter()
    deadline = time.monotonic() + lane_slice()
    size = lane_batch()
    network = Channel.objects.filter(pk=channel_id).values_list("network", flat=True).first()
    if network is None:
        return results
    idempotent = registry.connector_class(network).capabilities.idempotency
    while True:
        token = lease_token()
        claimed_at = time.monotonic()
        rows = claim_batch(job, channel_id, token, size, sent=idempotent)
        context = LaneContext(idempotent=idempotent, claimed_at=claimed_at)
        if not rows or not run_batch(job, rows, token, results, context) or len(rows) < size:
            break
        if time.monotonic() >= deadline:
            queue_lane(job, channel_id, None)  # the rest after the work queued meanwhile (other pages too)
            results["continued"] += 1
            break
    return results


def run_batch(job: Job, rows: list[Any], token: str, results: Counter[str], context: LaneContext) -> bool:
    """Send a claimed batch of one page in order. True when every row ended (sent, or failed for good: a refusal
    of one reader does not stop the others); False when the page's work must wait, the rest given back."""
    channel = rows[0].channel
    for row in rows:
        row.channel = channel  # one page: its credentials decrypted once
    try:
        for i, row in enumerate(rows):
            try:
                result, until = run_claimed(job, row.pk, token, row, context)
            except WouldWait as wait:
                results["deferred"] += len(rows) - i
                hand_back(job, channel.pk, [r.pk for r in rows[i:]], token,
                           timezone.now() + timedelta(seconds=wait.seconds))
                return False
            results[result] += 1
            if result in (job.done, "failed"):
                continue
            rest = [r.pk for r in rows[i + 1:]]
            if result == "needs_reauth":  # the page is paused; re-authorising it queues its rows again
                hand_back(job, channel.pk, rest, token, None)
            else:  # a wait, an error of the network or of our lease: the rest waits as long as this row
                hand_back(job, channel.pk, rest, token, until or timezone.now() + timedelta(seconds=backoff(1)))
            return False
    finally:
        close(context.connector)
    return True


def hand_back(job: Job, channel_id: int, pks: list[int], token: str, until: datetime | None) -> None:
    """Give claimed, untried rows back (nothing was sent: neither an attempt nor a deferral), and let the lane
    go on at ``until`` (None: when something else queues the page, e.g. its re-authorisation)."""
    if pks:
        job.objects().filter(pk__in=pks, state="sending", lease_owner=token).update(
            state="scheduled", lease_owner="", lease_until=None, sent_at=None, next_attempt_at=until,
            enqueued_eta=until, updated_at=timezone.now())
    if until is not None:
        transaction.on_commit(lambda: resume_lane(job, channel_id, until))


@dataclass
class LaneContext:
    """What the rows of one lane's batch share: the page's connector (made once, closed by the lane), and on a
    network with idempotency keys the batch's claim as the only fence while its lease is young: a row sent again
    after a lost lease carries the same key, and the network answers with what it already has."""

    connector: Connector | None = None
    idempotent: bool = False
    claimed_at: float = field(default_factory=time.monotonic)

    def fenced_by_claim(self) -> bool:
        return self.idempotent and time.monotonic() - self.claimed_at < lease_seconds() / 2


def run_claimed(job: Job, pk: int, token: str, row: Any, lane: LaneContext) -> tuple[str, datetime | None]:
    """Send the claimed row of a lane's batch: (what happened, when the row may be tried again if it waits).

    A rate-limit wait longer than ``FILIAL_RATE_LIMIT_MAX_SLEEP`` raises :class:`WouldWait` with the row still
    claimed: the lane gives back the row and the rest of its batch at once.
    """
    channel = row.channel
    t = Try(started_at=timezone.now(), token=token, request=job.summary(row, None))
    payload: Any = None
    connector: Connector | None = None
    published: Published | None = None
    error: NetworkError | None = None
    try:
        try:
            payload = job.prepare(row)
        except PayloadError as exc:
            raise NetworkError(str(exc), network=channel.network, code="payload", permanent=True) from exc
        t.request = job.summary(row, payload)
        if lane.connector is not None:
            connector = lane.connector
        else:
            channel = refresh_if_due(channel)
            connector = lane.connector = connector_for(channel)
        claims = job.claims(channel, row, payload)
        shared = limiter()
        waited = shared.wait_until_free(claims, max_wait=policy.max_sleep())  # WouldWait: the lane hands back
        if not lane.fenced_by_claim() and not mark_sent(job, pk, token):
            return "lease_lost", None
        # Taken only now, right before the request leaves (the stamp above may have waited for the database).
        waited += shared.acquire(claims)
        meter = pace(connector, shared, claims)
        t.started_at = timezone.now()
        started = time.monotonic()
        try:
            published = job.send(connector, row, payload)
        except NetworkError:
            raise
        except WouldWait as wait:  # a later call of the operation found the page's budget taken by others
            raise NetworkError(f"the page's rate limit is used by other work; the rest waits {wait.seconds:.1f} s",
                               network=channel.network, code="rate_wait", retry_after=wait.seconds) from wait
        except Exception as exc:  # an unexpected answer after the request left: treat as outcome unknown
            log.exception("sending %s %s failed unexpectedly", job.name, pk)
            raise NetworkError(f"unexpected error: {exc!r}", network=channel.network, code="internal",
                               outcome_unknown=True) from exc
        finally:
            t.duration_ms = int((time.monotonic() - started) * 1000)
            t.request["rate_wait_ms"] = int((waited + meter.waited) * 1000)
    except NetworkError as exc:
        error = exc
    if published is not None:
        record_done(job, pk, published, t, row=row)
        return job.done, None
    assert error is not None
    if error.method:
        t.request["method"] = error.method
    return handle_error(job, row, t, error)


def pace(connector: Connector, shared: Limiter, claims: list[Claim]) -> Meter:
    """The connector's meter for one row: the units the lane just took pay for its first calls; a network whose
    one operation makes more calls than that (VK: a post with photos) takes the rest one per call, each waiting
    at most its budget's window (the operation's own spacing) plus ``FILIAL_RATE_LIMIT_MAX_SLEEP``; longer
    (other work draws on the page's budget): :class:`WouldWait`, before that call leaves."""
    bound = policy.max_sleep()
    windows = [shared.window(claim.budget) for claim in claims if claim.budget in shared.items]
    meter = Meter(shared, max_wait=None if bound is None else bound + max(windows, default=0.0))
    meter.prepaid(claims)
    connector.meter = meter
    return meter


def needs_reauth(job: Job, channel_id: int, error: NetworkError, row: Any) -> None:
    channel_needs_reauth(channel_id, error, delivery_id=row.pk if job.attempt_field == "delivery" else None)


def handle_error(job: Job, row: Any, t: Try, error: NetworkError) -> tuple[str, datetime | None]:
    """Record a failed try and decide what becomes of the row: (what happened, when it is tried again)."""
    pk = row.pk
    now = timezone.now()
    idempotent = registry.connector_class(row.channel.network).capabilities.idempotency
    if error.needs_reauth:
        # Not a failure of the row: it waits (scheduled) until the page is re-authorised.
        finish(job, pk, t, Outcome.NEEDS_REAUTH, error, row=row, state="scheduled", next_attempt_at=None)
        needs_reauth(job, row.channel_id, error, row)
        return "needs_reauth", None
    if error.outcome_unknown and not job.safe_to_repeat:  # a kind safe to repeat: a temporary error
        failures = row.failures + 1
        if idempotent and failures < max_attempts():
            # The same key makes a repeat safe: the network answers with what it already has.
            until = now + timedelta(seconds=backoff(failures))
            if finish(job, pk, t, Outcome.TRANSIENT, error, row=row, state="scheduled", failures=failures,
                       next_attempt_at=until):
                requeue(job, pk, until)
            return "retry", until
        if (finish(job, pk, t, Outcome.UNCERTAIN, error, row=row, state="uncertain", failures=failures)
                and job.can_lookup):
            lookup_uncertain(job, pk)  # deliveries only: the connectors cannot look a message up
        return "uncertain", None
    if error.permanent:
        finish(job, pk, t, Outcome.FAILED, error, row=row, state="failed", failures=row.failures + 1)
        return "failed", None
    if error.retry_after is not None:
        deferrals = row.deferrals + 1
        if deferrals > max_deferrals():
            finish(job, pk, t, Outcome.FAILED, error, row=row, state="failed", deferrals=deferrals)
            return "failed", None
        until = now + timedelta(seconds=max(0.0, float(error.retry_after)))
        if finish(job, pk, t, Outcome.RETRY_LATER, error, row=row, state="scheduled", deferrals=deferrals,
                   next_attempt_at=until):
            requeue(job, pk, until)
        return "retry_later", until
    failures = row.failures + 1
    if failures >= max_attempts():
        finish(job, pk, t, Outcome.FAILED, error, row=row, state="failed", failures=failures)
        return "failed", None
    until = now + timedelta(seconds=backoff(failures))
    if finish(job, pk, t, Outcome.TRANSIENT, error, row=row, state="scheduled", failures=failures,
              next_attempt_at=until):
        requeue(job, pk, until)
    return "retry", until


def lookup_uncertain(job: Job, pk: int) -> str:
    """Look on the network for an uncertain row (``Job.find``: a delivery by text, photos, key where it can)."""
    row = job.objects().select_related(*job.related).filter(pk=pk).first()
    if row is None or row.state != "uncertain" or not job.can_lookup:
        return "skipped"
    channel = row.channel
    t = Try(started_at=timezone.now(), request={**job.summary(row, None), "method": "find_published"})
    connector: Connector | None = None
    found: Published | None = None
    try:
        payload = job.prepare(row)
        connector = connector_for(channel)
        claims = lookup_claims(channel.network, channel.external_id, channel.credentials)
        shared = limiter()
        shared.acquire(claims)
        connector.prepaid(claims)
        t.started_at = timezone.now()
        started = time.monotonic()
        try:
            found = job.find(connector, row, payload)
        finally:
            t.duration_ms = int((time.monotonic() - started) * 1000)
    except (NetworkError, PayloadError) as exc:
        error = exc if isinstance(exc, NetworkError) else NetworkError(str(exc), network=channel.network,
                                                                         code="payload", permanent=True)
        record_attempt(job, pk, t, Outcome.LOOKUP_FAILED, error=error, kind=Attempt.Kind.LOOKUP)
        if error.needs_reauth:
            needs_reauth(job, channel.pk, error, row)
        return "lookup_failed"
    finally:
        close(connector)
    if found is None:
        record_attempt(job, pk, t, Outcome.NOT_FOUND, kind=Attempt.Kind.LOOKUP,
                       message="not found on the page: a person must look and choose “it is there” or “send again”")
        return "not_found"
    with transaction.atomic():
        current = job.objects().select_for_update().get(pk=pk)
        if current.state != "uncertain":
            return "skipped"
        record_done(job, pk, found, t, outcome=Outcome.FOUND, kind=Attempt.Kind.LOOKUP, count_attempt=False)
    return "found"

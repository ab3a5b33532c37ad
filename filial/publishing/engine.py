"""The publishing engine: every scheduled delivery and outgoing message goes out on time, exactly once, at the
networks' rate limits.

The database is the truth; Huey tasks carry row ids only (``filial/publishing/tasks.py``). Two kinds of rows
go through the same machinery, each described by a :class:`Job`: ``Delivery`` (a post on a page, done state
``published``) and ``OutgoingMessage`` (a direct message or a reply sent through a page, done state ``sent``).
Both inherit their bookkeeping columns from ``EngineRow``.

Life of a row (DESIGN §4)::

    scheduled ──claim──▶ sending ──▶ published / sent
        ▲                   │──────▶ failed      (permanent error, or temporary ones beyond the bound)
        │                   │──────▶ uncertain   (no answer after the request left, no idempotency key)
        └───────────────────┘        retry_after waits, temporary errors (backoff), needs re-authorisation,
                                     rate-limit hand-backs

- **Lanes**: the queue's unit of work is a page's *lane* (``run_lane``): it claims up to ``FILIAL_LANE_BATCH``
  due rows of one page with one conditional ``UPDATE … WHERE id IN (due rows of the page) AND state='scheduled'``
  that sets a lease (``lease_owner`` a unique token, ``lease_until``), then sends them in order with one
  connector. Every later write of that attempt is fenced by the token, except the one that records a success:
  what the network accepted is always saved. (``publish_one`` / ``send_one`` run a single row the same way.)
- **Before the network call** the rate limiter (``filial.networks.ratelimit``) is asked for the page's
  budget; the lease is then renewed and ``sent_at`` stamped in one fenced UPDATE, so a worker that lost its
  lease never sends, and the sweeper knows whether a request may have left. On a network with idempotency keys
  (VK) a lane's young claim is the fence instead, its batch stamped at the claim: a repeat carries the same key.
  A budget that is not free within ``FILIAL_RATE_LIMIT_MAX_SLEEP`` is a *hand-back*: the row and the rest of its
  batch go back to ``scheduled`` for the budget's time in one UPDATE, the worker takes other pages' lanes
  meanwhile, and its waker queues the lane again at that time. A hand-back is not a deferral: it never counts
  toward ``FILIAL_DELIVERY_MAX_DEFERRALS``.
- **Success**: state, external id, link, time and the ``Attempt`` row in ONE transaction; a done row is never
  claimed again. When every live delivery of a post is published, the post is published.
- **Errors** (``NetworkError`` flags): needs_reauth → the page is paused (status "needs re-authorisation",
  audit entry), the row waits, not failed; outcome_unknown → with an idempotency key (VK ``guid`` for posts and
  comments, ``random_id`` for messages) a retry with the same key, otherwise ``uncertain`` and, for posts, a
  look-up on the network (``find_published``); then a person decides ("it is there" / "send again"); permanent
  → failed; retry_after → back to scheduled after that wait (a deferral, bounded); other → bounded retries with
  exponential backoff and jitter.
- **Sweeper** (every minute, at worker start, and by ``filial worker --burst``): expired leases are recovered
  (nothing sent → scheduled; sent → scheduled again where the key makes it safe, else uncertain + look-up),
  due rows the queue lost are queued again, and rows due within the next ``FILIAL_SWEEP_HORIZON`` seconds are
  queued with their exact time, so a post goes out within seconds of it. Many rows due together are queued
  interleaved across pages, so that the workers draw on different pages' budgets in parallel instead of all
  waiting for one. After downtime the overdue rows are all queued and the rate limiter spreads them: no burst
  beyond the networks' limits. Leases of this machine's worker processes that are gone (SIGKILL) are
  recovered at once, not after the lease time.
- **Rate limits**: a fresh in-memory limiter (a restarted embedded worker) is first primed from the attempts
  recorded within the budgets' windows; with Redis (``FILIAL_REDIS_URL``) every worker shares one budget.

Settings (all optional): ``FILIAL_DELIVERY_MAX_ATTEMPTS`` (5), ``FILIAL_DELIVERY_RETRY_BASE`` (30 s),
``FILIAL_DELIVERY_RETRY_CAP`` (3600 s), ``FILIAL_DELIVERY_MAX_DEFERRALS`` (30), ``FILIAL_DELIVERY_LEASE_SECONDS``
(300), ``FILIAL_RATE_LIMIT_MAX_SLEEP`` (0.3 s: a longer wait gives the row back and comes back at the budget's
time), ``FILIAL_LANE_BATCH`` (20), ``FILIAL_LANE_SLICE`` (10 s), ``FILIAL_SWEEP_HORIZON`` (70 s),
``FILIAL_SWEEP_REQUEUE_AFTER`` (120 s), ``FILIAL_VK_REFRESH_MARGIN``
(900 s). They apply to deliveries and messages alike.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import random
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from filial.channels.connections import close, connector_for, refresh_if_due
from filial.channels.models import Channel
from filial.channels.services import channel_needs_reauth
from filial.networks import registry
from filial.networks.base import Connector, InboundItem, NetworkError, Photo, PollSpec, PostPayload, Published
from filial.networks.ratelimit import (
    Claim,
    Limiter,
    WouldWait,
    get_limiter,
    lookup_claims,
    message_claims,
    publish_claims,
)
from filial.publishing.models import Attempt, Delivery, EngineRow, Media, OutgoingMessage, Poll, Post, PostChannel
from filial.publishing.waker import Waker

log = logging.getLogger("filial.engine")

State = Delivery.State
MState = OutgoingMessage.State
Outcome = Attempt.Outcome

# ``filial worker --burst`` sets this: it sleeps through any rate-limit wait instead of giving the row back for
# later, so that one run processes everything that is due.
patient = False

RATE_LIMIT_MAX_SLEEP = 0.3  # seconds a worker thread may sleep for a budget before it hands the row back


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def max_attempts() -> int:
    return max(1, int(_setting("FILIAL_DELIVERY_MAX_ATTEMPTS", 5)))


def lease_seconds() -> float:
    return _setting("FILIAL_DELIVERY_LEASE_SECONDS", 300)


def horizon() -> timedelta:
    return timedelta(seconds=_setting("FILIAL_SWEEP_HORIZON", 70))


def max_sleep() -> float | None:
    """How long a worker sleeps for a rate-limit budget before handing the row back (None: as long as needed)."""
    return None if patient else _setting("FILIAL_RATE_LIMIT_MAX_SLEEP", RATE_LIMIT_MAX_SLEEP)


def backoff(failures: int) -> float:
    """Seconds before retry number ``failures``: exponential, capped, with "equal jitter" (half fixed, half random)."""
    base = _setting("FILIAL_DELIVERY_RETRY_BASE", 30)
    cap = _setting("FILIAL_DELIVERY_RETRY_CAP", 3600)
    delay = min(cap, base * 2 ** max(0, failures - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def _host() -> str:
    return socket.gethostname()[:60]


def worker_name() -> str:
    return f"{_host()}:{os.getpid()}"


def _lease_token() -> str:
    """Unique per claim; names the machine and the process, so that a dead worker's leases can be recognised."""
    return f"{worker_name()}:{threading.get_ident()}:{uuid.uuid4().hex[:10]}"


def _effective_due() -> Greatest:
    """When a scheduled row may be claimed: its due time, or later when a retry or a wait says so."""
    return Greatest(F("due_at"), Coalesce(F("next_attempt_at"), F("due_at")))


# --- the kinds of rows ----------------------------------------------------------------------------------------
class Job:
    """What the engine needs to know about one kind of row; the machinery below is the same for every kind."""

    name: str  # for logs
    model: type[EngineRow]
    states: Any  # the model's State choices
    done: str  # the state once the network accepted it
    done_at: str  # the column with the time it was accepted
    attempt_fk: str  # the Attempt column that points at this kind of row
    send_kind: str  # Attempt.Kind of a network call
    done_outcome: str  # Attempt.Outcome of a success
    task: str  # the single-row Huey task (``filial.publishing.tasks``): what a queue from before lanes may hold
    related: tuple[str, ...] = ("channel__unit",)  # select_related when a row is run
    can_lookup = False  # an uncertain row can be looked for on the network

    def objects(self) -> QuerySet[Any]:
        return self.model._default_manager.all()

    def prepare(self, row: Any) -> Any:
        """What will be sent (raises PayloadError when it cannot be built)."""
        raise NotImplementedError

    def summary(self, row: Any, payload: Any) -> dict[str, Any]:
        """The request summary for the attempts history: sizes and flags, never tokens."""
        raise NotImplementedError

    def claims(self, channel: Channel, row: Any, payload: Any) -> list[Claim]:
        raise NotImplementedError

    def send(self, connector: Connector, row: Any, payload: Any) -> Published:
        raise NotImplementedError

    def find(self, connector: Connector, row: Any, payload: Any) -> Published | None:
        raise NotImplementedError

    def done_fields(self, row: Any, published: Published) -> dict[str, Any]:
        return {"external_id": published.external_id[:100]}

    def on_done(self, row: Any) -> None:
        """After a row is done (in the same transaction)."""

    def prime_claims(self, attempt: Attempt, credentials: dict[str, Any]) -> list[Claim]:
        """What a recorded attempt drew on the budgets (a fresh limiter takes that again)."""
        raise NotImplementedError

    def row_of(self, attempt: Attempt) -> Any:
        raise NotImplementedError


class DeliveryJob(Job):
    name = "delivery"
    model = Delivery
    states = Delivery.State
    done = Delivery.State.PUBLISHED
    done_at = "published_at"
    attempt_fk = "delivery_id"
    send_kind = Attempt.Kind.PUBLISH
    done_outcome = Outcome.PUBLISHED
    task = "publish_delivery"
    related = ("channel__unit", "post")
    can_lookup = True

    def prepare(self, row: Delivery) -> PostPayload:
        return build_payload(row)

    def summary(self, row: Delivery, payload: PostPayload | None) -> dict[str, Any]:
        return request_summary(row, payload)

    def claims(self, channel: Channel, row: Delivery, payload: PostPayload) -> list[Claim]:
        return publish_claims(channel.network, channel.external_id, channel.credentials, payload)

    def send(self, connector: Connector, row: Delivery, payload: PostPayload) -> Published:
        return connector.publish(payload)

    def find(self, connector: Connector, row: Delivery, payload: PostPayload) -> Published | None:
        return connector.find_published(payload)

    def done_fields(self, row: Delivery, published: Published) -> dict[str, Any]:
        return {"external_id": published.external_id[:100], "url": published.url[:500]}

    def on_done(self, row: Delivery) -> None:
        complete_post(row.post_id)

    def prime_claims(self, attempt: Attempt, credentials: dict[str, Any]) -> list[Claim]:
        summary = attempt.request or {}
        shape = PostPayload(text="x" * int(summary.get("text_chars") or 1), key="",
                            photos=[Photo(b"", "")] * int(summary.get("photos") or 0),
                            link="x" if summary.get("link") else "",
                            poll=PollSpec("q", ["a", "b"]) if summary.get("poll") else None)
        channel = self.row_of(attempt).channel
        if attempt.kind == Attempt.Kind.EDIT:
            from filial.publishing.edits import edit_claims

            return edit_claims(channel, shape, credentials)
        return publish_claims(channel.network, channel.external_id, credentials, shape)

    def row_of(self, attempt: Attempt) -> Any:
        return attempt.delivery


class MessageJob(Job):
    name = "message"
    model = OutgoingMessage
    states = OutgoingMessage.State
    done = OutgoingMessage.State.SENT
    done_at = "delivered_at"
    attempt_fk = "message_id"
    send_kind = Attempt.Kind.SEND
    done_outcome = Outcome.SENT
    task = "send_message"
    related = ("channel__unit",)

    def prepare(self, row: OutgoingMessage) -> InboundItem | None:
        """The item a reply answers (None for a direct message)."""
        if row.kind != OutgoingMessage.Kind.REPLY:
            return None
        return reply_item(row.reply_to)

    def summary(self, row: OutgoingMessage, payload: Any) -> dict[str, Any]:
        return {"network": row.channel.network, "page": row.channel.external_id, "key": row.key,
                "kind": row.kind, "recipient": row.recipient_id, "text_chars": len(row.text)}

    def claims(self, channel: Channel, row: OutgoingMessage, payload: InboundItem | None) -> list[Claim]:
        return message_claims(channel.network, channel.external_id, channel.credentials, row.recipient_id,
                              comment=payload is not None and payload.kind == "comment")

    def send(self, connector: Connector, row: OutgoingMessage, payload: InboundItem | None) -> Published:
        if payload is not None:
            return Published(external_id=str(connector.reply(payload, row.text, row.key)))
        return Published(external_id=str(connector.send_message(row.recipient_id, row.text, row.key)))

    def prime_claims(self, attempt: Attempt, credentials: dict[str, Any]) -> list[Claim]:
        message = self.row_of(attempt)
        channel = message.channel
        return message_claims(channel.network, channel.external_id, credentials, message.recipient_id,
                              comment=str((message.reply_to or {}).get("kind") or "") == "comment")

    def row_of(self, attempt: Attempt) -> Any:
        return attempt.message


def reply_item(data: dict[str, Any]) -> InboundItem:
    """An ``InboundItem`` from the fields kept in ``OutgoingMessage.reply_to`` (what ``Connector.reply`` reads)."""
    try:
        at = datetime.fromisoformat(str(data["at"])) if data.get("at") else timezone.now()
        return InboundItem(kind=str(data.get("kind") or "message"), external_id=str(data.get("external_id") or ""),
                           thread_id=str(data.get("thread_id") or ""), author_id=str(data.get("author_id") or ""),
                           author_name=str(data.get("author_name") or ""), text=str(data.get("text") or ""), at=at,
                           post_external_id=str(data.get("post_external_id") or ""),
                           reply_to=str(data.get("reply_to") or ""), raw=dict(data.get("raw") or {}))
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"the message this replies to is not readable: {exc}") from exc


DELIVERY = DeliveryJob()
MESSAGE = MessageJob()
JOBS: tuple[Job, ...] = (DELIVERY, MESSAGE)
JOB_BY_NAME: dict[str, Job] = {job.name: job for job in JOBS}


# --- the queue ----------------------------------------------------------------------------------------------
def _channels_of(job: Job, pks: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(pks), 500):
        found.update(job.objects().filter(pk__in=pks[start:start + 500]).values_list("pk", "channel_id"))
    return found


def _enqueue_many(job: Job, items: Iterable[tuple[int, datetime | None]]) -> int:
    """Queue the work of each ``(pk, eta)`` (eta None or past: now): one task per page and time, its *lane*
    (:func:`run_lane`), however many of the page's rows are due then; lanes are queued in the order their rows
    come. Then remember for when each row was queued: one UPDATE per distinct time, not one per row (a restart
    after downtime queues thousands at once). Returns how many rows were queued."""
    items = list(items)
    if not items:
        return 0
    now = timezone.now()
    channel_of = _channels_of(job, [pk for pk, _eta in items])
    lanes: dict[tuple[int, datetime], None] = {}  # ordered set
    by_eta: dict[datetime, list[int]] = {}
    for pk, wanted in items:
        if pk not in channel_of:
            continue
        eta = wanted if wanted is not None and wanted > now else now
        lanes.setdefault((channel_of[pk], eta), None)
        by_eta.setdefault(eta, []).append(pk)
    for channel_id, eta in lanes:
        _lane_at(job, channel_id, eta)
    for eta, pks in by_eta.items():
        for start in range(0, len(pks), 500):
            job.objects().filter(pk__in=pks[start:start + 500]).update(enqueued_eta=eta)
    return sum(len(pks) for pks in by_eta.values())


def _queue_lane(job: Job, channel_id: int, eta: datetime | None) -> None:
    """Put the page's lane on the queue: now, or on Huey's schedule for ``eta``."""
    from filial.publishing import tasks

    if eta is None or eta <= timezone.now():
        tasks.run_lane(job.name, channel_id)
    else:
        tasks.run_lane.schedule(args=(job.name, channel_id), eta=eta)


def _enqueue(job: Job, pk: int, eta: datetime | None = None) -> None:
    """Queue the job's task for ``eta`` (now when due) and remember for when it was queued."""
    _enqueue_many(job, [(pk, eta)])


def enqueue(delivery_id: int, eta: datetime | None = None) -> None:
    """Queue a publish task for ``eta`` (now when due) and remember for when it was queued."""
    _enqueue(DELIVERY, delivery_id, eta)


def enqueue_message(message_id: int, eta: datetime | None = None) -> None:
    _enqueue(MESSAGE, message_id, eta)


def interleave(rows: Iterable[tuple[Any, ...]], now: datetime) -> list[tuple[Any, ...]]:
    """Rows ``(pk, eff, channel_id, …)`` in time order, reordered so that rows due at the same time (and all the
    overdue ones, due "now") alternate between pages: the queue then hands consecutive tasks to different
    budgets, and the workers send for several pages in parallel instead of all waiting for one page's budget.
    Within one page the order by due time is kept."""
    ordered = sorted(rows, key=lambda r: (max(r[1], now), r[1], r[0]))
    result: list[tuple[Any, ...]] = []
    i = 0
    while i < len(ordered):
        at = max(ordered[i][1], now)
        j = i
        lanes: dict[Any, list[tuple[Any, ...]]] = {}
        while j < len(ordered) and max(ordered[j][1], now) == at:
            lanes.setdefault(ordered[j][2], []).append(ordered[j])
            j += 1
        queues = list(lanes.values())
        depth = max(len(q) for q in queues)
        result.extend(q[k] for k in range(depth) for q in queues if k < len(q))
        i = j
    return result


def _enqueue_due_soon(job: Job, ids: Iterable[int]) -> int:
    now = timezone.now()
    rows = (job.objects().filter(pk__in=list(ids), state="scheduled", channel__status=Channel.Status.ACTIVE)
            .annotate(eff=_effective_due()).filter(Q(eff__lte=now + horizon()))
            .values_list("pk", "eff", "channel_id", "enqueued_eta"))
    return _enqueue_many(job, [(pk, eff) for pk, eff, _channel, enqueued_eta in interleave(rows, now)
                               if enqueued_eta != eff or eff <= now])


def enqueue_due_soon(delivery_ids: Iterable[int]) -> int:
    """Queue the scheduled ones among ``delivery_ids`` that are due within the sweep horizon (the sweeper queues
    the others a minute before their time). Returns how many were queued."""
    return _enqueue_due_soon(DELIVERY, delivery_ids)


def enqueue_messages_due_soon(message_ids: Iterable[int]) -> int:
    return _enqueue_due_soon(MESSAGE, message_ids)


def enqueue_on_commit(delivery_ids: Iterable[int]) -> None:
    ids = list(delivery_ids)
    if ids:
        transaction.on_commit(lambda: enqueue_due_soon(ids))


def enqueue_messages_on_commit(message_ids: Iterable[int]) -> None:
    """After messages were created or reopened: queue those due soon once the transaction commits."""
    ids = list(message_ids)
    if ids:
        transaction.on_commit(lambda: enqueue_messages_due_soon(ids))


def enqueue_post_on_commit(post: Post) -> None:
    """After deliveries of ``post`` were created or moved: queue those due soon once the transaction commits."""
    post_id = post.pk
    transaction.on_commit(lambda: enqueue_due_soon(
        Delivery.objects.filter(post_id=post_id, state=State.SCHEDULED).values_list("pk", flat=True)))


def channel_resumed(channel_id: int) -> int:
    """A page was re-authorised: queue its waiting deliveries and messages now (the sweeper would within a
    minute). Returns how many were queued."""
    return sum(_enqueue_due_soon(job, job.objects().filter(channel_id=channel_id, state="scheduled")
                                 .values_list("pk", flat=True)) for job in JOBS)


# --- the rate limiter ----------------------------------------------------------------------------------------
def limiter() -> Limiter:
    """The shared limiter; a fresh in-memory one first learns what this installation sent within its windows."""
    current = get_limiter()
    if current.storage_uri.startswith("memory") and not current.primed:
        current.primed = True
        try:
            prime(current)
        except Exception:  # a budget that starts empty is what would happen anyway
            log.warning("could not prime the rate limiter from recent attempts", exc_info=True)
    return current


def prime(target: Limiter, now: datetime | None = None) -> int:
    """In-memory budgets start empty in every new process, but the networks remember a restarted worker's calls
    of the last seconds (Telegram: the last minute). Take now the units of the publications and messages recorded
    within each budget's window, so a restart right after a crash or a burst does not exceed the limits. Returns
    the units."""
    now = now or timezone.now()
    longest = max(target.window(name) for name in target.items)
    rows = (Attempt.objects.filter(kind__in=[*(job.send_kind for job in JOBS), Attempt.Kind.EDIT],
                                   started_at__gte=now - timedelta(seconds=longest))
            .exclude(error_code__in=["local", "payload"])
            .select_related("delivery__channel", "message__channel"))
    credentials: dict[int, dict[str, Any]] = {}
    totals: dict[tuple[str, str], int] = {}
    for attempt in rows:
        job = DELIVERY if attempt.delivery_id else MESSAGE
        channel = job.row_of(attempt).channel
        if channel.pk not in credentials:
            credentials[channel.pk] = channel.credentials
        age = (now - attempt.started_at).total_seconds()
        for claim in job.prime_claims(attempt, credentials[channel.pk]):
            if age < target.window(claim.budget):
                totals[(claim.budget, claim.identity)] = totals.get((claim.budget, claim.identity), 0) + claim.cost
    target.preload([Claim(budget, identity, cost) for (budget, identity), cost in totals.items()])
    return sum(totals.values())


def _enqueue_lookup(job: Job, pk: int) -> None:
    from filial.publishing import tasks

    if job is DELIVERY:
        tasks.lookup_delivery(pk)


# --- claiming -------------------------------------------------------------------------------------------------
def _claim(job: Job, pk: int, token: str, now: datetime | None = None) -> bool:
    """Take a due scheduled row with a lease: one conditional UPDATE; only one caller ever gets rowcount 1.

    Only the row's own columns are in the WHERE clause, so PostgreSQL re-checks them on the updated row when
    two transactions race (READ COMMITTED), and SQLite runs the statement under its write lock.
    """
    now = now or timezone.now()
    return job.objects().filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=pk, state="scheduled", due_at__lte=now,
    ).update(state="sending", lease_owner=token, lease_until=now + timedelta(seconds=lease_seconds()),
             sent_at=None, updated_at=now) == 1


def claim(delivery_id: int, token: str, now: datetime | None = None) -> bool:
    return _claim(DELIVERY, delivery_id, token, now)


def claim_message(message_id: int, token: str, now: datetime | None = None) -> bool:
    return _claim(MESSAGE, message_id, token, now)


def _mark_sent(job: Job, pk: int, token: str) -> bool:
    """Renew the lease and stamp ``sent_at`` just before the request leaves; False if the lease was lost."""
    now = timezone.now()
    return job.objects().filter(pk=pk, state="sending", lease_owner=token).update(
        sent_at=now, lease_until=now + timedelta(seconds=lease_seconds()), updated_at=now) == 1


# --- the payload ----------------------------------------------------------------------------------------------
class PayloadError(Exception):
    pass


def _photo(media: Media) -> Photo:
    """The network copy of a photo (the "web" rendition, made now if the worker has not yet), else the original."""
    original = str(media.file.name or "")
    path = str(media.renditions.get("web") or "")
    if not path:
        from filial.publishing.media import make_renditions

        try:
            path = str(make_renditions(media).get("web") or "")
        except OSError:
            path = ""
    path = path or original
    try:
        with default_storage.open(path, "rb") as fh:
            content = fh.read()
    except OSError as exc:
        raise PayloadError(f"the photo {media.original_name or media.key} cannot be read: {exc}") from exc
    content_type = mimetypes.guess_type(path)[0] or media.content_type or "image/jpeg"
    filename = os.path.basename(path) if path != original else (media.original_name or os.path.basename(path))
    return Photo(content=content, filename=filename, content_type=content_type)


def build_payload(delivery: Delivery) -> PostPayload:
    post = delivery.post
    target = PostChannel.objects.filter(post_id=post.pk, channel_id=delivery.channel_id).first()
    text = target.text_override if target is not None and target.text_override.strip() else post.text
    media = [pm.media for pm in post.post_media.select_related("media").order_by("position")]
    poll_row = Poll.objects.filter(post_id=post.pk).prefetch_related("answers").first()
    poll = None
    if poll_row is not None:
        poll = PollSpec(question=poll_row.question, answers=[a.text for a in poll_row.answers.all()],
                        multiple=poll_row.multiple, anonymous=poll_row.anonymous, ends_at=poll_row.ends_at)
    return PostPayload(text=text, key=delivery.key, photos=[_photo(m) for m in media], link=post.link, poll=poll)


def request_summary(delivery: Delivery, payload: PostPayload | None) -> dict[str, Any]:
    """What was sent, for the attempts history: sizes and flags, never tokens or the text itself."""
    summary: dict[str, Any] = {"network": delivery.channel.network, "page": delivery.channel.external_id,
                               "key": delivery.key}
    if payload is not None:
        summary.update(text_chars=len(payload.text), photos=len(payload.photos), link=bool(payload.link),
                       poll=payload.poll is not None)
    return summary


# --- one row --------------------------------------------------------------------------------------------------
@dataclass
class Try:
    """What one attempt did, for its ``Attempt`` row."""

    started_at: datetime
    request: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0
    token: str = ""


def _attempt(job: Job, pk: int, t: Try | None, outcome: str, *, error: NetworkError | None = None,
             kind: str = "", external_id: str = "", message: str = "",
             actor: Any = None, request: dict[str, Any] | None = None) -> Attempt:
    return Attempt.objects.create(
        **{job.attempt_fk: pk}, kind=kind or job.send_kind, started_at=t.started_at if t else timezone.now(),
        duration_ms=t.duration_ms if t else 0, request=request if request is not None else (t.request if t else {}),
        outcome=outcome, error_code=str(error.code if error is not None and error.code is not None else "")[:50],
        error_message=message or (str(error) if error is not None else ""), external_id=external_id[:100],
        worker=(t.token if t else "")[:100],
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )


def fresh_start(now: datetime) -> dict[str, Any]:
    """The engine's columns of a row a person gives back to it ("retry", "send again"): scheduled, its counters and
    lease cleared, not yet queued."""
    return {"state": "scheduled", "failures": 0, "deferrals": 0, "next_attempt_at": None, "enqueued_eta": None,
            "lease_owner": "", "lease_until": None, "sent_at": None, "last_error": "", "last_error_code": "",
            "updated_at": now}


def human_attempt(job: Job, pk: int, actor: Any, outcome: str, *, external_id: str = "",
                  **request: Any) -> Attempt:
    """What a person decided about a row ("retry", "send again", "it is there"), kept as an attempt of kind human."""
    return _attempt(job, pk, None, outcome, kind=Attempt.Kind.HUMAN, external_id=external_id, actor=actor,
                    request={"by": getattr(actor, "username", ""), **request})


def complete_post(post_id: int) -> bool:
    """The post is published when every live (not cancelled) delivery of it is: one UPDATE that checks both."""
    deliveries = Delivery.objects.filter(post_id=OuterRef("pk"))
    return Post.objects.filter(
        Exists(deliveries.exclude(state=State.CANCELLED)),
        ~Exists(deliveries.exclude(state__in=[State.CANCELLED, State.PUBLISHED])),
        pk=post_id, state=Post.State.SCHEDULED,
    ).update(state=Post.State.PUBLISHED, updated_at=timezone.now()) == 1


def _record_done(job: Job, pk: int, published: Published, t: Try | None, *, row: Any = None, outcome: str = "",
                 kind: str = "", count_attempt: bool = True) -> bool:
    """Save what the network accepted, whatever happened to the lease meanwhile: state, id, link, time and the
    attempt in one transaction. Returns False when the row was already done under another id (then the second
    copy is recorded as a duplicate for a person to remove). ``row``: the row as read before (for ``on_done``).

    One conditional UPDATE decides: PostgreSQL re-checks its WHERE on a row another transaction just finished,
    SQLite runs it under its write lock."""
    now = timezone.now()
    outcome = outcome or job.done_outcome
    external_id = published.external_id[:100]
    with transaction.atomic():
        moved = job.objects().filter(
            Q(external_id="") | Q(external_id=external_id) | ~Q(state=job.done), pk=pk,
        ).update(state=job.done, **job.done_fields(row, published),
                 **{job.done_at: Coalesce(F(job.done_at), Value(now, output_field=DateTimeField()))},
                 lease_owner="", lease_until=None, sent_at=None, next_attempt_at=None, last_error="",
                 last_error_code="", attempts=F("attempts") + (1 if count_attempt else 0), updated_at=now)
        if not moved:
            kept = job.objects().filter(pk=pk).values_list("external_id", flat=True).first()
            _attempt(job, pk, t, Outcome.DUPLICATE, kind=kind, external_id=published.external_id,
                     message=f"the network accepted this {job.name} again as {published.external_id}; the "
                             f"{job.name} keeps {kept}: delete the copy on the page")
            return False
        _attempt(job, pk, t, outcome, kind=kind, external_id=published.external_id)
        job.on_done(row if row is not None else job.objects().get(pk=pk))
    return True


def record_published(delivery_id: int, published: Published, t: Try | None, *, outcome: str = Outcome.PUBLISHED,
                     kind: str = Attempt.Kind.PUBLISH, count_attempt: bool = True) -> bool:
    """A delivery's publication (see :func:`_record_done`)."""
    return _record_done(DELIVERY, delivery_id, published, t, outcome=outcome, kind=kind, count_attempt=count_attempt)


def _finish(job: Job, pk: int, t: Try, outcome: str, error: NetworkError, **fields: Any) -> bool:
    """A fenced end of an attempt: only the lease holder moves the row; the attempt is recorded either way."""
    now = timezone.now()
    with transaction.atomic():
        moved = job.objects().filter(pk=pk, state="sending", lease_owner=t.token).update(
            lease_owner="", lease_until=None, sent_at=None, last_error=str(error)[:2000],
            last_error_code=str(error.code if error.code is not None else "")[:50], attempts=F("attempts") + 1,
            updated_at=now, **fields) == 1
        note = "" if moved else f"{error} (the lease had expired: the sweeper had already taken the {job.name} back)"
        _attempt(job, pk, t, outcome, error=error, message=note)
    return moved


def _release(job: Job, pk: int, token: str, until: datetime) -> None:
    """Give a claimed row back without having sent anything (the rate limit needs a longer wait). A hand-back is
    neither an attempt nor a deferral: it is not recorded and never counts toward a bound."""
    if job.objects().filter(pk=pk, state="sending", lease_owner=token).update(
            state="scheduled", lease_owner="", lease_until=None, sent_at=None, next_attempt_at=until,
            updated_at=timezone.now()):
        _requeue(job, pk, until)


def _requeue(job: Job, pk: int, eta: datetime) -> None:
    """Queue the next try now if it falls within the sweep horizon; the sweeper queues later ones."""
    if eta <= timezone.now() + horizon():
        transaction.on_commit(lambda: _enqueue(job, pk, eta))


def _process(job: Job, pk: int) -> str:
    """Send one row if it is due and nobody else has it. Returns what happened (for logs and tests)."""
    now = timezone.now()
    row = job.objects().select_related(*job.related).filter(pk=pk).first()
    if row is None:
        return "missing"
    if row.state != "scheduled":
        return "skipped"
    if row.channel.status != Channel.Status.ACTIVE:
        return "paused"
    if row.due_at > now or (row.next_attempt_at is not None and row.next_attempt_at > now):
        return "not_due"
    token = _lease_token()
    if not _claim(job, pk, token, now):
        return "taken"
    return _run_job(job, pk, token, row)


def publish_one(delivery_id: int) -> str:
    """Publish one delivery if it is due and nobody else has it. Returns what happened (for logs and tests)."""
    return _process(DELIVERY, delivery_id)


def send_one(message_id: int) -> str:
    """Send one outgoing message if it is due and nobody else has it. Returns what happened."""
    return _process(MESSAGE, message_id)


# --- a page's lane ---------------------------------------------------------------------------------------
# The queue's unit of work is a page's *lane*: one task sends that page's due rows of one kind, a batch at a time
# (one claim UPDATE for up to ``FILIAL_LANE_BATCH`` rows, one connector), at the page's rate limit. A wait up to
# ``FILIAL_RATE_LIMIT_MAX_SLEEP`` is slept; a longer one gives the rest of the batch back in one UPDATE and the
# lane goes on at the budget's time: by the worker's waker for short waits (exact to the millisecond, while
# Huey's scheduler looks once a second), else on Huey's schedule. A lane runs at most ``FILIAL_LANE_SLICE``
# seconds, then queues itself behind the other work. Rows stay the truth: a lane lost with a killed worker
# leaves ``scheduled`` rows that the sweeper queues again.
waker: Waker[tuple[str, int]] | None = None
WAKER_MAX_S = 10.0  # longer waits go on Huey's schedule, which survives a restart


def lane_batch() -> int:
    return max(1, int(_setting("FILIAL_LANE_BATCH", 20)))


def lane_slice() -> float:
    return _setting("FILIAL_LANE_SLICE", 10)


def start_waker() -> None:
    """In a worker process: lanes that wait a moment for a budget are queued again at that moment."""
    global waker
    if waker is None:
        waker = Waker(lambda key: _queue_lane(JOB_BY_NAME[key[0]], key[1], None))


def stop_waker() -> None:
    """The worker stops: the lanes still waiting go on Huey's schedule (kept in its storage)."""
    global waker
    current, waker = waker, None
    if current is not None:
        for (name, channel_id), at in current.stop().items():
            _queue_lane(JOB_BY_NAME[name], channel_id, at)


def _lane_at(job: Job, channel_id: int, at: datetime) -> None:
    """Queue the page's lane for ``at``: now if that has come, by the waker if it is near (in a worker)."""
    ahead = (at - timezone.now()).total_seconds()
    if waker is not None and 0 < ahead <= WAKER_MAX_S:
        waker.wake((job.name, channel_id), at)
    else:
        _queue_lane(job, channel_id, at)


def _resume_lane(job: Job, channel_id: int, at: datetime) -> None:
    """The page's lane goes on at ``at`` (the sweeper queues it if that is beyond its horizon)."""
    if at - timezone.now() <= horizon():
        _lane_at(job, channel_id, at)


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
        token = _lease_token()
        claimed_at = time.monotonic()
        rows = _claim_batch(job, channel_id, token, size, sent=idempotent)
        context = LaneContext(idempotent=idempotent, claimed_at=claimed_at)
        if not rows or not _run_batch(job, rows, token, results, context) or len(rows) < size:
            break
        if time.monotonic() >= deadline:
            _queue_lane(job, channel_id, None)  # the rest after the work queued meanwhile (other pages too)
            results["continued"] += 1
            break
    return results


def _claim_batch(job: Job, channel_id: int, token: str, limit: int, now: datetime | None = None, *,
                 sent: bool = False) -> list[Any]:
    """Take up to ``limit`` due scheduled rows of an active page, earliest first, with one lease: one UPDATE whose
    WHERE re-checks the state (PostgreSQL re-evaluates it on rows another transaction just took; SQLite runs it
    under its write lock), then one SELECT of what this token holds. ``sent``: stamp ``sent_at`` now, for the
    whole batch (see :class:`LaneContext`)."""
    now = now or timezone.now()
    due = (job.objects().filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                                channel_id=channel_id, channel__status=Channel.Status.ACTIVE, state="scheduled",
                                due_at__lte=now)
           .order_by("due_at", "pk").values("pk")[:limit])
    taken = job.objects().filter(pk__in=Subquery(due), state="scheduled").update(
        state="sending", lease_owner=token, lease_until=now + timedelta(seconds=lease_seconds()),
        sent_at=now if sent else None, updated_at=now)
    if not taken:
        return []
    return list(job.objects().select_related(*job.related).filter(lease_owner=token, state="sending")
                .order_by("due_at", "pk"))


def _run_batch(job: Job, rows: list[Any], token: str, results: Counter[str], context: LaneContext) -> bool:
    """Send a claimed batch of one page in order. True when every row ended (sent, or failed for good: a refusal
    of one reader does not stop the others); False when the page's work must wait, the rest given back."""
    channel = rows[0].channel
    for row in rows:
        row.channel = channel  # one page: its credentials decrypted once
    try:
        for i, row in enumerate(rows):
            try:
                result, until = _run_claimed(job, row.pk, token, row, context)
            except WouldWait as wait:
                results["deferred"] += len(rows) - i
                _hand_back(job, channel.pk, [r.pk for r in rows[i:]], token,
                           timezone.now() + timedelta(seconds=wait.seconds))
                return False
            results[result] += 1
            if result in (job.done, "failed"):
                continue
            rest = [r.pk for r in rows[i + 1:]]
            if result == "needs_reauth":  # the page is paused; re-authorising it queues its rows again
                _hand_back(job, channel.pk, rest, token, None)
            else:  # a wait, an error of the network or of our lease: the rest waits as long as this row
                _hand_back(job, channel.pk, rest, token, until or timezone.now() + timedelta(seconds=backoff(1)))
            return False
    finally:
        close(context.connector)
    return True


def _hand_back(job: Job, channel_id: int, pks: list[int], token: str, until: datetime | None) -> None:
    """Give claimed, untried rows back (nothing was sent: neither an attempt nor a deferral), and let the lane
    go on at ``until`` (None: when something else queues the page, e.g. its re-authorisation)."""
    if pks:
        job.objects().filter(pk__in=pks, state="sending", lease_owner=token).update(
            state="scheduled", lease_owner="", lease_until=None, sent_at=None, next_attempt_at=until,
            enqueued_eta=until, updated_at=timezone.now())
    if until is not None:
        transaction.on_commit(lambda: _resume_lane(job, channel_id, until))


def _run_job(job: Job, pk: int, token: str, row: Any = None) -> str:
    """The claimed row ``pk`` (``row``: as read just before the claim, or None to read it now)."""
    return _run_claimed(job, pk, token, row)[0]


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


def _run_claimed(job: Job, pk: int, token: str, row: Any = None,
                 lane: LaneContext | None = None) -> tuple[str, datetime | None]:
    """Send the claimed row: (what happened, when the row may be tried again if it waits).

    In a lane (``lane`` given) a rate-limit wait longer than ``FILIAL_RATE_LIMIT_MAX_SLEEP`` raises
    :class:`WouldWait` with the row still claimed: the lane gives back the row and the rest of its batch at once.
    """
    if row is None:
        row = job.objects().select_related(*job.related).get(pk=pk)
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
        if lane is not None and lane.connector is not None:
            connector = lane.connector
        else:
            channel = refresh_if_due(channel)
            connector = connector_for(channel)
            if lane is not None:
                lane.connector = connector
        claims = job.claims(channel, row, payload)
        shared = limiter()
        try:
            waited = shared.wait_until_free(claims, max_wait=max_sleep())
        except WouldWait as wait:
            if lane is not None:
                raise
            until = timezone.now() + timedelta(seconds=wait.seconds)
            _release(job, pk, token, until)
            return "deferred", until
        if not (lane is not None and lane.fenced_by_claim()) and not _mark_sent(job, pk, token):
            return "lease_lost", None
        # Taken only now, right before the request leaves (the stamp above may have waited for the database).
        waited += shared.acquire(claims)
        t.request["rate_wait_ms"] = int(waited * 1000)
        t.started_at = timezone.now()
        started = time.monotonic()
        try:
            published = job.send(connector, row, payload)
        except NetworkError:
            raise
        except Exception as exc:  # an unexpected answer after the request left: treat as outcome unknown
            log.exception("sending %s %s failed unexpectedly", job.name, pk)
            raise NetworkError(f"unexpected error: {exc!r}", network=channel.network, code="internal",
                               outcome_unknown=True) from exc
        finally:
            t.duration_ms = int((time.monotonic() - started) * 1000)
    except NetworkError as exc:
        error = exc
    finally:
        if lane is None:
            close(connector)
    if published is not None:
        _record_done(job, pk, published, t, row=row)
        return job.done, None
    assert error is not None
    if error.method:
        t.request["method"] = error.method
    return _handle_error(job, row, t, error)


def _needs_reauth(job: Job, channel_id: int, error: NetworkError, row: Any) -> None:
    channel_needs_reauth(channel_id, error, delivery_id=row.pk if job is DELIVERY else None)


def _handle_error(job: Job, row: Any, t: Try, error: NetworkError) -> tuple[str, datetime | None]:
    """Record a failed try and decide what becomes of the row: (what happened, when it is tried again)."""
    pk = row.pk
    now = timezone.now()
    idempotent = registry.connector_class(row.channel.network).capabilities.idempotency
    if error.needs_reauth:
        # Not a failure of the row: it waits (scheduled) until the page is re-authorised.
        _finish(job, pk, t, Outcome.NEEDS_REAUTH, error, state="scheduled", next_attempt_at=None)
        _needs_reauth(job, row.channel_id, error, row)
        return "needs_reauth", None
    if error.outcome_unknown:
        failures = row.failures + 1
        if idempotent and failures < max_attempts():
            # The same key makes a repeat safe: the network answers with what it already has.
            until = now + timedelta(seconds=backoff(failures))
            if _finish(job, pk, t, Outcome.TRANSIENT, error, state="scheduled", failures=failures,
                       next_attempt_at=until):
                _requeue(job, pk, until)
            return "retry", until
        if _finish(job, pk, t, Outcome.UNCERTAIN, error, state="uncertain", failures=failures) and job.can_lookup:
            lookup_uncertain(pk)  # deliveries only: the connectors cannot look a message up
        return "uncertain", None
    if error.permanent:
        _finish(job, pk, t, Outcome.FAILED, error, state="failed", failures=row.failures + 1)
        return "failed", None
    if error.retry_after is not None:
        deferrals = row.deferrals + 1
        if deferrals > int(_setting("FILIAL_DELIVERY_MAX_DEFERRALS", 30)):
            _finish(job, pk, t, Outcome.FAILED, error, state="failed", deferrals=deferrals)
            return "failed", None
        until = now + timedelta(seconds=max(0.0, float(error.retry_after)))
        if _finish(job, pk, t, Outcome.RETRY_LATER, error, state="scheduled", deferrals=deferrals,
                   next_attempt_at=until):
            _requeue(job, pk, until)
        return "retry_later", until
    failures = row.failures + 1
    if failures >= max_attempts():
        _finish(job, pk, t, Outcome.FAILED, error, state="failed", failures=failures)
        return "failed", None
    until = now + timedelta(seconds=backoff(failures))
    if _finish(job, pk, t, Outcome.TRANSIENT, error, state="scheduled", failures=failures, next_attempt_at=until):
        _requeue(job, pk, until)
    return "retry", until


def lookup_uncertain(delivery_id: int) -> str:
    """Look on the network for an uncertain delivery (``find_published`` by text, photos, key where it can)."""
    job = DELIVERY
    row = Delivery.objects.select_related("channel__unit", "post").filter(pk=delivery_id).first()
    if row is None or row.state != State.UNCERTAIN:
        return "skipped"
    channel = row.channel
    t = Try(started_at=timezone.now(), request={**request_summary(row, None), "method": "find_published"})
    connector: Connector | None = None
    found: Published | None = None
    try:
        payload = build_payload(row)
        connector = connector_for(channel)
        limiter().acquire(lookup_claims(channel.network, channel.external_id, channel.credentials))
        t.started_at = timezone.now()
        started = time.monotonic()
        try:
            found = job.find(connector, row, payload)
        finally:
            t.duration_ms = int((time.monotonic() - started) * 1000)
    except (NetworkError, PayloadError) as exc:
        error = exc if isinstance(exc, NetworkError) else NetworkError(str(exc), network=channel.network,
                                                                         code="payload", permanent=True)
        _attempt(job, delivery_id, t, Outcome.LOOKUP_FAILED, error=error, kind=Attempt.Kind.LOOKUP)
        if error.needs_reauth:
            channel_needs_reauth(channel.pk, error, delivery_id=row.pk)
        return "lookup_failed"
    finally:
        close(connector)
    if found is None:
        _attempt(job, delivery_id, t, Outcome.NOT_FOUND, kind=Attempt.Kind.LOOKUP,
                 message="not found on the page: a person must look and choose “it is there” or “send again”")
        return "not_found"
    with transaction.atomic():
        current = Delivery.objects.select_for_update().get(pk=delivery_id)
        if current.state != State.UNCERTAIN:
            return "skipped"
        record_published(delivery_id, found, t, outcome=Outcome.FOUND, kind=Attempt.Kind.LOOKUP,
                         count_attempt=False)
    return "found"


# --- the sweeper ----------------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    recovered: int = 0
    uncertain: int = 0
    requeued: int = 0
    upcoming: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"recovered": self.recovered, "uncertain": self.uncertain, "requeued": self.requeued,
                "upcoming": self.upcoming}


def _recover(job: Job, row: Any, now: datetime, *, dead: bool = False) -> str:
    """A lease expired (the worker died or hung), or its worker is known dead. Nothing sent → scheduled; sent →
    scheduled again where the key makes a repeat safe, else uncertain (and a look-up where there is one)."""
    idempotent = registry.connector_class(row.channel.network).capabilities.idempotency
    sent = row.sent_at is not None
    target = "uncertain" if sent and not idempotent else "scheduled"
    what = "post" if job is DELIVERY else "message"
    with transaction.atomic():
        still = job.objects().filter(pk=row.pk, state="sending", lease_owner=row.lease_owner)
        if not dead:
            still = still.filter(lease_until__lt=now)  # a worker that renewed its lease meanwhile keeps it
        moved = still.update(
            state=target, lease_owner="", lease_until=None, sent_at=None, next_attempt_at=None, updated_at=now,
            last_error="the worker stopped before it finished" if target == "scheduled"
            else f"the worker stopped after the request left: the {what} may or may not have gone out",
            last_error_code="lease_expired")
        if not moved:
            return "raced"
        _attempt(job, row.pk, None, Outcome.LEASE_EXPIRED, kind=Attempt.Kind.SWEEPER,
                 request={"worker": row.lease_owner, "sent": sent, "lease_until": row.lease_until.isoformat()
                          if row.lease_until else None},
                 message=("its worker process is gone: " if dead else "recovered after an expired lease: ") + (
                     "nothing had been sent" if not sent else
                     "sent again with the same key" if idempotent else
                     "checking the page for it" if job.can_lookup else "a person must check and decide"))
    if target == "uncertain":
        _enqueue_lookup(job, row.pk)
        return "uncertain"
    _enqueue(job, row.pk)
    return "recovered"


def _dead_here(lease_owner: str) -> bool:
    """The lease was taken by a worker process of THIS machine that no longer runs (killed, crashed)."""
    host, _, rest = lease_owner.partition(":")
    pid = rest.partition(":")[0]
    if host != _host() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:  # Linux: a killed process its parent has not reaped yet is a zombie, dead all the same
        with open(f"/proc/{int(pid)}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def sweep(now: datetime | None = None, *, queued: Queued | None = None) -> SweepReport:
    """Recover expired leases, queue due rows the queue lost and rows due within the horizon (with their time),
    for deliveries and outgoing messages alike.

    Leases of this machine's worker processes that are gone (SIGKILL, a crash) are recovered at once rather
    than after ``FILIAL_DELIVERY_LEASE_SECONDS``, so a restarted worker finishes their work right away.

    ``queued`` (what waits in the queue, see :func:`queued_work`): a worker that starts knows exactly which due
    rows have no task, e.g. those of a lane a killed worker was running or waiting to resume; they are queued
    again at once instead of after ``FILIAL_SWEEP_REQUEUE_AFTER``.
    """
    now = now or timezone.now()
    report = SweepReport()
    for job in JOBS:
        _sweep_job(job, now, report, queued)
    if report.recovered or report.uncertain or report.requeued:
        log.info("sweeper: %s", report.as_dict())
    return report


@dataclass
class Queued:
    """The engine's work waiting in the queue when a worker starts (:func:`queued_work`)."""

    rows: dict[str, set[int]] = field(default_factory=dict)  # job name → row ids of single-row tasks
    lanes: dict[str, set[int]] = field(default_factory=dict)  # job name → pages whose lane runs when a worker is free

    def covers(self, job: Job, pk: int, channel_id: int) -> bool:
        return pk in self.rows.get(job.name, ()) or channel_id in self.lanes.get(job.name, ())


def queued_work(huey: Any) -> Queued:
    """What of the engine waits in ``huey``'s queue, or on its schedule and already due (read at worker start).
    Single-row tasks (``publish_delivery``, ``send_message``) are those queued before lanes existed."""
    found = Queued({job.name: set() for job in JOBS}, {job.name: set() for job in JOBS})
    by_task = {job.task: job.name for job in JOBS}
    now = timezone.now()
    for task in [*huey.pending(), *huey.scheduled()]:
        eta = getattr(task, "eta", None)
        if eta is not None and (eta.replace(tzinfo=UTC) if timezone.is_naive(eta) else eta) > now:
            continue  # a later run of a lane covers rows due then, not the rows due now
        name = task.name.rpartition(".")[2]
        if name == "run_lane" and len(task.args) == 2 and task.args[0] in found.lanes:
            found.lanes[task.args[0]].add(int(task.args[1]))
        elif name in by_task and task.args:
            found.rows[by_task[name]].add(int(task.args[0]))
    return found


def _sweep_job(job: Job, now: datetime, report: SweepReport, in_queue: Queued | None = None) -> None:
    sending = job.objects().filter(state="sending").select_related("channel")
    stale = [(row, False) for row in sending.filter(lease_until__lt=now)]
    here = f"{_host()}:"
    stale += [(row, True) for row in sending.filter(lease_until__gte=now, lease_owner__startswith=here)
              if _dead_here(row.lease_owner)]
    for row, dead in stale:
        try:
            result = _recover(job, row, now, dead=dead)
        except Exception:  # one bad row must not stop the sweep of the others
            log.exception("the sweeper could not recover %s %s", job.name, row.pk)
            continue
        report.recovered += result == "recovered"
        report.uncertain += result == "uncertain"
    waiting = job.objects().filter(
        state="scheduled", channel__status=Channel.Status.ACTIVE).annotate(eff=_effective_due())
    requeue_after = timedelta(seconds=_setting("FILIAL_SWEEP_REQUEUE_AFTER", 120))
    due = waiting.filter(Q(eff__lte=now))
    if in_queue is None:
        lost = due.filter(
            Q(enqueued_eta__isnull=True) | Q(enqueued_eta__lt=now - requeue_after) | Q(enqueued_eta__gt=now))
        rows = list(lost.values_list("pk", "eff", "channel_id"))
    else:
        rows = [row for row in due.values_list("pk", "eff", "channel_id") if not in_queue.covers(job, row[0], row[2])]
    report.requeued += _enqueue_many(job, [(pk, None) for pk, _eff, _channel in interleave(rows, now)])
    upcoming = waiting.filter(Q(eff__gt=now) & Q(eff__lte=now + horizon())).filter(
        Q(enqueued_eta__isnull=True) | ~Q(enqueued_eta=F("eff")))
    report.upcoming += _enqueue_many(
        job, [(pk, eff) for pk, eff, _channel in interleave(upcoming.values_list("pk", "eff", "channel_id"), now)])

"""The queue: how a row's work reaches a worker (Huey), and when.

The queue's unit of work is a page's *lane* (``tasks.run_lane(kind, page)``): queued for the time its rows are due,
however many they are. :func:`enqueue_on_commit` is what the producing apps call after they created or moved rows;
it queues those due within the sweep horizon once the transaction commits (the sweeper queues later ones a minute
before their time). A lane that waits a moment for a rate budget is queued again at that moment by the worker's
*waker* (exact to the millisecond, while Huey's scheduler looks once a second); longer waits go on Huey's schedule,
which survives a restart. At worker start :func:`queued_work` reads what already waits in Huey's queue, so that the
sweeper queues exactly the due rows nothing will run.

The Huey tasks themselves live in ``outbox/tasks.py``, which binds them here (:func:`bind`) when it is imported
(``OutboxConfig.ready``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from filial.channels.models import Channel
from filial.outbox.claims import effective_due
from filial.outbox.jobs import Job, all_jobs, job_named
from filial.outbox.policy import horizon
from filial.outbox.waker import Waker

log = logging.getLogger("filial.engine")


@dataclass
class _Tasks:
    run_lane: Any  # the Huey task ``run_lane(kind, channel_id)``
    lookup: Any  # the Huey task ``lookup(kind, pk)``


_tasks: _Tasks | None = None


def bind(*, run_lane: Any, lookup: Any) -> None:
    """Called by ``outbox/tasks.py`` at import: the Huey tasks this module queues."""
    global _tasks
    _tasks = _Tasks(run_lane=run_lane, lookup=lookup)


def _bound() -> _Tasks:
    if _tasks is None:
        raise RuntimeError("the outbox's tasks are not loaded (is filial.outbox in INSTALLED_APPS?)")
    return _tasks


def channels_of(job: Job, pks: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(pks), 500):
        found.update(job.objects().filter(pk__in=pks[start:start + 500]).values_list("pk", "channel_id"))
    return found


def enqueue_many(job: Job, items: Iterable[tuple[int, datetime | None]]) -> int:
    """Queue the work of each ``(pk, eta)`` (eta None or past: now): one task per page and time, its *lane*
    (``tasks.run_lane``), however many of the page's rows are due then; lanes are queued in the order their rows
    come. Then remember for when each row was queued: one UPDATE per distinct time, not one per row (a restart
    after downtime queues thousands at once). Returns how many rows were queued."""
    items = list(items)
    if not items:
        return 0
    now = timezone.now()
    channel_of = channels_of(job, [pk for pk, _eta in items])
    lanes: dict[tuple[int, datetime], None] = {}  # ordered set
    by_eta: dict[datetime, list[int]] = {}
    for pk, wanted in items:
        if pk not in channel_of:
            continue
        eta = wanted if wanted is not None and wanted > now else now
        lanes.setdefault((channel_of[pk], eta), None)
        by_eta.setdefault(eta, []).append(pk)
    for channel_id, eta in lanes:
        lane_at(job, channel_id, eta)
    for eta, pks in by_eta.items():
        for start in range(0, len(pks), 500):
            job.objects().filter(pk__in=pks[start:start + 500]).update(enqueued_eta=eta)
    return sum(len(pks) for pks in by_eta.values())


def queue_lane(job: Job, channel_id: int, eta: datetime | None) -> None:
    """Put the page's lane on the queue: now, or on Huey's schedule for ``eta``."""
    run_lane = _bound().run_lane
    if eta is None or eta <= timezone.now():
        run_lane(job.name, channel_id)
    else:
        run_lane.schedule(args=(job.name, channel_id), eta=eta)


def enqueue(job: Job, pk: int, eta: datetime | None = None) -> None:
    """Queue the job's task for ``eta`` (now when due) and remember for when it was queued."""
    enqueue_many(job, [(pk, eta)])


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


def enqueue_due_soon(job: Job, ids: Iterable[int]) -> int:
    """Queue the scheduled ones among ``ids`` that are due within the sweep horizon. Returns how many."""
    now = timezone.now()
    rows = (job.objects().filter(pk__in=list(ids), state="scheduled", channel__status=Channel.Status.ACTIVE)
            .annotate(eff=effective_due()).filter(Q(eff__lte=now + horizon()))
            .values_list("pk", "eff", "channel_id", "enqueued_eta"))
    return enqueue_many(job, [(pk, eff) for pk, eff, _channel, enqueued_eta in interleave(rows, now)
                               if enqueued_eta != eff or eff <= now])


def enqueue_on_commit(job: Job, pks: Iterable[int]) -> None:
    """After rows of ``job`` were created, reopened or moved: once the transaction commits, queue those due within
    the sweep horizon (the sweeper queues the others a minute before their time)."""
    ids = list(pks)
    if ids:
        transaction.on_commit(lambda: enqueue_due_soon(job, ids))


def enqueue_query_on_commit(job: Job, pks: Callable[[], Iterable[int]]) -> None:
    """As :func:`enqueue_on_commit`, the rows read only once the transaction commits (``pks`` is called then)."""
    transaction.on_commit(lambda: enqueue_due_soon(job, pks()))


def channel_resumed(channel_id: int) -> int:
    """A page was re-authorised: queue its waiting rows of every kind now (the sweeper would within a minute).
    Returns how many were queued."""
    return sum(enqueue_due_soon(job, job.objects().filter(channel_id=channel_id, state="scheduled")
                                .values_list("pk", flat=True)) for job in all_jobs())


def page_resumed(sender: Any, *, channel_id: int, **kwargs: Any) -> None:
    """``channels.signals.page_resumed`` receiver (connected by ``OutboxConfig.ready``)."""
    channel_resumed(channel_id)


# --- the waker ------------------------------------------------------------------------------------------------
waker: Waker[tuple[str, int]] | None = None


WAKER_MAX_S = 10.0  # longer waits go on Huey's schedule, which survives a restart


def start_waker() -> None:
    """In a worker process: lanes that wait a moment for a budget are queued again at that moment."""
    global waker
    if waker is None:
        waker = Waker(lambda key: queue_lane(job_named(key[0]), key[1], None))


def stop_waker() -> None:
    """The worker stops: the lanes still waiting go on Huey's schedule (kept in its storage)."""
    global waker
    current, waker = waker, None
    if current is not None:
        for (name, channel_id), at in current.stop().items():
            queue_lane(job_named(name), channel_id, at)


def lane_at(job: Job, channel_id: int, at: datetime) -> None:
    """Queue the page's lane for ``at``: now if that has come, by the waker if it is near (in a worker)."""
    ahead = (at - timezone.now()).total_seconds()
    if waker is not None and 0 < ahead <= WAKER_MAX_S:
        waker.wake((job.name, channel_id), at)
    else:
        queue_lane(job, channel_id, at)


def resume_lane(job: Job, channel_id: int, at: datetime) -> None:
    """The page's lane goes on at ``at`` (the sweeper queues it if that is beyond its horizon)."""
    if at - timezone.now() <= horizon():
        lane_at(job, channel_id, at)


def requeue(job: Job, pk: int, eta: datetime) -> None:
    """Queue the next try now if it falls within the sweep horizon; the sweeper queues later ones."""
    if eta <= timezone.now() + horizon():
        transaction.on_commit(lambda: enqueue(job, pk, eta))


def enqueue_lookup(job: Job, pk: int) -> None:
    if job.can_lookup:
        _bound().lookup(job.name, pk)


# --- what waits in Huey's queue ---------------------------------------------------------------------------------
@dataclass
class Queued:
    """The engine's work waiting in the queue when a worker starts (:func:`queued_work`)."""

    rows: dict[str, set[int]] = field(default_factory=dict)  # job name → row ids of single-row tasks
    lanes: dict[str, set[int]] = field(default_factory=dict)  # job name → pages whose lane runs when a worker is free

    def covers(self, job: Job, pk: int, channel_id: int) -> bool:
        return pk in self.rows.get(job.name, ()) or channel_id in self.lanes.get(job.name, ())


def queued_work(huey: Any) -> Queued:
    """What of the outbox waits in ``huey``'s queue, or on its schedule and already due (read at worker start).

    The messages are read raw, not as tasks: a task queued under a name no longer registered (an older release's)
    is skipped here instead of failing the worker's start. Single-row tasks (``publish_delivery``,
    ``send_message``) are those queued before lanes existed; ``run_lane`` is recognised under the outbox's module
    and under the old ``filial.publishing.tasks`` alike."""
    jobs = all_jobs()
    found = Queued({job.name: set() for job in jobs}, {job.name: set() for job in jobs})
    by_task = {job.task: job.name for job in jobs}
    now = timezone.now()
    raw = [*huey.storage.enqueued_items(), *huey.storage.scheduled_items()]
    for data in raw:
        try:
            message = huey.serializer.deserialize(data)
        except Exception:  # not ours to judge: the consumer will say what it cannot read
            log.warning("a queued message could not be read", exc_info=True)
            continue
        eta = message.eta
        if eta is not None and (eta.replace(tzinfo=UTC) if timezone.is_naive(eta) else eta) > now:
            continue  # a later run of a lane covers rows due then, not the rows due now
        name = str(message.name).rpartition(".")[2]
        args = tuple(message.args or ())
        if name == "run_lane" and len(args) == 2 and args[0] in found.lanes:
            found.lanes[args[0]].add(int(args[1]))
        elif name in by_task and args:
            found.rows[by_task[name]].add(int(args[0]))
    return found

"""The sweeper (every minute, at worker start, and by ``filial worker --burst``), for every kind of row.

Expired leases are recovered (nothing sent → scheduled; sent → scheduled again where the key makes it safe, else
uncertain + a look-up), due rows the queue lost are queued again, and rows due within the next
``FILIAL_SWEEP_HORIZON`` seconds are queued with their exact time, so a post goes out within seconds of it. Many
rows due together are queued interleaved across pages (``queue.interleave``). After downtime the overdue rows are
all queued and the rate limiter spreads them: no burst beyond the networks' limits. Leases of this machine's worker
processes that are gone (SIGKILL) are recovered at once, not after the lease time. A page that was re-authorised
is reached here within a minute, or at once through ``channels.signals.page_resumed``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from filial.channels.models import Channel
from filial.networks import registry
from filial.outbox.claims import effective_due, host
from filial.outbox.jobs import Job, all_jobs, record_attempt
from filial.outbox.models import Attempt
from filial.outbox.policy import horizon, requeue_after
from filial.outbox.queue import Queued, enqueue, enqueue_lookup, enqueue_many, interleave

log = logging.getLogger("filial.engine")
Outcome = Attempt.Outcome


@dataclass
class SweepReport:
    recovered: int = 0
    uncertain: int = 0
    requeued: int = 0
    upcoming: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"recovered": self.recovered, "uncertain": self.uncertain, "requeued": self.requeued,
                "upcoming": self.upcoming}


def recover(job: Job, row: Any, now: datetime, *, dead: bool = False) -> str:
    """A lease expired (the worker died or hung), or its worker is known dead. Nothing sent → scheduled; sent →
    scheduled again where the key makes a repeat safe, else uncertain (and a look-up where there is one)."""
    idempotent = job.safe_to_repeat or registry.connector_class(row.channel.network).capabilities.idempotency
    sent = row.sent_at is not None
    target = "uncertain" if sent and not idempotent else "scheduled"
    what = job.noun
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
        record_attempt(job, row.pk, None, Outcome.LEASE_EXPIRED, kind=Attempt.Kind.SWEEPER,
                 request={"worker": row.lease_owner, "sent": sent, "lease_until": row.lease_until.isoformat()
                          if row.lease_until else None},
                 message=("its worker process is gone: " if dead else "recovered after an expired lease: ") + (
                     "nothing had been sent" if not sent else
                     "sent again with the same key" if idempotent else
                     "checking the page for it" if job.can_lookup else "a person must check and decide"), row=row)
    if target == "uncertain":
        enqueue_lookup(job, row.pk)
        return "uncertain"
    enqueue(job, row.pk)
    return "recovered"


def dead_here(lease_owner: str) -> bool:
    """The lease was taken by a worker process of THIS machine that no longer runs (killed, crashed)."""
    owner_host, _, rest = lease_owner.partition(":")
    pid = rest.partition(":")[0]
    if owner_host != host() or not pid.isdigit() or int(pid) == os.getpid():
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
    for job in all_jobs():
        sweep_job(job, now, report, queued)
    if report.recovered or report.uncertain or report.requeued:
        log.info("sweeper: %s", report.as_dict())
    return report


def sweep_job(job: Job, now: datetime, report: SweepReport, in_queue: Queued | None = None) -> None:
    sending = job.objects().filter(state="sending").select_related("channel")
    stale = [(row, False) for row in sending.filter(lease_until__lt=now)]
    here = f"{host()}:"
    stale += [(row, True) for row in sending.filter(lease_until__gte=now, lease_owner__startswith=here)
              if dead_here(row.lease_owner)]
    for row, dead in stale:
        try:
            result = recover(job, row, now, dead=dead)
        except Exception:  # one bad row must not stop the sweep of the others
            log.exception("the sweeper could not recover %s %s", job.name, row.pk)
            continue
        report.recovered += result == "recovered"
        report.uncertain += result == "uncertain"
    waiting = job.objects().filter(
        state="scheduled", channel__status=Channel.Status.ACTIVE).annotate(eff=effective_due())
    requeue_after_ = requeue_after()
    due = waiting.filter(Q(eff__lte=now))
    if in_queue is None:
        lost = due.filter(
            Q(enqueued_eta__isnull=True) | Q(enqueued_eta__lt=now - requeue_after_) | Q(enqueued_eta__gt=now))
        rows = list(lost.values_list("pk", "eff", "channel_id"))
    else:
        rows = [row for row in due.values_list("pk", "eff", "channel_id") if not in_queue.covers(job, row[0], row[2])]
    report.requeued += enqueue_many(job, [(pk, None) for pk, _eff, _channel in interleave(rows, now)])
    upcoming = waiting.filter(Q(eff__gt=now) & Q(eff__lte=now + horizon())).filter(
        Q(enqueued_eta__isnull=True) | ~Q(enqueued_eta=F("eff")))
    report.upcoming += enqueue_many(
        job, [(pk, eff) for pk, eff, _channel in interleave(upcoming.values_list("pk", "eff", "channel_id"), now)])

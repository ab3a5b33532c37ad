"""Claims: a row is taken by one worker with a lease, by one conditional UPDATE that only one caller can win.

A lease's token (:func:`lease_token`) names the machine, the process and the thread, so the sweeper can tell a dead
worker's leases; every later write of the attempt is fenced by it, except the one that records a success. The
WHERE clauses name only the rows' own columns, so PostgreSQL re-checks them on a row another transaction just
took (READ COMMITTED), and SQLite runs the statement under its write lock.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from filial.channels.models import Channel
from filial.outbox.jobs import Job
from filial.outbox.policy import lease_seconds


def host() -> str:
    return socket.gethostname()[:60]


def worker_name() -> str:
    return f"{host()}:{os.getpid()}"


def lease_token() -> str:
    """Unique per claim; names the machine and the process, so that a dead worker's leases can be recognised."""
    return f"{worker_name()}:{threading.get_ident()}:{uuid.uuid4().hex[:10]}"


def effective_due() -> Greatest:
    """When a scheduled row may be claimed: its due time, or later when a retry or a wait says so."""
    return Greatest(F("due_at"), Coalesce(F("next_attempt_at"), F("due_at")))


def claim_batch(job: Job, channel_id: int, token: str, limit: int, now: datetime | None = None, *,
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


def mark_sent(job: Job, pk: int, token: str) -> bool:
    """Renew the lease and stamp ``sent_at`` just before the request leaves; False if the lease was lost."""
    now = timezone.now()
    return job.objects().filter(pk=pk, state="sending", lease_owner=token).update(
        sent_at=now, lease_until=now + timedelta(seconds=lease_seconds()), updated_at=now) == 1

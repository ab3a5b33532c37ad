"""Test helpers: run one row the way a worker does, through its page's lane (``lanes.run_lane``)."""

from __future__ import annotations

import time
from typing import Any

from django.db import OperationalError
from django.utils import timezone

from filial.channels.models import Channel
from filial.outbox import claims, lanes
from filial.outbox.jobs import Job


def run_row(job: Job, pk: int) -> str:
    """Run the lane of the row's page for the row's kind and say what became of the row: ``published``,
    ``sent``, ``done``, ``retry``, ``failed``, ``uncertain``, ``deferred``… as the lane counts it; or, when the lane
    would not take it, ``missing``, ``skipped`` (not scheduled), ``paused`` (the page is not active), ``not_due``.
    The page's other due rows of that kind run too: then the row's own state says what became of it."""
    now = timezone.now()
    row = job.objects().select_related("channel").filter(pk=pk).first()
    if row is None:
        return "missing"
    if row.state != "scheduled":
        return "skipped"
    if row.channel.status != Channel.Status.ACTIVE:
        return "paused"
    if row.due_at > now or (row.next_attempt_at is not None and row.next_attempt_at > now):
        return "not_due"
    results = lanes.run_lane(job, row.channel_id)
    results.pop("continued", None)
    if len(results) == 1:
        return next(iter(results))
    return str(job.objects().values_list("state", flat=True).get(pk=pk))


def claim_in_race(job: Job, channel_id: int, token: str, limit: int) -> list[Any]:
    """``claims.claim_batch`` from a thread of ``conftest.race``. Django's SQLite test database is in memory with a
    shared cache, where a table another connection is writing answers "database table is locked" at once instead
    of waiting out the busy timeout as the file database does; a statement that failed so changed nothing, so the
    claim is simply tried again. PostgreSQL never raises it; ``test_race_file_db.py`` races claims on a file
    database without this retry."""
    for _ in range(500):
        try:
            return claims.claim_batch(job, channel_id, token, limit)
        except OperationalError as exc:
            if "table is locked" not in str(exc):
                raise
            time.sleep(0.002)
    raise AssertionError("the table stayed locked")

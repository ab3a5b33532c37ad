"""The daily statistics job on Huey: every quarter of an hour, the pages whose night slot has come are collected.

Each page has its own slot in the night (``FILIAL_STATS_NIGHT_START`` to ``FILIAL_STATS_NIGHT_END`` o'clock in its
unit's zone), spread by its id, so 2,000 pages do not ask at once. A page not yet done today (no row, or a gap row
from a failure an hour old) is collected once its slot has passed, until the night ends; a round put off for
publishing comes back at the next tick.

The pages of a tick are collected one after another in ONE task (one worker thread), never as one task per page: a
queue holding thousands of statistics tasks would sit in front of the publications' lanes (Huey's Redis queue has
no priorities). The other worker threads stay free for publishing, and before each page the job waits while the
outbox has work due now (``collect.wait_for_outbox``).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.channels.models import Channel
from filial.stats import schedule
from filial.stats.collect import collect_page, wait_for_outbox

log = logging.getLogger("filial.stats")

TICK_SECONDS = 14 * 60.0  # a tick's work stops before the next tick starts
YIELD_SECONDS = 30.0  # the longest the job waits for a busy outbox before one page


def collect_pages(channel_ids: list[int], seconds: float = TICK_SECONDS) -> dict[str, int]:
    """Collect the pages one after another for at most ``seconds``; returns the count of each outcome (``left``:
    not reached in time, for the next tick)."""
    started = time.monotonic()
    counts = {"done": 0, "failed": 0, "deferred": 0, "gone": 0, "left": 0}
    for position, channel_id in enumerate(channel_ids):
        if time.monotonic() - started > seconds:
            counts["left"] = len(channel_ids) - position
            break
        wait_for_outbox(min(YIELD_SECONDS, max(0.0, seconds - (time.monotonic() - started))))
        channel = (Channel.objects.select_related("unit", "unit__system")
                   .filter(pk=channel_id, status=Channel.Status.ACTIVE).first())
        if channel is None:
            counts["gone"] += 1
            continue
        try:
            outcome = collect_page(channel).outcome
        except Exception:  # one page's surprise must not stop the night's work for the others
            log.exception("stats: page %s", channel_id)
            outcome = "failed"
        counts[outcome] += 1
    return counts


@db_task()
def collect_pages_task(channel_ids: list[int], seconds: float = TICK_SECONDS) -> dict[str, int]:
    return collect_pages(channel_ids, seconds)


@db_periodic_task(crontab(minute="*/15"))
def stats_tick(now: datetime | None = None) -> dict[str, int]:
    pages = schedule.pages_due(now)
    counts = collect_pages(pages) if pages else {}
    if pages:
        log.info("stats: %d pages: %s", len(pages), counts)
    return counts

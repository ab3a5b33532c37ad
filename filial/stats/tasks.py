"""The daily statistics job on Huey: every quarter of an hour, the pages whose night slot has come are collected.

Each page has its own slot in the night (``FILIAL_STATS_NIGHT_START`` to ``FILIAL_STATS_NIGHT_END`` o'clock in its
unit's zone), spread by its id, so 2,000 pages do not ask at once. A page not yet done today (no row, or a gap row
from a failure) is queued once its slot has passed, until the night ends; a round put off for publishing comes
back at the next tick.
"""

from __future__ import annotations

import logging
from datetime import datetime

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.channels.models import Channel
from filial.stats import schedule
from filial.stats.collect import collect_page

log = logging.getLogger("filial.stats")


@db_task()
def collect_page_task(channel_id: int) -> str:
    channel = Channel.objects.select_related("unit").filter(pk=channel_id, status=Channel.Status.ACTIVE).first()
    if channel is None:
        return "gone"
    outcome = collect_page(channel)
    return outcome.outcome


@db_periodic_task(crontab(minute="*/15"))
def stats_tick(now: datetime | None = None) -> int:
    pages = schedule.pages_due(now)
    for channel_id in pages:
        collect_page_task(channel_id)
    if pages:
        log.info("stats: %d pages queued", len(pages))
    return len(pages)

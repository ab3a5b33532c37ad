"""Background work of poll counting (Huey). Tasks carry delivery ids only; the tallies are the truth.

Imported by ``InboxConfig.ready()`` so that djhuey registers the tasks (its autodiscovery imports ``tasks.py``).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.inbox import polls

log = logging.getLogger("filial.polls")


# No Huey retries: a failed count is retried from its tally (``next_fetch_at``) by the sweep.
@db_task()
def poll_fetch(delivery_id: int) -> None:
    outcome = polls.fetch_one(delivery_id)
    log.debug("poll of delivery %s: %s", delivery_id, outcome)


@db_periodic_task(crontab(minute="*"))
def poll_counts_sweep() -> None:
    report = polls.poll_sweep()
    if report.queued or report.created:
        log.info("poll counts: %d new tallies, %d fetches queued", report.created, report.queued)

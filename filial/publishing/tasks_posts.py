"""Background work for posts beyond publishing: recurring posts (Huey); edits of published posts are sent by the
outbox (``publishing.jobs.EDIT``), ``edit_delivery`` stays registered for what an older release's queue holds.

Imported by ``PublishingConfig.ready()`` so the consumer registers these tasks (djhuey discovers ``tasks.py``
modules only). Tasks carry ids only; the database is the truth.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.outbox import queue
from filial.publishing import series
from filial.publishing.jobs import EDIT

log = logging.getLogger("filial.engine")


@db_task()
def edit_delivery(edit_id: int) -> None:
    """Queued before edits were a kind of the outbox's row: queue the edit's lane (``publishing.jobs.EDIT``)."""
    queue.enqueue(EDIT, edit_id)


@db_periodic_task(crontab(minute="*"))
def generate_series_occurrences() -> None:
    created = series.generate_all()
    if created:
        log.info("recurring posts: %d occurrence(s) created", created)

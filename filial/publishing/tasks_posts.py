"""Background work for posts beyond publishing: edits of published posts and recurring posts (Huey).

Imported by ``PublishingConfig.ready()`` so the consumer registers these tasks (djhuey discovers ``tasks.py``
modules only). Tasks carry ids only; the database is the truth.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

log = logging.getLogger("filial.engine")


# No Huey retries: an edit's retries are decided from its row, and the sweep queues what a lost task left.
@db_task()
def edit_delivery(edit_id: int) -> None:
    from filial.publishing import edits

    outcome = edits.run_edit(edit_id)
    log.info("edit %s: %s", edit_id, outcome)


@db_periodic_task(crontab(minute="*"))
def sweep_delivery_edits() -> None:
    from filial.publishing import edits

    edits.sweep_edits()


@db_periodic_task(crontab(minute="*"))
def generate_series_occurrences() -> None:
    from filial.publishing import series

    created = series.generate_all()
    if created:
        log.info("recurring posts: %d occurrence(s) created", created)

"""The outbox's Huey tasks. They carry a kind's name and ids only; the database is the truth.

No Huey retries: a row's retries are decided from the row, and the sweeper queues whatever a lost or crashed task
left behind. They return None: Huey keeps non-None results until read. Tasks queued under the names of an older
release (``filial.publishing.tasks.run_lane``, ``publish_delivery``, ``send_message``, ``lookup_delivery``) still
run: ``publishing/tasks.py`` keeps them registered, each handing its work to the outbox.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.outbox import lanes, queue, sweeper
from filial.outbox.jobs import job_named

log = logging.getLogger("filial.engine")


@db_task()
def run_lane(kind: str, channel_id: int) -> None:
    """Send a page's due rows of one kind (``delivery``, ``message``), see ``lanes.run_lane``."""
    results = lanes.run_lane(job_named(kind), channel_id)
    log.debug("lane %s of page %s: %s", kind, channel_id, dict(results))


@db_task()
def lookup(kind: str, pk: int) -> None:
    """Look on the network for an uncertain row."""
    outcome = lanes.lookup_uncertain(job_named(kind), pk)
    log.info("%s %s looked up: %s", kind, pk, outcome)


@db_periodic_task(crontab(minute="*"))
def sweep() -> None:
    sweeper.sweep()  # every kind of row


queue.bind(run_lane=run_lane, lookup=lookup)

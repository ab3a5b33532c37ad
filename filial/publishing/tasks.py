"""Background work of the publishing app (Huey): photo renditions, recurring posts. Tasks carry ids only; the
database is the truth.

The outbox sends deliveries and messages (``filial/outbox/tasks.py``). The tasks below under their old names are
kept registered so that what a queue filled by an older release still holds runs: a lane is run as the outbox's
lane, a single-row task (from before lanes) queues its row's lane, a look-up runs as the outbox's look-up, an edit
(from before edits were the outbox's rows) queues its lane; the tasks of ``filial.publishing.tasks_posts`` (recurring
posts, edits) still run under that module's name (``OLD_POST_TASKS``).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.core import taskqueue
from filial.outbox import lanes, queue
from filial.outbox.jobs import job_named
from filial.publishing import series
from filial.publishing.jobs import DELIVERY, EDIT, MESSAGE
from filial.publishing.media import make_renditions
from filial.publishing.models import Media

log = logging.getLogger("filial.engine")


@db_task(retries=2, retry_delay=10)
def media_make_renditions(media_id: int) -> None:
    media = Media.objects.filter(pk=media_id).first()
    if media is not None:
        make_renditions(media)


@db_periodic_task(crontab(minute="*"))
def generate_series_occurrences() -> None:
    created = series.generate_all()
    if created:
        log.info("recurring posts: %d occurrence(s) created", created)


# --- old names: what an older release's queue may still hold --------------------------------------------------
@db_task()
def run_lane(kind: str, channel_id: int) -> None:
    """Queued before the outbox existed: the page's lane, run as ``outbox.tasks.run_lane`` runs it."""
    results = lanes.run_lane(job_named(kind), channel_id)
    log.debug("lane %s of page %s (old task name): %s", kind, channel_id, dict(results))


@db_task()
def publish_delivery(delivery_id: int) -> None:
    """Queued before lanes existed: queue the delivery's lane."""
    queue.enqueue(DELIVERY, delivery_id)


@db_task()
def send_message(message_id: int) -> None:
    """Queued before lanes existed: queue the message's lane."""
    queue.enqueue(MESSAGE, message_id)


@db_task()
def lookup_delivery(delivery_id: int) -> None:
    """Queued before the outbox existed: the look-up of an uncertain delivery."""
    outcome = lanes.lookup_uncertain(DELIVERY, delivery_id)
    log.info("delivery %s looked up: %s", delivery_id, outcome)


@db_task()
def edit_delivery(edit_id: int) -> None:
    """Queued before edits were a kind of the outbox's row: queue the edit's lane (``publishing.jobs.EDIT``)."""
    queue.enqueue(EDIT, edit_id)


OLD_POST_TASKS = taskqueue.keep_old_names("filial.publishing.tasks_posts", (edit_delivery, generate_series_occurrences))

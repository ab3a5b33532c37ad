"""Background work of the inbox (Huey): webhook rows and polling, pictures, digests, poll counting. Tasks carry ids
only; the database (and for polls the tallies) is the truth.

Poll counting's tasks were ``filial.inbox.tasks_polls.<name>``: a task queued under that name still runs
(``OLD_POLL_TASKS``)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.core import taskqueue
from filial.inbox import attachments, digest, pipeline, polls
from filial.inbox.services import sync_reply_states

log = logging.getLogger("filial.inbox")
poll_log = logging.getLogger("filial.polls")


@db_task(retries=2, retry_delay=60)
def copy_item_images(item_id: int) -> None:
    attachments.copy_item_images(item_id)


@db_task()
def poll_page(channel_id: int) -> None:
    outcome = pipeline.poll_page(channel_id)
    log.debug("inbox poll of page %s: %s", channel_id, outcome)


@db_periodic_task(crontab(minute="*"))
def inbox_tick() -> None:
    """Every minute: ingest webhook rows, queue a poll of every page without a webhook (a page whose lease is
    held is skipped, so a slow poll is never doubled), settle replies the engine has sent."""
    processed = 0
    for _ in range(50):  # a backlog (the worker was down) is drained in batches, not a batch a minute
        done = pipeline.process_pending(limit=1000)
        processed += done
        if done < 1000:
            break
    for channel_id in pipeline.pages_to_poll():
        poll_page(channel_id)
    settled = sync_reply_states()
    if processed or settled:
        log.info("inbox: %d webhook event(s) ingested, %d reply(ies) settled", processed, settled)


@db_periodic_task(crontab(hour="3", minute="0"))  # 08:00 in Yekaterinburg, 06:00 in Moscow
def inbox_daily_digest() -> None:
    sent = digest.send_digests()
    log.info("inbox digest: %d e-mail(s)", sent)


# --- poll counting --------------------------------------------------------------------------------------------
# No Huey retries: a failed count is retried from its tally (``next_fetch_at``) by the sweep.
@db_task()
def poll_fetch(delivery_id: int) -> None:
    outcome = polls.fetch_one(delivery_id)
    poll_log.debug("poll of delivery %s: %s", delivery_id, outcome)


@db_periodic_task(crontab(minute="*"))
def poll_counts_sweep() -> None:
    report = polls.poll_sweep()
    if report.queued or report.created:
        poll_log.info("poll counts: %d new tallies, %d fetches queued", report.created, report.queued)


OLD_POLL_TASKS = taskqueue.keep_old_names("filial.inbox.tasks_polls", (poll_fetch, poll_counts_sweep))

"""Background work of the publishing app (Huey). Tasks carry ids only; the database is the truth."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.channels import connections
from filial.publishing import engine
from filial.publishing.media import make_renditions
from filial.publishing.models import Media

log = logging.getLogger("filial.engine")


@db_task(retries=2, retry_delay=10)
def media_make_renditions(media_id: int) -> None:
    media = Media.objects.filter(pk=media_id).first()
    if media is not None:
        make_renditions(media)


# No Huey retries for the engine's tasks: a delivery's or a message's retries are decided from its row (and the
# sweeper queues whatever a lost or crashed task left behind). They return None: Huey keeps non-None results until
# read.
@db_task()
def run_lane(kind: str, channel_id: int) -> None:
    """Send a page's due deliveries (``kind`` "delivery") or outgoing messages ("message"), see engine.run_lane."""
    results = engine.run_lane(engine.JOB_BY_NAME[kind], channel_id)
    log.debug("lane %s of page %s: %s", kind, channel_id, dict(results))


# Single-row tasks: what a queue filled before lanes existed may still hold (and tests that run one row).
@db_task()
def publish_delivery(delivery_id: int) -> None:
    outcome = engine.publish_one(delivery_id)
    log.debug("delivery %s: %s", delivery_id, outcome)


@db_task()
def send_message(message_id: int) -> None:
    outcome = engine.send_one(message_id)
    log.debug("message %s: %s", message_id, outcome)


@db_task()
def lookup_delivery(delivery_id: int) -> None:
    outcome = engine.lookup_uncertain(delivery_id)
    log.info("delivery %s looked up: %s", delivery_id, outcome)


@db_periodic_task(crontab(minute="*"))
def sweep_deliveries() -> None:
    engine.sweep()  # deliveries and outgoing messages


@db_periodic_task(crontab(minute="*/10"))
def refresh_page_tokens() -> None:
    refreshed = connections.refresh_expiring_credentials()
    if refreshed:
        log.info("refreshed the tokens of %d page(s)", refreshed)

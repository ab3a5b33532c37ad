"""Background work of the debtors' service (Huey): the readers' dialogue steps, reminder planning, and the
reminders' states. Tasks carry ids only. Imported by the app's ``ready()`` so djhuey registers them (and the
dialogue's inbox handler)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.circulation import dialogue, reminders

log = logging.getLogger("filial.circulation")

dialogue.register()


@db_task()
def dialogue_run(action_id: int) -> None:
    dialogue.run(action_id)


@db_task()
def plan_reminders(unit_ids: list[int] | None = None) -> None:
    """Plan today's reminders now (on demand from the dashboard, or from the periodic run)."""
    report = reminders.plan(unit_ids=unit_ids)
    log.info("reminders planned: %s", report.as_dict())


@db_periodic_task(crontab(minute="5"))
def plan_reminders_hourly() -> None:
    """Hourly: each reader's local day starts in its own time zone; planning is idempotent per reader-day."""
    plan_reminders()


@db_periodic_task(crontab(minute="*/5"))
def sync_reminder_states() -> None:
    reminders.sync_states()


@db_periodic_task(crontab(hour="2", minute="40"))
def erase_expired_readers() -> None:
    """Daily: readers whose retention period ended (``FILIAL_READER_RETENTION_DAYS``) are erased."""
    from filial.circulation import linking

    report = linking.retention_run()
    log.info("reader retention: %s", report)

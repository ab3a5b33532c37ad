"""Background work of the readers' side (Huey): the readers' dialogue steps, reminder planning, the reminders'
states, retention. Tasks carry ids only. Imported by the app's ``ready()`` so djhuey registers them.

The tasks were ``filial.circulation.tasks_debtors.<name>`` before the readers app: a task queued under that
name still runs (``LEGACY_MODULE``: the same work, registered under the old name)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.core import taskqueue
from filial.readers import dialogue, linking, reminders

log = logging.getLogger("filial.readers")


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
    report = linking.retention_run()
    log.info("reader retention: %s", report)


LEGACY_MODULE = "filial.circulation.tasks_debtors"
LEGACY_TASKS = taskqueue.keep_old_names(LEGACY_MODULE, (dialogue_run, plan_reminders, plan_reminders_hourly,
                                                        sync_reminder_states, erase_expired_readers))

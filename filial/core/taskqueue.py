"""Queue a Huey task by its name, so that a service never imports the tasks module that calls it back.

A task's name is Huey's: ``"<module>.<function>"`` of the function it wraps (``filial.inbox.tasks.copy_item_images``).
The tasks modules register their tasks when they are imported: the worker imports every app's ``tasks.py`` at
start (Huey's autodiscovery), the app's ``ready()`` imports the others; in any other process the first name not yet
registered makes this module do the same autodiscovery. A name still unknown after it is a programming error and
raises. The outbox has its own queue (``filial.outbox.queue``: lanes, the waker); this is for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from huey.api import TaskWrapper
from huey.contrib.djhuey import HUEY, db_task
from huey.exceptions import HueyException


def enqueue(name: str, *args: Any) -> Any:
    """Queue the registered task ``name`` with ``args`` now (run at once when Huey is in immediate mode)."""
    try:
        task_class = HUEY._registry.string_to_task(name)
    except HueyException:
        autodiscover_modules("tasks")  # what the worker does at start (idempotent: modules are imported once)
        task_class = HUEY._registry.string_to_task(name)
    return HUEY.enqueue(task_class(args, {}))


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Queue the task ``name`` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: enqueue(name, *args))


def keep_old_names(old_module: str, tasks: Iterable[TaskWrapper]) -> list[TaskWrapper]:
    """Register each of ``tasks`` also as ``<old_module>.<its name>``, the name it had before its module moved: a
    message an older release queued under that name runs the same work. Returns the registrations (keep them)."""
    return [_old_name(old_module, task) for task in tasks]


def _old_name(old_module: str, task: TaskWrapper) -> TaskWrapper:
    name = task.task_class.__name__

    def run(*args: Any, **kwargs: Any) -> Any:
        return task.call_local(*args, **kwargs)

    run.__module__, run.__name__, run.__qualname__ = old_module, name, name
    return db_task(name=name)(run)

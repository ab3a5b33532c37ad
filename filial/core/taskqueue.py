"""Queue a Huey task by its name, so that a service never imports the tasks module that calls it back.

A task's name is Huey's: ``"<module>.<function>"`` of the function it wraps (``filial.inbox.tasks.copy_item_images``).
The tasks modules register their tasks when they are imported: the worker imports every app's ``tasks.py`` at
start (Huey's autodiscovery), the app's ``ready()`` imports the others; in any other process the first name not yet
registered makes this module do the same autodiscovery. A name still unknown after it is a programming error and
raises. The outbox has its own queue (``filial.outbox.queue``: lanes, the waker); this is for the rest.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY
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

"""``filial worker [--burst]``: the Huey consumer (as ``run_huey``), or one pass over the queue."""

from __future__ import annotations

import gc
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.utils.module_loading import autodiscover_modules
from huey.consumer_options import ConsumerConfig
from huey.contrib.djhuey.management.commands.run_huey import Command as RunHueyCommand

from filial.outbox import policy, queue, sweeper

logger = logging.getLogger("filial.worker")

# Defaults for the embedded setup: SIGTERM (what ``filial run`` sends) lets running tasks finish, within
# a bound shorter than the supervisor's 10 s before it kills.
WORKER_DEFAULTS = {"graceful_signal": "TERM", "shutdown_timeout": 8.0}


class Command(RunHueyCommand):
    help = "Run the background worker (Huey consumer). --burst: run every queued task, then exit."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--burst", action="store_true",
                            help="Execute every task now in the queue (and every due scheduled one), then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        from huey.contrib.djhuey import HUEY

        from filial.core.startup import warn_at_start

        warn_at_start(self.stderr)

        if not options.get("disable_autoload"):
            autodiscover_modules("tasks")
        if options.get("burst"):
            policy.patient = True  # one run does all due work: rate-limit waits are slept through
            try:
                sweep_deliveries()  # first: queue the due deliveries (and recover expired leases), then drain
                executed, failed = burst(HUEY)
            finally:
                policy.patient = False
            self.stdout.write(f"filial worker: executed {executed} task(s), {failed} failed.")
            return
        if HUEY.immediate:
            raise CommandError("Huey is in immediate mode (FILIAL_HUEY_IMMEDIATE): there is no queue to consume.")
        from filial.cli import exit_with_supervisor

        consumer_options: dict[str, Any] = dict(WORKER_DEFAULTS)
        huey_settings: Any = settings.HUEY
        if isinstance(huey_settings, dict):
            consumer_options.update(huey_settings.get("consumer", {}))
        consumer_options.update({k: v for k, v in options.items() if v is not None})
        config = ConsumerConfig(**consumer_options)
        config.validate()
        exit_with_supervisor()
        consumer = HUEY.create_consumer(**config.values)
        # Pages' lanes that wait a moment (a rate-limit budget, a post due in a few seconds) are queued at that
        # moment by the waker, not at the next of Huey's once-a-second looks at its schedule.
        queue.start_waker()
        try:
            sweep_deliveries()  # what came due while no worker ran goes to the queue (at the rate limits)
            # What start-up made (Django, the apps, the URL conf) stays: set it aside from the garbage collector,
            # so that full collections stay short and do not stall a request between its rate-limit unit and the
            # network (the networks count requests when they arrive).
            gc.collect()
            gc.freeze()
            consumer.run()
        finally:
            queue.stop_waker()  # what still waits goes on Huey's schedule


def sweep_deliveries() -> None:
    """The outbox's sweeper (also a periodic task every minute), for every kind of row it sends.

    At start it compares the due rows with the tasks in the queue: rows whose task a killed worker had taken off
    the queue (but not yet claimed) are queued again at once."""
    from huey.contrib.djhuey import HUEY

    try:
        report = sweeper.sweep(queued=None if HUEY.immediate else queue.queued_work(HUEY))
    except Exception:  # the queue is still worth draining; the periodic sweep tries again within a minute
        logger.exception("the sweeper failed at worker start")
        return
    logger.info("sweeper at worker start: %s", report.as_dict())


def burst(huey: Any) -> tuple[int, int]:
    """Execute the queue until it is empty: (tasks executed, tasks that raised).

    Scheduled tasks that are already due are moved to the queue first, as the consumer's scheduler would;
    tasks due later (including retries with a delay) stay scheduled for a real consumer.
    """
    from huey import signals

    failures: list[str] = []

    def on_error(_signal: str, task: Any, *_args: Any, **_kwargs: Any) -> None:
        failures.append(task.id)

    huey.signal(signals.SIGNAL_ERROR, signals.SIGNAL_TIMEOUT)(on_error)
    executed = 0
    try:
        for hook in list(huey._startup.values()):
            hook()
        for task in huey.read_schedule():
            huey.enqueue(task)
        while True:
            task = huey.dequeue()
            if task is None:
                break
            huey.execute(task)
            executed += 1
    finally:
        huey.disconnect_signal(on_error, signals.SIGNAL_ERROR, signals.SIGNAL_TIMEOUT)
        for hook in list(huey._shutdown.values()):
            hook()
    return executed, len(failures)

"""Short, exact waits of a running worker: a page's lane that must wait a fraction of a second for its
rate-limit budget is queued again at that moment by one timer thread, instead of holding a worker thread
asleep or going through Huey's schedule (which its consumer reads once a second).

The timers live in the worker process only. What is still pending when the worker stops is handed to
``on_stop`` (the engine puts it on Huey's persistent schedule); a killed worker loses its timers, and the rows
they stood for, still ``scheduled`` in the database, are queued again by the sweeper (at once when the next
worker starts).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from django.utils import timezone

log = logging.getLogger("filial.engine")
K = TypeVar("K", bound=Hashable)


class Waker(Generic[K]):
    """``wake(key, at)`` calls ``fire(key)`` at ``at`` (an aware datetime) from one daemon thread; a key waits
    once: waking it again keeps the earlier time."""

    def __init__(self, fire: Callable[[K], None]) -> None:
        self._fire = fire
        self._heap: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}  # key → its (earliest) time on the monotonic clock
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="filial-waker", daemon=True)
        self._thread.start()

    def wake(self, key: K, at: datetime) -> None:
        when = time.monotonic() + max(0.0, (at - timezone.now()).total_seconds())
        with self._cond:
            if self._stopped:
                raise RuntimeError("the waker has stopped")
            current = self._due.get(key)
            if current is not None and current <= when:
                return
            self._due[key] = when
            heapq.heappush(self._heap, (when, next(self._counter), key))
            self._cond.notify()

    def pending(self) -> dict[K, datetime]:
        """The keys still waiting, with their times."""
        now_m, now = time.monotonic(), timezone.now()
        with self._cond:
            return {key: now + timedelta(seconds=max(0.0, when - now_m)) for key, when in self._due.items()}

    def stop(self) -> dict[K, datetime]:
        """Stop the thread; returns what had not fired yet (key → time)."""
        left = self.pending()
        with self._cond:
            self._stopped = True
            self._due.clear()
            self._heap.clear()
            self._cond.notify()
        self._thread.join(timeout=5)
        return left

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    now = time.monotonic()
                    # Drop heap entries that a later, earlier wake of the same key replaced.
                    while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
                        heapq.heappop(self._heap)
                    if self._heap and self._heap[0][0] <= now:
                        _when, _n, key = heapq.heappop(self._heap)
                        del self._due[key]
                        break
                    self._cond.wait(timeout=(self._heap[0][0] - now) if self._heap else None)
                else:
                    return
            try:
                self._fire(key)
            except Exception:  # one failed wake must not stop the others; the sweeper covers the rows
                log.exception("waking %s failed", key)

"""The outbox's rules of time: how long a lease lasts, how many tries, how long to wait between them, how long a
worker may sleep for a rate-limit budget, how big a lane's batch is. Every value is a setting (see the README's
"Configuration" table); they apply to every kind of row alike.

``FILIAL_DELIVERY_MAX_ATTEMPTS`` (5), ``FILIAL_DELIVERY_RETRY_BASE`` (30 s), ``FILIAL_DELIVERY_RETRY_CAP`` (3600 s),
``FILIAL_DELIVERY_MAX_DEFERRALS`` (30), ``FILIAL_DELIVERY_LEASE_SECONDS`` (300), ``FILIAL_RATE_LIMIT_MAX_SLEEP``
(0.3 s: a longer wait gives the row back and comes back at the budget's time), ``FILIAL_LANE_BATCH`` (20),
``FILIAL_LANE_SLICE`` (10 s), ``FILIAL_SWEEP_HORIZON`` (70 s), ``FILIAL_SWEEP_REQUEUE_AFTER`` (120 s).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings

patient = False


def max_attempts() -> int:
    return max(1, int(settings.FILIAL_DELIVERY_MAX_ATTEMPTS))


def lease_seconds() -> float:
    return float(settings.FILIAL_DELIVERY_LEASE_SECONDS)


def horizon() -> timedelta:
    return timedelta(seconds=float(settings.FILIAL_SWEEP_HORIZON))


def max_sleep() -> float | None:
    """How long a worker sleeps for a rate-limit budget before handing the row back (None: as long as needed)."""
    return None if patient else float(settings.FILIAL_RATE_LIMIT_MAX_SLEEP)


def backoff(failures: int) -> float:
    """Seconds before retry number ``failures``: exponential, capped, with "equal jitter" (half fixed, half random)."""
    base = float(settings.FILIAL_DELIVERY_RETRY_BASE)
    cap = float(settings.FILIAL_DELIVERY_RETRY_CAP)
    delay = min(cap, base * 2 ** max(0, failures - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def lane_batch() -> int:
    return max(1, int(settings.FILIAL_LANE_BATCH))


def lane_slice() -> float:
    return float(settings.FILIAL_LANE_SLICE)


def max_deferrals() -> int:
    return int(settings.FILIAL_DELIVERY_MAX_DEFERRALS)


def requeue_after() -> timedelta:
    return timedelta(seconds=float(settings.FILIAL_SWEEP_REQUEUE_AFTER))

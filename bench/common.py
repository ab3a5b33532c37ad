"""What the benchmarks share: a clean database and queue to start from, and percentiles."""

from __future__ import annotations

import math
import os


def prepare_database() -> str:
    """Migrate; on a shared PostgreSQL database empty its tables, on Redis empty the queue and the rate budgets (a
    benchmark starts from nothing). Returns the backend's name. Call after ``django.setup()``."""
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    backend = "postgresql" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "sqlite"
    if backend == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    if os.environ.get("FILIAL_REDIS_URL"):
        from huey.contrib.djhuey import HUEY

        from filial.networks.ratelimit import get_limiter

        HUEY.flush()
        get_limiter().storage.reset()
    return backend


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

"""The shared rate limiter as the outbox uses it: a fresh in-memory one (a restarted embedded worker) first takes
the units of what this installation sent within the budgets' windows, so a restart right after a burst does not
exceed the networks' limits. With Redis (``FILIAL_REDIS_URL``) every worker shares one budget anyway."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from filial.networks.ratelimit import Claim, Limiter, get_limiter
from filial.outbox.jobs import all_jobs, job_of
from filial.outbox.models import Attempt

log = logging.getLogger("filial.engine")


def limiter() -> Limiter:
    """The shared limiter; a fresh in-memory one first learns what this installation sent within its windows."""
    current = get_limiter()
    if current.storage_uri.startswith("memory") and not current.primed:
        current.primed = True
        try:
            prime(current)
        except Exception:  # a budget that starts empty is what would happen anyway
            log.warning("could not prime the rate limiter from recent attempts", exc_info=True)
    return current


def prime(target: Limiter, now: datetime | None = None) -> int:
    """In-memory budgets start empty in every new process, but the networks remember a restarted worker's calls
    of the last seconds (Telegram: the last minute). Take now the units of the publications and messages recorded
    within each budget's window, so a restart right after a crash or a burst does not exceed the limits. Returns
    the units."""
    now = now or timezone.now()
    longest = max(target.window(name) for name in target.items)
    jobs = all_jobs()
    rows = (Attempt.objects.filter(kind__in=[*(job.send_kind for job in jobs), Attempt.Kind.EDIT],
                                   started_at__gte=now - timedelta(seconds=longest))
            .exclude(error_code__in=["local", "payload"])
            .select_related(*(f"{job.attempt_field}__channel" for job in jobs)))
    credentials: dict[int, dict[str, Any]] = {}
    totals: dict[tuple[str, str], int] = {}
    for attempt in rows:
        job = job_of(attempt)
        channel = job.row_of(attempt).channel
        if channel.pk not in credentials:
            credentials[channel.pk] = channel.credentials
        age = (now - attempt.started_at).total_seconds()
        for claim in job.prime_claims(attempt, credentials[channel.pk]):
            if age < target.window(claim.budget):
                totals[(claim.budget, claim.identity)] = totals.get((claim.budget, claim.identity), 0) + claim.cost
    target.preload([Claim(budget, identity, cost) for (budget, identity), cost in totals.items()])
    return sum(totals.values())

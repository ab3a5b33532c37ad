"""The kinds of work the outbox sends, and what every kind shares: recording a try as an ``Attempt``, saving a
success (fenced by nothing: what the network accepted is always saved), ending a try under the lease.

A producing app describes its kind of row with a :class:`Job` (what to build, how to send it, what it costs on the
rate budgets, what to do once it is done) and registers it with :func:`register` from its ``AppConfig.ready``:
``publishing`` registers deliveries and outgoing messages (``filial/publishing/jobs.py``). The outbox never
imports the producing apps; it tells them of an outcome through one hook, :meth:`Job.on_done`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from filial.channels.models import Channel
from filial.networks.base import Connector, NetworkError, Published
from filial.networks.ratelimit import Claim
from filial.outbox.models import Attempt, EngineRow

Outcome = Attempt.Outcome


class Job:
    """What the engine needs to know about one kind of row; the machinery below is the same for every kind."""

    name: str  # for logs
    model: type[EngineRow]
    states: Any  # the model's State choices
    done: str  # the state once the network accepted it
    done_at: str  # the column with the time it was accepted
    attempt_fk: str  # the Attempt column that points at this kind of row
    send_kind: str  # Attempt.Kind of a network call
    done_outcome: str  # Attempt.Outcome of a success
    attempt_field: str  # the same column's field name (``delivery``, ``message``)
    noun: str  # what a person calls it in a recovery note ("post", "message")
    task: str  # the single-row Huey task of before lanes (``filial.publishing.tasks``) a queue may still hold
    related: tuple[str, ...] = ("channel__unit",)  # select_related when a row is run
    can_lookup = False  # an uncertain row can be looked for on the network
    safe_to_repeat = False  # sending twice does no harm (an edit): a try whose outcome is unknown is tried again

    def __str__(self) -> str:
        return self.name

    def objects(self) -> QuerySet[Any]:
        return self.model._default_manager.all()

    def prepare(self, row: Any) -> Any:
        """What will be sent (raises PayloadError when it cannot be built)."""
        raise NotImplementedError

    def summary(self, row: Any, payload: Any) -> dict[str, Any]:
        """The request summary for the attempts history: sizes and flags, never tokens."""
        raise NotImplementedError

    def claims(self, channel: Channel, row: Any, payload: Any) -> list[Claim]:
        raise NotImplementedError

    def send(self, connector: Connector, row: Any, payload: Any) -> Published:
        raise NotImplementedError

    def find(self, connector: Connector, row: Any, payload: Any) -> Published | None:
        raise NotImplementedError

    def done_fields(self, row: Any, published: Published) -> dict[str, Any]:
        return {"external_id": published.external_id[:100]}

    def on_done(self, row: Any) -> None:
        """The outcome hook: called once the network accepted the row, in the transaction that records it (a post is
        published when its last delivery is; a reply answers its conversation). The one way the outbox tells the
        producing app of an outcome; failures, waits and uncertain rows stay on the row for people and selectors."""

    def attempt_columns(self, pk: int, row: Any = None) -> dict[str, Any]:
        """The ``Attempt`` columns that say whose try it is (the row's own foreign key by default)."""
        return {self.attempt_fk: pk}

    def error_outcome(self, outcome: str) -> str:
        """The ``Attempt`` outcome recorded for a failed try that the policy names ``outcome``."""
        return outcome

    def end_fields(self, state: str, now: datetime) -> dict[str, Any]:
        """Columns of this kind set when a try ends the row in ``state`` (besides the outbox's own)."""
        return {}

    def delivery_of(self, row: Any) -> int | None:
        """The delivery a page's pause is noted on when this row finds the page needs re-authorisation."""
        return None

    def prime_claims(self, attempt: Attempt, credentials: dict[str, Any]) -> list[Claim]:
        """What a recorded attempt drew on the budgets (a fresh limiter takes that again)."""
        raise NotImplementedError

    def row_of(self, attempt: Attempt) -> Any:
        raise NotImplementedError


_JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Make a kind of row known to the outbox (its lanes, sweeper and queue); returns it."""
    _JOBS[job.name] = job
    return job


def job_named(name: str) -> Job:
    return _JOBS[name]


def all_jobs() -> tuple[Job, ...]:
    """Every registered kind, in the order registered (the sweeper goes through them in that order)."""
    return tuple(_JOBS.values())


def job_of(attempt: Attempt) -> Job:
    """The kind of row an attempt belongs to."""
    for job in _JOBS.values():
        if getattr(attempt, job.attempt_fk, None):
            return job
    raise LookupError(f"attempt {attempt.pk} belongs to no registered kind of row")


class PayloadError(Exception):
    pass


@dataclass
class Try:
    """What one attempt did, for its ``Attempt`` row."""

    started_at: datetime
    request: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0
    token: str = ""


def record_attempt(job: Job, pk: int, t: Try | None, outcome: str, *, error: NetworkError | None = None,
             kind: str = "", external_id: str = "", message: str = "",
             actor: Any = None, request: dict[str, Any] | None = None, row: Any = None) -> Attempt:
    columns: dict[str, Any] = {
        "kind": kind or job.send_kind, "started_at": t.started_at if t else timezone.now(),
        "duration_ms": t.duration_ms if t else 0,
        "request": request if request is not None else (t.request if t else {}), "outcome": outcome,
        "error_code": str(error.code if error is not None and error.code is not None else "")[:50],
        "error_message": message or (str(error) if error is not None else ""), "external_id": external_id[:100],
        "worker": (t.token if t else "")[:100],
        "actor": actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    }
    return Attempt.objects.create(**{**columns, **job.attempt_columns(pk, row)})


def fresh_start(now: datetime) -> dict[str, Any]:
    """The engine's columns of a row a person gives back to it ("retry", "send again"): scheduled, its counters and
    lease cleared, not yet queued."""
    return {"state": "scheduled", "failures": 0, "deferrals": 0, "next_attempt_at": None, "enqueued_eta": None,
            "lease_owner": "", "lease_until": None, "sent_at": None, "last_error": "", "last_error_code": "",
            "updated_at": now}


def human_attempt(job: Job, pk: int, actor: Any, outcome: str, *, external_id: str = "",
                  **request: Any) -> Attempt:
    """What a person decided about a row ("retry", "send again", "it is there"), kept as an attempt of kind human."""
    return record_attempt(job, pk, None, outcome, kind=Attempt.Kind.HUMAN, external_id=external_id, actor=actor,
                    request={"by": getattr(actor, "username", ""), **request})


def record_done(job: Job, pk: int, published: Published, t: Try | None, *, row: Any = None, outcome: str = "",
                 kind: str = "", count_attempt: bool = True) -> bool:
    """Save what the network accepted, whatever happened to the lease meanwhile: state, id, link, time and the
    attempt in one transaction. Returns False when the row was already done under another id (then the second
    copy is recorded as a duplicate for a person to remove). ``row``: the row as read before (for ``on_done``).

    One conditional UPDATE decides: PostgreSQL re-checks its WHERE on a row another transaction just finished,
    SQLite runs it under its write lock."""
    now = timezone.now()
    outcome = outcome or job.done_outcome
    external_id = published.external_id[:100]
    with transaction.atomic():
        moved = job.objects().filter(
            Q(external_id="") | Q(external_id=external_id) | ~Q(state=job.done), pk=pk,
        ).update(state=job.done, **job.done_fields(row, published),
                 **{job.done_at: Coalesce(F(job.done_at), Value(now, output_field=DateTimeField()))},
                 lease_owner="", lease_until=None, sent_at=None, next_attempt_at=None, last_error="",
                 last_error_code="", attempts=F("attempts") + (1 if count_attempt else 0), updated_at=now)
        if not moved:
            kept = job.objects().filter(pk=pk).values_list("external_id", flat=True).first()
            record_attempt(job, pk, t, Outcome.DUPLICATE, kind=kind, external_id=published.external_id,
                     message=f"the network accepted this {job.name} again as {published.external_id}; the "
                             f"{job.name} keeps {kept}: delete the copy on the page", row=row)
            return False
        record_attempt(job, pk, t, outcome, kind=kind, external_id=published.external_id, row=row)
        job.on_done(row if row is not None else job.objects().get(pk=pk))
    return True


def finish(job: Job, pk: int, t: Try, outcome: str, error: NetworkError, *, row: Any = None, **fields: Any) -> bool:
    """A fenced end of an attempt: only the lease holder moves the row; the attempt is recorded either way."""
    now = timezone.now()
    with transaction.atomic():
        moved = job.objects().filter(pk=pk, state="sending", lease_owner=t.token).update(
            lease_owner="", lease_until=None, sent_at=None, last_error=str(error)[:2000],
            last_error_code=str(error.code if error.code is not None else "")[:50], attempts=F("attempts") + 1,
            updated_at=now, **job.end_fields(str(fields.get("state", "")), now), **fields) == 1
        note = "" if moved else f"{error} (the lease had expired: the sweeper had already taken the {job.name} back)"
        record_attempt(job, pk, t, job.error_outcome(outcome), error=error, message=note, row=row)
    return moved

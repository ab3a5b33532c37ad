"""The networks' rate limits, enforced before each call and shared by every worker (the ``limits`` library).

A *budget* is a named limit such as ``"vk.user": "3/second"``; a *claim* asks for ``cost`` units of one budget
for one identity (a token's hash, a chat). :meth:`Limiter.acquire` waits (sleeps) until every claim fits, then
takes them. Storage: in memory (one process, the embedded default) or Redis when ``settings.REDIS_URL`` is set,
so that every worker on every machine draws on one budget. Keys are hashes of tokens, never the tokens.

The strategy is the moving window: at most N calls in ANY window of the budget's length. The check before
taking also keeps some slack, ``FILIAL_RATE_LIMIT_MARGIN`` seconds (0.05) plus ``FILIAL_RATE_LIMIT_MARGIN_FRACTION``
(0.01) of the window, because the network counts requests when they ARRIVE: one taken at the window's edge may
arrive later or earlier than its neighbours (a new connection, a busy worker). For VK's 20 calls per second that
is 20 per 1.06 s, 18.9/s: with ten community tokens 189 of the nominal 200 messages per second.

Budgets: each network's spec declares its own (``networks/<net>/__init__.py`` ``budgets``), e.g. VK 3/s per user
token and 20/s per community token, Telegram 30/s per bot, 1/s per chat and 20/min per channel;
``settings.FILIAL_RATE_LIMITS`` overrides any of them (values are ``limits`` strings, "N/second").

What a call costs is the connector's to say (``Connector.publish_claims``, ``message_claims``, ``lookup_claims``,
``fetch_claims``, ``poll_claims`` in each network's ``rules.py``); :func:`publish_claims` and the others here
look the connector up by the network's name. A claim is capped at its budget; an operation of more calls than
that (VK: a post with ten photos is twelve calls at 3/s) takes the rest one per call through the connector's
:class:`Meter`, right before each call leaves. This limiter is the only pacer: no client sleeps on its own.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from filial.networks import registry
from filial.networks.base import Connector, PostPayload

NAMESPACE = "filial"


def fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a token (rate-limit keys and logs never hold the token itself)."""
    return hashlib.sha256(f"filial-ratelimit:{secret}".encode()).hexdigest()[:24]


def default_budgets() -> dict[str, str]:
    """Every network's budgets, as its spec declares them (``networks/<net>/__init__.py``)."""
    return {name: text for spec in registry.specs() for name, text in spec.budgets.items()}


class _DefaultBudgets(Mapping[str, str]):
    def __getitem__(self, name: str) -> str:
        return default_budgets()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(default_budgets())

    def __len__(self) -> int:
        return len(default_budgets())


DEFAULT_BUDGETS: Mapping[str, str] = _DefaultBudgets()


def budgets() -> dict[str, RateLimitItem]:
    configured: dict[str, str] = {**default_budgets(), **(settings.FILIAL_RATE_LIMITS or {})}
    items: dict[str, RateLimitItem] = {}
    for name, text in configured.items():
        item = parse(text)
        item.namespace = NAMESPACE
        items[name] = item
    return items


def margins() -> tuple[float, float]:
    """(seconds, fraction of the window) of slack kept on every budget (see the module's docstring)."""
    return float(settings.FILIAL_RATE_LIMIT_MARGIN), float(settings.FILIAL_RATE_LIMIT_MARGIN_FRACTION)


def padded_window(seconds: float) -> float:
    """A budget's window as the limiter counts it: with the margins."""
    margin, fraction = margins()
    return seconds * (1 + fraction) + margin


@dataclass(frozen=True)
class Claim:
    """``cost`` units of budget ``budget`` for ``identity`` (a fingerprint, optionally with a chat id)."""

    budget: str
    identity: str
    cost: int = 1


class Limiter:
    def __init__(self, storage_uri: str = "memory://", *, margin: float | None = None,
                 margin_fraction: float | None = None, items: dict[str, RateLimitItem] | None = None) -> None:
        self.storage_uri = storage_uri
        self.storage: Any = MemoryStorage() if storage_uri.startswith("memory") else storage_from_string(storage_uri)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.items = items if items is not None else budgets()
        default_margin, default_fraction = margins()
        self.margin = default_margin if margin is None else float(margin)
        self.margin_fraction = default_fraction if margin_fraction is None else float(margin_fraction)
        self.primed = False  # set by whoever told a fresh in-memory limiter about the calls made before it

    def _item(self, claim: Claim) -> tuple[RateLimitItem, int]:
        item = self.items[claim.budget]
        # A single claim larger than the whole budget could never be granted: it takes the whole budget instead.
        return item, max(1, min(claim.cost, item.amount))

    def _window(self, item: RateLimitItem) -> float:
        return item.get_expiry() * (1 + self.margin_fraction) + self.margin

    @staticmethod
    def _log_key(item: RateLimitItem, claim: Claim) -> str:
        return item.key_for(claim.budget, claim.identity) + "/log"

    def _log_size(self, item: RateLimitItem) -> tuple[int, int]:
        """(entries kept, seconds kept) of the log the margin is checked on: longer than the budget's own window
        (the storages forget an entry once its integer window has passed)."""
        keep = math.ceil(self._window(item)) + 1
        return item.amount * (keep + 2), keep

    def wait_time(self, claims: list[Claim]) -> float:
        """Seconds until every claim fits with the margin (0: now). Nothing is taken."""
        now = time.time()
        wait = 0.0
        for claim in claims:
            item, cost = self._item(claim)
            window = self._window(item)
            size, _keep = self._log_size(item)
            start, count = self.storage.get_moving_window(self._log_key(item, claim), size, window)
            if count + cost > item.amount:
                wait = max(wait, start + window - now, 0.001)
        return wait

    def try_acquire(self, claims: list[Claim]) -> bool:
        """Take every claim now if each fits, else take nothing more.

        Two records per claim: the budget itself, taken atomically by ``limits`` (never more than N in the
        window, whatever other workers do), and a log of the same calls kept a little longer, on which the
        margin is checked (a best-effort spacing, see the module's docstring).
        """
        if self.wait_time(claims) > 0:
            return False
        for claim in claims:
            item, cost = self._item(claim)
            if not self.strategy.hit(item, claim.budget, claim.identity, cost=cost):
                return False  # another worker took the last unit between the check and the hit: wait again
            size, keep = self._log_size(item)
            self.storage.acquire_entry(self._log_key(item, claim), size, keep, cost)
        return True

    def acquire(self, claims: list[Claim], *, max_wait: float | None = None) -> float:
        """Wait until the claims fit and take them; returns the seconds waited.

        With ``max_wait``: when more waiting than that would be needed, take nothing and raise
        :class:`WouldWait` (with the time to wait) so the caller can come back later instead of sleeping.
        """
        if not claims:
            return 0.0
        started = time.monotonic()
        while True:
            if self.try_acquire(claims):
                return time.monotonic() - started
            wait = max(self.wait_time(claims), 0.005)
            waited = time.monotonic() - started
            if max_wait is not None and waited + wait > max_wait:
                raise WouldWait(wait)
            time.sleep(min(wait, 1.0))

    def wait_until_free(self, claims: list[Claim], *, max_wait: float | None = None) -> float:
        """Sleep until every claim would fit, WITHOUT taking anything; returns the seconds waited.

        For callers with something to do between waiting and sending (the engine stamps its row): they then
        :meth:`acquire`, which is immediate unless another worker took the budget meanwhile, so the moment a
        unit is taken stays close to the moment the request leaves.
        """
        started = time.monotonic()
        while True:
            wait = self.wait_time(claims)
            if wait <= 0:
                return time.monotonic() - started
            if max_wait is not None and time.monotonic() - started + wait > max_wait:
                raise WouldWait(wait)
            time.sleep(min(max(wait, 0.005), 1.0))

    def window(self, budget: str) -> float:
        """Seconds a call counts against ``budget`` here (the budget's window with the margins)."""
        return self._window(self.items[budget])

    def preload(self, claims: list[Claim]) -> None:
        """Take units now without waiting or checking: what a fresh limiter must know of calls made just before it
        existed (a restarted worker with in-memory storage)."""
        for claim in claims:
            item, cost = self._item(claim)
            self.strategy.hit(item, claim.budget, claim.identity, cost=cost)
            size, keep = self._log_size(item)
            self.storage.acquire_entry(self._log_key(item, claim), size, keep, cost)

    def clear(self, claims: list[Claim]) -> None:
        for claim in claims:
            item, _ = self._item(claim)
            self.strategy.clear(item, claim.budget, claim.identity)
            self.storage.clear(self._log_key(item, claim))

    def reset(self) -> None:
        self.storage.reset()


class WouldWait(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"the rate limit allows this in {seconds:.2f} s")
        self.seconds = seconds


class Meter:
    """What a connector takes, per request, from the shared limiter: the one pacer of every call.

    A connector whose one operation makes several calls in a row (VK: a post with photos is
    photos.getWallUploadServer, an upload per photo, photos.saveWallPhoto, wall.post) holds a meter and calls
    :meth:`take` with the claim of each request right before it leaves. The caller that took the operation's
    units itself before starting it (the outbox's lane: ``publish_claims``, capped at the budget) hands them on
    with :meth:`prepaid`: the first calls use those, the rest are taken one by one. ``max_wait`` bounds one wait
    (a lane: ``FILIAL_RATE_LIMIT_MAX_SLEEP``); a longer one raises :class:`WouldWait`, before the request leaves.
    """

    def __init__(self, limiter: Limiter, *, max_wait: float | None = None) -> None:
        self.limiter = limiter
        self.max_wait = max_wait
        self.waited = 0.0  # seconds slept in :meth:`take` (a lane reports it with the attempt)
        self.taken = 0  # units taken in :meth:`take` (not prepaid ones)
        self._prepaid: dict[tuple[str, str], int] = {}

    def prepaid(self, claims: list[Claim]) -> None:
        """The units just taken for the coming operation (replacing any left over from an earlier one: a unit
        counts from when it was taken, so it must not pay for a call much later)."""
        self._prepaid = {}
        for claim in claims:
            _item, cost = self.limiter._item(claim)
            key = (claim.budget, claim.identity)
            self._prepaid[key] = self._prepaid.get(key, 0) + cost

    def take(self, claims: list[Claim]) -> float:
        """Take the units of one request about to leave (prepaid ones first); returns the seconds waited."""
        due: list[Claim] = []
        for claim in claims:
            key = (claim.budget, claim.identity)
            left = self._prepaid.get(key, 0)
            used = min(left, claim.cost)
            if used:
                self._prepaid[key] = left - used
            if claim.cost > used:
                due.append(Claim(claim.budget, claim.identity, claim.cost - used))
        if not due:
            return 0.0
        waited = self.limiter.acquire(due, max_wait=self.max_wait)
        self.waited += waited
        self.taken += sum(claim.cost for claim in due)
        return waited


_lock = threading.Lock()
_limiter: Limiter | None = None


def storage_uri() -> str:
    return str(settings.REDIS_URL or "") or "memory://"


def get_limiter() -> Limiter:
    """The process's limiter (re-created when the storage setting changes, e.g. in tests)."""
    global _limiter
    uri = storage_uri()
    with _lock:
        if _limiter is None or _limiter.storage_uri != uri:
            _limiter = Limiter(uri)
        return _limiter


def reset_limiter() -> None:
    """Forget the process's limiter (tests; a new one starts with full budgets in memory)."""
    global _limiter
    with _lock:
        _limiter = None


# --- what a call costs: each network's connector says (``Connector.publish_claims``...) ------------------------
def _connector(network: str) -> type[Connector] | None:
    spec = registry.find(network)
    return spec.connector_class() if spec is not None else None


def publish_claims(network: str, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
    """The budget one publication of ``post`` draws on, counted in API calls (or messages, where that counts)."""
    cls = _connector(network)
    return cls.publish_claims(external_id, credentials, post) if cls else []


def lookup_claims(network: str, external_id: str, credentials: dict[str, Any]) -> list[Claim]:
    """The budget of one ``find_published`` look-up (reading calls only)."""
    cls = _connector(network)
    return cls.lookup_claims(external_id, credentials) if cls else []


def message_claims(network: str, external_id: str, credentials: dict[str, Any], recipient: str, *,
                   comment: bool = False) -> list[Claim]:
    """The budget of one outgoing message (a direct message, or a reply: ``comment`` when it answers a comment)
    sent through a page, in API calls."""
    cls = _connector(network)
    return cls.message_claims(external_id, credentials, recipient, comment=comment) if cls else []

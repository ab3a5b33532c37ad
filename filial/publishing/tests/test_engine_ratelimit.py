"""The shared rate limiter (``filial.networks.ratelimit``): moving windows, waiting not failing, hashed keys,
memory storage always, Redis storage when ``FILIAL_REDIS_URL`` (settings.REDIS_URL) is set."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from limits import parse

from filial.networks.base import Photo, PollSpec, PostPayload
from filial.networks.ratelimit import (
    DEFAULT_BUDGETS,
    Claim,
    Limiter,
    WouldWait,
    budgets,
    fingerprint,
    get_limiter,
    lookup_claims,
    publish_claims,
    reset_limiter,
)

REDIS_URL = os.environ.get("FILIAL_REDIS_URL", "")
STORAGES = ["memory://", pytest.param(REDIS_URL, marks=pytest.mark.skipif(
    not REDIS_URL, reason="Redis storage: set FILIAL_REDIS_URL to test it"), id="redis")]


def items(**specs: str) -> dict[str, Any]:
    made = {}
    for name, text in specs.items():
        item = parse(text)
        item.namespace = f"filial-test-{uuid.uuid4().hex[:8]}"  # a fresh budget per test, even in a shared Redis
        made[name] = item
    return made


@pytest.fixture(params=STORAGES)
def storage(request: Any) -> Iterator[str]:
    yield request.param


def test_a_budget_is_taken_then_the_caller_waits_for_the_window(storage: str) -> None:
    limiter = Limiter(storage, margin=0.05, margin_fraction=0.05, items=items(fast="3/second"))
    claim = [Claim("fast", "token-a")]
    started = time.monotonic()
    for _ in range(3):
        assert limiter.acquire(claim) < 0.3
    assert limiter.wait_time(claim) > 0.8
    assert not limiter.try_acquire(claim)
    waited = limiter.acquire(claim)  # the 4th call waits until the oldest leaves the window (+ margins)
    assert 0.9 < waited < 1.35 and time.monotonic() - started >= 1.1
    # Another identity has its own budget.
    assert limiter.acquire([Claim("fast", "token-b")]) < 0.3


def test_several_budgets_at_once_wait_for_the_tightest(storage: str) -> None:
    limiter = Limiter(storage, margin=0.0, margin_fraction=0.0, items=items(bot="30/second", chat="1/second"))
    claims = [Claim("bot", "bot-1"), Claim("chat", "bot-1:chat-1")]
    assert limiter.acquire(claims) < 0.3
    assert limiter.try_acquire([Claim("bot", "bot-1"), Claim("chat", "bot-1:chat-2")])  # another chat: fine
    assert 0.9 < limiter.wait_time(claims) <= 1.0


def test_would_wait_gives_the_time_instead_of_sleeping(storage: str) -> None:
    limiter = Limiter(storage, margin=0.0, margin_fraction=0.0, items=items(slow="2/minute"))
    claim = [Claim("slow", "page")]
    limiter.acquire(claim, max_wait=0)
    limiter.acquire(claim, max_wait=0)
    with pytest.raises(WouldWait) as caught:
        limiter.acquire(claim, max_wait=5)
    assert 55 < caught.value.seconds <= 60


def test_waiting_until_free_takes_nothing(storage: str) -> None:
    limiter = Limiter(storage, margin=0.0, margin_fraction=0.0, items=items(one="1/second"))
    claim = [Claim("one", "chat")]
    assert limiter.wait_until_free(claim) < 0.5 and limiter.wait_until_free(claim) < 0.5  # did not sleep a window
    assert limiter.try_acquire(claim)  # the two waits took nothing: the one unit of the budget is still there
    with pytest.raises(WouldWait):
        limiter.wait_until_free(claim, max_wait=0.1)
    assert 0.85 < limiter.wait_until_free(claim) <= 1.05
    assert limiter.acquire(claim) < 0.3


def test_a_claim_bigger_than_its_budget_takes_the_whole_budget(storage: str) -> None:
    limiter = Limiter(storage, margin=0.0, margin_fraction=0.0, items=items(chat="1/second"))
    assert limiter.acquire([Claim("chat", "c", cost=3)]) < 0.3  # never refused for ever
    assert not limiter.try_acquire([Claim("chat", "c")])


def test_many_threads_never_exceed_the_budget(storage: str) -> None:
    limiter = Limiter(storage, margin=0.0, margin_fraction=0.0, items=items(shared="5/second"))
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            limiter.acquire([Claim("shared", "one-token")])
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    assert len(stamps) == 12
    # In any one-second window at most 5 calls went out.
    assert all(stamps[i + 5] - stamps[i] >= 0.99 for i in range(len(stamps) - 5))


def test_keys_are_hashes_of_tokens_never_the_tokens() -> None:
    token = "vk1.a.secret-user-token"
    claims = publish_claims("vk", "4242", {"access_token": token}, PostPayload(text="x", key="k"))
    assert claims == [Claim("vk.user", fingerprint(token), 1)]
    assert token not in claims[0].identity and len(claims[0].identity) == 24
    limiter = Limiter("memory://", items=budgets())
    limiter.acquire(claims)
    assert not any(token in key for key in limiter.storage.events)


def test_what_a_publication_costs_on_each_network() -> None:
    photos = [Photo(b"x", f"{i}.jpg") for i in range(3)]
    poll = PollSpec("Q", ["a", "b"])
    vk = publish_claims("vk", "1", {"access_token": "t"}, PostPayload(text="x", key="k", photos=photos, poll=poll))
    assert [c.cost for c in vk] == [1 + 1 + 3 + 1]  # upload server, 3 saves, poll, wall.post
    tg = publish_claims("telegram", "-100", {"bot_token": "1:a"}, PostPayload(text="y" * 2000, key="k", photos=photos))
    assert [(c.budget, c.cost) for c in tg] == [("telegram.bot", 2), ("telegram.chat", 2), ("telegram.channel", 4)]
    assert [c.cost for c in publish_claims("max", "1", {"bot_token": "b"}, PostPayload("z", "k", photos))] == [4]
    assert [c.cost for c in publish_claims("ok", "1", {"access_token": "o"}, PostPayload("z", "k", photos))] == [2]
    assert [c.budget for c in lookup_claims("telegram", "-100", {"bot_token": "1:a"})] == ["telegram.bot"]


def test_budgets_are_settings(settings: Any) -> None:
    assert DEFAULT_BUDGETS["vk.user"] == "3/second" and DEFAULT_BUDGETS["telegram.channel"] == "20/minute"
    settings.FILIAL_RATE_LIMITS = {"ok.token": "2/second"}
    loaded = budgets()
    assert (loaded["ok.token"].amount, loaded["ok.token"].get_expiry()) == (2, 1)
    assert (loaded["vk.community"].amount, loaded["max.bot"].amount) == (20, 30)


def test_the_process_limiter_follows_the_storage_setting(settings: Any) -> None:
    settings.REDIS_URL = ""
    reset_limiter()
    first = get_limiter()
    assert first is get_limiter() and first.storage_uri == "memory://"
    if REDIS_URL:
        settings.REDIS_URL = REDIS_URL
        assert get_limiter().storage_uri == REDIS_URL
    reset_limiter()

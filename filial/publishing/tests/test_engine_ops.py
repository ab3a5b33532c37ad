"""The engine's operations: atomic claims under concurrency, the sweeper, the queue, ``filial worker --burst``, the
API after a real worker run, and what a person does in the UI with failed and uncertain deliveries."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from huey.storage import MemoryStorage

from filial.accounts.models import AuditEntry
from filial.channels import connections
from filial.channels.models import Channel
from filial.conftest import PASSWORD, Net, race
from filial.core.tests.test_api_support import client_for
from filial.outbox import claims, lanes, limits, policy, sweeper
from filial.outbox.models import Attempt
from filial.outbox.tests.helpers import claim_in_race, run_row
from filial.publishing import payloads
from filial.publishing.jobs import DELIVERY
from filial.publishing.models import Delivery, Post
from filial.publishing.tests.test_engine_world import VK_GROUP, World, build_world, engine_world, fast_engine

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)

S = Delivery.State


@pytest.fixture
def queue(monkeypatch: Any) -> Any:
    """A real (non-immediate) Huey queue in memory: tasks wait for a worker as in production."""
    from huey.contrib.djhuey import HUEY

    monkeypatch.setattr(HUEY, "_immediate", False)
    monkeypatch.setattr(HUEY, "storage", MemoryStorage("filial-engine-test-queue"))
    return HUEY


def queued(huey: Any) -> dict[int, Any]:
    """Deliveries whose page's lane waits for a worker: delivery id → the lane's eta (None: at once). The lane of a
    page covers its rows queued for that time (a task with an eta sits in the queue until a worker moves it to the
    schedule)."""
    lanes: dict[int, list[Any]] = {}
    for task in [*huey.pending(), *huey.scheduled()]:
        if task.name.endswith("run_lane") and task.args[0] == "delivery":
            lanes.setdefault(task.args[1], []).append(task.eta)
    found: dict[int, Any] = {}
    now = timezone.now()
    rows = Delivery.objects.filter(channel_id__in=list(lanes), state=S.SCHEDULED, enqueued_eta__isnull=False)
    for pk, channel_id, enqueued in rows.values_list("pk", "channel_id", "enqueued_eta"):
        assert enqueued is not None
        for eta in lanes[channel_id]:
            if eta is None and enqueued <= now:
                found[pk] = None
            elif eta is not None and eta == enqueued.replace(tzinfo=None):
                found[pk] = eta
    return found


# --- claims ------------------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_lanes_of_one_page_claiming_at_once_never_take_the_same_row(net: Net) -> None:
    """Threads claim batches of one page's rows at once, as the lanes of two workers that both got the page from
    the queue: every row is taken by exactly one claim (SQLite here; PostgreSQL when FILIAL_DATABASE_URL is set)."""
    from filial.publishing.services import PostData, post_create, post_submit

    editor = net.users["admin"]
    page = net.channels["central_vk"]
    posts = [post_submit(actor=editor, post=post_create(actor=editor, data=PostData(
        unit=net.central, kind="note", text=f"Пост {i}", channels=[page],
        publish_at=timezone.now() + timedelta(hours=1)))) for i in range(7)]
    Delivery.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    ids = list(Delivery.objects.filter(post__in=posts).values_list("pk", flat=True))
    wins: dict[int, list[str]] = {pk: [] for pk in ids}

    def lane(n: int) -> None:
        for batch in range(len(ids)):
            token = f"worker-{n}-{batch}"
            for row in claim_in_race(DELIVERY, page.pk, token, 2):
                wins[row.pk].append(token)

    race(lane, 6)
    assert all(len(w) == 1 for w in wins.values()), wins
    for pk, (token,) in wins.items():
        row = Delivery.objects.get(pk=pk)
        assert (row.state, row.lease_owner) == (S.SENDING, token)
        assert row.lease_until is not None and row.lease_until > timezone.now()


def test_a_claim_takes_only_due_scheduled_rows_of_an_active_page(world: World) -> None:
    page = world.channels["vk"].pk
    post = world.post(due_now=False)
    d = world.delivery(post)
    assert claims.claim_batch(DELIVERY, page, "w1", 5) == []
    world.make_due(post)
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=1))
    assert claims.claim_batch(DELIVERY, page, "w1", 5) == []
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=None)
    Channel.objects.filter(pk=page).update(status=Channel.Status.PAUSED)
    assert claims.claim_batch(DELIVERY, page, "w1", 5) == []
    Channel.objects.filter(pk=page).update(status=Channel.Status.ACTIVE)
    assert [r.pk for r in claims.claim_batch(DELIVERY, page, "w1", 5)] == [d.pk]
    assert claims.claim_batch(DELIVERY, page, "w2", 5) == []


@pytest.mark.parametrize("page", ["vk", "tg"])
def test_a_worker_that_lost_its_lease_does_not_send(world: World, page: str) -> None:
    """On Telegram (no idempotency key) the stamp before the request is fenced by the lease; on VK a lane's young
    claim is the fence (a repeat carries the same key), so the lease is checked once the claim has grown old."""
    post = world.post(pages=(page,))
    d = world.delivery(post, page)
    rows = claims.claim_batch(DELIVERY, world.channels[page].pk, "slow-worker", 5)
    assert [r.pk for r in rows] == [d.pk]
    Delivery.objects.filter(pk=d.pk).update(lease_owner="someone-else")  # the sweeper gave it to another worker
    old_claim = time.monotonic() - policy.lease_seconds()
    context = lanes.LaneContext(idempotent=page == "vk", claimed_at=old_claim)
    results: Counter[str] = Counter()
    assert not lanes.run_batch(DELIVERY, rows, "slow-worker", results, context)
    assert results == {"lease_lost": 1}
    assert world.vk_wall() == [] and world.tg_messages() == []
    assert Delivery.objects.get(pk=d.pk).lease_owner == "someone-else"


# --- the sweeper -------------------------------------------------------------------------------------------
def _expire(d: Delivery, *, sent: bool) -> None:
    Delivery.objects.filter(pk=d.pk).update(
        state=S.SENDING, lease_owner="dead-worker", lease_until=timezone.now() - timedelta(seconds=1),
        sent_at=timezone.now() - timedelta(minutes=6) if sent else None)


def test_the_sweeper_recovers_an_expired_lease_nothing_sent(world: World) -> None:
    post = world.post(pages=("tg",))
    d = world.delivery(post, "tg")
    _expire(d, sent=False)
    report = sweeper.sweep()
    assert (report.recovered, report.uncertain) == (1, 0)
    d.refresh_from_db()  # queued again, and (HUEY immediate in tests) published at once
    assert d.state == S.PUBLISHED and len(world.tg_messages()) == 1
    assert list(d.attempt_log.values_list("kind", "outcome")) == [
        (Attempt.Kind.SWEEPER, Attempt.Outcome.LEASE_EXPIRED), (Attempt.Kind.PUBLISH, Attempt.Outcome.PUBLISHED)]


def test_the_sweeper_resends_with_the_same_key_where_the_network_deduplicates(world: World) -> None:
    post = world.post("Работник упал после отправки")
    d = world.delivery(post)
    # The worker made the post on VK and died before recording it.
    connector = connections.connector_for(world.channels["vk"])
    made = connector.publish(payloads.build_payload(d))
    _expire(d, sent=True)
    assert sweeper.sweep().recovered == 1
    d.refresh_from_db()
    assert d.state == S.PUBLISHED and d.external_id == made.external_id and len(world.vk_wall()) == 1


def test_the_sweeper_marks_a_sent_row_uncertain_and_finds_it(world: World) -> None:
    post = world.post("Работник упал после отправки в ОК", pages=("ok",))
    d = world.delivery(post, "ok")
    made = connections.connector_for(world.channels["ok"]).publish(payloads.build_payload(d))
    _expire(d, sent=True)
    assert sweeper.sweep().uncertain == 1
    d.refresh_from_db()
    assert (d.state, d.external_id) == (S.PUBLISHED, made.external_id)
    assert [a.outcome for a in d.attempt_log.all()] == [Attempt.Outcome.LEASE_EXPIRED, Attempt.Outcome.FOUND]
    assert len(world.ok_topics()) == 1


def test_the_leases_of_a_killed_local_worker_are_recovered_at_once(world: World) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    post = world.post(pages=("max",))
    d = world.delivery(post, "max")
    Delivery.objects.filter(pk=d.pk).update(
        state=S.SENDING, lease_owner=f"{claims.worker_name().split(':')[0]}:{gone.stdout.strip()}:1:abc",
        lease_until=timezone.now() + timedelta(minutes=4))
    assert sweeper.sweep().recovered == 1
    d.refresh_from_db()
    assert d.state == S.PUBLISHED
    assert "worker process is gone" in d.attempt_log.order_by("id")[0].error_message


def test_a_live_lease_is_left_alone(world: World) -> None:
    post = world.post()
    d = world.delivery(post)
    assert claims.claim_batch(DELIVERY, world.channels["vk"].pk, "busy-worker", 5)
    assert sweeper.sweep().as_dict() == {"recovered": 0, "uncertain": 0, "requeued": 0, "upcoming": 0}
    assert Delivery.objects.get(pk=d.pk).lease_owner == "busy-worker"


def test_the_sweeper_queues_lost_and_upcoming_rows_with_their_time(world: World, queue: Any) -> None:
    lost = world.post("Потерянный в очереди")
    soon = world.post("Через 30 секунд", due_now=False)
    later = world.post("Через час", due_now=False)
    in_30s = timezone.now() + timedelta(seconds=30)
    soon.deliveries.update(due_at=in_30s)
    report = sweeper.sweep()
    assert (report.requeued, report.upcoming) == (1, 1)
    etas = queued(queue)
    assert sorted(etas) == sorted([world.delivery(lost).pk, world.delivery(soon).pk])
    assert etas[world.delivery(lost).pk] is None
    assert abs((etas[world.delivery(soon).pk] - in_30s.replace(tzinfo=None)).total_seconds()) < 0.01
    assert world.delivery(later).enqueued_eta is None
    # A second sweep a moment later queues nothing twice.
    assert sweeper.sweep().as_dict() == {"recovered": 0, "uncertain": 0, "requeued": 0, "upcoming": 0}
    # A row whose queued task vanished (the queue was lost) is queued again after FILIAL_SWEEP_REQUEUE_AFTER.
    Delivery.objects.filter(pk=world.delivery(lost).pk).update(enqueued_eta=timezone.now() - timedelta(minutes=3))
    assert sweeper.sweep().requeued == 1


@pytest.mark.django_db(transaction=True)
def test_scheduling_queues_a_post_due_soon_on_commit(net: Net, queue: Any, settings: Any) -> None:
    fast_engine(settings)
    from filial.publishing.services import PostData, post_create, post_submit

    editor = net.users["admin"]
    soon = timezone.now() + timedelta(seconds=40)
    post = post_submit(actor=editor, post=post_create(actor=editor, data=PostData(
        unit=net.central, kind="note", text="Скоро", channels=[net.channels["central_vk"], net.channels["central_ok"]],
        publish_at=soon)))
    far = post_submit(actor=editor, post=post_create(actor=editor, data=PostData(
        unit=net.central, kind="note", text="Завтра", channels=[net.channels["central_vk"]],
        publish_at=timezone.now() + timedelta(days=1))))
    etas = queued(queue)
    assert sorted(etas) == sorted(post.deliveries.values_list("pk", flat=True))
    assert {abs((eta - soon.replace(tzinfo=None)).total_seconds()) < 0.01 for eta in etas.values()} == {True}
    assert not far.deliveries.filter(pk__in=list(etas)).exists()  # the sweeper queues it a minute before


def test_a_restarted_worker_remembers_the_last_minute_of_sends(world: World, settings: Any) -> None:
    """In-memory budgets start empty in a new process; Telegram still counts the last minute's messages."""
    from filial.networks.ratelimit import reset_limiter

    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 2
    earlier = world.post("Пост до перезапуска", pages=("tg",))
    old = world.delivery(earlier, "tg")
    for seconds_ago in range(20):  # 20 messages in the last 40 s: the channel's 20/minute is used up
        Attempt.objects.create(delivery=old, kind=Attempt.Kind.PUBLISH, outcome=Attempt.Outcome.PUBLISHED,
                               started_at=timezone.now() - timedelta(seconds=2 * seconds_ago + 1),
                               request={"text_chars": 10, "photos": 0})
    reset_limiter()  # as in a new worker process
    post = world.post("После перезапуска", pages=("tg",))
    d = world.delivery(post, "tg")
    assert run_row(DELIVERY, d.pk) == "deferred"
    d.refresh_from_db()
    assert d.state == S.SCHEDULED and d.attempts == 0 and d.next_attempt_at is not None
    assert timedelta(seconds=15) < d.next_attempt_at - timezone.now() < timedelta(seconds=64)
    assert world.tg_messages() == []


def test_a_restarted_worker_remembers_recent_edits_too(world: World, settings: Any) -> None:
    """An edit of a VK post draws on the admin token's 3/s like a publication (plus the read of the post)."""
    from filial.networks.ratelimit import reset_limiter

    earlier = world.post("Пост до перезапуска", pages=("vk",))
    old = world.delivery(earlier, "vk")
    Attempt.objects.create(delivery=old, kind=Attempt.Kind.EDIT, outcome=Attempt.Outcome.EDITED,
                           started_at=timezone.now() - timedelta(milliseconds=200),
                           request={"text_chars": 10, "photos": 0, "method": "edit"})
    reset_limiter()  # as in a new worker process
    limiter = limits.limiter()
    token = world.channels["vk"].credentials["access_token"]
    from filial.networks.ratelimit import Claim, fingerprint

    # wall.getById + wall.edit: 2 of the 3 units of the last second are taken; a third fits, a fourth waits.
    assert limiter.try_acquire([Claim("vk.user", fingerprint(token), 1)])
    assert limiter.wait_time([Claim("vk.user", fingerprint(token), 1)]) > 0


# --- the worker and the API, end to end ---------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_worker_burst_publishes_due_posts_and_the_api_shows_them(net: Net, queue: Any, settings: Any,
                                                                 capsys: Any) -> None:
    fast_engine(settings)
    from filial import cli

    with ExitStack() as stack:
        w = build_world(net, stack)
        post = w.post("Через API видно, что опубликовано", pages=("vk", "ok", "tg", "max"), photos=1)
        queue.flush()  # nothing queued by hand: the worker's sweeper finds the due rows itself
        assert cli.main(["worker", "--burst"]) == 0
        assert "executed 4 task(s), 0 failed" in capsys.readouterr().out

        rows = client_for(net, "viewer").get(f"/api/v1/deliveries/?post={post.pk}").json()["results"]
        assert {r["state"] for r in rows} == {"published"}
        assert all(r["external_id"] and r["url"].startswith("http") and r["published_at"] for r in rows)
        vk = next(r for r in rows if r["network"] == "vk")
        assert vk["external_id"] == f"-{VK_GROUP}_{w.vk_wall()[0]['id']}"
        assert Post.objects.get(pk=post.pk).state == Post.State.PUBLISHED
        # Nothing is due any more: a second run does nothing and publishes nothing twice.
        assert cli.main(["worker", "--burst"]) == 0
        assert "executed 0 task(s)" in capsys.readouterr().out
        assert len(w.vk_wall()) == 1 and len(w.tg_messages()) == 1


# --- the UI: failed and uncertain first, retry, "it is there", "send again" --------------------------------
def _login(client: Any, world: World, role: str) -> None:
    assert client.login(username=world.net.users[role].username, password=PASSWORD)


def test_post_detail_lists_failed_and_uncertain_first_with_their_actions(world: World, client: Any) -> None:
    post = world.post(pages=("vk", "ok", "tg", "max"))
    rows = {p: world.delivery(post, p) for p in ("vk", "ok", "tg", "max")}
    assert run_row(DELIVERY, rows["vk"].pk) == "published"
    Delivery.objects.filter(pk=rows["max"].pk).update(state=S.FAILED, last_error="MAX said no")
    Delivery.objects.filter(pk=rows["tg"].pk).update(state=S.UNCERTAIN, last_error="no answer")
    _login(client, world, "admin")
    html = client.get(f"/posts/{post.pk}/").content.decode()
    order = [html.index(world.channels[p].name + "<") if world.channels[p].name + "<" in html
             else html.index(world.channels[p].name) for p in ("max", "tg", "ok", "vk")]
    assert order[0] < order[2] and order[1] < order[2] and order[1] < order[3]
    assert f"/posts/{post.pk}/deliveries/{rows['max'].pk}/retry/" in html
    assert f"/posts/{post.pk}/deliveries/{rows['tg'].pk}/confirm/" in html
    assert f"/posts/{post.pk}/deliveries/{rows['tg'].pk}/resend/" in html
    assert "1 attempt" in html  # the VK delivery's history

    client.logout()
    _login(client, world, "viewer")
    html = client.get(f"/posts/{post.pk}/").content.decode()
    assert "/retry/" not in html and "/resend/" not in html


def test_retry_a_failed_delivery(world: World, client: Any) -> None:
    post = world.post(pages=("max",))
    d = world.delivery(post, "max")
    Delivery.objects.filter(pk=d.pk).update(state=S.FAILED, failures=3, last_error="boom")
    url = f"/posts/{post.pk}/deliveries/{d.pk}/retry/"
    _login(client, world, "viewer")
    assert client.post(url).status_code == 403
    client.logout()
    _login(client, world, "editor_central")
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == f"/posts/{post.pk}/"
    d.refresh_from_db()
    assert (d.state, d.failures, d.last_error) == (S.SCHEDULED, 0, "")
    assert AuditEntry.objects.filter(action="delivery.retry", object_id=str(d.pk)).exists()
    assert run_row(DELIVERY, d.pk) == "published"
    # Retry is for failed deliveries only.
    client.post(url)
    assert Delivery.objects.get(pk=d.pk).state == S.PUBLISHED
    assert client.get(url).status_code == 405


def test_it_is_there_and_send_again(world: World, client: Any) -> None:
    post = world.post(pages=("tg", "max"))
    tg, mx = world.delivery(post, "tg"), world.delivery(post, "max")
    Delivery.objects.filter(pk__in=[tg.pk, mx.pk]).update(state=S.UNCERTAIN)
    _login(client, world, "editor_central")
    bad = client.post(f"/posts/{post.pk}/deliveries/{tg.pk}/confirm/", {"url": "not a link with spaces"})
    assert bad.status_code == 302 and Delivery.objects.get(pk=tg.pk).state == S.UNCERTAIN
    client.post(f"/posts/{post.pk}/deliveries/{tg.pk}/confirm/", {"url": "https://t.me/cgb_mednogorsk/7",
                                                                 "external_id": "7"})
    tg.refresh_from_db()
    assert (tg.state, tg.url, tg.external_id) == (S.PUBLISHED, "https://t.me/cgb_mednogorsk/7", "7")
    client.post(f"/posts/{post.pk}/deliveries/{mx.pk}/resend/")
    mx.refresh_from_db()
    assert (mx.state, mx.generation) == (S.SCHEDULED, 1)
    assert run_row(DELIVERY, mx.pk) == "published"
    assert Post.objects.get(pk=post.pk).state == Post.State.PUBLISHED
    assert set(AuditEntry.objects.filter(object_type="publishing.delivery").values_list("action", flat=True)) == {
        "delivery.confirm", "delivery.resend"}
    # Another post's delivery cannot be reached through this post's address.
    other = world.post("Другой", pages=("ok",))
    assert client.post(f"/posts/{other.pk}/deliveries/{mx.pk}/resend/").status_code == 404

"""The publishing engine against the four emulators: publication, and each class of error injected as a fault."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from filial.accounts.models import AuditEntry
from filial.channels import connections
from filial.channels.models import Channel
from filial.conftest import Net
from filial.outbox import queue, sweeper
from filial.outbox.models import Attempt
from filial.outbox.tests.helpers import run_row
from filial.publishing import services
from filial.publishing.jobs import DELIVERY
from filial.publishing.models import Delivery, Post
from filial.publishing.tests.test_engine_world import VK_GROUP, World, engine_world

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)

S = Delivery.State
O = Attempt.Outcome  # noqa: E741


def outcomes(delivery: Delivery) -> list[str]:
    return list(delivery.attempt_log.order_by("id").values_list("outcome", flat=True))


# --- publication -------------------------------------------------------------------------------------------
def test_a_post_goes_to_pages_on_all_four_networks(world: World) -> None:
    post = world.post("Приглашаем на встречу с писателем", pages=("vk", "ok", "tg", "max"), photos=2,
                      link="https://library.example/meeting", overrides={"tg": "Встреча с писателем — в субботу"})
    results = {page: run_row(DELIVERY, world.delivery(post, page).pk) for page in ("vk", "ok", "tg", "max")}
    assert results == dict.fromkeys(("vk", "ok", "tg", "max"), "published")

    rows = {page: world.delivery(post, page) for page in ("vk", "ok", "tg", "max")}
    for page, d in rows.items():
        assert d.state == S.PUBLISHED and d.external_id and d.published_at, page
        assert (d.attempts, d.lease_owner, d.lease_until, d.sent_at) == (1, "", None, None)
        attempt = d.attempt_log.get()
        assert attempt.outcome == O.PUBLISHED and attempt.external_id == d.external_id
        assert attempt.request["photos"] == 2 and attempt.request["key"] == f"filial-d{d.pk}"
        assert "token" not in str(attempt.request).lower()
    post.refresh_from_db()
    assert post.state == Post.State.PUBLISHED

    assert rows["vk"].external_id == f"-{world.seeds['vk']['group_id']}_{world.vk_wall()[0]['id']}"
    assert rows["vk"].url.endswith(f"/wall{rows['vk'].external_id}")
    wall = world.vk_wall()
    assert len(wall) == 1 and wall[0]["text"] == "Приглашаем на встречу с писателем"
    assert len(world.ok_topics()) == 1 and rows["ok"].url.endswith(f"/topic/{rows['ok'].external_id}")
    telegram = world.tg_messages()
    assert len(telegram) == 2 and telegram[0]["caption"].startswith("Встреча с писателем — в субботу")
    assert rows["tg"].external_id == "1:a1-2"  # an album of two photos with the text as its caption
    assert len(world.max_posts()) == 1

    # A published row is never claimed again: a late or repeated task does nothing.
    assert run_row(DELIVERY, rows["vk"].pk) == "skipped"
    assert len(world.vk_wall()) == 1


def test_poll_and_per_page_text(world: World) -> None:
    post = world.post("Что почитать летом?", pages=("vk", "tg"), poll=("Ваш выбор", ["Классика", "Фантастика"]),
                      overrides={"vk": "Голосуем за летнее чтение"})
    assert run_row(DELIVERY, world.delivery(post, "vk").pk) == "published"
    assert run_row(DELIVERY, world.delivery(post, "tg").pk) == "published"
    wall = world.vk_wall()
    assert wall[0]["text"] == "Голосуем за летнее чтение"
    assert any(str(a).startswith("poll") for a in wall[0]["attachments"])
    assert [m.get("poll", {}).get("question") for m in world.tg_messages() if "poll" in m] == ["Ваш выбор"]


def test_not_due_cancelled_and_paused_rows_are_left_alone(world: World) -> None:
    later = world.post("Позже", due_now=False)
    assert run_row(DELIVERY, world.delivery(later).pk) == "not_due"
    cancelled = world.post("Отменённый")
    services.post_cancel(actor=world.net.users["admin"], post=cancelled)
    assert run_row(DELIVERY, world.delivery(cancelled).pk) == "skipped"
    paused = world.post("На паузе")
    Channel.objects.filter(pk=world.channels["vk"].pk).update(status=Channel.Status.PAUSED)
    assert run_row(DELIVERY, world.delivery(paused).pk) == "paused"
    assert world.vk_wall() == [] and run_row(DELIVERY, 10**9) == "missing"


# --- errors ------------------------------------------------------------------------------------------------
def test_server_errors_are_retried_then_the_post_goes_out(world: World) -> None:
    post = world.post(pages=("vk", "ok"))
    world.vk.add_fault("wall.post", "http_500")
    world.ok.add_fault("mediatopic.post", "http_500")
    vk, ok = world.delivery(post, "vk"), world.delivery(post, "ok")
    assert run_row(DELIVERY, vk.pk) == "retry" and run_row(DELIVERY, ok.pk) == "retry"
    vk.refresh_from_db()
    assert (vk.state, vk.failures, vk.last_error_code) == (S.SCHEDULED, 1, "500") and vk.next_attempt_at
    assert run_row(DELIVERY, vk.pk) == "published" and run_row(DELIVERY, ok.pk) == "published"
    assert outcomes(world.delivery(post, "vk")) == [O.TRANSIENT, O.PUBLISHED]
    assert len(world.vk_wall()) == 1 and len(world.ok_topics()) == 1


def test_temporary_errors_are_bounded_then_failed(world: World, settings: Any) -> None:
    settings.FILIAL_DELIVERY_RETRY_BASE = 30
    post = world.post(pages=("max",))
    world.mx.add_fault("sendMessage", "http_502", times=3)
    d = world.delivery(post, "max")
    assert run_row(DELIVERY, d.pk) == "retry"
    d.refresh_from_db()
    # Exponential backoff with jitter: the first retry waits between 15 and 30 s (base 30 s).
    assert d.next_attempt_at is not None
    assert timedelta(seconds=14) < d.next_attempt_at - timezone.now() <= timedelta(seconds=30)
    assert run_row(DELIVERY, d.pk) == "not_due"
    for _ in range(2):
        Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
        run_row(DELIVERY, d.pk)
    d.refresh_from_db()
    assert (d.state, d.failures, d.attempts) == (S.FAILED, 3, 3)  # FILIAL_DELIVERY_MAX_ATTEMPTS = 3 here
    assert outcomes(d) == [O.TRANSIENT, O.TRANSIENT, O.FAILED]
    assert world.max_posts() == []


def test_a_permanent_error_fails_at_once(world: World) -> None:
    post = world.post("x" * 4001, pages=("max",))  # MAX takes at most 4000 characters
    d = world.delivery(post, "max")
    assert run_row(DELIVERY, d.pk) == "failed"
    d.refresh_from_db()
    assert d.state == S.FAILED and d.last_error_code == "local" and "4000" in d.last_error
    assert world.mx.requests == [] or all(r.get("operation") != "sendMessage" for r in world.mx.requests)


def test_rate_limit_answers_wait_retry_after_without_counting_a_failure(world: World, settings: Any) -> None:
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 2  # the next try at once: it sleeps through Telegram's 1/s per chat
    post = world.post(pages=("tg",))
    world.tg.add_fault("sendMessage", "rate_limit")
    d = world.delivery(post, "tg")
    assert run_row(DELIVERY, d.pk) == "retry_later"
    d.refresh_from_db()
    assert (d.state, d.failures, d.deferrals) == (S.SCHEDULED, 0, 1)
    assert d.next_attempt_at is not None
    assert timedelta(seconds=4) < d.next_attempt_at - timezone.now() <= timedelta(seconds=5)  # retry_after 5
    assert run_row(DELIVERY, d.pk) == "not_due"
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert run_row(DELIVERY, d.pk) == "published"
    assert outcomes(d) == [O.RETRY_LATER, O.PUBLISHED] and len(world.tg_messages()) == 1


def test_a_vk_captcha_waits_and_is_not_a_failure(world: World) -> None:
    post = world.post()
    world.vk.add_fault("wall.post", "captcha")
    d = world.delivery(post)
    assert run_row(DELIVERY, d.pk) == "retry_later"
    d.refresh_from_db()
    assert (d.state, d.failures, d.deferrals, d.last_error_code) == (S.SCHEDULED, 0, 1, "14")
    assert d.next_attempt_at is not None and d.next_attempt_at - timezone.now() > timedelta(seconds=50)
    assert world.vk_wall() == []


def test_endless_waits_are_bounded(world: World, settings: Any) -> None:
    settings.FILIAL_DELIVERY_MAX_DEFERRALS = 1
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 2  # the next try at once: it sleeps through Telegram's 1/s per chat
    post = world.post(pages=("tg",))
    world.tg.add_fault("sendMessage", "rate_limit", times=2)
    d = world.delivery(post, "tg")
    assert run_row(DELIVERY, d.pk) == "retry_later"
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    assert run_row(DELIVERY, d.pk) == "failed"


def test_vk_timeout_after_the_post_was_made_publishes_exactly_once(world: World) -> None:
    """VK has an idempotency key (guid = our key): a repeat after an unknown outcome returns the same post."""
    post = world.post("Один раз и только один")
    world.vk.add_fault("wall.post", "timeout_after")
    d = world.delivery(post)
    assert run_row(DELIVERY, d.pk) == "retry"
    assert len(world.vk_wall()) == 1  # VK made the post; we did not hear back
    d.refresh_from_db()
    assert d.state == S.SCHEDULED and d.failures == 1
    assert run_row(DELIVERY, d.pk) == "published"
    d.refresh_from_db()
    wall = world.vk_wall()
    assert len(wall) == 1 and d.external_id == f"-{VK_GROUP}_{wall[0]['id']}"
    assert outcomes(d) == [O.TRANSIENT, O.PUBLISHED]


def test_vk_timeout_before_the_request_was_applied(world: World) -> None:
    post = world.post()
    world.vk.add_fault("wall.post", "timeout_before")
    d = world.delivery(post)
    assert run_row(DELIVERY, d.pk) == "retry" and world.vk_wall() == []
    assert run_row(DELIVERY, d.pk) == "published" and len(world.vk_wall()) == 1


def test_telegram_timeout_after_is_uncertain_then_found_on_the_network(world: World) -> None:
    post = world.post("Новые поступления", pages=("tg",))
    world.tg.add_fault("sendMessage", "timeout_after")
    d = world.delivery(post, "tg")
    assert run_row(DELIVERY, d.pk) == "uncertain"
    d.refresh_from_db()
    # The bot saw its post forwarded into the channel's discussion group: the look-up found it.
    assert d.state == S.PUBLISHED and d.external_id == "1" and d.url.endswith("/cgb_mednogorsk/1")
    assert outcomes(d) == [O.UNCERTAIN, O.FOUND] and len(world.tg_messages()) == 1
    post.refresh_from_db()
    assert post.state == Post.State.PUBLISHED


def test_telegram_uncertain_not_found_waits_for_a_person_it_is_there(world: World) -> None:
    post = world.post("Без обсуждения", pages=("tg_plain",))
    world.tg.add_fault("sendMessage", "timeout_after")
    d = world.delivery(post, "tg_plain")
    assert run_row(DELIVERY, d.pk) == "uncertain"
    d.refresh_from_db()
    assert d.state == S.UNCERTAIN and outcomes(d) == [O.UNCERTAIN, O.NOT_FOUND]
    assert run_row(DELIVERY, d.pk) == "skipped"  # never repeated blindly
    assert sweeper.sweep().requeued == 0
    assert len(world.tg_messages("tg_plain")) == 1

    admin = world.net.users["admin"]
    services.delivery_confirm_uncertain(actor=admin, delivery=d, url="https://t.me/cgb_plain/1", external_id="1")
    d.refresh_from_db()
    assert (d.state, d.external_id, d.url) == (S.PUBLISHED, "1", "https://t.me/cgb_plain/1")
    last = d.attempt_log.last()
    assert outcomes(d)[-1] == O.CONFIRMED and last is not None and last.actor == admin
    assert AuditEntry.objects.filter(action="delivery.confirm", object_id=str(d.pk)).exists()
    post.refresh_from_db()
    assert post.state == Post.State.PUBLISHED


def test_telegram_uncertain_not_there_is_sent_again_by_a_person(world: World, settings: Any) -> None:
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 2  # the next try at once: it sleeps through Telegram's 1/s per chat
    post = world.post("Сбой до отправки", pages=("tg",))
    world.tg.add_fault("sendMessage", "timeout_before")  # never applied, but the client cannot know that
    d = world.delivery(post, "tg")
    assert run_row(DELIVERY, d.pk) == "uncertain"
    d.refresh_from_db()
    assert d.state == S.UNCERTAIN and world.tg_messages() == []
    services.delivery_resend(actor=world.net.users["admin"], delivery=d)
    d.refresh_from_db()
    assert (d.state, d.generation, d.key) == (S.SCHEDULED, 1, f"filial-d{d.pk}-g1")
    assert run_row(DELIVERY, d.pk) == "published"
    assert len(world.tg_messages()) == 1
    assert outcomes(d) == [O.UNCERTAIN, O.NOT_FOUND, O.RESEND, O.PUBLISHED]


@pytest.mark.parametrize(("page", "method"), [("ok", "mediatopic.post"), ("max", "sendMessage")])
def test_ok_and_max_uncertain_sends_are_looked_up(world: World, page: str, method: str) -> None:
    post = world.post(f"Проверка {page}", pages=(page,))
    getattr(world, "ok" if page == "ok" else "mx").add_fault(method, "timeout_after")
    d = world.delivery(post, page)
    assert run_row(DELIVERY, d.pk) == "uncertain"
    d.refresh_from_db()
    assert d.state == S.PUBLISHED and d.external_id and outcomes(d) == [O.UNCERTAIN, O.FOUND]
    assert len(world.ok_topics() if page == "ok" else world.max_posts()) == 1


def test_a_revoked_token_pauses_the_page_until_it_is_reauthorised(world: World, settings: Any) -> None:
    settings.FILIAL_RATE_LIMIT_MAX_SLEEP = 2  # both posts go to one chat at once: the second waits 1 s in the call
    first = world.post("Первый", pages=("tg",))
    second = world.post("Второй", pages=("tg",))
    world.tg.add_fault("sendMessage", "revoke_token")
    d1, d2 = world.delivery(first, "tg"), world.delivery(second, "tg")
    assert run_row(DELIVERY, d1.pk) == "needs_reauth"
    channel = Channel.objects.get(pk=world.channels["tg"].pk)
    assert channel.status == Channel.Status.NEEDS_REAUTH
    d1.refresh_from_db()
    assert (d1.state, d1.failures) == (S.SCHEDULED, 0) and outcomes(d1) == [O.NEEDS_REAUTH]
    entry = AuditEntry.objects.get(action="channel.needs_reauth", object_id=str(channel.pk))
    assert entry.system_id == world.net.system.pk and entry.changes["delivery"] == d1.pk
    # The page's work is paused: not claimed, not queued by the sweeper.
    assert run_row(DELIVERY, d2.pk) == "paused"
    assert sweeper.sweep().requeued == 0

    # Re-authorised: a new bot token, the page active again; the waiting posts go out.
    fresh = world.tg.seed(title="ЦГБ Медногорска", chat_id=world.seeds["tg"]["chat_id"], username="cgb_mednogorsk")
    channel.set_credentials({"bot_token": fresh["token"]})
    channel.status = Channel.Status.ACTIVE
    channel.save()
    assert queue.channel_resumed(channel.pk) == 2  # HUEY is immediate in tests: published right away
    assert {d.state for d in Delivery.objects.filter(pk__in=[d1.pk, d2.pk])} == {S.PUBLISHED}


def test_vk_revoked_token_and_failed_refresh_need_reauth(world: World) -> None:
    post = world.post()
    world.vk.add_fault("wall.post", "revoke_token")
    d = world.delivery(post)
    assert run_row(DELIVERY, d.pk) == "needs_reauth"
    assert Channel.objects.get(pk=world.channels["vk"].pk).status == Channel.Status.NEEDS_REAUTH
    assert world.vk_wall() == []


def test_an_expired_vk_token_is_refreshed_and_the_new_pair_is_stored(world: World) -> None:
    before = world.channels["vk"].credentials
    post = world.post()
    world.vk.add_fault("wall.post", "expire_token")
    d = world.delivery(post)
    assert run_row(DELIVERY, d.pk) == "published"
    after = Channel.objects.get(pk=world.channels["vk"].pk).credentials
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # VK ID rotates it: the new one was saved
    second = world.post("Второй пост тем же токеном")
    assert run_row(DELIVERY, world.delivery(second).pk) == "published"
    assert len(world.vk_wall()) == 2


def test_a_token_about_to_expire_is_refreshed_before_publishing(world: World) -> None:
    channel = world.channels["vk"]
    credentials = channel.credentials
    world.vk.state["tokens"][credentials["access_token"]]["expires_at"] = int(timezone.now().timestamp()) + 300
    credentials["expires_at"] = int(timezone.now().timestamp()) + 300  # within the 15 minutes' margin
    channel.set_credentials(credentials)
    channel.save()
    post = world.post()
    assert run_row(DELIVERY, world.delivery(post).pk) == "published"
    stored = Channel.objects.get(pk=channel.pk).credentials
    assert stored["access_token"] != credentials["access_token"]
    assert stored["expires_at"] > credentials["expires_at"]
    assert [r["method"] for r in world.vk.requests if r.get("kind") == "api"][-1] == "wall.post"


def test_the_periodic_refresh_renews_tokens_of_idle_pages(world: World) -> None:
    channel = world.channels["vk"]
    credentials = channel.credentials
    credentials["expires_at"] = int(timezone.now().timestamp()) + 600
    channel.set_credentials(credentials)
    channel.save()
    assert connections.refresh_expiring_credentials() == 1
    assert Channel.objects.get(pk=channel.pk).credentials["refresh_token"] != credentials["refresh_token"]
    assert connections.refresh_expiring_credentials() == 0  # the new token is good for an hour


def test_a_missing_photo_file_fails_the_delivery_clearly(world: World) -> None:
    from django.core.files.storage import default_storage

    post = world.post(photos=1)
    media = post.post_media.get().media
    for path in [media.file.name, *media.renditions.values()]:
        default_storage.delete(path)
    d = world.delivery(post)
    assert run_row(DELIVERY, d.pk) == "failed"
    d.refresh_from_db()
    assert d.last_error_code == "payload" and "cannot be read" in d.last_error


"""Editing a published post edits it on the networks: per network against the emulators, through the worker."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from filial.accounts.models import AuditEntry
from filial.channels.models import Channel
from filial.conftest import Net
from filial.networks import registry
from filial.outbox import policy, sweeper
from filial.outbox.models import Attempt
from filial.outbox.tests.helpers import run_row
from filial.publishing import edits, payloads
from filial.publishing import jobs as publishing_jobs
from filial.publishing.jobs import DELIVERY, EDIT
from filial.publishing.media import media_upload
from filial.publishing.models import Delivery, DeliveryEdit, Post
from filial.publishing.services import PollData, PostData
from filial.publishing.tests.test_engine_world import World, engine_world, jpeg

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

E = DeliveryEdit.State


@pytest.fixture
def world(net: Net, settings: Any, monkeypatch: Any) -> Iterator[World]:
    monkeypatch.setattr(policy, "patient", True)  # as ``filial worker --burst``: wait for the budgets
    yield from engine_world(net, settings)


def published(world: World, pages: tuple[str, ...], **kwargs: Any) -> Post:
    post = world.post(pages=pages, **kwargs)
    for page in pages:
        assert run_row(DELIVERY, world.delivery(post, page).pk) == "published", page
    post.refresh_from_db()
    assert post.state == Post.State.PUBLISHED
    return post


def data_of(post: Post, **changes: Any) -> PostData:
    """The post as the composer would send it back, with ``changes``."""
    poll = getattr(post, "poll", None)
    base = PostData(
        unit=post.unit, kind=post.kind, text=post.text, link=post.link, title=post.title,
        channels=[t.channel for t in post.targets.select_related("channel__unit")], publish_at=post.publish_at,
        media=[pm.media for pm in post.post_media.select_related("media")],
        poll=None if poll is None else PollData(poll.question, [a.text for a in poll.answers.all()]),
        text_overrides={t.channel_id: t.text_override for t in post.targets.all() if t.text_override},
    )
    return dataclasses.replace(base, **changes)


def edit_attempts(delivery: Delivery) -> list[str]:
    return list(delivery.attempt_log.filter(kind=Attempt.Kind.EDIT).order_by("id").values_list("outcome", flat=True))


def run_all(post: Post) -> dict[str, str]:
    """Run every waiting edit of ``post`` the way the worker does (the Huey task)."""
    from filial.publishing.tasks import edit_delivery

    results = {}
    for edit in DeliveryEdit.objects.filter(delivery__post=post, state=E.PENDING).select_related("delivery__channel"):
        edit_delivery.call_local(edit.pk)
        edit.refresh_from_db()
        results[edit.delivery.channel.network] = edit.state
    return results


def test_a_published_post_is_edited_on_all_four_networks(world: World) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("vk", "ok", "tg", "max"), text="Встреча с писателем в субботу",
                     link="https://library.example/a")
    result = edits.post_update_published(actor=admin, post=post, data=data_of(
        post, text="Встреча с писателем переносится на воскресенье", link="https://library.example/b"))
    assert result.changes == ["text", "link"]
    assert sorted(r.delivery.channel.network for r in result.edited) == ["max", "ok", "telegram", "vk"]
    assert result.not_edited == []
    assert run_all(post) == {"vk": E.DONE, "ok": E.DONE, "telegram": E.DONE, "max": E.DONE}

    assert world.vk_wall()[0]["text"] == "Встреча с писателем переносится на воскресенье"
    ok_texts = [b.get("text") for b in world.ok_topics()[0]["media"] if b.get("type") == "text"]
    assert ok_texts == ["Встреча с писателем переносится на воскресенье"]
    assert world.tg_messages()[0]["text"].startswith("Встреча с писателем переносится на воскресенье")
    assert world.max_posts()[0]["body"]["text"].startswith("Встреча с писателем переносится на воскресенье")
    for page in ("vk", "ok", "tg", "max"):
        d = world.delivery(post, page)
        assert d.state == Delivery.State.PUBLISHED
        assert edit_attempts(d) == [Attempt.Outcome.EDITED]
        attempt = d.attempt_log.get(kind=Attempt.Kind.EDIT)
        assert attempt.actor == admin and attempt.request["changes"] == ["text", "link"]
        assert "token" not in str(attempt.request).lower()
    post.refresh_from_db()
    assert post.state == Post.State.PUBLISHED and post.text.endswith("воскресенье")
    entry = AuditEntry.objects.get(action="post.edit_published", object_id=str(post.pk))
    assert entry.changes["changes"] == ["text", "link"] and len(entry.changes["edited"]) == 4


def test_a_page_text_variant_is_edited_on_that_page_only(world: World) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("vk", "tg"), text="Общий текст")
    tg = world.channels["tg"]
    edits.post_update_published(actor=admin, post=post, data=data_of(post, text_overrides={tg.pk: "Для Telegram"}))
    run_all(post)
    assert world.tg_messages()[0]["text"].startswith("Для Telegram")
    assert world.vk_wall()[0]["text"] == "Общий текст"


def test_nothing_changed_nothing_is_sent(world: World) -> None:
    post = published(world, ("vk",))
    result = edits.post_update_published(actor=world.net.users["admin"], post=post, data=data_of(post))
    assert result.plan == [] and not DeliveryEdit.objects.exists()


def test_telegram_cannot_edit_a_poll_or_give_a_text_message_photos(world: World) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("tg", "vk"), text="Опрос недели")
    plan = {r.delivery.channel.network: r for r in edits.edit_plan(post)}
    assert plan["telegram"].editable and any("photos" in n for n in plan["telegram"].notes)
    assert any("poll" in n for n in plan["telegram"].notes)
    photo = media_upload(actor=admin, unit=world.net.central, fh=io.BytesIO(jpeg(3)), size=len(jpeg(3)),
                         name="new.jpg")
    result = edits.post_update_published(actor=admin, post=post, data=data_of(
        post, text="Опрос недели (с фото)", media=[photo]))
    assert set(result.changes) == {"text", "photos"}
    by_net = {r.delivery.channel.network: r for r in result.plan}
    assert not by_net["telegram"].editable and "add photos" in by_net["telegram"].problems[0]
    assert by_net["vk"].editable
    assert run_all(post) == {"vk": E.DONE}
    message = world.tg_messages()[0]
    assert message["text"].startswith("Опрос недели") and "(с фото)" not in message["text"]
    assert world.vk_wall()[0]["text"] == "Опрос недели (с фото)"
    assert [str(a)[:5] for a in world.vk_wall()[0].get("attachments") or []] == ["photo"]


def test_telegram_photo_post_gets_its_new_caption(world: World) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("tg",), text="Фотоотчёт", photos=2)
    result = edits.post_update_published(actor=admin, post=post, data=data_of(post, text="Фотоотчёт: итоги"))
    assert [r.editable for r in result.plan] == [True]
    assert run_all(post) == {"telegram": E.DONE}
    assert world.tg_messages()[0]["caption"].startswith("Фотоотчёт: итоги")


def test_telegram_edits_the_text_of_a_poll_post_and_keeps_the_poll(world: World) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("tg",), text="Голосуйте!", poll=("Какой жанр?", ["Фэнтези", "Детектив"]))
    post = Post.objects.get(pk=post.pk)
    result = edits.post_update_published(actor=admin, post=post, data=data_of(
        post, text="Голосуйте до пятницы!", poll=PollData("Какой жанр?", ["Фэнтези", "Детектив", "Поэзия"])))
    assert set(result.changes) == {"text", "poll"}
    assert [r.editable for r in result.plan] == [True] and "poll" in result.plan[0].notes[0]
    assert run_all(post) == {"telegram": E.DONE}
    messages = world.tg_messages()
    assert any(str(m.get("text", "")).startswith("Голосуйте до пятницы!") for m in messages)
    polls = [m["poll"] for m in messages if "poll" in m]
    assert len(polls) == 1 and len(polls[0]["options"]) == 2


def test_a_network_that_cannot_edit_is_left_alone_and_said_so(world: World, monkeypatch: Any) -> None:
    ok_class = registry.connector_class("ok")
    monkeypatch.setattr(ok_class, "capabilities", dataclasses.replace(ok_class.capabilities, edit=False))
    admin = world.net.users["admin"]
    post = published(world, ("ok", "vk"), text="Было")
    result = edits.post_update_published(actor=admin, post=post, data=data_of(post, text="Стало"))
    by_net = {r.delivery.channel.network: r for r in result.plan}
    assert not by_net["ok"].editable and "cannot edit" in by_net["ok"].problems[0]
    assert by_net["vk"].editable
    assert run_all(post) == {"vk": E.DONE}
    assert DeliveryEdit.objects.filter(delivery__channel=world.channels["ok"]).count() == 0
    assert [b.get("text") for b in world.ok_topics()[0]["media"] if b.get("type") == "text"] == ["Было"]
    assert world.vk_wall()[0]["text"] == "Стало"


def test_needs_reauth_pauses_the_page_and_the_edit_waits(world: World) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("tg",), text="Старый текст")
    edits.post_update_published(actor=admin, post=post, data=data_of(post, text="Новый текст"))
    world.tg.add_fault("editMessageText", "revoke_token")
    edit = DeliveryEdit.objects.get()
    assert run_row(EDIT, edit.pk) == "needs_reauth"
    edit.refresh_from_db()
    channel = Channel.objects.get(pk=world.channels["tg"].pk)
    assert channel.status == Channel.Status.NEEDS_REAUTH and edit.state == E.PENDING
    assert edit_attempts(edit.delivery) == [Attempt.Outcome.EDIT_FAILED]
    assert run_row(EDIT, edit.pk) == "paused"
    assert sweeper.sweep().requeued == 0  # the page is paused: nothing queued

    # @BotFather's /revoke gives the same bot a new token: the page is connected again with it.
    old_token = world.seeds["tg"]["token"]
    new_token = old_token.split(":")[0] + ":" + "N" * 35
    with world.tg.lock:
        world.tg.state["bots"][new_token] = {**world.tg.state["bots"][old_token], "revoked": False}
    channel.set_credentials({"bot_token": new_token})
    channel.status = Channel.Status.ACTIVE
    channel.save()
    assert sweeper.sweep().requeued == 1  # HUEY is immediate in tests: the edit runs now
    edit.refresh_from_db()
    assert edit.state == E.DONE
    assert world.tg_messages()[0]["text"].startswith("Новый текст")


def test_transient_errors_retry_with_backoff_then_fail_bounded(world: World, settings: Any) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("vk",), text="Текст")
    edits.post_update_published(actor=admin, post=post, data=data_of(post, text="Текст 2"))
    edit = DeliveryEdit.objects.get()
    world.vk.add_fault("wall.edit", "http_500", times=1)
    assert run_row(EDIT, edit.pk) == "retry"
    edit.refresh_from_db()
    assert (edit.state, edit.failures) == (E.PENDING, 1) and edit.next_attempt_at is not None
    assert run_row(EDIT, edit.pk) == "done"  # RETRY_BASE is 0 in tests: due at once
    assert world.vk_wall()[0]["text"] == "Текст 2"

    edits.post_update_published(actor=admin, post=Post.objects.get(pk=post.pk), data=data_of(
        Post.objects.get(pk=post.pk), text="Текст 3"))
    again = DeliveryEdit.objects.get(state=E.PENDING)
    world.vk.add_fault("wall.edit", "http_500", times=5)
    outcomes = [run_row(EDIT, again.pk) for _ in range(3)]
    assert outcomes == ["retry", "retry", "failed"]  # FILIAL_DELIVERY_MAX_ATTEMPTS is 3 in tests
    again.refresh_from_db()
    assert again.state == E.FAILED and again.failures == 3
    assert world.vk_wall()[0]["text"] == "Текст 2"


def test_a_newer_edit_replaces_a_waiting_one(world: World) -> None:
    admin = world.net.users["admin"]
    post = published(world, ("vk",), text="Один")
    edits.post_update_published(actor=admin, post=post, data=data_of(post, text="Два"))
    post = Post.objects.get(pk=post.pk)
    edits.post_update_published(actor=admin, post=post, data=data_of(post, text="Три"))
    assert list(DeliveryEdit.objects.order_by("id").values_list("state", flat=True)) == [E.SUPERSEDED, E.PENDING]
    assert run_all(post) == {"vk": E.DONE}
    assert world.vk_wall()[0]["text"] == "Три"


def test_scheduled_deliveries_take_the_new_text_and_failed_ones_are_untouched(world: World) -> None:
    admin = world.net.users["admin"]
    post = world.post("Первый вариант", pages=("vk", "ok", "max"))
    assert run_row(DELIVERY, world.delivery(post, "vk").pk) == "published"
    Delivery.objects.filter(pk=world.delivery(post, "max").pk).update(state=Delivery.State.FAILED)
    post = Post.objects.get(pk=post.pk)
    assert post.state == Post.State.SCHEDULED
    result = edits.post_update_published(actor=admin, post=post, data=data_of(
        post, text="Второй вариант", publish_at=world.net.soon(1)))
    assert [r.delivery.channel.network for r in result.plan] == ["vk"]
    assert DeliveryEdit.objects.count() == 1
    run_all(post)
    world.make_due(post)
    assert run_row(DELIVERY, world.delivery(post, "ok").pk) == "published"
    ok_texts = [b.get("text") for b in world.ok_topics()[0]["media"] if b.get("type") == "text"]
    assert ok_texts == ["Второй вариант"] and world.vk_wall()[0]["text"] == "Второй вариант"
    assert world.delivery(post, "max").state == Delivery.State.FAILED and world.max_posts() == []


def test_changing_a_published_post_needs_the_right_to_publish(world: World) -> None:
    from django.core.exceptions import PermissionDenied

    world.net.central.approval_required = True
    world.net.central.save()
    post = published(world, ("vk",))
    editor = world.net.users["editor_central"]
    with pytest.raises(PermissionDenied):
        edits.post_update_published(actor=editor, post=post, data=data_of(post, text="Без согласования"))
    assert not DeliveryEdit.objects.exists()


def test_edits_wait_for_the_networks_rate_limit(world: World, monkeypatch: Any) -> None:
    """Telegram allows one message a second per chat: an edit right after the publication waits for the budget
    (the worker gives the row back with a time rather than sleeping) and goes out then."""
    admin = world.net.users["admin"]
    post = published(world, ("tg",), text="Сразу")
    edits.post_update_published(actor=admin, post=post, data=data_of(post, text="Сразу исправлено"))
    monkeypatch.setattr(policy, "patient", False)
    monkeypatch.setattr(policy, "max_sleep", lambda: 0.0)
    edit = DeliveryEdit.objects.get()
    assert run_row(EDIT, edit.pk) == "deferred"
    edit.refresh_from_db()
    assert edit.state == E.PENDING and edit.next_attempt_at is not None and edit.failures == 0
    assert run_row(EDIT, edit.pk) in {"not_due", "deferred"}
    import time

    time.sleep(max(0.0, (edit.next_attempt_at - timezone.now()).total_seconds()) + 0.05)
    monkeypatch.setattr(policy, "patient", True)
    monkeypatch.setattr(policy, "max_sleep", lambda: None)
    assert run_row(EDIT, edit.pk) == "done"
    assert world.tg_messages()[0]["text"].startswith("Сразу исправлено")


def test_the_api_edits_a_published_post_too(world: World, django_capture_on_commit_callbacks: Any) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(world.net.users["admin"])
    post = published(world, ("vk",), text="Через API")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"/api/v1/posts/{post.pk}/", {"text": "Через API, исправлено"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "published"
    assert world.vk_wall()[0]["text"] == "Через API, исправлено"
    assert DeliveryEdit.objects.get().state == E.DONE


def test_the_sweep_takes_back_an_edit_whose_worker_died(world: World) -> None:
    from datetime import timedelta

    post = published(world, ("vk",), text="До")
    edits.post_update_published(actor=world.net.users["admin"], post=post, data=data_of(post, text="После"))
    edit = DeliveryEdit.objects.get()
    DeliveryEdit.objects.filter(pk=edit.pk).update(state=E.EDITING, lease_owner="dead-worker",
                                                   lease_until=timezone.now() - timedelta(seconds=1))
    assert run_row(EDIT, edit.pk) == "skipped"
    assert sweeper.sweep().recovered == 1  # back to waiting, and queued (immediate Huey runs it)
    edit.refresh_from_db()
    assert edit.state == E.DONE and world.vk_wall()[0]["text"] == "После"


def test_an_edit_draws_on_the_pages_budget(world: World) -> None:
    from filial.networks.ratelimit import publish_claims

    post = published(world, ("vk", "tg"), text="Бюджет")
    for page in ("vk", "tg"):
        delivery = world.delivery(post, page)
        channel = delivery.channel
        payload = payloads.build_payload(delivery)
        base = {c.budget: c.cost for c in publish_claims(channel.network, channel.external_id, channel.credentials,
                                                         payload)}
        got = {c.budget: c.cost for c in publishing_jobs.edit_claims(channel, payload)}
        assert got == ({"vk.user": base["vk.user"] + 1} if page == "vk" else base)

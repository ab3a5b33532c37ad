"""Webhook endpoints: each network's proof is checked, verified updates become InboundEvent rows once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.urls import reverse

from filial.channels.models import Channel, InboundEvent, Network
from filial.channels.webhooks import registration_url
from filial.conftest import Net
from filial.networks.tests.max_conformance import World, make_world, shared_emulator
from filial.networks.tests.vk_conformance import VKEnv, vk_env

pytestmark = pytest.mark.django_db

SECRET = "Hook_secret-0123456789abcdef"
VK_CODE = "a1b2c3d4"
TG_BOT = "7012345678:AAH-secret-bot-token-value-QRST"
TG_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_SECRET_HEADER = "X-Max-Bot-Api-Secret"


@pytest.fixture(autouse=True)
def _own_key(own_encryption_key: str) -> None:
    """Each test encrypts with a key of its own."""


@pytest.fixture
def hooks(net: Net) -> dict[str, Channel]:
    """The fixture's pages with webhook secrets in their encrypted credentials."""
    pages = {"vk": net.channels["central_vk"], "telegram": net.channels["children_tg"],
             "max": net.channels["central_max"], "ok": net.channels["central_ok"]}
    extra = {"vk": {"vk_confirmation_code": VK_CODE, "community_token": "vk1.a.community"},
             "telegram": {"bot_token": TG_BOT}, "max": {"bot_token": "max-token"}, "ok": {}}
    for network, channel in pages.items():
        channel.set_credentials({"webhook_secret": SECRET, **extra[network]})
        channel.save()
    return pages


def client() -> Client:
    return Client(enforce_csrf_checks=True)  # the networks send no CSRF token and have no session


def url(channel: Channel, **query: str) -> str:
    base = reverse(f"hooks:{channel.network}", args=[channel.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def post(path: str, body: Any, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return client().post(path, data=data, content_type="application/json", headers=headers)


def events(channel: Channel) -> list[InboundEvent]:
    return list(InboundEvent.objects.filter(channel=channel).order_by("id"))


# --- bodies as the networks send them ----------------------------------------------------------------------
def vk_body(kind: str, obj: dict[str, Any], *, group_id: int = 100001, secret: str | None = SECRET,
            event_id: str = "ev1") -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "event_id": event_id, "v": "5.199", "object": obj, "group_id": group_id}
    if secret is not None:
        body["secret"] = secret
    return body


def vk_message(message_id: int = 17, text: str = "Когда открыта библиотека?") -> dict[str, Any]:
    return {"message": {"id": message_id, "date": 1_767_000_000, "peer_id": 501, "from_id": 501, "text": text,
                        "out": 0, "conversation_message_id": 3}, "client_info": {}}


def vk_comment(comment_id: int = 9, text: str = "Спасибо!") -> dict[str, Any]:
    return {"id": comment_id, "from_id": 501, "date": 1_767_000_000, "text": text, "post_id": 45,
            "post_owner_id": -100001}


def tg_update(update_id: int = 900, *, text: str = "Здравствуйте", sender: int = 42) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": 7, "date": 1_767_000_000, "chat": {"id": sender, "type": "private", "first_name": "Вера"},
        "from": {"id": sender, "is_bot": False, "first_name": "Вера"}, "text": text}}


def max_update(*, mid: str = "mid.1", kind: str = "message_created", text: str = "Привет") -> dict[str, Any]:
    return {"update_type": kind, "timestamp": 1_767_000_000_000, "message": {
        "sender": {"user_id": 501, "first_name": "Вера", "is_bot": False, "name": "Вера"},
        "recipient": {"chat_id": 9001, "chat_type": "dialog", "user_id": None},
        "timestamp": 1_767_000_000_000, "body": {"mid": mid, "seq": 1, "text": text, "attachments": None}}}


OK_MESSAGE = {"sender": {"user_id": "user:123456789012"}, "recipient": {"chat_id": "chat:C3ecb9d02a600"},
              "message": {"text": "Добрый день", "seq": 98211023614189660, "mid": "mid:C3ecb9d02a600.15ce"},
              "timestamp": 1498581292941}


# --- VK Callback API ----------------------------------------------------------------------------------------
def test_vk_confirmation_answers_the_code(hooks: dict[str, Channel]) -> None:
    answer = post(url(hooks["vk"]), {"type": "confirmation", "group_id": 100001})
    assert answer.status_code == 200 and answer.content.decode() == VK_CODE
    assert events(hooks["vk"]) == []
    assert post(url(hooks["vk"]), {"type": "confirmation", "group_id": 999}).status_code == 403  # other community


def test_vk_confirmation_without_a_configured_code_is_a_400(hooks: dict[str, Channel]) -> None:
    hooks["vk"].set_credentials({"webhook_secret": SECRET})
    hooks["vk"].save()
    assert post(url(hooks["vk"]), {"type": "confirmation", "group_id": 100001}).status_code == 400


def test_vk_message_is_stored_once(hooks: dict[str, Channel]) -> None:
    body = vk_body("message_new", vk_message())
    first = post(url(hooks["vk"]), body)
    assert first.status_code == 200 and first.content == b"ok"
    assert post(url(hooks["vk"]), body).status_code == 200  # VK repeats an event it thinks was lost
    [event] = events(hooks["vk"])
    assert (event.network, event.kind, event.external_id, event.state) == ("vk", "message", "17", "pending")
    assert event.payload["item"]["text"] == "Когда открыта библиотека?"
    assert event.payload["item"]["thread_id"] == "501" and event.payload["item"]["at"].startswith("2025-12-29")
    assert event.payload["raw"]["event_id"] == "ev1" and "secret" in event.payload["raw"]


def test_vk_comment_its_edit_and_consent(hooks: dict[str, Channel]) -> None:
    channel = hooks["vk"]
    assert post(url(channel), vk_body("wall_reply_new", vk_comment(), event_id="e1")).status_code == 200
    assert post(url(channel), vk_body("wall_reply_edit", vk_comment(text="Спасибо!!"), event_id="e2")).status_code \
        == 200
    assert post(url(channel), vk_body("wall_reply_edit", vk_comment(text="Спасибо!!"), event_id="e2")).status_code \
        == 200  # the same edit delivered twice
    assert post(url(channel), vk_body("message_allow", {"user_id": 777, "key": "x"}, event_id="e3")).status_code \
        == 200
    assert post(url(channel), vk_body("group_join", {"user_id": 778}, event_id="e4")).status_code == 200
    rows = [(e.kind, e.external_id) for e in events(channel)]
    assert rows == [("comment", "-100001_9"), ("comment_edit", "-100001_9:edit:e2"), ("consent", "consent:777:e3")]
    consent = events(channel)[-1]
    assert consent.payload["user_id"] == "777" and consent.payload["allowed"] is True


@pytest.mark.parametrize("secret", ["wrong", "", None])
def test_vk_wrong_or_missing_secret_is_refused_and_logged(hooks: dict[str, Channel], secret: str | None,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="filial.webhooks"):
        answer = post(url(hooks["vk"]), vk_body("message_new", vk_message(), secret=secret))
    assert answer.status_code == 403
    assert events(hooks["vk"]) == []
    assert any("refused (403)" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


def test_vk_page_without_secret_refuses_everything(hooks: dict[str, Channel]) -> None:
    hooks["vk"].set_credentials({"vk_confirmation_code": VK_CODE})
    hooks["vk"].save()
    assert post(url(hooks["vk"]), vk_body("message_new", vk_message(), secret="")).status_code == 403
    assert events(hooks["vk"]) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"no": "type"}', b"\xff\xfe"])
def test_vk_malformed_bodies_are_400(hooks: dict[str, Channel], body: bytes) -> None:
    assert post(url(hooks["vk"]), body).status_code == 400
    assert events(hooks["vk"]) == []


# --- Telegram -----------------------------------------------------------------------------------------------
def test_telegram_update_with_the_secret_header_is_stored_once(hooks: dict[str, Channel]) -> None:
    channel = hooks["telegram"]
    for _ in range(2):
        answer = post(url(channel), tg_update(), **{TG_SECRET_HEADER: SECRET})
        assert answer.status_code == 200
    [event] = events(channel)
    assert (event.network, event.kind, event.external_id) == ("telegram", "message", "42:7")
    assert event.payload["item"]["author_name"] == "Вера" and event.payload["raw"]["update_id"] == 900


@pytest.mark.parametrize("headers", [{TG_SECRET_HEADER: "wrong"}, {TG_SECRET_HEADER: ""}, {}])
def test_telegram_wrong_or_missing_secret_is_403(hooks: dict[str, Channel], headers: dict[str, str]) -> None:
    assert post(url(hooks["telegram"]), tg_update(), **headers).status_code == 403
    assert events(hooks["telegram"]) == []


def test_telegram_bad_body_is_400_and_own_bot_messages_are_skipped(hooks: dict[str, Channel]) -> None:
    channel = hooks["telegram"]
    assert post(url(channel), b"{oops", **{TG_SECRET_HEADER: SECRET}).status_code == 400
    assert post(url(channel), {"no_update_id": 1}, **{TG_SECRET_HEADER: SECRET}).status_code == 400
    own = tg_update(901, sender=7012345678)
    own["message"]["from"]["is_bot"] = True
    assert post(url(channel), own, **{TG_SECRET_HEADER: SECRET}).status_code == 200
    assert post(url(channel), {"update_id": 902, "poll": {"id": "1"}}, **{TG_SECRET_HEADER: SECRET}).status_code \
        == 200
    assert events(channel) == []


def test_secret_is_checked_before_the_body(hooks: dict[str, Channel]) -> None:
    assert post(url(hooks["telegram"]), b"{oops", **{TG_SECRET_HEADER: "wrong"}).status_code == 403
    assert post(url(hooks["max"]), b"{oops").status_code == 403
    assert post(url(hooks["ok"]), b"{oops").status_code == 403


# --- MAX ----------------------------------------------------------------------------------------------------
def test_max_update_with_the_secret_header_is_stored_once(hooks: dict[str, Channel]) -> None:
    channel = hooks["max"]
    for _ in range(2):
        assert post(url(channel), max_update(), **{MAX_SECRET_HEADER: SECRET}).status_code == 200
    [event] = events(channel)
    assert (event.network, event.kind, event.external_id) == ("max", "message", "mid.1")
    assert event.payload["item"]["text"] == "Привет"


def test_max_consent_and_refusals(hooks: dict[str, Channel]) -> None:
    channel = hooks["max"]
    started = {"update_type": "bot_started", "timestamp": 1_767_000_000_123, "chat_id": 9001,
               "user": {"user_id": 501, "first_name": "Вера"}}
    assert post(url(channel), started, **{MAX_SECRET_HEADER: SECRET}).status_code == 200
    [consent] = events(channel)
    assert (consent.kind, consent.external_id, consent.payload["allowed"]) == (
        "consent", "consent:501:1767000000123", True)
    assert post(url(channel), max_update(mid="mid.2"), **{MAX_SECRET_HEADER: "nope"}).status_code == 403
    assert post(url(channel), max_update(mid="mid.3")).status_code == 403
    assert post(url(channel), b"[]", **{MAX_SECRET_HEADER: SECRET}).status_code == 400
    assert len(events(channel)) == 1


# --- OK -----------------------------------------------------------------------------------------------------
def test_ok_secret_in_the_registered_url(hooks: dict[str, Channel]) -> None:
    channel = hooks["ok"]
    registered = registration_url(channel, "https://filial.example/")
    assert registered == f"https://filial.example/hooks/ok/{channel.pk}/?secret={SECRET}"
    for _ in range(2):
        assert post(url(channel, secret=SECRET), OK_MESSAGE).status_code == 200
    [event] = events(channel)
    assert (event.network, event.kind, event.external_id) == ("ok", "message", "mid:C3ecb9d02a600.15ce")
    assert event.payload["item"]["author_id"] == "123456789012"
    assert post(url(channel, secret="wrong"), {**OK_MESSAGE, "message": {"mid": "m2", "text": "x"}}).status_code \
        == 403
    assert post(url(channel), OK_MESSAGE).status_code == 403
    assert post(url(channel, secret=SECRET), b"nope").status_code == 400
    assert len(events(channel)) == 1


def test_ok_source_check_when_enabled(hooks: dict[str, Channel], settings: Any) -> None:
    settings.FILIAL_OK_WEBHOOK_CHECK_SOURCE = True
    channel = hooks["ok"]
    assert post(url(channel, secret=SECRET), OK_MESSAGE).status_code == 403  # the test client is 127.0.0.1
    answer = client().post(url(channel, secret=SECRET), data=json.dumps(OK_MESSAGE), content_type="application/json",
                           REMOTE_ADDR="217.20.145.200")
    assert answer.status_code == 200 and len(events(channel)) == 1


def test_registration_url_of_the_other_networks(hooks: dict[str, Channel]) -> None:
    assert registration_url(hooks["vk"], "https://f.example") == f"https://f.example/hooks/vk/{hooks['vk'].pk}/"


# --- common rules -------------------------------------------------------------------------------------------
def test_body_size_limit(hooks: dict[str, Channel], settings: Any) -> None:
    settings.FILIAL_WEBHOOK_MAX_BYTES = 400
    big = tg_update(text="я" * 300)
    assert post(url(hooks["telegram"]), big, **{TG_SECRET_HEADER: SECRET}).status_code == 400
    assert post(url(hooks["telegram"]), tg_update(), **{TG_SECRET_HEADER: SECRET}).status_code == 200
    assert len(events(hooks["telegram"])) == 1


def test_only_post_and_only_known_pages(hooks: dict[str, Channel], net: Net) -> None:
    assert client().get(url(hooks["vk"])).status_code == 405
    wrong_network = reverse("hooks:telegram", args=[hooks["vk"].pk])
    # unknown, archived or of another network: the same 403 as a wrong secret (page ids cannot be probed)
    assert post(wrong_network, tg_update(), **{TG_SECRET_HEADER: SECRET}).status_code == 403
    assert post(reverse("hooks:vk", args=[999999]), vk_body("message_new", vk_message())).status_code == 403
    hooks["vk"].status = Channel.Status.ARCHIVED
    hooks["vk"].save()
    assert post(url(hooks["vk"]), vk_body("message_new", vk_message())).status_code == 403
    assert InboundEvent.objects.count() == 0


def test_unreadable_secrets_answer_503(hooks: dict[str, Channel], settings: Any) -> None:
    settings.FILIAL_ENCRYPTION_KEYS = Fernet.generate_key().decode()  # the key the secrets were sealed with is gone
    assert post(url(hooks["max"]), max_update(), **{MAX_SECRET_HEADER: SECRET}).status_code == 503
    assert InboundEvent.objects.count() == 0


def test_events_of_pages_are_separate(hooks: dict[str, Channel], net: Net) -> None:
    other = Channel.objects.create(unit=net.branch4, network=Network.MAX, name="Филиал 4 в MAX", external_id="-700004")
    other.set_credentials({"webhook_secret": "another-secret"})
    other.save()
    assert post(url(hooks["max"]), max_update(), **{MAX_SECRET_HEADER: SECRET}).status_code == 200
    assert post(url(other), max_update(), **{MAX_SECRET_HEADER: SECRET}).status_code == 403  # not its secret
    assert post(url(other), max_update(), **{MAX_SECRET_HEADER: "another-secret"}).status_code == 200
    assert InboundEvent.objects.filter(external_id="mid.1").count() == 2


# --- bodies produced by the emulators -------------------------------------------------------------------------
@pytest.fixture
def vk_emulated() -> Iterator[VKEnv]:
    yield from vk_env()


@pytest.fixture
def max_emulated() -> Iterator[World]:
    for emulator in shared_emulator():
        yield from make_world(emulator)


def test_vk_emulator_callback_bodies_are_accepted(net: Net, vk_emulated: VKEnv) -> None:
    env = vk_emulated
    channel = Channel.objects.create(unit=net.central, network=Network.VK, name="ЦБ", external_id="4242")
    channel.set_credentials({"webhook_secret": env.page["secret"],
                             "vk_confirmation_code": env.page["confirmation_code"]})
    channel.save()
    env.simulate("message", user_id=702, text="Сообщение")
    env.simulate("allow_messages", user_id=704)
    for body in env.app.callback_bodies(4242):
        assert post(url(channel), body).content == b"ok"
    assert [e.kind for e in events(channel)] == ["message", "consent"]
    assert events(channel)[0].payload["item"]["text"] == "Сообщение"


def test_max_emulator_webhook_delivery_is_accepted(net: Net, max_emulated: World) -> None:
    world = max_emulated
    channel = Channel.objects.create(unit=net.central, network=Network.MAX, name="ЦГБ", external_id=str(world.chat_id))
    channel.set_credentials({"bot_token": world.seed["token"], "webhook_secret": SECRET})
    channel.save()
    world.connector().set_webhook(f"https://filial.example{url(channel)}", SECRET)
    world.app.simulate("message", {"first_name": "Алла", "text": "Продлите книгу"})
    [delivery] = world.app.state["webhook_outbox"]
    answer = client().post(url(channel), data=delivery["body"].encode(), content_type="application/json",
                           headers=delivery["headers"])
    assert answer.status_code == 200
    [event] = events(channel)
    assert event.kind == "message" and event.payload["item"]["text"] == "Продлите книгу"

"""The MAX emulator refuses what the real API refuses, so a connector cannot pass by talking to a lenient fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.base import ServedEmulator
from emulators.networks.max import MaxEmulator
from filial.networks.tests.helpers import served
from filial.networks.tests.max_conformance import World, image_bytes, make_world, shared_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[MaxEmulator, ServedEmulator]]:
    yield from shared_emulator()


@pytest.fixture
def world(emulator: tuple[MaxEmulator, ServedEmulator]) -> Iterator[World]:
    yield from make_world(emulator)


def call(world: World, verb: str, path: str, *, token: str | None = None, headers: dict[str, str] | None = None,
         **kw: Any) -> httpx.Response:
    sent = {"Authorization": world.seed["token"] if token is None else token} if token != "" else {}
    return httpx.request(verb, world.url + path, headers={**sent, **(headers or {})}, timeout=5, **kw)


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


def send(world: World, body: Any, **params: Any) -> httpx.Response:
    return call(world, "POST", "/messages", params=params or {"chat_id": world.chat_id}, json=body)


def upload(world: World, content: bytes, name: str = "a.jpg") -> dict[str, Any]:
    url = call(world, "POST", "/uploads", params={"type": "image"}).json()["url"]
    return dict(httpx.post(url, files={"data": (name, content, "image/jpeg")}, timeout=5).json())


def test_token_only_in_the_authorization_header(world: World) -> None:
    assert error(call(world, "GET", "/me", token="")) == (401, "verify.token")
    assert error(call(world, "GET", "/me", token="", params={"access_token": world.seed["token"]})) == \
        (401, "verify.token")
    assert error(call(world, "GET", "/me", token=f"Bearer {world.seed['token']}")) == (401, "verify.token")
    assert call(world, "GET", "/me").json()["username"] == "filial_bot"


def test_message_body_validation(world: World) -> None:
    assert error(send(world, {"text": "я" * 4001, "attachments": None, "link": None})) == (400, "proto.payload")
    assert send(world, {"text": "я" * 4000}).status_code == 200  # the three "required" fields may be omitted
    assert error(send(world, {"text": "", "attachments": []})) == (400, "proto.payload")
    assert error(send(world, {"text": 5})) == (400, "proto.payload")
    assert error(send(world, {"text": "x", "format": "bbcode"})) == (400, "proto.payload")
    assert error(send(world, {"text": "x", "notify": "yes"})) == (400, "proto.payload")
    assert error(send(world, {"text": "x", "link": {"type": "quote", "mid": "mid.1"}})) == (400, "proto.payload")
    assert error(send(world, {"text": "x", "link": {"type": "reply", "mid": "mid.nope"}})) == (400, "proto.payload")
    assert error(send(world, {"text": "x", "attachments": [{"type": "poll", "payload": {}}]})) == \
        (400, "proto.payload")
    assert error(call(world, "POST", "/messages", params={"chat_id": world.chat_id}, content=b"{",
                      headers={"Content-Type": "application/json"})) == \
        (400, "proto.payload")


def test_recipient_validation(world: World) -> None:
    body = {"text": "x"}
    assert error(send(world, body, chat_id=world.chat_id, user_id=1)) == (400, "proto.payload")
    assert error(call(world, "POST", "/messages", json=body)) == (400, "proto.payload")
    assert error(send(world, body, chat_id="minus-one")) == (400, "proto.payload")
    assert error(send(world, body, chat_id=-42)) == (404, "chat.not.found")
    assert error(send(world, body, user_id=100001)) == (403, "chat.denied")  # never started the bot
    other = world.app.seed(title="Чужой канал", bot_username="other_bot")
    assert error(send(world, body, chat_id=other["chat_id"])) == (403, "chat.denied")  # not a member
    assert error(send(world, body, chat_id=world.chat_id, disable_link_preview="maybe")) == (400, "proto.payload")


def test_image_attachments(world: World) -> None:
    assert upload(world, image_bytes()).keys() == {"photos"}
    photos = upload(world, image_bytes())["photos"]
    no_payload = {"text": "x", "attachments": [{"type": "image", "payload": {}}]}
    assert send(world, no_payload).json()["message"] == "No `photos`, `url` or `token` provided. Check payload."
    assert error(send(world, {"text": "x", "attachments": [{"type": "image", "payload": {"token": "forged"}}]})) == \
        (400, "proto.payload")
    world.app.processing_delay = 30
    fresh = upload(world, image_bytes())["photos"]
    assert error(send(world, {"text": "x", "attachments": [{"type": "image", "payload": {"photos": fresh}}]})) == \
        (400, "attachment.not.ready")
    many = [{"type": "image", "payload": {"photos": photos}}] * 11
    assert error(send(world, {"text": "x", "attachments": many})) == (400, "proto.payload")
    ok = send(world, {"text": "x", "attachments": [{"type": "image", "payload": {"photos": photos}}]})
    assert ok.status_code == 200 and ok.json()["message"]["body"]["attachments"][0]["payload"]["photo_id"]


def test_upload_flow_is_signed_one_use_and_checks_images(world: World) -> None:
    assert error(call(world, "POST", "/uploads", params={"type": "photo"})) == (400, "proto.payload")
    assert error(call(world, "POST", "/uploads")) == (400, "proto.payload")
    url = call(world, "POST", "/uploads", params={"type": "image"}).json()["url"]
    assert httpx.post(url.replace("sig=", "sig=0"), files={"data": ("a.jpg", image_bytes())}).status_code == 403
    assert httpx.post(url, files={"other": ("a.jpg", image_bytes())}).json()["code"] == "upload.error"
    assert httpx.post(url, files={"data": ("a.jpg", image_bytes())}).status_code == 200
    assert "already been used" in httpx.post(url, files={"data": ("a.jpg", image_bytes())}).json()["message"]
    for content, name in ((b"GIF89a-but-not-really", "a.gif"), (image_bytes("WEBP"), "a.webp"),
                          (image_bytes(), "a.exe"), (image_bytes(size=(7681, 2)), "wide.png")):
        url = call(world, "POST", "/uploads", params={"type": "image"}).json()["url"]
        answer = httpx.post(url, files={"data": (name, content)})
        assert answer.status_code == 400 and answer.json()["code"] == "upload.error", name
    for fmt in ("PNG", "GIF", "BMP", "TIFF"):
        url = call(world, "POST", "/uploads", params={"type": "image"}).json()["url"]
        assert httpx.post(url, files={"data": (f"a.{fmt.lower()}", image_bytes(fmt))}).status_code == 200


def test_updates_parameters_and_markers(world: World) -> None:
    assert error(call(world, "GET", "/updates", params={"limit": 0})) == (400, "proto.payload")
    assert error(call(world, "GET", "/updates", params={"timeout": 91})) == (400, "proto.payload")
    assert error(call(world, "GET", "/updates", params={"types": "message_created,bogus"})) == (400, "proto.payload")
    world.app.simulate("message", {"text": "1"})
    world.app.simulate("message", {"text": "2"})
    first = call(world, "GET", "/updates", params={"timeout": 0, "limit": 1}).json()
    assert [u["message"]["body"]["text"] for u in first["updates"]] == ["1"]
    rest = call(world, "GET", "/updates", params={"timeout": 0, "marker": first["marker"]}).json()
    assert [u["message"]["body"]["text"] for u in rest["updates"]] == ["2"]
    assert call(world, "GET", "/updates", params={"timeout": 0, "marker": rest["marker"]}).json()["updates"] == []


def test_long_poll_waits_for_an_update(world: World) -> None:
    import threading

    timer = threading.Timer(0.2, lambda: world.app.simulate("message", {"text": "поздно"}))
    timer.start()
    answer = call(world, "GET", "/updates", params={"timeout": 2}).json()
    timer.join()
    assert [u["message"]["body"]["text"] for u in answer["updates"]] == ["поздно"]


def test_subscriptions(world: World) -> None:
    body = {"url": "http://filial.example/hook", "update_types": ["message_created"], "secret": "abcdef"}
    assert error(call(world, "POST", "/subscriptions", json=body)) == (400, "proto.payload")
    assert error(call(world, "POST", "/subscriptions", json={**body, "url": "https://f.example/h",
                                                             "secret": "bad secret!"})) == (400, "proto.payload")
    assert error(call(world, "POST", "/subscriptions", json={**body, "url": "https://f.example/h",
                                                             "update_types": ["nope"]})) == (400, "proto.payload")
    assert call(world, "POST", "/subscriptions", json={**body, "url": "https://f.example/h"}).json() == \
        {"success": True}
    assert error(call(world, "GET", "/updates")) == (405, "method.not.allowed")
    assert call(world, "DELETE", "/subscriptions", params={"url": "https://f.example/other"}).json()["success"] is False
    assert call(world, "DELETE", "/subscriptions", params={"url": "https://f.example/h"}).json() == {"success": True}
    assert call(world, "GET", "/updates", params={"timeout": 0}).status_code == 200


def test_unknown_paths_and_methods_use_the_api_envelope(world: World) -> None:
    assert error(call(world, "GET", "/nope")) == (404, "not.found")
    assert error(call(world, "PATCH", "/messages")) == (405, "method.not.allowed")
    assert error(call(world, "GET", "/messages/mid.123")) == (404, "not.found")
    assert error(call(world, "GET", "/chats/some-link")) == (404, "chat.not.found")


def test_fault_kinds(world: World) -> None:
    with pytest.raises(ValueError, match="no captcha"):
        world.app.add_fault("sendMessage", "captcha")
    world.app.add_fault("*", "http_500")
    assert error(call(world, "GET", "/me")) == (500, "internal.error")
    world.app.add_fault("getMyInfo", "http_502")
    answer = call(world, "GET", "/me")
    assert answer.status_code == 502 and answer.headers["content-type"].startswith("text/html")
    control = httpx.post(world.url + "/_emulator/faults", json={"method": "getMyInfo", "kind": "rate_limit"})
    assert control.json() == {"ok": True}
    assert error(call(world, "GET", "/me")) == (429, "too.many.requests")
    assert call(world, "GET", "/me").status_code == 200


def test_simulate_over_the_control_api(world: World) -> None:
    answer = httpx.post(world.url + "/_emulator/simulate/vote", json={})
    assert answer.status_code == 400 and "no polls" in answer.json()["error"]
    seeded = httpx.post(world.url + "/_emulator/simulate/seed", json={"title": "Детская библиотека",
                                                                       "chat_type": "chat"}).json()["result"]
    chat = call(world, "GET", f"/chats/{seeded['chat_id']}", token=seeded["token"]).json()
    assert chat["title"] == "Детская библиотека" and chat["type"] == "chat"


def test_html_view_escapes_everything(world: World) -> None:
    send(world, {"text": "<script>alert(1)</script> & «ёлка»"})
    world.app.simulate("message", {"first_name": "<b>Хакер</b>", "text": "<img src=x onerror=alert(2)>"})
    page = httpx.get(world.url + "/_emulator/").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; «ёлка»" in page
    assert "<img src=x" not in page and "&lt;b&gt;Хакер&lt;/b&gt;" in page


def test_requests_are_recorded_without_secrets(world: World) -> None:
    call(world, "GET", "/me", token="", params={"access_token": "leaky-token"})
    call(world, "GET", "/me")
    text = repr(world.app.requests)
    assert "leaky-token" not in text and world.seed["token"] not in text
    assert world.app.requests[-1]["authorization"] == "<redacted>"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "max.json"
    app = MaxEmulator(state_file=state)
    with served(app) as server:
        seeded = app.seed(title="Сохраняемый канал")
        httpx.post(server.url + "/messages", params={"chat_id": seeded["chat_id"]}, json={"text": "Пост"},
                   headers={"Authorization": seeded["token"]})
    again = MaxEmulator(state_file=state)
    with served(again) as server:
        answer = httpx.get(server.url + "/messages", params={"chat_id": seeded["chat_id"]},
                           headers={"Authorization": seeded["token"]}).json()
    assert [m["body"]["text"] for m in answer["messages"]] == ["Пост"]

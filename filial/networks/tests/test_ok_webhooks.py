"""OK Bot API webhooks: secret and source checks, parsing, and a real delivery from the emulator."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from emulators.base import EmulatorApp, Request, Response
from filial.networks.ok import webhooks
from filial.networks.tests.helpers import served
from filial.networks.tests.ok_conformance import ok_world

# The documented example of a webhook message (apiok.ru, graph.user.subscribe).
DOC_EXAMPLE = {
    "sender": {"user_id": "user:123456789012"},
    "recipient": {"chat_id": "chat:C3ecb9d02a600"},
    "message": {"text": "text", "seq": 98211023614189660, "mid": "mid:C3ecb9d02a600.15cea67d78d2059"},
    "timestamp": 1498581292941,
}


def test_secret_is_checked_in_constant_time() -> None:
    webhooks.verify_secret("s3cret", "s3cret")
    for received in (None, "", "wrong"):
        with pytest.raises(webhooks.WebhookError) as info:
            webhooks.verify_secret(received, "s3cret")
        assert info.value.status == 403
    with pytest.raises(webhooks.WebhookError):
        webhooks.verify_secret("anything", "")


def test_webhook_url_carries_the_secret() -> None:
    url = webhooks.webhook_url("https://filial.example/hooks/ok/12?page=3&secret=old", "abc")
    assert url == "https://filial.example/hooks/ok/12?page=3&secret=abc"
    assert len(webhooks.new_secret()) >= 30


def test_source_networks() -> None:
    webhooks.verify_source("217.20.145.200")
    webhooks.verify_source("217.20.153.63")
    for address in ("217.20.153.64", "10.0.0.1", "nonsense"):
        with pytest.raises(webhooks.WebhookError):
            webhooks.verify_source(address)


def test_parse_the_documented_example() -> None:
    (item,) = webhooks.parse_update(json.dumps(DOC_EXAMPLE).encode())
    assert item.kind == "message" and item.author_id == "123456789012"
    assert item.thread_id == "chat:C3ecb9d02a600" and item.external_id == "mid:C3ecb9d02a600.15cea67d78d2059"
    assert item.text == "text" and item.at.year == 2017


@pytest.mark.parametrize("body", [
    {**DOC_EXAMPLE, "sender": {"user_id": "group:57000000000001"}},  # our own message
    {"sender": {"user_id": "user:1"}, "recipient": {"chat_id": "chat:C1"}, "chat_control": {"title": "x"},
     "timestamp": 1},  # a chat event, not a message
    {**DOC_EXAMPLE, "webhookType": "CHAT_SYSTEM"},
])
def test_events_that_are_not_reader_messages(body: dict[str, Any]) -> None:
    assert webhooks.parse_update(body) == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]"])
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(webhooks.WebhookError) as info:
        webhooks.parse_update(body)
    assert info.value.status == 400


def test_handle_checks_before_parsing() -> None:
    with pytest.raises(webhooks.WebhookError):
        webhooks.handle(json.dumps(DOC_EXAMPLE), received_secret="x", expected_secret="y")
    with pytest.raises(webhooks.WebhookError):
        webhooks.handle(json.dumps(DOC_EXAMPLE), received_secret="y", expected_secret="y", remote_addr="1.2.3.4",
                        check_source=True)
    assert len(webhooks.handle(json.dumps(DOC_EXAMPLE), received_secret="y", expected_secret="y")) == 1


class Receiver(EmulatorApp):
    """A stand-in for Filial's webhook endpoint: checks the secret with webhooks.handle, keeps the items."""

    network = "receiver"
    secret = "hook-secret"

    def setup_routes(self) -> None:
        self.route("POST", r"/hooks/ok", self.hook)

    def hook(self, request: Request) -> Response:
        try:
            items = webhooks.handle(request.body, received_secret=request.query.get("secret"),
                                    expected_secret=self.secret)
        except webhooks.WebhookError as exc:
            return Response.json({"error": str(exc)}, exc.status)
        self.state.setdefault("items", []).extend(items)
        return Response.json({"ok": True})


def test_delivery_from_the_emulator_matches_polling() -> None:
    receiver = Receiver()
    with served(receiver) as hook_server, ok_world(deliver_webhooks=True) as world:
        connector = world.connector()
        url = webhooks.webhook_url(hook_server.url + "/hooks/ok", Receiver.secret)
        connector.subscribe_webhook(url)
        connector.subscribe_webhook(webhooks.webhook_url(hook_server.url + "/hooks/ok", "stale"))
        assert connector.webhook_subscriptions()[0] == url
        world.app.simulate("message", {"uid": "681", "name": "Лидия", "text": "Когда открыта библиотека?"})
        deadline = time.monotonic() + 5
        while not receiver.state.get("items") and time.monotonic() < deadline:
            time.sleep(0.02)
        (pushed,) = receiver.state["items"]
        (polled,) = connector.fetch_updates(None).items
        assert pushed.external_id == polled.external_id and pushed.text == polled.text == "Когда открыта библиотека?"
        assert pushed.author_id == polled.author_id == "681"
        connector.unsubscribe_webhook(url)
        assert connector.webhook_subscriptions() == [webhooks.webhook_url(hook_server.url + "/hooks/ok", "stale")]
        (outbox,) = world.app.state["webhook_outbox"]
        assert len(outbox["urls"]) == 2  # the stale-secret URL got it too and answered 403

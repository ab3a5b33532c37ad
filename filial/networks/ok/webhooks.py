"""OK Bot API webhooks: verify and parse what OK POSTs to a URL registered with ``POST /graph/me/subscribe``.

OK does not sign webhook requests and sends no secret header (apiok.ru, graph.user.subscribe): it POSTs JSON
to the URL we registered, from the documented networks 217.20.145.192/28, 217.20.151.160/28 and
217.20.153.48/28, and expects HTTP 200 within 5 seconds (it retries otherwise). So the endpoint puts a secret
of ours into the registered URL (``webhook_url``) and checks it with ``verify_secret``; ``verify_source``
optionally checks the sender's address against OK's networks.

A new message looks like ``{"sender": {"user_id": "user:…"}, "recipient": {"chat_id": "chat:…"},
"message": {"text", "seq", "mid"}, "timestamp": ms}``; chat state and participant events carry no
``message`` and yield nothing here.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

from filial.networks.base import (
    WEBHOOK_SECRET_KEY,
    InboundItem,
    PushedItem,
    WebhookParser,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
)
from filial.networks.ok.connector import message_item

OK_WEBHOOK_NETWORKS = ("217.20.145.192/28", "217.20.151.160/28", "217.20.153.48/28")
SECRET_PARAM = "secret"  # noqa: S105 - the name of the query parameter, not a secret


class WebhookError(ValueError):
    """The request is not a genuine OK webhook for this page (answer 403), or it is malformed (400)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def webhook_url(endpoint: str, secret: str) -> str:
    """The URL to register with OK: our endpoint with the secret as a query parameter."""
    parts = urlsplit(endpoint)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != SECRET_PARAM]
    query.append((SECRET_PARAM, secret))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def verify_secret(received: str | None, expected: str) -> None:
    """Compare the secret from the request URL with ours in constant time; raise on a missing or wrong one."""
    if not expected:
        raise WebhookError("no webhook secret is configured for this OK page")
    if not received:
        raise WebhookError("the OK webhook request carries no secret")
    if not hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8")):
        raise WebhookError("the OK webhook secret does not match")


def verify_source(remote_addr: str, networks: Iterable[str] = OK_WEBHOOK_NETWORKS) -> None:
    """Raise unless ``remote_addr`` is in one of OK's webhook networks."""
    try:
        address = ipaddress.ip_address(remote_addr.strip())
    except ValueError as exc:
        raise WebhookError(f"not an IP address: {remote_addr!r}") from exc
    if not any(address in ipaddress.ip_network(network) for network in networks):
        raise WebhookError(f"{address} is not one of OK's webhook addresses")


def parse_update(body: bytes | str | Mapping[str, Any]) -> list[InboundItem]:
    """The readers' messages in one webhook request (our own messages and chat events give nothing)."""
    if isinstance(body, Mapping):
        data: Any = dict(body)
    else:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise WebhookError("the OK webhook body is not JSON", status=400) from exc
    if not isinstance(data, dict):
        raise WebhookError("the OK webhook body is not a JSON object", status=400)
    kind = str(data.get("webhookType") or "MESSAGE_CREATED")
    if kind != "MESSAGE_CREATED" or not isinstance(data.get("message"), dict):
        return []
    item = message_item(data)
    return [item] if item is not None else []


def handle(body: bytes | str | Mapping[str, Any], *, received_secret: str | None, expected_secret: str,
           remote_addr: str = "", check_source: bool = False) -> list[InboundItem]:
    """Everything an endpoint needs: check the secret (and optionally the sender), then parse."""
    verify_secret(received_secret, expected_secret)
    if check_source:
        verify_source(remote_addr)
    return parse_update(body)


class OKWebhookParser(WebhookParser):
    """OK does not sign webhooks: the URL registered with OK carries the page's secret (``?secret=``), and with
    ``FILIAL_OK_WEBHOOK_CHECK_SOURCE`` the sender must be in OK's published address ranges."""

    def parse(self, request: WebhookRequest) -> WebhookResult:
        try:
            items = handle(request.body, received_secret=request.query.get(SECRET_PARAM),
                           expected_secret=request.secret, remote_addr=request.remote_addr,
                           check_source=bool(settings.FILIAL_OK_WEBHOOK_CHECK_SOURCE))
        except WebhookError as exc:
            raise WebhookRefused(str(exc), exc.status) from None
        return WebhookResult(items=[PushedItem(item) for item in items])

    def registration_url(self, url: str, credentials: Mapping[str, Any]) -> str:
        return webhook_url(url, str(credentials.get(WEBHOOK_SECRET_KEY) or ""))

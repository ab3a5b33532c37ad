"""Telegram webhooks: verify the secret header, parse the ``Update`` into inbox items and consent changes.

Telegram POSTs one JSON-serialised ``Update`` per request to the URL given to ``setWebhook``; when that call had
a ``secret_token`` (1-256 characters ``A-Z a-z 0-9 _ -``), every request carries it in the
``X-Telegram-Bot-Api-Secret-Token`` header (https://core.telegram.org/bots/api#setwebhook). Any 2xx answer
confirms the update; anything else makes Telegram repeat it, so an endpoint answers 200 once the items are
stored (de-duplicate by ``update_id`` / item ``external_id``), 403 when the secret is wrong.

Pure functions: the Django endpoint built on them passes ``request.headers`` and ``request.body``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from filial.networks.base import (
    ConsentChange,
    InboundItem,
    PushedConsent,
    PushedItem,
    WebhookParser,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
)
from filial.networks.telegram.updates import consent_change, parse_updates
from filial.networks.webhook_common import json_body, require_secret

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class WebhookError(Exception):
    """The request is not a genuine Telegram webhook call for this page (answer 403 / 400, do not store)."""


class WebhookSecretError(WebhookError):
    """The secret header is missing or wrong (answer 403)."""


class WebhookPayloadError(WebhookError):
    """The body is not a JSON ``Update`` (answer 400)."""


def valid_secret_token(secret: str) -> bool:
    return bool(SECRET_TOKEN_RE.match(secret or ""))


def verify_secret(headers: Mapping[str, Any], expected_secret: str) -> None:
    """Raise :class:`WebhookSecretError` unless the header equals ``expected_secret`` (constant-time compare)."""
    require_secret(headers, SECRET_HEADER, expected_secret, WebhookSecretError)


def parse_body(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """The ``Update`` object of a webhook request body."""
    update = json_body(body, WebhookPayloadError)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise WebhookPayloadError("the webhook body is not a Telegram Update (no integer update_id)")
    return update


def parse_update(body: bytes | str | Mapping[str, Any], *, channel_id: int | str | None = None,
                 bot_id: int | None = None) -> list[InboundItem]:
    """Inbox items in one webhook ``Update`` (zero or one item: a comment or a direct message).

    ``channel_id`` is the page's chat id (``-100…``) or ``@username``: comments under other channels' posts are
    ignored.
    """
    update = parse_body(body)
    numeric, username = _channel_ref(channel_id)
    return parse_updates([update], channel_id=numeric, channel_username=username, bot_id=bot_id)


def consent_of(body: bytes | str | Mapping[str, Any]) -> ConsentChange | None:
    """The messaging-consent change in one webhook ``Update``: the person blocked the bot or unblocked it
    (``my_chat_member`` in their private chat), else ``None``. Call after :func:`verify_secret`."""
    return consent_change(parse_body(body))


def handle(headers: Mapping[str, Any], body: bytes | str, *, expected_secret: str,
           channel_id: int | str | None = None, bot_id: int | None = None) -> list[InboundItem]:
    """Verify and parse one webhook request: what an endpoint calls."""
    verify_secret(headers, expected_secret)
    return parse_update(body, channel_id=channel_id, bot_id=bot_id)


def _channel_ref(channel_id: int | str | None) -> tuple[int | None, str | None]:
    if channel_id is None or channel_id == "":
        return None, None
    if isinstance(channel_id, int):
        return channel_id, None
    text = str(channel_id).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text), None
    return None, text.lstrip("@")


class TelegramWebhookParser(WebhookParser):
    """``X-Telegram-Bot-Api-Secret-Token`` equals the ``secret_token`` given to ``setWebhook``; a private-chat
    ``my_chat_member`` (the person blocked or unblocked the bot) is a consent change."""

    def parse(self, request: WebhookRequest) -> WebhookResult:
        bot = str(request.credentials.get("bot_token") or "").split(":", 1)[0]
        try:
            items = handle(request.headers, request.body, expected_secret=request.secret,
                           channel_id=request.page_id or None, bot_id=int(bot) if bot.isdigit() else None)
            update = parse_body(request.body)
        except WebhookSecretError as exc:
            raise WebhookRefused(str(exc)) from None
        except WebhookError as exc:
            raise WebhookRefused(str(exc), 400) from None
        out = WebhookResult(items=[PushedItem(item) for item in items])
        change = consent_of(update)
        if change is not None:
            out.consents.append(PushedConsent(change.person_id, change.allowed, str(update["update_id"]), update,
                                              at=change.at))
        return out

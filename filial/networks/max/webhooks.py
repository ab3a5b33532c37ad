"""MAX push updates (``POST /subscriptions``): verify the secret header, turn ``Update`` objects into items.

MAX posts one ``Update`` object per request to the subscribed HTTPS url and, when the subscription was
made with a ``secret``, sends it back in the ``X-Max-Bot-Api-Secret`` header (dev.max.ru,
POST /subscriptions). The same ``Update`` objects come from long polling (``GET /updates``), so the
connector uses ``update_items`` too. Pure functions: the Django endpoint is built on top of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from filial.networks.base import (
    InboundItem,
    PushedConsent,
    PushedItem,
    WebhookParser,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
)
from filial.networks.webhook_common import digest, json_body, require_secret

SECRET_HEADER = "X-Max-Bot-Api-Secret"  # noqa: S105 (a header name)
# What Filial asks MAX for: new messages (direct messages and group-chat messages). ``comment_created`` is
# sent for channel comments by newer API versions (official Go client stubs); it is parsed when it comes.
UPDATE_TYPES = ["message_created"]


class WebhookError(ValueError):
    """The request is not a valid MAX update."""


class WebhookSecretError(WebhookError):
    """The ``X-Max-Bot-Api-Secret`` header is missing or wrong: answer 403 and ignore the body."""


def verify_secret(headers: Mapping[str, str], secret: str) -> None:
    """Raise ``WebhookSecretError`` unless the request carries exactly our subscription secret."""
    require_secret(headers, SECRET_HEADER, secret, WebhookSecretError)


def parse_update(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """The ``Update`` object of one webhook request."""
    data = json_body(body, WebhookError)
    if not isinstance(data, dict) or not isinstance(data.get("update_type"), str):
        raise WebhookError("the body is not a MAX Update object (no update_type)")
    return data


def _when(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)  # MAX times are milliseconds
    except (TypeError, ValueError, OverflowError):
        return datetime.now(tz=UTC)


def _name(user: Mapping[str, Any]) -> str:
    full = " ".join(str(p) for p in (user.get("first_name"), user.get("last_name")) if p)
    return full or str(user.get("name") or user.get("username") or "")


def update_items(update: Mapping[str, Any], *, chat_id: str, bot_user_id: str = "") -> list[InboundItem]:
    """Readers' comments and messages in one update, for the page whose chat id is ``chat_id``.

    - ``message_created`` in a dialog with the bot: a direct message (thread = the person's user id);
    - ``message_created`` in the page's group chat: a comment (thread = the post it replies to, if any);
    - ``comment_created`` on the page's channel post: a comment (thread = ``recipient.post_id``).
    Messages of bots (our own posts included) and of other chats are skipped.
    """
    kind = update.get("update_type")
    message = update.get("message")
    if kind not in {"message_created", "comment_created"} or not isinstance(message, Mapping):
        return []
    recipient = message.get("recipient") or {}
    sender = message.get("sender") or {}
    body = message.get("body") or {}
    if sender.get("is_bot") or (bot_user_id and str(sender.get("user_id")) == bot_user_id):
        return []
    mid = str(body.get("mid") or "")
    if not mid:
        return []
    author_id = str(sender.get("user_id") or "")
    common: dict[str, Any] = {
        "external_id": mid, "author_id": author_id, "author_name": _name(sender),
        "text": str(body.get("text") or ""), "at": _when(message.get("timestamp") or update.get("timestamp")),
        "raw": dict(update),
    }
    link = message.get("link") or {}
    replied = ""
    if link.get("type") == "reply":
        replied = str((link.get("message") or {}).get("mid") or "")
    chat_type = recipient.get("chat_type")
    same_chat = str(recipient.get("chat_id")) == str(chat_id)
    if kind == "comment_created":
        post = str(recipient.get("post_id") or "")
        if not same_chat or not post:
            return []
        return [InboundItem(kind="comment", thread_id=post, post_external_id=post, reply_to=replied, **common)]
    if chat_type == "dialog":
        if not author_id:
            return []
        return [InboundItem(kind="message", thread_id=author_id, reply_to=replied, **common)]
    if same_chat:
        return [InboundItem(kind="comment", thread_id=replied or str(chat_id), post_external_id=replied,
                            reply_to=replied, **common)]
    return []


def consent_event(update: Mapping[str, Any]) -> tuple[str, bool] | None:
    """``(user_id, allowed)`` when a person starts the bot (direct messages allowed) or stops/removes it."""
    kind = update.get("update_type")
    if kind not in {"bot_started", "bot_stopped", "dialog_removed"}:
        return None
    user_id = str((update.get("user") or {}).get("user_id") or "")
    return (user_id, kind == "bot_started") if user_id else None


def parse_webhook(headers: Mapping[str, str], body: bytes | str, *, secret: str, chat_id: str,
                  bot_user_id: str = "") -> list[InboundItem]:
    """Verify one webhook request and return its items (raises ``WebhookError`` / ``WebhookSecretError``)."""
    verify_secret(headers, secret)
    return update_items(parse_update(body), chat_id=chat_id, bot_user_id=bot_user_id)


class MaxWebhookParser(WebhookParser):
    """``X-Max-Bot-Api-Secret`` equals the subscription's ``secret``; ``bot_started`` / ``bot_stopped`` (and the
    like) are consent changes."""

    def parse(self, request: WebhookRequest) -> WebhookResult:
        try:
            verify_secret(request.headers, request.secret)
            update = parse_update(request.body)
        except WebhookSecretError as exc:
            raise WebhookRefused(str(exc)) from None
        except WebhookError as exc:
            raise WebhookRefused(str(exc), 400) from None
        items = update_items(update, chat_id=request.page_id,
                             bot_user_id=str(request.credentials.get("bot_user_id") or ""))
        out = WebhookResult(items=[PushedItem(item) for item in items])
        consent = consent_event(update)
        if consent is not None:
            user_id, allowed = consent
            out.consents.append(PushedConsent(user_id, allowed, str(update.get("timestamp") or digest(update)),
                                              update))
        return out

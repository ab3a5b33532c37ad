"""VK Callback API: verify and parse the events VK pushes to our server.

VK POSTs a JSON object ``{"type", "event_id", "v", "object", "group_id", "secret"}`` and expects the plain
text ``ok`` back; for ``{"type": "confirmation", "group_id": ...}`` it expects the community's confirmation
code instead (dev.vk.com "Callback API"). The same event objects arrive through the Bots Long Poll API, so
:func:`parse_event` is shared with the connector.

A Django view built on this module does::

    result = handle_callback(request.body, group_id=channel.external_id, secret=..., confirmation_code=...)
    store(result.items)              # de-duplicate by item.external_id / result.event_id
    return HttpResponse(result.response, content_type="text/plain")

and answers 403 on :class:`WebhookError` (``exc.status``).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from filial.networks.base import (
    COMMENT_EDIT,
    InboundItem,
    PushedConsent,
    PushedItem,
    WebhookParser,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
)
from filial.networks.webhook_common import digest

CALLBACK_OK = "ok"


class WebhookError(Exception):
    """The request is not a valid VK Callback API event for this community."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CallbackResult:
    response: str  # the text to answer VK with: "ok" or the confirmation code
    event_type: str
    event_id: str = ""
    items: list[InboundItem] = field(default_factory=list)


def normalize_group_id(value: int | str) -> int:
    text = str(value).strip()
    for prefix in ("club", "public", "event"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return abs(int(text))


def _timestamp(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(tz=UTC)


def parse_event(event: Mapping[str, Any], group_id: int | str) -> list[InboundItem]:
    """Comments and messages from one event (Callback API or Bots Long Poll); other events give []."""
    gid = normalize_group_id(group_id)
    kind = event.get("type")
    obj = event.get("object")
    if not isinstance(obj, Mapping):
        return []
    if kind == "message_new":
        message = obj.get("message", obj)  # API >= 5.103 wraps it: {"message": {...}, "client_info": {...}}
        if not isinstance(message, Mapping) or message.get("out") == 1:
            return []
        peer_id = str(message.get("peer_id", message.get("from_id", "")))
        return [InboundItem(
            kind="message",
            external_id=str(message.get("id") or f"{peer_id}:{message.get('conversation_message_id', '')}"),
            thread_id=peer_id,
            author_id=str(message.get("from_id", "")),
            author_name="",
            text=str(message.get("text", "")),
            at=_timestamp(message.get("date")),
            reply_to=str((message.get("reply_message") or {}).get("id", "") or ""),
            raw=dict(event),
        )]
    if kind in ("wall_reply_new", "wall_reply_edit"):
        from_id = obj.get("from_id")
        if from_id == -gid:  # the community's own replies
            return []
        owner_id = obj.get("post_owner_id", obj.get("owner_id", -gid))
        post = f"{owner_id}_{obj.get('post_id', '')}"
        reply_to = obj.get("reply_to_comment")
        return [InboundItem(
            kind="comment",
            external_id=f"{owner_id}_{obj.get('id', '')}",
            thread_id=post,
            author_id=str(from_id if from_id is not None else ""),
            author_name="",
            text=str(obj.get("text", "")),
            at=_timestamp(obj.get("date")),
            post_external_id=post,
            reply_to=f"{owner_id}_{reply_to}" if reply_to else "",
            raw=dict(event),
        )]
    return []


def parse_events(events: Iterable[Mapping[str, Any]], group_id: int | str) -> list[InboundItem]:
    items: list[InboundItem] = []
    for event in events:
        items.extend(parse_event(event, group_id))
    return items


def _load(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError("the body is not JSON", status=400) from exc
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise WebhookError("not a VK Callback API event (no 'type')", status=400)
    return data


def verify_callback(data: Mapping[str, Any], *, group_id: int | str, secret: str) -> None:
    """Raise :class:`WebhookError` unless the event is for this community and carries our secret key.

    A confirmation request may come without the secret (VK sends it while the server is being added);
    every other event must carry it.
    """
    try:
        event_group = normalize_group_id(data.get("group_id", ""))
    except (TypeError, ValueError):
        raise WebhookError("the event has no valid group_id") from None
    if event_group != normalize_group_id(group_id):
        raise WebhookError(f"the event is for community {event_group}, not this page")
    given = data.get("secret")
    if given is None and data.get("type") == "confirmation":
        return
    if not secret:
        raise WebhookError("no Callback API secret is configured for this page; set one in VK and here")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8")):
        raise WebhookError("wrong or missing Callback API secret")


def handle_callback(body: bytes | str | Mapping[str, Any], *, group_id: int | str, secret: str,
                    confirmation_code: str) -> CallbackResult:
    """Verify one Callback API request and return what to answer and the comments/messages it carries."""
    data = _load(body)
    verify_callback(data, group_id=group_id, secret=secret)
    kind = str(data["type"])
    if kind == "confirmation":
        if not confirmation_code:
            raise WebhookError("no confirmation code is configured for this page", status=400)
        return CallbackResult(response=confirmation_code, event_type=kind)
    return CallbackResult(response=CALLBACK_OK, event_type=kind, event_id=str(data.get("event_id", "")),
                          items=parse_event(data, group_id))


CONFIRMATION_KEY = "vk_confirmation_code"  # the page's credentials key of the Callback API confirmation code


class VKWebhookParser(WebhookParser):
    """Callback API: the secret key travels in the JSON body (``"secret"``); a ``confirmation`` request is answered
    with the page's confirmation code, every other event with ``ok``. An edited comment is stored once per edit
    event; ``message_allow`` / ``message_deny`` are consent changes."""

    def parse(self, request: WebhookRequest) -> WebhookResult:
        try:
            result = handle_callback(request.body, group_id=request.page_id, secret=request.secret,
                                     confirmation_code=str(request.credentials.get(CONFIRMATION_KEY) or ""))
        except WebhookError as exc:
            raise WebhookRefused(str(exc), exc.status) from None
        except ValueError:  # the page's own community id is not a number
            raise WebhookRefused(f"the page's VK community id {request.page_id!r} is not valid") from None
        out = WebhookResult(response=result.response)
        for item in result.items:
            if result.event_type == "wall_reply_edit":  # the same comment id again: one row per edit event
                occurrence = result.event_id or digest(item.raw)
                out.items.append(PushedItem(item, kind=COMMENT_EDIT,
                                            external_id=f"{item.external_id}:edit:{occurrence}"))
            else:
                out.items.append(PushedItem(item))
        if result.event_type in ("message_allow", "message_deny"):
            data = _load(request.body)
            user_id = str((data.get("object") or {}).get("user_id") or "")
            if user_id:
                out.consents.append(PushedConsent(user_id, result.event_type == "message_allow",
                                                  result.event_id or digest(data), data))
        return out

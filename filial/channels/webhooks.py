"""Webhook endpoints: the networks push readers' comments and messages here (``/hooks/<network>/<page id>/``).

Each endpoint finds the page, checks the network's proof that the request is genuine, parses the update with
the network's own ``webhooks.py`` and stores one :class:`~filial.channels.models.InboundEvent` per item for the
inbox to process. Nothing is stored unless the secret matched.

- VK Callback API (``/hooks/vk/<id>/``): the secret key travels in the JSON body (``"secret"``); a
  ``confirmation`` request is answered with the page's confirmation code, every other event with ``ok``.
- Telegram (``/hooks/telegram/<id>/``): ``X-Telegram-Bot-Api-Secret-Token`` equals the ``secret_token`` given to
  ``setWebhook``; a private-chat ``my_chat_member`` (the person blocked or unblocked the bot) is stored as a
  consent event.
- MAX (``/hooks/max/<id>/``): ``X-Max-Bot-Api-Secret`` equals the subscription's ``secret``.
- OK Bot API (``/hooks/ok/<id>/?secret=…``): OK does not sign webhooks, so the URL registered with
  ``me/subscribe`` carries a secret of ours as the ``secret`` query parameter (see :func:`registration_url`);
  with ``FILIAL_OK_WEBHOOK_CHECK_SOURCE`` on, the sender must also be one of OK's documented networks (only
  meaningful when Filial sees the real client address, not a reverse proxy's).

The secrets live in the page's encrypted credentials: ``webhook_secret`` (all networks) and
``vk_confirmation_code`` (VK). Answers: 403 for a wrong or missing secret (logged), 400 for a malformed or too
large body (``FILIAL_WEBHOOK_MAX_BYTES``, 1 MiB by default), 403 too for an unknown or archived page (so that
page ids cannot be probed), 503 when the page's secrets cannot be decrypted (the network retries later), 200 once
the items are stored. A repeated delivery of the same update is stored once (unique ``(channel, external_id)``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from filial.channels.models import Channel, InboundEvent, Network
from filial.core.clientip import client_ip
from filial.core.crypto import SecretUnreadable
from filial.networks.base import InboundItem
from filial.networks.max import webhooks as max_webhooks
from filial.networks.ok import webhooks as ok_webhooks
from filial.networks.telegram import webhooks as telegram_webhooks
from filial.networks.vk import webhooks as vk_webhooks

logger = logging.getLogger("filial.webhooks")

DEFAULT_MAX_BYTES = 1024 * 1024
SECRET_KEY = "webhook_secret"  # noqa: S105 - the credentials key, not a secret
VK_CONFIRMATION_KEY = "vk_confirmation_code"
app_name = "hooks"


class Refused(Exception):
    """The request must not be stored: answer ``status`` (403 is logged as a warning)."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class Verified:
    """What a verified request carries: events to store and the text to answer with."""

    events: list[InboundEvent] = field(default_factory=list)
    response: str = "ok"


# --- storing --------------------------------------------------------------------------------------------
def _item_payload(item: InboundItem) -> dict[str, Any]:
    data = asdict(item)
    raw = data.pop("raw", {})
    data["at"] = item.at.isoformat()
    return {"item": data, "raw": raw}


def item_event(channel: Channel, item: InboundItem, *, kind: str = "", external_id: str = "") -> InboundEvent:
    return InboundEvent(channel=channel, network=channel.network, kind=kind or item.kind,
                        external_id=external_id or item.external_id, payload=_item_payload(item))


def consent_event(channel: Channel, user_id: str, allowed: bool, occurrence: str, raw: Any,
                  at: datetime | None = None) -> InboundEvent:
    """A consent change to store; ``at`` is when the network says it happened (else when it was received)."""
    payload: dict[str, Any] = {"user_id": user_id, "allowed": allowed, "raw": raw}
    if at is not None:
        payload["at"] = at.isoformat()
    return InboundEvent(channel=channel, network=channel.network, kind=InboundEvent.Kind.CONSENT,
                        external_id=f"consent:{user_id}:{occurrence}", payload=payload)


def store_events(channel: Channel, events: Iterable[InboundEvent]) -> int:
    """Insert the events this page does not have yet; return how many were new."""
    unique: dict[str, InboundEvent] = {}
    for event in events:
        unique.setdefault(event.external_id, event)
    if not unique:
        return 0
    known = set(InboundEvent.objects.filter(channel=channel, external_id__in=list(unique))
                .values_list("external_id", flat=True))
    new = [event for key, event in unique.items() if key not in known]
    # ignore_conflicts: a concurrent delivery of the same update may have inserted it meanwhile.
    InboundEvent.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def _digest(raw: Any) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --- per network ----------------------------------------------------------------------------------------
def _vk(request: HttpRequest, channel: Channel, body: bytes, credentials: dict[str, Any]) -> Verified:
    try:
        result = vk_webhooks.handle_callback(
            body, group_id=channel.external_id, secret=str(credentials.get(SECRET_KEY) or ""),
            confirmation_code=str(credentials.get(VK_CONFIRMATION_KEY) or ""))
    except vk_webhooks.WebhookError as exc:
        raise Refused(str(exc), exc.status) from None
    except ValueError:  # the page's own community id is not a number
        raise Refused(f"the page's VK community id {channel.external_id!r} is not valid") from None
    events: list[InboundEvent] = []
    for item in result.items:
        if result.event_type == "wall_reply_edit":  # the same comment id again: one row per edit event
            occurrence = result.event_id or _digest(item.raw)
            events.append(item_event(channel, item, kind=InboundEvent.Kind.COMMENT_EDIT,
                                     external_id=f"{item.external_id}:edit:{occurrence}"))
        else:
            events.append(item_event(channel, item))
    if result.event_type in ("message_allow", "message_deny"):
        data = json.loads(body)
        user_id = str((data.get("object") or {}).get("user_id") or "")
        if user_id:
            events.append(consent_event(channel, user_id, result.event_type == "message_allow",
                                        result.event_id or _digest(data), data))
    return Verified(events=events, response=result.response)


def _telegram(request: HttpRequest, channel: Channel, body: bytes, credentials: dict[str, Any]) -> Verified:
    token = str(credentials.get("bot_token") or "")
    bot = token.split(":", 1)[0]
    try:
        items = telegram_webhooks.handle(
            request.headers, body, expected_secret=str(credentials.get(SECRET_KEY) or ""),
            channel_id=channel.external_id or None, bot_id=int(bot) if bot.isdigit() else None)
        update = telegram_webhooks.parse_body(body)
    except telegram_webhooks.WebhookSecretError as exc:
        raise Refused(str(exc)) from None
    except telegram_webhooks.WebhookError as exc:
        raise Refused(str(exc), 400) from None
    events = [item_event(channel, item) for item in items]
    change = telegram_webhooks.consent_of(update)  # the person blocked or unblocked the bot
    if change is not None:
        events.append(consent_event(channel, change.person_id, change.allowed, str(update["update_id"]), update,
                                    at=change.at))
    return Verified(events=events)


def _max(request: HttpRequest, channel: Channel, body: bytes, credentials: dict[str, Any]) -> Verified:
    try:
        max_webhooks.verify_secret(request.headers, str(credentials.get(SECRET_KEY) or ""))
        update = max_webhooks.parse_update(body)
    except max_webhooks.WebhookSecretError as exc:
        raise Refused(str(exc)) from None
    except max_webhooks.WebhookError as exc:
        raise Refused(str(exc), 400) from None
    items = max_webhooks.update_items(update, chat_id=str(channel.external_id),
                                      bot_user_id=str(credentials.get("bot_user_id") or ""))
    events = [item_event(channel, item) for item in items]
    consent = max_webhooks.consent_event(update)
    if consent is not None:
        user_id, allowed = consent
        events.append(consent_event(channel, user_id, allowed, str(update.get("timestamp") or _digest(update)),
                                    update))
    return Verified(events=events)


def _ok(request: HttpRequest, channel: Channel, body: bytes, credentials: dict[str, Any]) -> Verified:
    try:
        items = ok_webhooks.handle(
            body, received_secret=request.GET.get(ok_webhooks.SECRET_PARAM),
            expected_secret=str(credentials.get(SECRET_KEY) or ""),
            remote_addr=client_ip(request),
            check_source=bool(settings.FILIAL_OK_WEBHOOK_CHECK_SOURCE))
    except ok_webhooks.WebhookError as exc:
        raise Refused(str(exc), exc.status) from None
    return Verified(events=[item_event(channel, item) for item in items])


Handler = Callable[[HttpRequest, Channel, bytes, dict[str, Any]], Verified]
HANDLERS: dict[str, Handler] = {Network.VK: _vk, Network.TELEGRAM: _telegram, Network.MAX: _max, Network.OK: _ok}


# --- the endpoint ---------------------------------------------------------------------------------------
def _plain(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _read_body(request: HttpRequest) -> bytes:
    limit = int(settings.FILIAL_WEBHOOK_MAX_BYTES)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused("the Content-Length header is not a number", 400) from None
    if declared > limit:
        raise Refused(f"the body is {declared} bytes, at most {limit}", 400)
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Refused(f"the body is over {limit} bytes", 400)
    return body


def _receive(request: HttpRequest, network: str, channel_id: int) -> HttpResponse:
    channel = Channel.objects.filter(pk=channel_id, network=network).exclude(status=Channel.Status.ARCHIVED).first()
    address = client_ip(request)
    if channel is None:
        logger.warning("%s webhook for unknown or archived page %s refused (403) from %s", network, channel_id,
                       address)
        return _plain("forbidden", 403)
    try:
        body = _read_body(request)
        try:
            credentials = channel.credentials
        except SecretUnreadable:
            logger.error("%s webhook for page %s: its secrets cannot be decrypted with the configured keys",
                         network, channel.pk)
            return _plain("temporarily unavailable", 503)
        verified = HANDLERS[network](request, channel, body, credentials)
    except Refused as refused:
        log = logger.warning if refused.status == 403 else logger.info
        log("%s webhook for page %s refused (%s) from %s: %s", network, channel.pk, refused.status, address,
            refused.reason)
        return _plain("forbidden" if refused.status == 403 else "bad request", refused.status)
    stored = store_events(channel, verified.events)
    if verified.events:
        logger.info("%s webhook for page %s: %d event(s), %d new", network, channel.pk, len(verified.events),
                    stored)
    return _plain(verified.response)


def _endpoint(network: str) -> Callable[[HttpRequest, int], HttpResponse]:
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, channel_id: int) -> HttpResponse:
        return _receive(request, network, channel_id)

    view.__name__ = f"{network}_webhook"
    return view


vk_webhook = _endpoint(Network.VK)
telegram_webhook = _endpoint(Network.TELEGRAM)
max_webhook = _endpoint(Network.MAX)
ok_webhook = _endpoint(Network.OK)

urlpatterns = [
    path("vk/<id:channel_id>/", vk_webhook, name="vk"),
    path("telegram/<id:channel_id>/", telegram_webhook, name="telegram"),
    path("max/<id:channel_id>/", max_webhook, name="max"),
    path("ok/<id:channel_id>/", ok_webhook, name="ok"),
]


def registration_url(channel: Channel, site_url: str) -> str:
    """The address to give the network for this page (``site_url`` like ``https://filial.example``).

    For OK it carries the page's ``webhook_secret`` as the ``secret`` query parameter; the other networks get
    the secret separately (VK's server settings, Telegram ``setWebhook`` ``secret_token``, MAX ``secret``).
    """
    url = site_url.rstrip("/") + reverse(f"hooks:{channel.network}", args=[channel.pk])
    if channel.network == Network.OK:
        return ok_webhooks.webhook_url(url, str(channel.credentials.get(SECRET_KEY) or ""))
    return url

"""Webhook endpoints: the networks push readers' comments and messages here (``/hooks/<network>/<page id>/``).

Each endpoint finds the page and hands the request to its network's ``WebhookParser`` (``networks/base.py``; each
network's ``webhooks.py`` implements it and its spec names it), which checks the network's proof that the request
is genuine and says what it carries; this module stores one :class:`~filial.channels.models.InboundEvent` per item
and consent change for the inbox to process, for every network alike. Nothing is stored unless the secret matched.
The four networks' formats:

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

from filial.channels.models import Channel, InboundEvent
from filial.core.clientip import client_ip
from filial.core.crypto import SecretUnreadable
from filial.networks import registry
from filial.networks.base import (
    WEBHOOK_SECRET_KEY,
    InboundItem,
    WebhookParser,
    WebhookRefused,
    WebhookRequest,
    WebhookResult,
)

logger = logging.getLogger("filial.webhooks")

DEFAULT_MAX_BYTES = 1024 * 1024
SECRET_KEY = WEBHOOK_SECRET_KEY
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


def _events(channel: Channel, result: WebhookResult) -> list[InboundEvent]:
    """The rows to store for what a network's parser found in one request."""
    events = [item_event(channel, pushed.item, kind=pushed.kind, external_id=pushed.external_id)
              for pushed in result.items]
    events += [consent_event(channel, c.user_id, c.allowed, c.occurrence, c.raw, at=c.at) for c in result.consents]
    return events


def parser_for(network: str) -> WebhookParser | None:
    """The network's push format (its spec's ``WebhookParser``), or ``None`` if it has no webhooks."""
    spec = registry.find(network)
    parser_class = spec.webhook_parser() if spec is not None else None
    return parser_class() if parser_class is not None else None


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
        parser = parser_for(network)
        if parser is None:
            raise Refused(f"{network} pushes no updates here", 404)
        try:
            result = parser.parse(WebhookRequest(
                headers=request.headers, query=request.GET, body=body, remote_addr=address or "",
                page_id=str(channel.external_id), credentials=credentials))
        except WebhookRefused as refused:
            raise Refused(refused.reason, refused.status) from None
        verified = Verified(events=_events(channel, result), response=result.response)
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


# One endpoint per network with push updates, named by the network (``hooks:<network>``), read from the specs.
urlpatterns = [path(f"{spec.name}/<id:channel_id>/", _endpoint(spec.name), name=spec.name)
               for spec in registry.specs() if spec.webhook]


def registration_url(channel: Channel, site_url: str) -> str:
    """The address to give the network for this page (``site_url`` like ``https://filial.example``).

    For OK it carries the page's ``webhook_secret`` as the ``secret`` query parameter; the other networks get
    the secret separately (VK's server settings, Telegram ``setWebhook`` ``secret_token``, MAX ``secret``).
    """
    url = site_url.rstrip("/") + reverse(f"hooks:{channel.network}", args=[channel.pk])
    parser = parser_for(channel.network)
    return parser.registration_url(url, channel.credentials) if parser is not None else url

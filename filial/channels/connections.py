"""A page's connection to its network: the connector, its credentials and their refresh.

Everything that talks to a page's network goes through here: the outbox (publishing, edits, messages), the inbox
(polling, polls) and the channels' own checks.

- :func:`connector_for` builds the page's connector (``networks.connect``: its calls paced by the shared rate
  limiter); a connector whose credentials rotate (VK ID) stores the new ones at once through
  :func:`store_credentials`.
- :func:`connection` is the same as a context manager that closes the connector's HTTP client on the way out;
  :func:`close` closes one held longer (a lane's connector), never hiding the outcome of the work.
- :func:`refresh_if_due` refreshes a VK user token before it expires, one worker at a time per page;
  :func:`refresh_expiring_credentials` is the periodic run over every active VK page.

A refused credential pauses the page through ``channels.services.channel_needs_reauth``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from filial.channels.models import Channel
from filial.channels.services import channel_needs_reauth
from filial.networks import connect, registry
from filial.networks.base import Connector, NetworkError
from filial.networks.ratelimit import Claim, get_limiter

log = logging.getLogger("filial.engine")


def refresh_margin() -> float:
    """Seconds before a VK user token expires at which it is refreshed (``FILIAL_VK_REFRESH_MARGIN``)."""
    return float(settings.FILIAL_VK_REFRESH_MARGIN)


def store_credentials(channel_id: int, credentials: dict[str, Any]) -> None:
    """Save refreshed credentials at once (VK's refresh token rotates: losing the new one loses the page)."""
    channel = Channel.objects.get(pk=channel_id)
    channel.set_credentials(dict(credentials))
    channel.save(update_fields=["credentials_encrypted"])
    log.info("stored refreshed credentials of page %s", channel_id)


def connector_for(channel: Channel) -> Connector:
    """The page's connector (its calls paced by the shared rate limiter, ``networks.connect``); rotated credentials
    are stored as soon as the network hands them out."""
    connector = connect.connector_for_channel(channel)
    if hasattr(connector, "on_credentials"):
        channel_id = channel.pk
        connector.on_credentials = lambda creds: store_credentials(channel_id, creds)
    return connector


def close(connector: Connector | None) -> None:
    """Close a connector's HTTP client; a failure to close is logged, never raised (it must not hide an outcome)."""
    closer = getattr(connector, "close", None)
    if callable(closer):
        try:
            closer()
        except Exception:  # closing an HTTP client must never hide the outcome
            log.warning("closing the connector failed", exc_info=True)


@contextmanager
def connection(channel: Channel) -> Iterator[Connector]:
    """``with connection(channel) as connector:`` — the page's connector, closed on the way out."""
    connector = connector_for(channel)
    try:
        yield connector
    finally:
        close(connector)


def refresh_if_due(channel: Channel, *, margin: float | None = None) -> Channel:
    """Refresh the page's token before it expires (VK's user token), one worker at a time per page.

    The "lock" is a rate-limit budget (the connector's ``refresh_budget``, VK ``vk.refresh``: 1 per minute per
    page) in the shared limiter storage: the worker that gets it refreshes and stores the new pair; the others
    wait and read the stored one.
    """
    cls = registry.connector_class(channel.network)
    if not cls.refreshes_credentials:
        return channel
    margin_s = refresh_margin() if margin is None else margin

    def due(ch: Channel) -> bool:
        return cls.credentials_due(ch.credentials, margin_s)

    if not due(channel):
        return channel
    shared = get_limiter()
    lock = [Claim(cls.refresh_budget, f"page:{channel.pk}")]
    deadline = time.monotonic() + 2 * float(settings.FILIAL_NETWORK_TIMEOUT) + 1
    while not shared.try_acquire(lock):
        if time.monotonic() > deadline:
            return channel  # the other worker is slow: the connector refreshes by itself if it must
        time.sleep(0.1)
        channel.refresh_from_db(fields=["credentials_encrypted"])
        if not due(channel):
            return channel
    with connection(channel) as connector:
        connector.refresh_credentials()
    channel.refresh_from_db(fields=["credentials_encrypted"])
    return channel


def refresh_expiring_credentials() -> int:
    """Periodic: refresh the tokens (VK's) of active pages that expire soon, even where nothing is being
    published."""
    refreshed = 0
    networks = [spec.name for spec in registry.specs() if spec.connector_class().refreshes_credentials]
    for channel in Channel.objects.filter(network__in=networks, status=Channel.Status.ACTIVE).exclude(
            credentials_encrypted=""):
        before = channel.credentials_encrypted
        try:
            channel = refresh_if_due(channel, margin=2 * refresh_margin())
        except NetworkError as exc:
            if exc.needs_reauth:
                channel_needs_reauth(channel.pk, exc)
            log.warning("refreshing the token of page %s failed: %s", channel.pk, exc)
            continue
        refreshed += channel.credentials_encrypted != before
    return refreshed

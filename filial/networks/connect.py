"""A page's connector: the network's connector class (:mod:`filial.networks.registry`) at the page's API address,
checked against the installation's allowed hosts (:mod:`filial.networks.egress`) and the built-in emulators
(:mod:`filial.networks.hosting`), its calls paced by the shared rate limiter (a ``ratelimit.Meter``). Above all
three, so none of them imports back."""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings

from filial.networks import hosting
from filial.networks.base import Connector, NetworkError
from filial.networks.egress import api_url_problem
from filial.networks.ratelimit import Meter, get_limiter
from filial.networks.registry import BASE_URL_SETTINGS, connector_class


def base_url(network: str, page_url: str = "") -> str:
    """The page's own API address if it has one (the demo's emulators), else the configured one.

    A base URL configured explicitly (environment or settings) wins over the built-in emulator: a page that
    points at the built-in emulator's address then talks to the configured server.
    """
    configured = str(getattr(settings, BASE_URL_SETTINGS[network]))
    if page_url:
        if not (hosting.is_builtin_emulator_url(network, page_url) and hosting.configured_elsewhere(network)):
            return page_url
    return configured


def connector_for(
    network: str, *, external_id: str, credentials: dict[str, Any], api_base_url: str = "",
    transport: httpx.BaseTransport | None = None,
) -> Connector:
    cls = connector_class(network)
    url = base_url(network, api_base_url)
    if api_base_url and url == api_base_url:
        if api_url_problem(network, url):
            # Written around the services (the admin site, an older version): nothing, secrets least of all, is
            # sent to an address the installation does not allow.
            raise NetworkError(f"the page's API address {url} is not allowed on this installation "
                               "(FILIAL_EXTRA_API_HOSTS)", network=network, code="local", permanent=True)
    connector = cls(external_id=external_id, credentials=credentials, base_url=url,
                    transport=transport, timeout=settings.FILIAL_NETWORK_TIMEOUT)
    # Its calls take their units from the shared rate limiter, each right before it leaves: the one pacer (a
    # caller that took an operation's units first hands them on with ``connector.prepaid``).
    connector.meter = Meter(get_limiter())
    return connector


def connector_for_channel(channel: Any, transport: httpx.BaseTransport | None = None) -> Connector:
    return connector_for(channel.network, external_id=channel.external_id, credentials=channel.credentials,
                         api_base_url=channel.api_base_url, transport=transport)

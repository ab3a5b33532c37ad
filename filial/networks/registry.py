"""Which connector serves a page, and where its network's API is."""

from __future__ import annotations

import importlib
from typing import Any, Protocol, cast

import httpx
from django.conf import settings

from filial.networks.base import Connector, NetworkError

CONNECTORS = {
    "vk": "filial.networks.vk.connector.VKConnector",
    "ok": "filial.networks.ok.connector.OKConnector",
    "telegram": "filial.networks.telegram.connector.TelegramConnector",
    "max": "filial.networks.max.connector.MaxConnector",
}
BASE_URL_SETTINGS = {
    "vk": "FILIAL_VK_API_URL",
    "ok": "FILIAL_OK_API_URL",
    "telegram": "FILIAL_TELEGRAM_API_URL",
    "max": "FILIAL_MAX_API_URL",
}


HOSTS = {network: f"filial.networks.{network}.hosts" for network in CONNECTORS}


class NetworkHosts(Protocol):
    """A network's ``hosts.py``: where its API and its media live (``networks/egress.py`` applies them)."""

    API_HOSTS: frozenset[str]
    MEDIA_DOMAINS: tuple[str, ...]
    MEDIA_PATH_PREFIXES: tuple[str, ...]

    def picture_source(self, kind: str, body: dict[str, Any]) -> str: ...


def network_hosts(network: str) -> NetworkHosts:
    module: Any = importlib.import_module(HOSTS[network])
    return cast(NetworkHosts, module)


def picture_source(network: str, kind: str, body: dict[str, Any]) -> str:
    """The direct address of a reader's picture attachment, where the network gives one ("" otherwise)."""
    if network not in HOSTS or not isinstance(body, dict):
        return ""
    return network_hosts(network).picture_source(kind, body)


def connector_class(network: str) -> type[Connector]:
    module_name, _, class_name = CONNECTORS[network].rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    assert issubclass(cls, Connector)
    return cls


def base_url(network: str, page_url: str = "") -> str:
    """The page's own API address if it has one (the demo's emulators), else the configured one.

    A base URL configured explicitly (environment or settings) wins over the built-in emulator: a page that
    points at the built-in emulator's address then talks to the configured server.
    """
    configured = str(getattr(settings, BASE_URL_SETTINGS[network]))
    if page_url:
        from filial.networks import hosting

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
        from filial.networks.egress import api_url_problem

        if api_url_problem(network, url):
            # Written around the services (the admin site, an older version): nothing, secrets least of all, is
            # sent to an address the installation does not allow.
            raise NetworkError(f"the page's API address {url} is not allowed on this installation "
                               "(FILIAL_EXTRA_API_HOSTS)", network=network, code="local", permanent=True)
    return cls(external_id=external_id, credentials=credentials, base_url=url,
               transport=transport, timeout=settings.FILIAL_NETWORK_TIMEOUT)


def connector_for_channel(channel: Any, transport: httpx.BaseTransport | None = None) -> Connector:
    return connector_for(channel.network, external_id=channel.external_id, credentials=channel.credentials,
                         api_base_url=channel.api_base_url, transport=transport)

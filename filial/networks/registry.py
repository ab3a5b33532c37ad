"""Which connector serves a page, and where its network's API is."""

from __future__ import annotations

import importlib
from typing import Any

import httpx
from django.conf import settings

from filial.networks.base import Connector

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
    return cls(external_id=external_id, credentials=credentials, base_url=base_url(network, api_base_url),
               transport=transport, timeout=settings.FILIAL_NETWORK_TIMEOUT)


def connector_for_channel(channel: Any, transport: httpx.BaseTransport | None = None) -> Connector:
    return connector_for(channel.network, external_id=channel.external_id, credentials=channel.credentials,
                         api_base_url=channel.api_base_url, transport=transport)

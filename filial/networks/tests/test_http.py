from __future__ import annotations

import ssl

import httpx

from emulators.networks.vk import VKEmulator
from filial.networks.http import http_client, shared_transport, tls_context
from filial.networks.tests.helpers import served


def test_clients_share_one_transport_that_verifies_servers() -> None:
    with http_client(timeout=1) as first, http_client(timeout=2) as second:
        assert first._transport is second._transport is shared_transport()
    pool_context = shared_transport()._pool._ssl_context  # type: ignore[attr-defined]
    assert pool_context is tls_context()
    assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().check_hostname


def test_closing_a_client_leaves_the_shared_transport_usable() -> None:
    with served(VKEmulator(rate_limits=False)) as server:
        with http_client(timeout=5) as client:
            first = client.post(server.url + "/method/groups.getById", data={"v": "5.199"}).json()
        with http_client(timeout=5) as client:  # the same pool, still open
            assert client.post(server.url + "/method/groups.getById", data={"v": "5.199"}).json() == first
    assert "error" in first  # no token: VK's own error envelope came back over the shared pool


def test_a_caller_may_still_bring_its_own_transport_or_verification() -> None:
    mock = httpx.MockTransport(lambda request: httpx.Response(204))
    with http_client(transport=mock) as client:
        assert client.get("https://api.vk.ru/method/x").status_code == 204
    with http_client(verify=False) as client:
        assert client._transport is not shared_transport()

from __future__ import annotations

import ssl

from filial.networks.http import http_client, tls_context


def test_clients_share_one_tls_context_that_verifies_servers() -> None:
    with http_client(timeout=1) as first, http_client(timeout=2) as second:
        contexts = {id(client._transport._pool._ssl_context) for client in (first, second)}  # type: ignore[attr-defined]
    assert contexts == {id(tls_context())}
    assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().check_hostname


def test_a_caller_may_still_choose_its_own_verification() -> None:
    with http_client(verify=False) as client:
        assert client._transport._pool._ssl_context is not tls_context()  # type: ignore[attr-defined]

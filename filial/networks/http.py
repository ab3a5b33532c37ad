"""One way to open an HTTP client to a network: ``http_client(...)`` is ``httpx.Client`` over a shared transport.

A new ``httpx.Client`` builds a fresh ``ssl.SSLContext`` (loading the CA bundle: ~20 ms of CPU) and a fresh
connection pool, so every publication, message or look-up paid a TLS context and a new TCP + TLS handshake with
the network. Instead every client of the process sends through one transport: one TLS context, one pool of
keep-alive connections (``httpcore`` checks a pooled connection before reusing it; idle ones expire after 5 s).
Both are safe to share between threads. A client closing does not close the shared transport.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Any

import httpx


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class _SharedTransport(httpx.HTTPTransport):
    def close(self) -> None:
        """Kept open: it outlives the clients that use it (the process's pool of connections)."""


@lru_cache(maxsize=1)
def shared_transport() -> httpx.HTTPTransport:
    return _SharedTransport(verify=tls_context(), limits=httpx.Limits(max_connections=200,
                                                                     max_keepalive_connections=50))


def http_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` sending through the process's shared transport, unless the caller brings its own
    transport (tests' mock transports) or its own TLS verification."""
    if kwargs.get("transport") is None and "verify" not in kwargs:
        kwargs["transport"] = shared_transport()
    return httpx.Client(**kwargs)

"""One way to open an HTTP client to a network: ``http_client(...)`` is ``httpx.Client`` with a shared TLS context.

A new ``httpx.Client`` builds a fresh ``ssl.SSLContext`` and loads the CA bundle into it: about 20 ms of CPU on
every client, i.e. on every publication, message or look-up (measured: half of the worker's CPU per delivery).
The context is built once per process instead (an ``SSLContext`` is safe to share between threads).
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import Any

import httpx


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def http_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)`` verifying servers with the process's shared TLS context."""
    kwargs.setdefault("verify", tls_context())
    return httpx.Client(**kwargs)

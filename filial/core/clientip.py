"""The address a request came from, as login throttling and the audit log count it.

Behind a reverse proxy every request arrives from the proxy; the client's own address is in ``X-Forwarded-For``,
which anyone can also send themselves. So the header is believed only from the proxies listed in
``FILIAL_TRUSTED_PROXIES`` (addresses or networks, comma-separated): walking the header from the right, each hop
added by a trusted proxy is skipped, and the first address not in the list is the client. Without trusted proxies
(the default), ``REMOTE_ADDR`` alone counts and the header is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_proxies(entries: Iterable[str]) -> tuple[Network, ...]:
    """The configured proxies as networks; raises ValueError on an entry that is not an address or network."""
    return _networks(tuple(e.strip() for e in entries if e.strip()))


def trusted_proxies() -> tuple[Network, ...]:
    return parse_proxies(settings.FILIAL_TRUSTED_PROXIES)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:5000"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, proxies: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in proxies)


def client_ip_from(remote_addr: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    remote = _address(remote_addr)
    if remote is None:
        return remote_addr.strip()
    if not forwarded_for or not is_trusted(remote, proxies):
        return str(remote)
    client = remote
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            break  # garbage added before our proxies: the last trusted hop is all we know
        client = address
        if not is_trusted(address, proxies):
            break
    return str(client)


def client_ip(request: Any) -> str:
    """The client's address of a Django (or DRF) request, proxies in FILIAL_TRUSTED_PROXIES taken into account."""
    meta = request.META
    return client_ip_from(str(meta.get("REMOTE_ADDR", "")), str(meta.get("HTTP_X_FORWARDED_FOR", "")),
                          trusted_proxies())


FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                      "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_BY", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def strip_untrusted_forwarding(app: Any) -> Any:
    """WSGI wrapper: a request that does not come from a trusted proxy loses its forwarding headers, so that
    nothing downstream (SECURE_PROXY_SSL_HEADER, logs, throttling) can be told a false address or scheme."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        if not is_trusted(_address(str(environ.get("REMOTE_ADDR", ""))), trusted_proxies()):
            for name in FORWARDING_HEADERS:
                environ.pop(name, None)
        return app(environ, start_response)

    return application

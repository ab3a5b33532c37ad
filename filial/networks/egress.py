"""Where Filial may send requests: the outbound-traffic rules (server-side request forgery, leaked secrets).

Three rules, each used by every entry point through the services:

- **A page's API address** (``Channel.api_base_url``) may name only its network's own API hosts
  (``filial/networks/<net>/hosts.py`` ``API_HOSTS``), the host of the network's configured address
  (``FILIAL_VK_API_URL``…), the hosts the installation allows in ``FILIAL_EXTRA_API_HOSTS``, or the built-in
  emulator's loopback address (``FILIAL_EMULATOR_PORT_BASE``; the demo's pages). :func:`api_url_problem` says why an
  address is refused; the connector registry refuses such an address too, so a row written around the services
  (the admin site, an old database) still sends nothing there.
- **Readers' pictures** are fetched only from their network's media hosts (``MEDIA_DOMAINS``), over a client that
  resolves the name itself, refuses loopback, private, link-local, multicast and reserved addresses, and connects
  to the address it checked (no window for DNS rebinding): :func:`guarded_client`. Loopback is allowed only for
  the origin of a page's own emulator.
- **A library system** (Koha, SIP2) is the library's own server, often on its intranet: private and loopback
  addresses stay allowed; link-local (cloud metadata at 169.254.169.254), multicast and unspecified addresses are
  never a library system and are refused; ``FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY`` refuses private and loopback too
  (an installation in a cloud, where the intranet is not the library's). :func:`library_address_problem`.

Stored secrets never follow a changed address: the services (``channels.services.channel_update``,
``circulation.services.link_set``) require them again with the new address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

from filial.networks import hosting, registry
from filial.networks.http import tls_context

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class AddressRefused(httpx.ConnectError):
    """The name resolved to an address this client may not connect to (nothing was sent)."""


# --- host names --------------------------------------------------------------------------------------------
def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def extra_api_hosts() -> frozenset[str]:
    value: Any = settings.FILIAL_EXTRA_API_HOSTS
    names = value.split(",") if isinstance(value, str) else value
    return frozenset(str(name).strip().rstrip(".").lower() for name in names if str(name).strip())


def allowed_api_hosts(network: str) -> frozenset[str]:
    """The host names a page of ``network`` may use as its API address (the emulator's loopback port aside)."""
    configured = host_of(str(getattr(settings, registry.BASE_URL_SETTINGS[network], "") or ""))
    return registry.network_hosts(network).API_HOSTS | extra_api_hosts() | ({configured} if configured else set())


def api_url_problem(network: str, url: str) -> str:
    """Why ``url`` may not be this network's API address ("" when it may; an empty address is the default)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "malformed"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "malformed"

    if hosting.is_builtin_emulator_url(network, url):
        return ""
    host = host_of(url)
    if host not in allowed_api_hosts(network):
        return "host"
    if parts.scheme == "http" and not _is_loopback_name(host) and host not in extra_api_hosts():
        return "plain_http"  # the networks' own hosts speak HTTPS only; a token must not cross the network in clear
    return ""


def _is_loopback_name(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def media_url_allowed(network: str, url: str, *, own_origin: str = "") -> bool:
    """May a reader's picture at ``url`` be fetched: https on one of the network's media hosts (and the path the
    network serves files under), or the page's own emulator (``own_origin``, a loopback origin)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = host_of(url)
    if own_origin and _same_origin(url, own_origin) and _is_loopback_name(host):
        return True
    if parts.scheme != "https" or port not in (None, 443) or not host:
        return False
    hosts = registry.network_hosts(network)
    if not any(host == domain or host.endswith("." + domain) for domain in hosts.MEDIA_DOMAINS):
        return False
    return not hosts.MEDIA_PATH_PREFIXES or any(parts.path.startswith(p) for p in hosts.MEDIA_PATH_PREFIXES)


def _same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    try:
        return (a.scheme, host_of(url), a.port or _default_port(a.scheme)) == (
            b.scheme, host_of(origin), b.port or _default_port(b.scheme))
    except ValueError:
        return False


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


# --- addresses ---------------------------------------------------------------------------------------------
def is_public(address: Address) -> bool:
    """An address on the public internet: not loopback, private, link-local, multicast, reserved, unspecified
    (IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return bool(address.is_global) and not (address.is_multicast or address.is_reserved
                                            or address.is_unspecified or address.is_link_local)


def never_a_server(address: Address) -> bool:
    """Addresses no library system lives at: link-local (incl. cloud metadata 169.254.169.254), multicast,
    unspecified, reserved."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address.is_multicast or address.is_unspecified or (
        address.is_reserved and not address.is_private)


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an address literal is itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def library_address_problem(host: str, port: int = 0) -> str:
    """Why a library system's host (Koha, SIP2) is refused: "" (allowed), "internal" (link-local, multicast... or,
    with ``FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY``, loopback and private) or "unresolved" (only checked when the
    installation wants public addresses only; otherwise a name that does not resolve yet is the library's
    business)."""
    public_only = bool(settings.FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY)
    try:
        addresses = resolve(host, port or 80)
    except (OSError, UnicodeError):
        return "unresolved" if public_only else ""
    for address in addresses:
        if never_a_server(address) or (public_only and not is_public(address)):
            return "internal"
    return ""


def library_address_allowed(address: Address) -> bool:
    if never_a_server(address):
        return False
    return is_public(address) or not bool(settings.FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY)


# --- a client that connects only to checked addresses ---------------------------------------------------------
class GuardedBackend(httpcore.NetworkBackend):
    """Resolve the name here, check every address with ``allow(host, address)``, connect to a checked one.

    TLS still verifies the certificate against the host name (httpcore passes the origin's name as SNI), so
    connecting to the address does not weaken it.
    """

    def __init__(self, allow: Callable[[str, Address], bool]) -> None:
        self.allow = allow
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        allowed = [a for a in addresses if self.allow(host, a)]
        if not allowed or len(allowed) != len(addresses):
            raise httpcore.ConnectError(f"{host} resolves to an address this client may not reach")
        return self.inner.connect_tcp(str(allowed[0]), port, timeout=timeout, local_address=local_address,
                                      socket_options=socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allow: Callable[[str, Address], bool]) -> None:
        super().__init__(verify=tls_context())
        self._pool = httpcore.ConnectionPool(ssl_context=tls_context(), max_connections=20,
                                             max_keepalive_connections=10, network_backend=GuardedBackend(allow))


def guarded_client(allow: Callable[[str, Address], bool], *, transport: httpx.BaseTransport | None = None,
                   **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` that connects only to addresses ``allow`` accepts; never through an environment proxy
    (a proxy would connect where we did not check), never following redirects by itself. ``transport`` replaces
    the guard (tests' mock transports: they open no connection)."""
    return httpx.Client(transport=transport or GuardedTransport(allow), trust_env=False, follow_redirects=False,
                        **kwargs)


def public_only(host: str, address: Address) -> bool:
    return is_public(address)

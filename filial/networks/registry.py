"""The networks (their specs), which connector serves a page, and where its network's API is."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, cast

from filial.networks.advice import Advice, Kind, general_advice
from filial.networks.base import Connector
from filial.networks.spec import NetworkSpec

# The networks Filial speaks: one package each (``networks/<net>/__init__.py`` exports ``SPEC``). The only list
# of networks in the code; everything else iterates :func:`specs`. The order is the order people see.
PACKAGES = ("filial.networks.vk", "filial.networks.ok", "filial.networks.telegram", "filial.networks.max")

_specs: dict[str, NetworkSpec] = {}
T = TypeVar("T")


def _load() -> dict[str, NetworkSpec]:
    if not _specs:
        for package in PACKAGES:
            spec = importlib.import_module(package).SPEC
            _specs.setdefault(spec.name, spec)
    return _specs


def specs() -> tuple[NetworkSpec, ...]:
    """Every network's spec, in the order people see them (columns, legends, emulator ports)."""
    return tuple(_load().values())


def names() -> tuple[str, ...]:
    return tuple(_load())


def spec(network: str) -> NetworkSpec:
    """The spec of ``network`` (``KeyError`` for a name no package declares)."""
    return _load()[network]


def find(network: str) -> NetworkSpec | None:
    return _load().get(network)


def register(new: NetworkSpec) -> None:
    """Add a network that is not in :data:`PACKAGES` (the test suite's fake network)."""
    _load()[new.name] = new


def unregister(network: str) -> None:
    _load().pop(network, None)


def label(network: str) -> str:
    """How a person names the network ("VK", "Telegram"); an unknown name as it is."""
    found = find(network)
    return found.label if found else network


_CODE_IN_TEXT = re.compile(r"^[\w.-]+(?: [\w./-]+)? \[([^\]]{1,50})\]: ")


def explain_error(network: str, code: object, raw: str) -> Advice:
    """A stored network error (its code and raw answer) as advice for a person (``networks/advice.py``); an
    unknown network gets the general rules only."""
    found = find(network)
    text = str(raw or "")
    if not code:  # a stored ``str(NetworkError)``: "vk wall.post [214]: …"
        match = _CODE_IN_TEXT.match(text)
        code = match.group(1) if match else ""
    if found is None:
        return Advice(general_advice(str(code or ""), text) or Kind.UNKNOWN, text)
    return Advice(found.connector_class().error_advice(str(code or ""), text), text)


def person_label(network: str, person_id: str) -> str:
    """A reader without a name, as the network would have staff call them («Читатель VK 990011»)."""
    found = find(network)
    if found is None:
        return person_id
    return found.connector_class().person_label(person_id, found.short)


def short_label(network: str) -> str:
    found = find(network)
    return found.short if found else network.upper()


def colour(network: str, default: str = "#55606c") -> str:
    found = find(network)
    return found.colour if found else default


def position(network: str) -> int:
    """The network's place in the order people see (an unknown name last)."""
    order = names()
    return order.index(network) if network in order else len(order)


def polled() -> tuple[str, ...]:
    """The networks whose pages without a webhook fetch their updates."""
    return tuple(s.name for s in specs() if s.polled)


class SpecField(Mapping[str, T]):
    """``{network: one field of its spec}``, read from the specs at each use."""

    def __init__(self, read: Callable[[NetworkSpec], T]) -> None:
        self._read = read

    def __getitem__(self, network: str) -> T:
        return self._read(spec(network))

    def __iter__(self) -> Iterator[str]:
        return iter(names())

    def __len__(self) -> int:
        return len(names())


CONNECTORS: Mapping[str, str] = SpecField(lambda s: s.connector)
BASE_URL_SETTINGS: Mapping[str, str] = SpecField(lambda s: s.url_setting)
HOSTS: Mapping[str, str] = SpecField(lambda s: s.hosts)


class NetworkHosts(Protocol):
    """A network's ``hosts.py``: where its API and its media live (``networks/egress.py`` applies them)."""

    API_HOSTS: frozenset[str]
    MEDIA_DOMAINS: tuple[str, ...]
    MEDIA_PATH_PREFIXES: tuple[str, ...]

    def picture_source(self, kind: str, body: dict[str, Any]) -> str: ...


def network_hosts(network: str) -> NetworkHosts:
    return cast(NetworkHosts, spec(network).hosts_module())


def picture_source(network: str, kind: str, body: dict[str, Any]) -> str:
    """The direct address of a reader's picture attachment, where the network gives one ("" otherwise)."""
    if network not in HOSTS or not isinstance(body, dict):
        return ""
    return network_hosts(network).picture_source(kind, body)


def connector_class(network: str) -> type[Connector]:
    return spec(network).connector_class()

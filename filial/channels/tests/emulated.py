"""Pages on the network emulators served over real HTTP, for the "connect a page" tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from emulators.base import EmulatorApp, ServedEmulator
from emulators.hosting import make_emulator
from filial.channels.services import CREDENTIAL_KEYS
from filial.networks.hosting import API_PATHS
from filial.networks.tests.helpers import served

# What each network's page looks like in its emulator (keyword arguments of the emulator's seed()).
SEEDS: dict[str, dict[str, Any]] = {
    "vk": {"group_id": 100004, "name": "Библиотека-филиал № 4 ВКонтакте", "screen_name": "filial4_vk",
           "members": 119},
    "ok": {"gid": "57000000000044", "name": "Библиотека-филиал № 4 в ОК", "members": 381},
    "telegram": {"title": "Филиал № 4 — библиотека рядом", "username": "filial4_library", "members": 90,
                 "chat_id": -1002218450999},
    "max": {"title": "Филиал № 4 в MAX", "chat_id": -70000000000444, "members": 40,
            "link": "https://max.ru/filial4"},
}
AUDIENCE = {"vk": 120, "ok": 381, "telegram": 90, "max": 42}  # MAX counts the owner and the bot too


@dataclass
class Page:
    network: str
    app: EmulatorApp
    server: ServedEmulator
    external_id: str
    credentials: dict[str, Any]
    seeded: dict[str, Any]

    @property
    def api_url(self) -> str:
        return self.server.url + API_PATHS[self.network]

    @property
    def name(self) -> str:
        seed = SEEDS[self.network]
        return str(seed.get("name") or seed.get("title"))

    def body(self, unit: int, **overrides: Any) -> dict[str, Any]:
        """A POST /api/v1/channels/ body that connects this page through its emulator."""
        return {"unit": unit, "network": self.network, "external_id": self.external_id,
                "credentials": dict(self.credentials), "api_base_url": self.api_url, **overrides}

    def simulate(self, action: str, **data: Any) -> Any:
        with self.app.lock:
            return getattr(self.app, "simulate")(action, data)  # noqa: B009


def page_of(network: str, app: EmulatorApp, **seed: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    seeded: dict[str, Any] = getattr(app, "seed")(**{**SEEDS[network], **seed})  # noqa: B009
    if network in ("vk", "ok"):
        credentials = {k: v for k, v in seeded["credentials"].items() if k in CREDENTIAL_KEYS[network]}
        return str(seeded["external_id"]), credentials, seeded
    return str(seeded["chat_id"]), {"bot_token": seeded["token"]}, seeded


@contextmanager
def emulated(network: str, **seed: Any) -> Iterator[Page]:
    app = make_emulator(network, None)
    app.fault_delay = 0.3
    with served(app) as server:
        external_id, credentials, seeded = page_of(network, app, **seed)
        yield Page(network, app, server, external_id, credentials, seeded)

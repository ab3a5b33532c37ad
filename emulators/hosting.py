"""The built-in network emulators served on loopback, each on its own port (``filial emulators``, ``filial run``).

Where they listen and the seed file are the product's (``filial.networks.hosting``); this module serves them. A
served emulator applies the seed entries it has not applied yet when it starts, whenever the file changes, and
after its state was reset; each entry is applied once (its digest is kept in the state), so a restart keeps what
was published.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulators.base import EmulatorApp, ServedEmulator
from filial.networks import registry
from filial.networks.hosting import API_PATHS, HOST, NETWORKS, emulator_port, read_seed, seed_path

EMULATOR_CLASSES = {spec.name: spec.emulator for spec in registry.specs() if spec.emulator}
SEEDED_KEY = "_seeded"  # digests of the seed entries already applied, kept in the emulator's state


def _digest(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def apply_seed(app: EmulatorApp, entries: Iterable[dict[str, Any]]) -> int:
    """Apply the entries this emulator has not applied yet (``app.seed(**entry)``); returns how many."""
    seed: Callable[..., Any] = getattr(app, "seed")  # noqa: B009 - every network's emulator has one
    applied = 0
    with app.lock:
        done: list[str] = app.state.setdefault(SEEDED_KEY, [])
        for entry in entries:
            digest = _digest(entry)
            if digest in done:
                continue
            seed(**entry)
            done.append(digest)
            applied += 1
        app.save()
    return applied


class _SeedWatcher:
    """WSGI wrapper: before each request, apply the seed file if it changed or the state was reset."""

    def __init__(self, app: EmulatorApp, network: str, path: Path) -> None:
        self.app, self.network, self.path = app, network, path
        self.seen: int | None = None
        self.lock = threading.Lock()

    def _mtime(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def refresh(self) -> int:
        with self.lock:
            mtime = self._mtime()
            if mtime == self.seen and SEEDED_KEY in self.app.state:
                return 0
            applied = apply_seed(self.app, read_seed(self.path).get(self.network, []))
            self.seen = mtime
            return applied

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.refresh()
        return self.app(environ, start_response)


# --- serving ---------------------------------------------------------------------------------------------
def make_emulator(network: str, state_file: Path | None) -> EmulatorApp:
    module_name, _, class_name = EMULATOR_CLASSES[network].rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    options: dict[str, Any] = {"state_file": state_file}
    if network == "max":
        options["deliver_webhooks"] = True  # subscriptions get their updates, as on the real network
    app = cls(**options)
    assert isinstance(app, EmulatorApp)
    return app


@dataclass
class Hosted:
    network: str
    app: EmulatorApp
    server: ServedEmulator
    watcher: _SeedWatcher

    @property
    def api_url(self) -> str:
        return self.server.url + API_PATHS[self.network]


@dataclass
class EmulatorHost:
    """Serve some of the emulators on loopback, each on its own port, state in ``directory``."""

    directory: Path
    port_base: int
    networks: tuple[str, ...] = NETWORKS
    hosted: list[Hosted] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def start(self) -> EmulatorHost:
        self.directory.mkdir(parents=True, exist_ok=True)
        for network in self.networks:
            port = emulator_port(network, self.port_base)
            try:
                app = make_emulator(network, self.directory / f"{network}.json")
                server = ServedEmulator(app, HOST, port)
            except (OSError, ValueError) as exc:
                self.failed[network] = f"{HOST}:{port}: {exc}"
                continue
            watcher = _SeedWatcher(app, network, seed_path(self.directory))
            watcher.refresh()
            server.server.set_app(watcher)
            self.hosted.append(Hosted(network, app, server.start(), watcher))
        return self

    def stop(self) -> None:
        for item in self.hosted:
            item.server.stop()
            with item.app.lock:
                item.app.save()
        self.hosted.clear()

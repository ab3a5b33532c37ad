"""The built-in emulators as ``filial emulators`` (and ``filial run``) serve them, and where pages find them.

Each network's emulator listens on loopback at ``FILIAL_EMULATOR_PORT_BASE`` + its offset (VK, OK, Telegram,
MAX: 8801..8804 by default) and keeps its state in ``FILIAL_DATA_DIR/emulators/<network>.json``.

Pages are put into an emulator by a seed description, ``seed.json`` in the same folder: ``{network: [keyword
arguments of that emulator's ``seed()``]}`` (the demo writes it). A served emulator applies the entries it has
not applied yet when it starts, whenever the file changes, and after its state was reset; each entry is applied
once (its digest is kept in the state), so a restart keeps what was published.

A base URL configured explicitly (``FILIAL_VK_API_URL``... in the environment, or a non-default setting) always
wins over the built-in emulator: the demo does not point such a network's pages at the emulator, and a page
that points at the built-in emulator's address is sent to the configured server instead.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from filial.networks import registry
from filial.networks.emulator_base import EmulatorApp, ServedEmulator
from filial.networks.registry import BASE_URL_SETTINGS

HOST = "127.0.0.1"
# Read from the networks' specs (``networks/<net>/__init__.py``): the networks with a built-in emulator, in the
# registry's order (their port offsets 0..3).
_EMULATED = tuple(spec for spec in registry.specs() if spec.emulator)
NETWORKS = tuple(spec.name for spec in _EMULATED)
LABELS = {spec.name: spec.label for spec in _EMULATED}
EMULATOR_CLASSES = {spec.name: spec.emulator for spec in _EMULATED}
API_PATHS = {spec.name: spec.emulator_api_path for spec in _EMULATED}
REAL_API_URLS = {spec.name: spec.real_api_url for spec in _EMULATED}
SEED_FILE = "seed.json"
SEEDED_KEY = "_seeded"  # digests of the seed entries already applied, kept in the emulator's state


# --- addresses -------------------------------------------------------------------------------------------
def emulator_port(network: str, port_base: int | None = None) -> int:
    base = settings.FILIAL_EMULATOR_PORT_BASE if port_base is None else port_base
    return int(base) + NETWORKS.index(network)


def emulator_url(network: str, port_base: int | None = None) -> str:
    """Where the built-in emulator of ``network`` listens (its control pages are under ``/_emulator/``)."""
    return f"http://{HOST}:{emulator_port(network, port_base)}"


def emulator_api_url(network: str, port_base: int | None = None) -> str:
    """The API base URL of the built-in emulator, as a connector takes it (VK ``…/method/``, OK ``…/fb.do``)."""
    return emulator_url(network, port_base) + API_PATHS[network]


def configured_elsewhere(network: str) -> bool:
    """True if the network's base URL was set explicitly (environment or settings): it wins over the emulator."""
    name = BASE_URL_SETTINGS[network]
    if os.environ.get(name, "").strip():
        return True
    return str(getattr(settings, name)) != REAL_API_URLS[network]


def is_builtin_emulator_url(network: str, url: str) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.hostname in {HOST, "localhost"} and port == emulator_port(network)


# --- seeding ---------------------------------------------------------------------------------------------
def state_dir() -> Path:
    return Path(settings.FILIAL_EMULATOR_DIR)


def seed_path(directory: Path | None = None) -> Path:
    return (directory or state_dir()) / SEED_FILE


def read_seed(path: Path) -> dict[str, list[dict[str, Any]]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        return {}  # a half-written or broken file: nothing to apply (the writer replaces it atomically)
    return {k: [e for e in v if isinstance(e, dict)] for k, v in data.items() if isinstance(v, list)} \
        if isinstance(data, dict) else {}


def write_seed(pages: dict[str, list[dict[str, Any]]], directory: Path | None = None) -> Path:
    """Replace the seed description (atomically); running emulators pick it up on their next request."""
    path = seed_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(pages, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
    os.chmod(tmp, 0o600)  # it holds the emulated pages' tokens
    tmp.replace(path)
    return path


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

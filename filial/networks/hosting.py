"""Where the built-in emulators listen, and the seed file that puts the demo's pages into them.

The emulators themselves are a development and demo tool outside this package (the repository's
``emulators/`` distribution: ``emulators.hosting`` serves them for ``filial emulators``). What the product needs
to know of them is here: each network's emulator listens on loopback at ``FILIAL_EMULATOR_PORT_BASE`` + its offset
(VK, OK, Telegram, MAX: 8801..8804 by default), keeps its state in ``FILIAL_DATA_DIR/emulators/<network>.json``,
and takes pages from a seed description, ``seed.json`` in the same folder: ``{network: [keyword arguments of that
emulator's ``seed()``]}`` (the demo writes it; a served emulator applies each entry once).

A base URL configured explicitly (``FILIAL_VK_API_URL``... in the environment, or a non-default setting) always
wins over the built-in emulator: the demo does not point such a network's pages at the emulator, and a page
that points at the built-in emulator's address is sent to the configured server instead.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from filial.networks import registry
from filial.networks.registry import BASE_URL_SETTINGS

HOST = "127.0.0.1"
# Read from the networks' specs (``networks/<net>/__init__.py``): the networks with a built-in emulator, in the
# registry's order (their port offsets 0..3).
_EMULATED = tuple(spec for spec in registry.specs() if spec.emulator)
NETWORKS = tuple(spec.name for spec in _EMULATED)
LABELS = {spec.name: spec.label for spec in _EMULATED}
API_PATHS = {spec.name: spec.emulator_api_path for spec in _EMULATED}
REAL_API_URLS = {spec.name: spec.real_api_url for spec in _EMULATED}
SEED_FILE = "seed.json"
# The emulators are a separate distribution (the repository's ``emulators/``), installed for the demo and tests.
EMULATORS_PACKAGE = "emulators.hosting"
INSTALL_HINT = ("the network emulators are not installed: run `pip install -e ./emulators` in Filial's repository "
                "(`make run` and `make test` do it)")


def emulators_installed() -> bool:
    """True if the emulators' distribution can be imported (``filial emulators`` and the demo need it)."""
    try:
        return importlib.util.find_spec(EMULATORS_PACKAGE) is not None
    except ModuleNotFoundError:
        return False


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

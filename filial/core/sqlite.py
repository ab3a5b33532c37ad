"""SQLite connection setup: Unicode-aware LOWER/UPPER (the built-ins fold ASCII letters only); the database
file and its -wal/-shm kept private (mode 0600)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from filial.core.private import private_file


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    name = str(connection.settings_dict.get("NAME") or "")
    if name and name != ":memory:" and not name.startswith("file:") and os.path.exists(name):
        private_file(Path(name))
    raw.create_function("LOWER", 1, _lower, deterministic=True)
    raw.create_function("UPPER", 1, _upper, deterministic=True)

"""SQLite connection setup: Unicode-aware LOWER/UPPER (the built-ins fold ASCII letters only)."""

from __future__ import annotations

from typing import Any


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.create_function("LOWER", 1, _lower, deterministic=True)
    raw.create_function("UPPER", 1, _upper, deterministic=True)

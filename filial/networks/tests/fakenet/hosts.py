"""Where FakeNet lives (nowhere: its connector keeps its wall in memory)."""

from __future__ import annotations

from typing import Any

API_HOSTS = frozenset({"api.fakenet.invalid"})
MEDIA_DOMAINS = ("media.fakenet.invalid",)
MEDIA_PATH_PREFIXES: tuple[str, ...] = ()


def picture_source(kind: str, body: dict[str, Any]) -> str:
    return str(body.get("url") or "") if kind == "picture" else ""

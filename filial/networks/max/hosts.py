"""Where MAX lives: the platform API hosts, and the hosts its attachments are served from (images at
i.oneme.ru/i?r=…, files at fd.oneme.ru, uploads at iu./fu.oneme.ru)."""

from __future__ import annotations

from typing import Any

API_HOSTS = frozenset({"platform-api2.max.ru", "platform-api.max.ru"})
MEDIA_DOMAINS = ("oneme.ru",)
MEDIA_PATH_PREFIXES: tuple[str, ...] = ()


def picture_source(kind: str, body: dict[str, Any]) -> str:
    """An image attachment's ``payload.url``."""
    return str(body.get("url") or "") if kind == "image" else ""

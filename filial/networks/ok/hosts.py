"""Where Odnoklassniki lives: its API host (``fb.do`` and the Bot API's ``/graph``) and its media CDN hosts
(i.mycdn.me, *.okcdn.ru). OK's message attachments carry no direct address Filial copies (metadata only)."""

from __future__ import annotations

from typing import Any

API_HOSTS = frozenset({"api.ok.ru"})
MEDIA_DOMAINS = ("mycdn.me", "okcdn.ru")
MEDIA_PATH_PREFIXES: tuple[str, ...] = ()


def picture_source(kind: str, body: dict[str, Any]) -> str:
    return ""

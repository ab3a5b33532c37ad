"""Where Telegram lives: the Bot API host, and its file downloads (``https://api.telegram.org/file/bot<token>/…``,
the only place a bot fetches a reader's file from). Updates carry file ids, not addresses, so no picture is
copied by address today (metadata only)."""

from __future__ import annotations

from typing import Any

API_HOSTS = frozenset({"api.telegram.org"})
MEDIA_DOMAINS = ("api.telegram.org",)
MEDIA_PATH_PREFIXES = ("/file/bot",)


def picture_source(kind: str, body: dict[str, Any]) -> str:
    return ""

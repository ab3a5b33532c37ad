"""Where VK lives: its API hosts (a page's API address may name only these, see ``networks/egress.py``) and the
hosts readers' photos are served from (the inbox copies pictures only from these)."""

from __future__ import annotations

from typing import Any

API_HOSTS = frozenset({"api.vk.ru", "api.vk.com"})
# Photo sizes in messages and comments: sun9-NN.userapi.com, pp.userapi.com, sun9-NN.vkuserphoto.ru, the CDN's
# *.vk-cdn.net / *.vkuser.net, and *.vk.me. A host matches a domain or any of its sub-domains.
MEDIA_DOMAINS = ("userapi.com", "vkuserphoto.ru", "vk-cdn.net", "vkuser.net", "vk.me")
MEDIA_PATH_PREFIXES: tuple[str, ...] = ()


def picture_source(kind: str, body: dict[str, Any]) -> str:
    """The direct address of a photo attachment: its largest size up to 1280 px wide."""
    if kind != "photo":
        return ""
    sizes = [s for s in body.get("sizes") or [] if isinstance(s, dict) and s.get("url")]
    if not sizes:
        return ""
    small = [s for s in sizes if int(s.get("width") or 0) <= 1280] or sizes
    return str(max(small, key=lambda s: int(s.get("width") or 0))["url"])

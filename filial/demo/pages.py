"""The demo's pages on the built-in network emulators.

Every demo page with an id on its network gets credentials of its own (fresh random tokens at each load)
and a seed entry that puts the same page, with the same tokens, name and audience, into that network's
emulator (``filial emulators`` reads the seed file the demo writes). The page's ``api_base_url`` is the
emulator's address, so publishing from the demo runs the real connector code against a local server; a
network whose API address is configured explicitly keeps its pages on that address instead.
"""

from __future__ import annotations

import secrets
import string
from typing import Any
from urllib.parse import urlsplit

from filial.demo.data import ChannelSpec
from filial.networks import hosting

ADMIN_FIRST_NAME, ADMIN_LAST_NAME = "Ольга", "Смирнова"  # the demo's administrator (data.DEMO_USERS)
VK_CLIENT_ID = "51845010"  # the demo's VK ID application
VK_ADMIN_ID = 184501


def _tail(url: str) -> str:
    """The last path segment of a page link ("https://vk.com/mednogorsk_cgb" → "mednogorsk_cgb")."""
    return urlsplit(url).path.rstrip("/").rpartition("/")[2]


def _upper(n: int) -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(n))


class DemoPages:
    """Credentials and emulator seed entries for the demo's pages, made once per demo load."""

    def __init__(self) -> None:
        # One OK application for the whole library system, as a real installation would register.
        self.ok_application_key = "CBA" + _upper(13)
        self.ok_application_secret = secrets.token_hex(16).upper()
        self.telegram_bots = 0
        self.seed: dict[str, list[dict[str, Any]]] = {}

    def page(self, spec: ChannelSpec) -> tuple[dict[str, Any], str]:
        """``(credentials, api_base_url)`` for one demo page (``({}, "")`` for a page without an id)."""
        if not spec.external_id:
            return {}, ""
        maker = getattr(self, f"_{spec.network}")
        credentials, entry = maker(spec)
        self.seed.setdefault(spec.network, []).append(entry)
        api_base_url = "" if hosting.configured_elsewhere(spec.network) else hosting.emulator_api_url(spec.network)
        return credentials, api_base_url

    def write(self) -> None:
        hosting.write_seed(self.seed)

    # --- one maker per network: (credentials stored on the page, keyword arguments of the emulator's seed) ---
    def _vk(self, spec: ChannelSpec) -> tuple[dict[str, Any], dict[str, Any]]:
        credentials = {
            "access_token": "vk1.a." + secrets.token_urlsafe(48),
            "refresh_token": "vk1.r." + secrets.token_urlsafe(40),
            "client_id": VK_CLIENT_ID,
            "device_id": secrets.token_urlsafe(12),
            "community_token": "vk1.g." + secrets.token_urlsafe(48),
        }
        entry = {
            "group_id": int(spec.external_id), "name": spec.name, "screen_name": _tail(spec.url),
            "members": max(0, spec.audience_now - 1),  # the admin is a member too
            "admin_id": VK_ADMIN_ID, "admin_first_name": ADMIN_FIRST_NAME, "admin_last_name": ADMIN_LAST_NAME,
            "user_token": credentials["access_token"], "community_token": credentials["community_token"],
            "refresh_token": credentials["refresh_token"], "client_id": VK_CLIENT_ID,
            "device_id": credentials["device_id"], "expires_in": None,
        }
        return credentials, entry

    def _ok(self, spec: ChannelSpec) -> tuple[dict[str, Any], dict[str, Any]]:
        credentials = {
            "application_key": self.ok_application_key,
            "application_secret_key": self.ok_application_secret,
            "access_token": "tkn1" + secrets.token_urlsafe(40),
            "bot_token": "tkn1" + secrets.token_urlsafe(40),
        }
        entry = {
            "gid": spec.external_id, "name": spec.name, "members": spec.audience_now,
            "application_key": self.ok_application_key, "application_secret_key": self.ok_application_secret,
            "access_token": credentials["access_token"], "bot_token": credentials["bot_token"],
            "admin_name": f"{ADMIN_FIRST_NAME} {ADMIN_LAST_NAME}",
        }
        return credentials, entry

    def _telegram(self, spec: ChannelSpec) -> tuple[dict[str, Any], dict[str, Any]]:
        self.telegram_bots += 1
        username = _tail(spec.url) or None
        token = f"{7184501000 + self.telegram_bots}:AA{secrets.token_urlsafe(33)[:33]}"
        entry = {
            "token": token, "bot_username": f"{(username or 'filial')[:24]}_bot", "title": spec.name,
            "username": username, "members": spec.audience_now, "chat_id": int(spec.external_id),
            "discussion": True,
        }
        return {"bot_token": token}, entry

    def _max(self, spec: ChannelSpec) -> tuple[dict[str, Any], dict[str, Any]]:
        token = secrets.token_urlsafe(32)
        chat_id = int(spec.external_id)
        entry = {
            "token": token, "chat_id": chat_id, "title": spec.name, "chat_type": "channel",
            "link": spec.url or None, "members": max(0, spec.audience_now - 2),  # the owner and the bot count too
            "bot_name": "Filial", "bot_username": f"filial_{abs(chat_id)}_bot",
        }
        return {"bot_token": token}, entry

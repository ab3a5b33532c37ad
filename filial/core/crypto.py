"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with key rotation.

Keys come from ``FILIAL_ENCRYPTION_KEYS`` (comma-separated; the first encrypts, all decrypt) or, on the
embedded default, from ``<data dir>/encryption.key`` created once with mode 0600.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with any configured key."""


def _key_file_keys() -> list[bytes]:
    path = settings.DATA_DIR / "encryption.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return [path.read_bytes().strip()]


@cache
def _fernet() -> MultiFernet:
    configured = [k.strip().encode() for k in settings.FILIAL_ENCRYPTION_KEYS.split(",") if k.strip()]
    keys = configured or _key_file_keys()
    return MultiFernet([Fernet(k) for k in keys])


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    """Settings overridden at run time (tests, key rotation) take effect at once."""
    if setting in {"FILIAL_ENCRYPTION_KEYS", "DATA_DIR"}:
        _fernet.cache_clear()


def encrypt_json(data: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretUnreadable("credentials cannot be decrypted with the configured keys") from exc


def mask(value: str) -> str:
    """Show a secret as its last four characters only."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) > 8 else "••••"

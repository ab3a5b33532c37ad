"""What ``filial run``, ``filial web`` and ``filial worker`` say at start about an unsafe configuration (also a
Django system check, ``filial check``)."""

from __future__ import annotations

from typing import Any, TextIO

from django.conf import settings
from django.core import checks

ENCRYPTION_KEY_CHECK_ID = "filial.W001"


def encryption_key_warning() -> str | None:
    """Without FILIAL_ENCRYPTION_KEYS the key that encrypts the stored secrets lies in the data folder itself."""
    if str(settings.FILIAL_ENCRYPTION_KEYS or "").strip():
        return None
    path = settings.DATA_DIR / "encryption.key"
    return (f"FILIAL_ENCRYPTION_KEYS is not set: the key that encrypts the pages' and library systems' secrets is "
            f"kept in {path}, beside the data it protects. Anyone with a copy of the data folder (a backup, a "
            f"stolen disk) can read every secret. Set FILIAL_ENCRYPTION_KEYS (README, Configuration) and keep the "
            f"key somewhere else.")


def warn_at_start(stream: TextIO | Any) -> None:
    message = encryption_key_warning()
    if message:
        stream.write(f"\n{'!' * 100}\nWARNING: {message}\n{'!' * 100}\n\n")
        stream.flush()


@checks.register(checks.Tags.security, deploy=False)
def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    message = encryption_key_warning()
    if not message:
        return []
    return [checks.Warning(message, hint="Set FILIAL_ENCRYPTION_KEYS to one or more Fernet keys kept outside the "
                                         "data folder.", id=ENCRYPTION_KEY_CHECK_ID)]

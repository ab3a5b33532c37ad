"""API tokens: issued for a username and password (``/api/v1/auth/token/``), sent as ``Authorization: Token <key>``.

The key (40 hex characters, 160 random bits) is shown once; the database keeps only its SHA-256 digest, so a copy
of the database or a backup gives no working key. A token ends ``FILIAL_API_TOKEN_DAYS`` after it was issued, when
its user's password changes (by any path: the token remembers a digest of the password hash it was issued under)
and when the user is deactivated. Issuing, revoking: filial/accounts/services.py; checking:
``authentication.ApiTokenAuthentication``.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone
from django.utils.crypto import constant_time_compare

KEY_BYTES = 20


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def password_mark(password_hash: str) -> str:
    """Changes whenever the user's password (hash) changes; reveals nothing the hash itself does not."""
    return hashlib.sha256(f"filial-api-token:{password_hash}".encode()).hexdigest()


def token_valid(token: Any, now: Any = None) -> bool:
    user = token.user
    return (token.expires_at > (now or timezone.now()) and user.is_active
            and constant_time_compare(token.password_mark, password_mark(user.password)))


"""VK ID (OAuth 2.1) refresh of the admin's user token.

``POST https://id.vk.ru/oauth2/auth`` (form-encoded) with ``grant_type=refresh_token``, ``refresh_token``,
``client_id``, ``device_id`` and ``state`` answers ``{"access_token", "refresh_token", "token_type",
"expires_in", "user_id", "state", "scope"}`` or ``{"error", "error_description"}`` (VK ID "API methods
reference", id.vk.com/about/business/go/docs). The refresh token rotates: the new one replaces the old one,
which stops working — so the caller MUST persist the returned credentials before doing anything else.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from filial.networks.http import http_client
from filial.networks.vk.client import VKError

DEFAULT_OAUTH_URL = "https://id.vk.ru/oauth2/auth"
VK_API_HOSTS = frozenset({"api.vk.ru", "api.vk.com"})
# OAuth errors after which only a person can help (RFC 6749 §5.2 plus VK ID's own).
REAUTH_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "access_denied",
                           "invalid_scope", "invalid_token"})
TRANSIENT_ERRORS = frozenset({"server_error", "temporarily_unavailable", "slow_down"})


@dataclass(frozen=True)
class Refreshed:
    credentials: dict[str, Any]  # the whole credentials dict to store (client_id, device_id... kept)
    expires_at: datetime


def oauth_url_for(api_base_url: str) -> str:
    """Where VK ID lives for a given API address.

    An explicitly configured ``FILIAL_VK_OAUTH_URL`` (environment or Django setting) wins; the real VK API
    pairs with id.vk.ru; any other API address (an emulator or a test double) serves VK ID on its own origin.
    """
    configured = os.environ.get("FILIAL_VK_OAUTH_URL", "")
    if not configured:
        try:
            from django.conf import settings

            if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
                configured = str(settings.FILIAL_VK_OAUTH_URL or "")
        except ImportError:  # pragma: no cover - Django is always installed in this project
            configured = ""
    if configured and configured != DEFAULT_OAUTH_URL:
        return configured
    parts = urlsplit(api_base_url)
    if not parts.hostname or parts.hostname in VK_API_HOSTS:
        return configured or DEFAULT_OAUTH_URL
    return f"{parts.scheme}://{parts.netloc}/oauth2/auth"


def expires_at_of(credentials: Mapping[str, Any]) -> datetime | None:
    """``credentials["expires_at"]`` as an aware datetime (unix seconds or ISO 8601 accepted)."""
    value = credentials.get("expires_at")
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError):
        pass
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def can_refresh(credentials: Mapping[str, Any]) -> bool:
    return all(credentials.get(name) for name in ("refresh_token", "client_id", "device_id"))


def _error(message: str, *, code: str | int, needs_reauth: bool = False, retry_after: float | None = None,
           permanent: bool = False) -> VKError:
    return VKError(message, code=code, method="oauth2.auth", needs_reauth=needs_reauth, retry_after=retry_after,
                   permanent=permanent, request={"method": "oauth2.auth", "params": {"grant_type": "refresh_token"}})


def refresh_user_token(credentials: Mapping[str, Any], *, oauth_url: str = DEFAULT_OAUTH_URL,
                       transport: httpx.BaseTransport | None = None, timeout: float = 20.0) -> Refreshed:
    """Exchange the refresh token for a new access + refresh token pair.

    Returns the new credentials (everything else in ``credentials`` kept) and the access token's expiry.
    Raises :class:`VKError` with ``needs_reauth`` when the refresh token is no longer accepted.
    """
    missing = [name for name in ("refresh_token", "client_id", "device_id") if not credentials.get(name)]
    if missing:
        raise _error(f"cannot refresh the VK user token: {', '.join(missing)} missing; re-authorise the page",
                     code="no_refresh_token", needs_reauth=True)
    state = secrets.token_urlsafe(32)
    form = {"grant_type": "refresh_token", "refresh_token": str(credentials["refresh_token"]),
            "client_id": str(credentials["client_id"]), "device_id": str(credentials["device_id"]), "state": state}
    try:
        with http_client(timeout=timeout, transport=transport) as http:
            response = http.post(oauth_url, data=form)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise _error(f"could not connect to VK ID ({type(exc).__name__})", code=type(exc).__name__) from exc
    except httpx.HTTPError as exc:
        # The old refresh token may already be spent; a repeat may fail with invalid_grant (then re-authorise).
        raise _error(f"no answer from VK ID ({type(exc).__name__})", code=type(exc).__name__) from exc
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise _error(f"VK ID answered HTTP {response.status_code} without JSON", code=response.status_code,
                     permanent=400 <= response.status_code < 500)
    if "error" in payload:
        code = str(payload.get("error"))
        text = str(payload.get("error_description") or code)
        if code in REAUTH_ERRORS:
            raise _error(f"VK ID refused the refresh token ({code}: {text}); re-authorise the page", code=code,
                         needs_reauth=True)
        if code in TRANSIENT_ERRORS or response.status_code >= 500:
            raise _error(f"VK ID is unavailable ({code}: {text})", code=code,
                         retry_after=30.0 if code == "slow_down" else None)
        raise _error(f"VK ID refused the request ({code}: {text})", code=code, permanent=True)
    if response.status_code >= 400 or not payload.get("access_token") or not payload.get("refresh_token"):
        raise _error(f"VK ID answered HTTP {response.status_code} without tokens", code=response.status_code,
                     permanent=response.status_code < 500)
    if payload.get("state") != state:
        raise _error("VK ID answered with a different state; the answer was ignored", code="state_mismatch",
                     permanent=True)
    expires_in = int(payload.get("expires_in") or 3600)
    expires_at = datetime.fromtimestamp(int(time.time()) + expires_in, tz=UTC)
    new = dict(credentials)
    new.update(access_token=payload["access_token"], refresh_token=payload["refresh_token"],
               expires_at=int(expires_at.timestamp()))
    if payload.get("user_id"):
        new["user_id"] = payload["user_id"]
    return Refreshed(credentials=new, expires_at=expires_at)

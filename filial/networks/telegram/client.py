"""The Telegram Bot API over HTTP (httpx).

Protocol facts (https://core.telegram.org/bots/api#making-requests and the official server,
github.com/tdlib/telegram-bot-api ``Client.cpp`` / ``ClientManager.cpp``):

- every call is ``<base>/bot<token>/<method>``; parameters go as JSON, or as multipart/form-data when a file is
  uploaded (then nested objects and arrays are JSON-serialised strings, booleans ``true``/``false``);
- the answer is ``{"ok": true, "result": ..., "description"?}`` or
  ``{"ok": false, "error_code", "description", "parameters"?: {"retry_after", "migrate_to_chat_id"}}``;
- 400 Bad Request (invalid parameter), 401 Unauthorized (token revoked or malformed), 403 Forbidden (bot kicked
  from the chat / blocked by the user / not started), 404 Not Found (unknown method), 409 Conflict (getUpdates
  while a webhook is active, or two pollers), 429 Too Many Requests with ``parameters.retry_after``, 5xx.

The bot token is part of the URL: it never appears in an error message, a request summary or a log line (a
filter on the ``httpx`` logger redacts it from httpx's own request log).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from filial.networks.base import NetworkError
from filial.networks.client_base import redact_in_logs, sent_then_failed
from filial.networks.http import http_client

logger = logging.getLogger(__name__)

NETWORK = "telegram"
DEFAULT_BASE_URL = "https://api.telegram.org"
# Methods that change nothing: a timeout on them is simply transient, never "outcome unknown".
READ_METHODS = frozenset({
    "getMe", "getChat", "getChatMember", "getChatMemberCount", "getChatAdministrators", "getUpdates",
    "getWebhookInfo", "getFile",
})
SECRET_PARAMS = frozenset({"secret_token"})
TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
_URL_TOKEN_RE = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
_RETRY_AFTER_RE = re.compile(r"retry after (\d+)", re.IGNORECASE)


def redact(text: str, token: str = "") -> str:
    """``text`` without a bot token (the given one, and anything shaped like ``/bot<id>:<secret>``)."""
    if token:
        text = text.replace(token, "<token>")
    return _URL_TOKEN_RE.sub("/bot<token>", text)


def _redact_url_token(text: str) -> str:
    return redact(text)


redact_in_logs(_redact_url_token)


class TelegramAPIError(NetworkError):
    """A ``NetworkError`` with Telegram's own description, ``parameters`` and a token-free request summary."""

    def __init__(self, message: str, *, description: str = "", parameters: dict[str, Any] | None = None,
                 request: dict[str, Any] | None = None, http_status: int | None = None, **flags: Any) -> None:
        super().__init__(message, network=NETWORK, **flags)
        self.description = description or message
        self.parameters = parameters or {}
        self.request = request or {}
        self.http_status = http_status


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request: ``field`` is the form field (``photo``, or the ``attach://`` name)."""

    field: str
    filename: str
    content: bytes
    content_type: str = "image/jpeg"


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _short(value: Any, limit: int = 200) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"... ({len(value)} chars)"
    if isinstance(value, list):
        return [_short(v, limit) for v in value[:20]]
    if isinstance(value, dict):
        return {k: ("<redacted>" if k in SECRET_PARAMS else _short(v, limit)) for k, v in value.items()}
    return value


def request_summary(method: str, params: dict[str, Any] | None, files: Sequence[Upload] = ()) -> dict[str, Any]:
    """What was asked, for logs and ``Attempt`` rows: no token, no secrets, long texts shortened."""
    summary: dict[str, Any] = {"method": method, "params": _short(dict(params or {}))}
    if files:
        summary["files"] = [f"{f.field}={f.filename} ({len(f.content)} bytes, {f.content_type})" for f in files]
    return summary


class TelegramClient:
    """One bot token against one Bot API server (``https://api.telegram.org`` or a self-hosted one)."""

    def __init__(self, token: str, *, base_url: str = DEFAULT_BASE_URL,
                 transport: httpx.BaseTransport | None = None, timeout: float = 20.0) -> None:
        self._token = token.strip()
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self._http = http_client(base_url=f"{self.base_url}/bot{self._token}/", timeout=timeout,
                                  transport=transport, headers={"User-Agent": "Filial/telegram"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TelegramClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the one call --------------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *, files: Sequence[Upload] = (),
             forbidden: str = "reauth", timeout: float | None = None) -> Any:
        """Call ``method``; return its ``result`` or raise :class:`TelegramAPIError`.

        ``forbidden`` says what a 403 means here: ``"reauth"`` (the bot lost its place in the page's channel or
        group: a human must fix it) or ``"user"`` (a person blocked the bot or never started it: permanent for
        that message only).
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        summary = request_summary(method, params, files)
        write = method not in READ_METHODS
        started = time.monotonic()
        try:
            if files:
                data = {k: _form_value(v) for k, v in params.items()}
                multipart = [(f.field, (f.filename, f.content, f.content_type)) for f in files]
                response = self._http.post(method, data=data, files=multipart,
                                           timeout=timeout if timeout is not None else self.timeout)
            else:
                response = self._http.post(method, json=params,
                                           timeout=timeout if timeout is not None else self.timeout)
        except httpx.HTTPError as exc:  # the outcome is unknown only for a write that left before it failed
            raise self._transport_error(method, summary, exc, unknown=write and sent_then_failed(exc)) from None
        elapsed = (time.monotonic() - started) * 1000
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("ok") is True:
            logger.debug("telegram %s ok in %.0f ms", method, elapsed)
            return payload.get("result")
        logger.info("telegram %s failed with HTTP %s in %.0f ms", method, response.status_code, elapsed)
        raise self._api_error(method, summary, response.status_code, payload, forbidden=forbidden, write=write)

    # --- error mapping --------------------------------------------------------------------------------------
    def _transport_error(self, method: str, summary: dict[str, Any], exc: Exception, *,
                         unknown: bool) -> TelegramAPIError:
        kind = type(exc).__name__
        detail = redact(str(exc), self._token) or kind
        if unknown:
            message = (f"no answer after the request was sent ({kind}: {detail}); it may have been applied: "
                       "check before repeating")
        else:
            message = f"could not reach the Bot API server ({kind}: {detail})"
        return TelegramAPIError(message, code=kind, method=method, request=summary, outcome_unknown=unknown)

    def _api_error(self, method: str, summary: dict[str, Any], status: int, payload: Any, *, forbidden: str,
                   write: bool) -> TelegramAPIError:
        parameters: dict[str, Any] = {}
        code: int = status
        description = f"HTTP {status} without a Bot API answer"
        if isinstance(payload, dict):
            if isinstance(payload.get("error_code"), int):
                code = payload["error_code"]
            description = redact(str(payload.get("description") or f"HTTP {status}"), self._token)
            if isinstance(payload.get("parameters"), dict):
                parameters = payload["parameters"]
        common: dict[str, Any] = {"description": description, "parameters": parameters, "request": summary,
                                  "http_status": status, "code": code, "method": method}
        retry_after = parameters.get("retry_after")
        if code == 429 or retry_after is not None:
            if not isinstance(retry_after, int | float):
                match = _RETRY_AFTER_RE.search(description)
                retry_after = int(match.group(1)) if match else 1
            return TelegramAPIError(f"{description} (flood control: wait {retry_after} s)",
                                    retry_after=float(retry_after), **common)
        if code == 401:
            return TelegramAPIError(f"{description}: the bot token was revoked or is wrong; "
                                    "issue a new one with @BotFather and reconnect the page",
                                    needs_reauth=True, **common)
        if code == 403:
            if forbidden == "user":
                return TelegramAPIError(f"{description} (the person must start the bot and not block it)",
                                        permanent=True, **common)
            return TelegramAPIError(f"{description}: the bot must be an administrator of the page's chat",
                                    needs_reauth=True, **common)
        if code == 409:
            if "webhook" in description:
                return TelegramAPIError(f"{description} (updates arrive through the webhook)", permanent=True,
                                        **common)
            return TelegramAPIError(description, retry_after=1.0, **common)
        if "migrate_to_chat_id" in parameters:
            return TelegramAPIError(f"{description}: the group became a supergroup with id "
                                    f"{parameters['migrate_to_chat_id']}; update the page's chat id",
                                    permanent=True, **common)
        if status >= 500 or code >= 500:
            return TelegramAPIError(f"Bot API server error: {description}", outcome_unknown=write and status == 504,
                                    **common)
        if code == 404:
            return TelegramAPIError(f"{description} (unknown method or wrong Bot API address)", permanent=True,
                                    **common)
        return TelegramAPIError(description, permanent=True, **common)

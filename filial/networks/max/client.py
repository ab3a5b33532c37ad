"""The MAX Bot API protocol (OpenAPI 0.0.32, https://dev.max.ru/docs-api) over httpx.

Facts this module relies on (from the official OpenAPI schema and dev.max.ru):

- base ``https://platform-api2.max.ru``; the bot token goes in the ``Authorization`` header, never in the
  query (query tokens are no longer accepted);
- JSON in and out; an error is an HTTP status with ``{"code": "...", "message": "..."}``
  (400 invalid request, 401 authentication, 403 no rights, 404 not found, 405 not allowed, 429 too many
  requests, 500/503 server side);
- uploads: ``POST /uploads?type=image`` gives an upload ``url``; the file is then posted to that url as
  multipart field ``data`` and the answer (``{"photos": {...}}`` or ``{"token": ...}``) becomes the
  attachment payload; a message sent right after an upload may get ``400 attachment.not.ready``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from filial.networks.base import NetworkError, Photo
from filial.networks.client_base import sent_then_failed
from filial.networks.http import http_client

NETWORK = "max"
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_RETRY_AFTER = 1.0  # MAX allows 30 requests per second; one second clears the window
USER_AGENT = "filial-max/0.1"


def _summary(verb: str, path: str, params: Mapping[str, Any] | None) -> str:
    """``POST /messages chat_id=-70…`` for logs: never the token (it only travels in a header)."""
    if not params:
        return f"{verb} {path}"
    shown = " ".join(f"{k}={v}" for k, v in params.items() if k.lower() not in {"access_token", "sig", "secret"})
    return f"{verb} {path} {shown}".rstrip()


def _retry_after(response: httpx.Response) -> float:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


class MaxClient:
    """One bot token. Every call returns the decoded JSON answer or raises ``NetworkError``."""

    def __init__(self, token: str, *, base_url: str, timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not token:
            raise NetworkError("the page has no MAX bot token", network=NETWORK, code="verify.token",
                               needs_reauth=True, method="(local)")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = http_client(base_url=self.base_url, timeout=timeout, transport=transport,
                                  headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MaxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the transport ----------------------------------------------------------------------------------
    def call(self, operation: str, verb: str, path: str, *, params: Mapping[str, Any] | None = None,
             body: Any = None, idempotent: bool | None = None) -> Any:
        """One API request. ``operation`` is the OpenAPI operationId (kept on errors for logs)."""
        clean = {k: self._param(v) for k, v in (params or {}).items() if v is not None}
        summary = _summary(verb, path, clean)
        headers = {"Authorization": self._token}
        content: bytes | None = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        safe = idempotent if idempotent is not None else verb not in WRITE_VERBS
        try:
            response = self._http.request(verb, path, params=clean, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, operation, summary, safe) from None
        return self._decode(response, operation, summary)

    def upload_file(self, upload_url: str, photo: Photo) -> Any:
        """Send the file to the upload url ``POST /uploads`` gave, as multipart field ``data``."""
        parts = urlsplit(upload_url)
        summary = f"POST {parts.scheme}://{parts.netloc}{parts.path}"  # the query is a signature: not logged
        files = {"data": (photo.filename or "photo.jpg", photo.content, photo.content_type or "image/jpeg")}
        try:
            # The url is used as the network returned it; it is signed, so the bot token is not sent there.
            response = self._http.post(upload_url, files=files)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, "upload", summary, True) from None
        return self._decode(response, "upload", summary)

    @staticmethod
    def _param(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list | tuple | set):
            return ",".join(str(v) for v in value)  # OpenAPI style "simple": comma-separated
        return str(value)

    @staticmethod
    def _transport_error(exc: httpx.HTTPError, operation: str, summary: str, safe: bool) -> NetworkError:
        sent = sent_then_failed(exc)
        unknown = sent and not safe
        if isinstance(exc, httpx.TimeoutException):
            what = "no answer in time" if sent else "could not connect in time"
        else:
            what = f"connection failed ({type(exc).__name__})"
        if unknown:
            what += "; the request may have been applied"
        error = NetworkError(what, network=NETWORK, code="network", outcome_unknown=unknown, method=operation)
        error.request = summary  # type: ignore[attr-defined]
        return error

    @staticmethod
    def _decode(response: httpx.Response, operation: str, summary: str) -> Any:
        try:
            data = response.json() if response.content else None
        except ValueError:
            data = None
        if 200 <= response.status_code < 300:
            if data is None and response.content:
                error = NetworkError("the answer is not JSON", network=NETWORK, code=response.status_code,
                                     method=operation)
                error.request = summary  # type: ignore[attr-defined]
                raise error
            return data if data is not None else {}
        raise MaxClient.error_from(response.status_code, data, response, operation, summary)

    @staticmethod
    def error_from(status: int, data: Any, response: httpx.Response | None, operation: str,
                   summary: str) -> NetworkError:
        code = str(data.get("code") or data.get("error") or status) if isinstance(data, dict) else str(status)
        message = str(data.get("message") or "") if isinstance(data, dict) else ""
        message = message or f"HTTP {status}"
        kwargs: dict[str, Any] = {}
        if status == 401:
            kwargs["needs_reauth"] = True  # token missing, wrong, revoked
        elif status == 403:
            kwargs["needs_reauth"] = True  # the bot lacks rights in that chat (re-add it as an admin)
        elif status == 429:
            kwargs["retry_after"] = _retry_after(response) if response is not None else DEFAULT_RETRY_AFTER
        elif status == 400 and code == "attachment.not.ready":
            kwargs["retry_after"] = 0.5  # the uploaded file is still being processed: try again shortly
        elif 400 <= status < 500:
            kwargs["permanent"] = True  # invalid parameter, unknown object, method not allowed
        # 5xx and anything else: transient
        error = NetworkError(message, network=NETWORK, code=code, method=operation, **kwargs)
        error.request = summary  # type: ignore[attr-defined]
        error.status = status  # type: ignore[attr-defined]
        return error

    # --- the API methods Filial uses ----------------------------------------------------------------------
    def get_me(self) -> dict[str, Any]:
        return dict(self.call("getMyInfo", "GET", "/me"))

    def get_chat(self, chat_id: int) -> dict[str, Any]:
        return dict(self.call("getChat", "GET", f"/chats/{chat_id}"))

    def get_membership(self, chat_id: int) -> dict[str, Any]:
        return dict(self.call("getMembership", "GET", f"/chats/{chat_id}/members/me"))

    def send_message(self, body: dict[str, Any], *, chat_id: int | None = None,
                     user_id: int | None = None) -> dict[str, Any]:
        params = {"chat_id": chat_id} if chat_id is not None else {"user_id": user_id}
        return dict(self.call("sendMessage", "POST", "/messages", params=params, body=body))

    def edit_message(self, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("editMessage", "PUT", "/messages", params={"message_id": message_id}, body=body))

    def delete_message(self, message_id: str) -> dict[str, Any]:
        return dict(self.call("deleteMessage", "DELETE", "/messages", params={"message_id": message_id}))

    def get_message(self, message_id: str) -> dict[str, Any]:
        return dict(self.call("getMessageById", "GET", f"/messages/{message_id}"))

    def get_messages(self, *, chat_id: int | None = None, message_ids: list[str] | None = None,
                     count: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"chat_id": chat_id, "message_ids": message_ids or None, "count": count}
        data = self.call("getMessages", "GET", "/messages", params=params)
        return list(data.get("messages") or []) if isinstance(data, dict) else []

    def get_upload_url(self, kind: str = "image") -> dict[str, Any]:
        # Asking for an upload url changes nothing visible: safe to repeat after a timeout.
        return dict(self.call("getUploadUrl", "POST", "/uploads", params={"type": kind}, idempotent=True))

    def get_updates(self, *, marker: int | None, limit: int = 100, timeout: int = 0,
                    types: list[str] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit, "timeout": timeout, "marker": marker, "types": types or None}
        return dict(self.call("getUpdates", "GET", "/updates", params=params))

    def get_subscriptions(self) -> list[dict[str, Any]]:
        data = self.call("getSubscriptions", "GET", "/subscriptions")
        return list(data.get("subscriptions") or []) if isinstance(data, dict) else []

    def subscribe(self, url: str, secret: str, update_types: list[str]) -> dict[str, Any]:
        body = {"url": url, "update_types": update_types, "secret": secret}
        return dict(self.call("subscribe", "POST", "/subscriptions", body=body, idempotent=True))

    def unsubscribe(self, url: str) -> dict[str, Any]:
        return dict(self.call("unsubscribe", "DELETE", "/subscriptions", params={"url": url}, idempotent=True))

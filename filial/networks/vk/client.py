"""The VK API protocol: form-encoded POST to ``<base>/<method.name>`` with ``access_token`` and ``v``.

Answers are ``{"response": ...}`` or ``{"error": {"error_code", "error_msg", "request_params"}}``; this
module turns the second into :class:`VKError` (a :class:`~filial.networks.base.NetworkError`) with the right
flags, takes each call's unit from the shared rate limiter through the connector's meter
(``ratelimit.Meter``: VK allows 3 requests/s with a user token, 20/s with a community token), and
speaks the two non-API endpoints a connector needs: the photo upload server and the Bots Long Poll server.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from filial.networks.base import NetworkError, Photo
from filial.networks.client_base import never_sent, redact_in_logs
from filial.networks.http import http_client
from filial.networks.ratelimit import Claim, Meter, fingerprint

API_VERSION = "5.199"
DEFAULT_API_URL = "https://api.vk.ru/method/"
NETWORK = "vk"

# Parameters never copied into logs, error messages or request summaries.
SECRET_PARAMS = frozenset({"access_token", "refresh_token", "key", "client_secret", "code", "code_verifier",
                           "secret", "device_id"})
# Methods that change something on VK: a timeout after such a request left means "outcome unknown".
WRITE_METHODS = frozenset({"wall.post", "wall.edit", "wall.delete", "wall.createComment", "messages.send",
                           "polls.create", "photos.saveWallPhoto", "groups.setLongPollSettings"})

# What VK's error codes mean for the caller (errors.json of the VK API schema; dev.vk.com/ru/reference/errors).
AUTH_ERRORS = {5, 7, 15, 17, 27, 28, 200, 203, 214, 3609}
RETRY_AFTER = {6: 1.0, 9: 300.0, 14: 60.0, 29: 3600.0}
TRANSIENT_ERRORS = {1, 6, 9, 10, 14, 29, 36, 43}


_SECRET_QUERY = re.compile(r"((?:^|[?&])(?:access_token|key|refresh_token)=)[^&\s\"]*")


def _redact_query(text: str) -> str:
    """httpx logs each request's URL; the Long Poll ``key`` travels in the query string. Hide it."""
    return _SECRET_QUERY.sub(r"\1***", text)


redact_in_logs(_redact_query)


class VKError(NetworkError):
    """A failed VK call. ``request`` is a summary for logs (method and parameters, secrets removed)."""

    def __init__(self, message: str, *, request: Mapping[str, Any] | None = None, subcode: int | None = None,
                 captcha_sid: str = "", captcha_img: str = "", **kwargs: Any) -> None:
        super().__init__(message, network=NETWORK, **kwargs)
        self.request = dict(request or {})
        self.subcode = subcode
        self.captcha_sid = captcha_sid
        self.captcha_img = captcha_img


def encode_value(value: Any) -> str:
    """VK's form encoding: booleans are 0/1, arrays are comma-separated."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(encode_value(item) for item in value)
    return str(value)


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    return {name: encode_value(value) for name, value in params.items() if value is not None}


def summarize(method: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Method name and parameters for logs: secrets replaced, long values shortened."""
    shown: dict[str, str] = {}
    for name, value in encode_params(params).items():
        if name in SECRET_PARAMS:
            shown[name] = "***"
        else:
            shown[name] = value if len(value) <= 200 else value[:200] + f"…({len(value)} chars)"
    return {"method": method, "params": shown}


def call_claims(token: str, actor: str) -> list[Claim]:
    """The budget one API call takes: ``vk.user`` with a user token (3/s), ``vk.community`` with a community
    token (20/s), per token (its fingerprint, as the connector's ``*_claims`` in ``rules.py`` name it)."""
    return [Claim("vk.community" if actor == "group" else "vk.user", fingerprint(token), 1)]


def _retry_after(code: int) -> float | None:
    return RETRY_AFTER.get(code)


def api_error(error: Mapping[str, Any], method: str, request: Mapping[str, Any]) -> VKError:
    """Map VK's ``{"error": {...}}`` onto the flags the publishing engine acts on."""
    try:
        code = int(error.get("error_code", 0))
    except (TypeError, ValueError):
        code = 0
    text = str(error.get("error_msg") or "unknown error")
    subcode = error.get("error_subcode")
    common: dict[str, Any] = {"code": code, "method": method, "request": request,
                              "subcode": subcode if isinstance(subcode, int) else None}
    if code == 14:
        sid = str(error.get("captcha_sid", ""))
        img = str(error.get("captcha_img", ""))
        return VKError(f"VK asks for a captcha ({text}); nothing was done. A person must act: wait and try later, "
                       f"or publish this by hand in VK. Captcha image: {img}", retry_after=RETRY_AFTER[14],
                       captcha_sid=sid, captcha_img=img, **common)
    if code in AUTH_ERRORS:
        return VKError(f"VK refused the credentials: {text.rstrip('.')}. The page must be re-authorised.",
                       needs_reauth=True, reason=text, **common)
    if code in TRANSIENT_ERRORS:
        return VKError(text, retry_after=_retry_after(code), **common)
    if code == 901:
        return VKError(f"{text}: the person has not allowed messages from the community", permanent=True,
                       **common)
    # 100 invalid parameter, 113 invalid user id, 9xx message errors, other method errors: retrying cannot help.
    return VKError(text, permanent=True, **common)


def transport_error(exc: httpx.HTTPError, method: str, *, write: bool, request: Mapping[str, Any]) -> VKError:
    """A request that got no VK answer. Whether it may have been applied depends on where it failed."""
    kind = type(exc).__name__
    common: dict[str, Any] = {"code": kind, "method": method, "request": request}
    if never_sent(exc) or isinstance(exc, httpx.ProxyError):
        return VKError(f"could not connect to VK ({kind}); the request was not sent", **common)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError | httpx.InvalidURL):
        return VKError(f"the VK API address is not usable ({kind}); check the configured base URL",
                       permanent=True, **common)
    if write:
        return VKError(f"no answer from VK after the request was sent ({kind}); it may or may not have been "
                       "applied", outcome_unknown=True, **common)
    return VKError(f"no answer from VK ({kind})", **common)


class VKClient:
    """One VK API endpoint. Create per job; ``close()`` (or use as a context manager) when done."""

    def __init__(self, base_url: str = DEFAULT_API_URL, *, timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None, version: str = API_VERSION) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.version = version
        self.timeout = timeout
        # Set by whoever paces this page's calls (``channels.connections.connector_for``, the outbox's lane);
        # None: nobody does (a script, a test of behaviour), the caller took the units itself.
        self.meter: Meter | None = None
        self.http = http_client(timeout=timeout, transport=transport, follow_redirects=False,
                                 headers={"User-Agent": "Filial (library network workspace)"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> VKClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- API methods ------------------------------------------------------------------------------------
    def call(self, method: str, params: Mapping[str, Any], *, token: str, actor: str = "user",
             write: bool | None = None) -> Any:
        """Call ``method`` and return its ``response``; raise :class:`VKError` otherwise.

        A "too many requests per second" answer (error 6: the call was not executed) is retried once.
        """
        if not token:
            raise VKError(f"no {actor} access token for {method}", code="no_token", method=method,
                          needs_reauth=True, request=summarize(method, params))
        is_write = method in WRITE_METHODS if write is None else write
        data = encode_params(params)
        data["access_token"] = token
        data["v"] = self.version
        request = summarize(method, params)
        for attempt in range(2):
            if self.meter is not None:  # right before the request leaves; WouldWait: it does not leave
                self.meter.take(call_claims(token, actor))
            try:
                response = self.http.post(self.base_url + method, data=data)
            except httpx.HTTPError as exc:
                raise transport_error(exc, method, write=is_write, request=request) from exc
            payload = self._json(response, method, request, write=is_write)
            if "error" in payload:
                error = payload["error"] if isinstance(payload["error"], Mapping) else {}
                exc_ = api_error(error, method, request)
                if exc_.code == 6 and attempt == 0:
                    time.sleep(exc_.retry_after or 1.0)
                    continue
                raise exc_
            if "response" not in payload:
                raise VKError("VK answered without a response", code="bad_answer", method=method, request=request)
            return payload["response"]
        raise AssertionError("unreachable")

    @staticmethod
    def _json(response: httpx.Response, method: str, request: Mapping[str, Any], *, write: bool) -> dict[str, Any]:
        status = response.status_code
        if status >= 500:
            # 504: a gateway gave up waiting for VK, which may have applied the change.
            return_unknown = write and status == 504
            raise VKError(f"VK server error (HTTP {status})", code=status, method=method, request=request,
                          outcome_unknown=return_unknown)
        if status == 429:
            raise VKError("VK rate limit (HTTP 429)", code=status, method=method, request=request, retry_after=1.0)
        if status >= 400:
            raise VKError(f"unexpected HTTP {status} from the VK API address; check the configured base URL",
                          code=status, method=method, request=request, permanent=True)
        try:
            payload = response.json()
        except ValueError:
            raise VKError(f"VK answered with something that is not JSON (HTTP {status})", code="bad_answer",
                          method=method, request=request, outcome_unknown=write) from None
        if not isinstance(payload, dict):
            raise VKError("VK answered with an unexpected JSON value", code="bad_answer", method=method,
                          request=request, outcome_unknown=write)
        return payload

    # --- upload server ----------------------------------------------------------------------------------
    def upload_photo(self, upload_url: str, photo: Photo) -> dict[str, Any]:
        """POST the file as multipart field ``photo`` to the URL from photos.getWallUploadServer."""
        request = {"method": "upload", "params": {"file": photo.filename, "bytes": str(len(photo.content))}}
        try:
            response = self.http.post(upload_url, files={"photo": (photo.filename, photo.content,
                                                                   photo.content_type)})
        except httpx.HTTPError as exc:
            # An upload that may have landed only leaves an unused photo on the server: safe to repeat.
            raise transport_error(exc, "upload", write=False, request=request) from exc
        payload = self._json(response, "upload", request, write=False)
        if "error" in payload:
            raise VKError(f"the VK upload server refused {photo.filename!r}: {payload['error']}", code="upload",
                          method="upload", request=request, permanent=True)
        if not payload.get("photo") or payload.get("photo") == "[]" or "hash" not in payload:
            raise VKError(f"VK did not accept {photo.filename!r} as a photo (JPG, PNG or GIF expected)",
                          code="upload", method="upload", request=request, permanent=True)
        return payload

    # --- Bots Long Poll ---------------------------------------------------------------------------------
    def long_poll(self, server: str, key: str, ts: str, wait: int) -> dict[str, Any]:
        """One ``act=a_check`` request; returns ``{"ts", "updates"}`` or ``{"failed", ...}`` as VK sends it."""
        request = {"method": "a_check", "params": {"ts": ts, "wait": str(wait), "key": "***"}}
        timeout = httpx.Timeout(self.timeout, read=wait + self.timeout)
        try:
            response = self.http.get(server, params={"act": "a_check", "key": key, "ts": ts, "wait": wait},
                                     timeout=timeout)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "a_check", write=False, request=request) from exc
        return self._json(response, "a_check", request, write=False)

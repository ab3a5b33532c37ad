"""The OK (ok.ru) protocol: the signed REST API at ``fb.do``, the photo upload server, and the Bot API.

Facts this module relies on (apiok.ru, the official method docs and their GitHub source apiok/documentation):

- REST: ``https://api.ok.ru/fb.do`` with ``method``, ``application_key``, ``format=json``, ``access_token`` and
  ``sig``. ``sig = md5(sorted "k=v" pairs concatenated, without access_token/session_key/sig +
  md5(access_token + application_secret_key))``, lowercase hex. Values are signed exactly as they are sent.
- Errors come back (with HTTP 200) as ``{"error_code", "error_msg", "error_data"}``; the codes are OK's
  (``PARAM`` 100, ``PARAM_SESSION_EXPIRED`` 102, ``PARAM_SIGNATURE`` 104, ``FLOOD_BLOCKED`` 8 ...).
- Photos: ``photosV2.getUploadUrl`` → ``{upload_url, photo_ids}``; a multipart POST of ``pic1..picN`` to
  ``upload_url`` → ``{"photos": {photo_id: {"token"}}}``; the tokens go into a ``mediatopic.post`` attachment.
- Bot API (group messages, "Graph API"): ``https://api.ok.ru/graph/me/...`` with the group's messages key in
  the ``access_token`` query parameter and a JSON body (``Content-Type: application/json;charset=utf-8``).

Secrets (the access token, the application secret key, the signature) never appear in messages or in the
request summaries attached to errors.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from filial.networks.base import NetworkError, Photo
from filial.networks.client_base import never_sent, redact_in_logs, sent_then_failed
from filial.networks.http import http_client

NETWORK = "ok"
DEFAULT_API_URL = "https://api.ok.ru/fb.do"

# OK's error codes (apiok.ru "Коды ошибок"; the same list is mirrored by the client libraries).
ERROR_NAMES: dict[int, str] = {
    1: "UNKNOWN", 2: "SERVICE", 3: "METHOD", 4: "REQUEST", 7: "ACTION_BLOCKED", 8: "FLOOD_BLOCKED",
    9: "IP_BLOCKED", 10: "PERMISSION_DENIED", 11: "LIMIT_REACHED", 12: "CANCELLED", 21: "NOT_MULTIPART",
    22: "NOT_ACTIVATED", 23: "NOT_YET_INVOLVED", 24: "NOT_OWNER", 100: "PARAM", 101: "PARAM_API_KEY",
    102: "PARAM_SESSION_EXPIRED", 103: "PARAM_SESSION_KEY", 104: "PARAM_SIGNATURE", 105: "PARAM_RESIGNATURE",
    106: "PARAM_ENTITY_ID", 110: "PARAM_USER_ID", 120: "PARAM_ALBUM_ID", 121: "PARAM_PHOTO_ID",
    140: "PARAM_MESSAGE_ID", 141: "PARAM_COMMENT_ID", 160: "PARAM_GROUP_ID", 200: "PARAM_PERMISSION",
    210: "PARAM_APPLICATION_DISABLED", 300: "NOT_FOUND", 324: "EDIT_PHOTO_FILE", 401: "AUTH_LOGIN",
    451: "NOT_SESSION_METHOD", 453: "SESSION_REQUIRED", 454: "CENSOR_MATCH", 455: "FRIEND_RESTRICTION",
    456: "GROUP_RESTRICTION", 457: "UNAUTHORIZED_RESTRICTION", 458: "PRIVACY_RESTRICTION",
    500: "PHOTO_SIZE_LIMIT_EXCEEDED", 501: "PHOTO_SIZE_TOO_SMALL", 502: "PHOTO_SIZE_TOO_BIG",
    503: "PHOTO_INVALID_FORMAT", 504: "PHOTO_IMAGE_CORRUPTED", 505: "PHOTO_NO_IMAGE",
    600: "MEDIA_TOPIC_BLOCK_LIMIT", 601: "MEDIA_TOPIC_TEXT_LIMIT", 602: "MEDIA_TOPIC_POLL_QUESTION_TEXT_LIMIT",
    603: "MEDIA_TOPIC_POLL_ANSWERS_LIMIT", 604: "MEDIA_TOPIC_POLL_ANSWER_TEXT_LIMIT", 700: "COMMENT_NOT_FOUND",
    701: "INVALID_AUTHOR", 702: "COMMENT_NOT_ACTIVE", 704: "TIMEOUT_EXCEEDED", 705: "CHAT_NOT_FOUND",
    706: "MESSAGE_NOT_ACTIVE", 1200: "BATCH", 9999: "SYSTEM",
}
# The token is expired, revoked, not for this application, lacks a permission, or the key/secret is wrong:
# a human must re-authorise the page.
REAUTH_CODES = frozenset({10, 101, 102, 103, 104, 105, 200, 210, 401, 453})
# Rate limits and anti-flood blocks. OK gives no wait time, so these are ours (seconds).
RATE_LIMIT_WAIT: dict[int, float] = {7: 60.0, 8: 1.0, 9: 600.0, 11: 600.0}
# Failures on OK's side that may pass.
TRANSIENT_CODES = frozenset({1, 2, 9999})

SECRET_PARAMS = frozenset({"access_token", "session_key", "sig", "application_secret_key", "session_secret_key"})


_SECRET_QUERY = re.compile(r"((?:access_token|apiToken|session_key|sig)=)[^&\s\"']+")


def _redact_query(text: str) -> str:
    """httpx logs every request URL at INFO; the Bot API carries the group's key in the query string (that is
    OK's protocol), so the key is cut out of those log lines."""
    return _SECRET_QUERY.sub(r"\1<redacted>", text)


redact_in_logs(_redact_query)


def sign(params: Mapping[str, str], access_token: str, application_secret_key: str) -> str:
    """OK's request signature over the parameters exactly as they are sent (MD5 is what OK mandates)."""
    session_secret = hashlib.md5((access_token + application_secret_key).encode("utf-8"),
                                 usedforsecurity=False).hexdigest()
    base = "".join(f"{key}={params[key]}" for key in sorted(params)
                   if key not in ("sig", "access_token", "session_key"))
    return hashlib.md5((base + session_secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def encode_value(value: Any) -> str:
    """How OK wants a parameter as a string: booleans ``true``/``false``, lists comma-separated, JSON objects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, list | tuple):
        return ",".join(encode_value(item) for item in value)
    return str(value)


def rest_url(api_url: str) -> str:
    """The ``fb.do`` endpoint for a configured base URL (``https://api.ok.ru/fb.do`` or just its origin)."""
    url = (api_url or DEFAULT_API_URL).strip()
    if url.rstrip("/").endswith("fb.do"):
        return url.rstrip("/")
    return url.rstrip("/") + "/fb.do"


def graph_url(api_url: str) -> str:
    """The Bot API root next to ``fb.do``: ``https://api.ok.ru/fb.do`` → ``https://api.ok.ru/graph/``."""
    parts = urlsplit(rest_url(api_url))
    path = parts.path.rsplit("/", 1)[0] + "/graph/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def summarize(params: Mapping[str, Any], limit: int = 400) -> dict[str, str]:
    """Parameters fit for a log line: secrets dropped, long values cut."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if key in SECRET_PARAMS:
            continue
        text = value if isinstance(value, str) else encode_value(value)
        out[key] = text if len(text) <= limit else text[:limit] + "…"
    return out


def _attach(error: NetworkError, summary: dict[str, Any]) -> NetworkError:
    # NetworkError is shared by all networks; the request summary rides along as an attribute for the logs.
    setattr(error, "request", summary)  # noqa: B010
    return error


def error_from_envelope(data: Mapping[str, Any], *, method: str, summary: dict[str, Any]) -> NetworkError:
    """Map OK's ``{"error_code", "error_msg"}`` onto our error flags."""
    try:
        code = int(data.get("error_code") or 0)
    except (TypeError, ValueError):
        code = 0
    name = ERROR_NAMES.get(code, "UNKNOWN")
    message = str(data.get("error_msg") or name)
    if code in REAUTH_CODES:
        hint = {
            102: "the access token has expired: re-authorise the page",
            103: "the access token is invalid or revoked: re-authorise the page",
            104: "the request signature is wrong: check the application secret key",
            101: "the application key is wrong",
            10: "the token lacks a permission (e.g. GROUP_CONTENT, PHOTO_CONTENT) or the user is not a group admin",
            200: "the application may not perform this operation",
            453: "no access token was sent",
        }.get(code, "re-authorise the page")
        error = NetworkError(f"{message} ({hint})", network=NETWORK, code=code, needs_reauth=True, method=method)
    elif code in RATE_LIMIT_WAIT:
        error = NetworkError(message, network=NETWORK, code=code, retry_after=RATE_LIMIT_WAIT[code], method=method)
    elif code in TRANSIENT_CODES or code == 0:
        error = NetworkError(message, network=NETWORK, code=code or None, method=method)
    else:
        error = NetworkError(message, network=NETWORK, code=code, permanent=True, method=method)
    return _attach(error, summary)


def error_from_transport(exc: httpx.HTTPError, *, method: str, write: bool, summary: dict[str, Any]) -> NetworkError:
    """A request that got no answer. After it left (read/write timeout, dropped connection) a write may have
    been applied: ``outcome_unknown``. A connection that never opened changed nothing."""
    if never_sent(exc) or isinstance(exc, httpx.UnsupportedProtocol):
        return _attach(NetworkError(f"cannot reach OK: {type(exc).__name__}", network=NETWORK, code="connect",
                                    method=method), summary)
    sent = sent_then_failed(exc)
    return _attach(NetworkError(f"no answer from OK: {type(exc).__name__}", network=NETWORK, code="timeout",
                                outcome_unknown=write and sent, method=method), summary)


def error_from_status(response: httpx.Response, *, method: str, summary: dict[str, Any],
                      write: bool = False) -> NetworkError:
    """An HTTP error instead of OK's JSON. A gateway's 502/504 on a write says nothing about whether OK
    applied it (the upstream may have finished after the gateway gave up): ``outcome_unknown``."""
    status = response.status_code
    if status == 429:
        retry = response.headers.get("retry-after", "")
        wait = float(retry) if retry.replace(".", "", 1).isdigit() else 1.0
        return _attach(NetworkError("HTTP 429 Too Many Requests", network=NETWORK, code=429, retry_after=wait,
                                    method=method), summary)
    if status >= 500:
        return _attach(NetworkError(f"HTTP {status} from OK", network=NETWORK, code=status, method=method,
                                    outcome_unknown=write and status in (502, 504)), summary)
    return _attach(NetworkError(f"HTTP {status} from OK", network=NETWORK, code=status, permanent=True,
                                method=method), summary)


class OKClient:
    """One set of credentials talking to OK. Use as a context manager (it owns an ``httpx.Client``)."""

    def __init__(
        self,
        *,
        api_url: str,
        application_key: str,
        application_secret_key: str,
        access_token: str,
        bot_token: str = "",
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.rest_url = rest_url(api_url)
        self.graph_url = graph_url(api_url)
        self.application_key = application_key
        self._secret = application_secret_key
        self._token = access_token
        self._bot_token = bot_token
        self.http = http_client(timeout=timeout, transport=transport,
                                 headers={"User-Agent": "Filial (library pages publisher)"})

    def __enter__(self) -> OKClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @property
    def has_bot_token(self) -> bool:
        return bool(self._bot_token)

    # --- REST (fb.do) -------------------------------------------------------------------------------
    def signed_params(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, str]:
        values = {key: encode_value(value) for key, value in (params or {}).items() if value is not None}
        values.update({"method": method, "application_key": self.application_key, "format": "json"})
        values["sig"] = sign(values, self._token, self._secret)
        values["access_token"] = self._token
        return values

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, write: bool = False) -> Any:
        """Call a REST method; ``write`` marks methods that change something (for ``outcome_unknown``)."""
        data = self.signed_params(method, params)
        summary = {"api": "rest", "method": method, "params": summarize(data)}
        try:
            response = self.http.post(self.rest_url, data=data)
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, method=method, write=write, summary=summary) from exc
        return self._decode(response, method=method, summary=summary, write=write)

    def _decode(self, response: httpx.Response, *, method: str, summary: dict[str, Any], write: bool = False) -> Any:
        if response.status_code != 200:
            raise error_from_status(response, method=method, summary=summary, write=write)
        try:
            body = response.json()
        except ValueError as exc:
            raise _attach(NetworkError("OK answered with something that is not JSON", network=NETWORK,
                                       code="bad_response", method=method), summary) from exc
        if isinstance(body, dict) and "error_code" in body:
            raise error_from_envelope(body, method=method, summary=summary)
        return body

    # --- photo upload server -------------------------------------------------------------------------
    def upload_photos(self, upload_url: str, photo_ids: Sequence[str], photos: Sequence[Photo]) -> list[str]:
        """POST the files to the upload URL OK gave us; the tokens in the order of ``photo_ids``."""
        files = [(f"pic{index}", (photo.filename or f"photo{index}.jpg", photo.content, photo.content_type))
                 for index, photo in enumerate(photos, start=1)]
        summary = {"api": "upload", "method": "upload", "params": {"files": str(len(files))}}
        try:
            response = self.http.post(upload_url, files=files)
        except httpx.HTTPError as exc:
            # Nothing is published by an upload, so its outcome never matters.
            raise error_from_transport(exc, method="upload", write=False, summary=summary) from exc
        body = self._decode(response, method="upload", summary=summary)
        uploaded = body.get("photos") if isinstance(body, dict) else None
        if not isinstance(uploaded, dict):
            raise _attach(NetworkError("the upload server did not return photo tokens", network=NETWORK,
                                       code="bad_response", method="upload"), summary)
        tokens: list[str] = []
        for photo_id in photo_ids:
            entry = uploaded.get(str(photo_id))
            token = entry.get("token") if isinstance(entry, dict) else None
            if not token:
                raise _attach(NetworkError(f"no token for uploaded photo {photo_id}", network=NETWORK,
                                           code="bad_response", permanent=True, method="upload"), summary)
            tokens.append(str(token))
        return tokens

    # --- Bot API (graph) -----------------------------------------------------------------------------
    def graph(self, http_method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Mapping[str, Any] | None = None, write: bool = False) -> Any:
        """Call the Bot API: ``path`` below ``/graph/`` (e.g. ``me/messages/chat:C1``)."""
        name = f"{http_method} /graph/{path}"
        query = {key: encode_value(value) for key, value in (params or {}).items() if value is not None}
        summary: dict[str, Any] = {"api": "graph", "method": name, "params": summarize(query)}
        if body is not None:
            summary["body"] = summarize({"json": json.dumps(body, ensure_ascii=False)})["json"]
        if not self._bot_token:
            raise _attach(NetworkError("no group messages key (bot_token) is configured for this OK page",
                                       network=NETWORK, code="no_bot_token", permanent=True, method=name), summary)
        query["access_token"] = self._bot_token
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json;charset=utf-8"} if content is not None else {}
        try:
            response = self.http.request(http_method, self.graph_url + path, params=query, content=content,
                                         headers=headers)
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, method=name, write=write, summary=summary) from exc
        return self._decode(response, method=name, summary=summary, write=write)

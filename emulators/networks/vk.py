"""A local VK: the API methods Filial uses, the photo upload server, Bots Long Poll and VK ID token refresh.

Paths, parameters, envelopes and error codes follow VK API 5.199 (dev.vk.com and the VK API JSON schema):

- ``POST|GET /method/<name>`` with ``access_token`` (or ``Authorization: Bearer``) and ``v``; answers
  ``{"response": ...}`` or ``{"error": {"error_code", "error_msg", "request_params"}}``;
- ``POST /upload.php?...`` (the ``upload_url`` of photos.getWallUploadServer), multipart field ``photo``;
- ``GET /lp/<group_id>?act=a_check&key=&ts=&wait=`` (the ``server`` of groups.getLongPollServer);
- ``POST /oauth2/auth`` — VK ID refresh (``grant_type=refresh_token``; the refresh token rotates);
- ``GET /club<id>``, ``GET /wall<owner>_<id>``: HTML views of a community and a post.

Every request is validated as VK does: known method, token valid/expired/revoked (error 5), token type allowed
for the method (27 group token on a user-only method, 28 service token), ``v`` present (8), per-token rate
limits (6: 3 req/s user token, 20 req/s community token), parameter types/required/limits (100), rights
(15, 214), messaging permission (901), message length (914), daily post budget (9).

Use :meth:`VKEmulator.seed` (or ``POST /_emulator/simulate/seed``) to create a community with tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import io
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from emulators.base import EmulatorApp, Request, Response

API_VERSION = "5.199"
MESSAGE_LIMIT = 4096
POST_TEXT_LIMIT = 16384
MAX_ATTACHMENTS = 10
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
WALL_ALBUM_ID = -7
UPLOAD_SERVER_ID = 533236
RATE_LIMITS = {"user": 3, "group": 20, "service": 5}
SECRET_PARAMS = frozenset({"access_token", "refresh_token", "key", "client_secret", "device_id"})


class ApiError(Exception):
    def __init__(self, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def invalid(detail: str) -> ApiError:
    return ApiError(100, f"One of the parameters specified was missing or invalid: {detail}")


# --- the methods this emulator serves: token types and parameter rules as in the VK API schema -----------
@dataclass(frozen=True)
class Param:
    type: str  # "integer", "number", "boolean", "string", "array"
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    max_items: int | None = None
    items: str = "string"
    enum: tuple[Any, ...] | None = None


def _i(required: bool = False, minimum: int | None = None, maximum: int | None = None,
       enum: tuple[int, ...] | None = None) -> Param:
    return Param("integer", required, minimum, maximum, enum=enum)


def _s(max_length: int | None = None, enum: tuple[str, ...] | None = None) -> Param:
    return Param("string", max_length=max_length, enum=enum)


B = Param("boolean")
N = Param("number")


def _a(items: str = "string", required: bool = False, max_items: int | None = None) -> Param:
    return Param("array", required, items=items, max_items=max_items)


@dataclass(frozen=True)
class Method:
    tokens: tuple[str, ...]
    params: dict[str, Param]


METHODS: dict[str, Method] = {
    "wall.post": Method(("user",), {
        "owner_id": _i(), "friends_only": B, "from_group": B, "message": _s(), "attachments": _a(),
        "services": _s(), "signed": B, "publish_date": _i(minimum=0), "lat": N, "long": N,
        "place_id": _i(minimum=0), "post_id": _i(minimum=0), "guid": _s(), "mark_as_ads": B, "link_title": _s(),
        "link_photo_id": _s(), "close_comments": B, "donut_paid_duration": _i(), "mute_notifications": B,
        "copyright": _s()}),
    "wall.edit": Method(("user",), {
        "owner_id": _i(), "post_id": _i(required=True, minimum=0), "friends_only": B, "message": _s(),
        "attachments": _a(), "services": _s(), "signed": B, "publish_date": _i(minimum=0), "lat": N, "long": N,
        "place_id": _i(minimum=0), "mark_as_ads": B, "close_comments": B, "donut_paid_duration": _i(),
        "poster_bkg_id": _i(minimum=0), "poster_bkg_owner_id": _i(), "poster_bkg_access_hash": _s(),
        "copyright": _s(), "topic_id": _i(minimum=0, enum=(0, 1, 7, 12, 16, 19, 21, 23, 25, 26, 32, 43))}),
    "wall.delete": Method(("user",), {"owner_id": _i(), "post_id": _i(minimum=0)}),
    "wall.getById": Method(("user", "service"), {
        "posts": _a(required=True), "extended": B, "copy_history_depth": _i(), "fields": _a()}),
    "wall.get": Method(("user", "service"), {
        "domain": _s(), "offset": _i(minimum=0), "count": _i(minimum=0),
        "filter": _s(enum=("owner", "others", "all", "postponed", "suggests", "archived", "donut")),
        "extended": B, "fields": _a()}),
    "wall.createComment": Method(("user", "group"), {
        "owner_id": _i(), "post_id": _i(required=True, minimum=0), "from_group": _i(minimum=0),
        "message": _s(), "reply_to_comment": _i(), "attachments": _a(), "sticker_id": _i(minimum=0),
        "guid": _s()}),
    "wall.deleteComment": Method(("user",), {
        "owner_id": _i(), "post_id": _i(minimum=0), "comment_id": _i(required=True, minimum=0)}),
    "photos.getWallUploadServer": Method(("user",), {"group_id": _i()}),
    "photos.saveWallPhoto": Method(("user",), {
        "user_id": _i(minimum=0), "group_id": _i(minimum=0), "photo": Param("string", required=True),
        "server": _i(), "hash": _s(), "latitude": N, "longitude": N, "caption": _s()}),
    "polls.create": Method(("user",), {
        "question": _s(), "is_anonymous": B, "is_multiple": B, "end_date": _i(minimum=1550700000),
        "owner_id": _i(), "app_id": _i(), "add_answers": _s(), "photo_id": _i(minimum=0), "disable_unvote": B}),
    "polls.getById": Method(("user",), {
        "owner_id": _i(), "is_board": B, "poll_id": _i(required=True, minimum=0), "extended": B,
        "friends_count": _i(minimum=0, maximum=100), "fields": _a(), "name_case": _s()}),
    "groups.getById": Method(("user", "group", "service"), {
        "group_ids": _a(), "group_id": _s(), "fields": _a()}),
    "groups.getLongPollServer": Method(("user", "group"), {"group_id": _i(required=True, minimum=1)}),
    "messages.send": Method(("user", "group"), {
        "user_id": _i(), "random_id": _i(), "peer_id": _i(), "peer_ids": _a("integer", max_items=100),
        "domain": _s(), "chat_id": _i(minimum=0, maximum=100000000), "message": _s(max_length=9000), "lat": N,
        "long": N, "attachment": _s(max_length=9000), "reply_to": _i(), "forward_messages": _a("integer",
                                                                                             max_items=1000),
        "forward": _s(), "sticker_id": _i(minimum=0), "group_id": _i(minimum=0), "keyboard": _s(),
        "template": _s(), "payload": _s(max_length=1000), "content_source": _s(), "dont_parse_links": B,
        "disable_mentions": B, "subscribe_id": _i(minimum=0, maximum=100)}),
    "messages.isMessagesFromGroupAllowed": Method(("user", "group"), {
        "group_id": _i(required=True, minimum=1), "user_id": _i(required=True, minimum=1)}),
    "stats.get": Method(("user",), {
        "group_id": _i(minimum=0), "app_id": _i(minimum=0), "timestamp_from": Param("number", minimum=0),
        "timestamp_to": Param("number", minimum=0),
        "interval": _s(enum=("all", "day", "month", "week", "year")), "intervals_count": _i(minimum=0),
        "filters": _a(), "stats_groups": _a(), "extended": B}),
    "stats.getPostReach": Method(("user",), {
        "owner_id": _i(required=True), "post_ids": _a("integer", required=True, max_items=30)}),
    "users.get": Method(("user", "group", "service"), {
        "user_ids": _a(max_items=1000), "fields": _a(), "name_case": _s(), "from_group_id": _i()}),
}
TOKEN_TYPE_ERRORS = {
    "group": (27, "Group authorization failed: method is unavailable with group auth."),
    "service": (28, "Application authorization failed: method is unavailable with service token."),
    "user": (15, "Access denied: method is unavailable with user auth."),
}
INT_RE = re.compile(r"-?\d+\Z")
NUM_RE = re.compile(r"-?\d+(\.\d+)?\Z")
PHOTO_RE = re.compile(r"photo(-?\d+)_(\d+)(?:_[0-9a-f]+)?\Z")
POLL_RE = re.compile(r"poll(-?\d+)_(\d+)\Z")
MEDIA_RE = re.compile(r"(video|audio|doc|page|note|album|market|podcast)-?\d+_\d+")


def coerce(name: str, rule: Param, raw: str) -> Any:
    """One form value checked and converted as VK reads it (arrays comma-separated, booleans 0/1)."""
    if rule.type == "integer":
        if not INT_RE.match(raw.strip()):
            raise invalid(f"{name} not integer")
        value: Any = int(raw)
    elif rule.type == "number":
        if not NUM_RE.match(raw.strip()):
            raise invalid(f"{name} not a number")
        value = float(raw)
    elif rule.type == "boolean":
        if raw not in ("0", "1"):
            raise invalid(f"{name} should be 0 or 1")
        return raw == "1"
    elif rule.type == "array":
        parts = [part.strip() for part in raw.split(",")] if raw.strip() else []
        if rule.max_items is not None and len(parts) > rule.max_items:
            raise invalid(f"{name} has more than {rule.max_items} items")
        if rule.items == "integer":
            for part in parts:
                if not INT_RE.match(part):
                    raise invalid(f"{name} not integer")
            return [int(part) for part in parts]
        return parts
    else:
        value = raw
        if rule.max_length is not None and len(raw) > rule.max_length:
            raise invalid(f"{name} is too long")
    if rule.minimum is not None and value < rule.minimum:
        raise invalid(f"{name} should be not less than {rule.minimum}")
    if rule.maximum is not None and value > rule.maximum:
        raise invalid(f"{name} should be not greater than {rule.maximum}")
    if rule.enum is not None and value not in rule.enum:
        raise invalid(f"{name} should be one of {', '.join(map(str, rule.enum))}")
    return value


def validate(method: Method, params: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, rule in method.params.items():
        raw = params.get(name)
        if raw is None or (raw == "" and rule.type != "string"):
            if rule.required:
                raise invalid(f"{name} is undefined")
            continue
        values[name] = coerce(name, rule, raw)
    return values


def probe_image(content: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of a JPG/PNG/GIF file VK would take for the wall, or None."""
    signatures = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))
    kind = next((name for sig, name in signatures if content.startswith(sig)), None)
    if kind is None or len(content) > MAX_UPLOAD_BYTES:
        return None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            image.verify()
    except Exception:
        return None
    # dev.vk.com photos.getWallUploadServer: width + height <= 14000 px, aspect ratio at least 1:20.
    if width + height > 14000 or max(width, height) > 20 * max(min(width, height), 1):
        return None
    return kind, width, height


def _redact(params: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k in SECRET_PARAMS else v) for k, v in params.items()}


def _now() -> int:
    return int(time.time())


class VKEmulator(EmulatorApp):
    network = "vk"
    title = "VK (local emulator)"

    def __init__(self, *, posts_per_day: int = 50, lp_history: int = 1000, **kwargs: Any) -> None:
        self.posts_per_day = posts_per_day
        self.lp_history = lp_history
        self.server_secret = secrets.token_bytes(16)
        super().__init__(**kwargs)

    # --- state -------------------------------------------------------------------------------------------
    def reset_state(self) -> None:
        self.state = {"groups": {}, "users": {}, "tokens": {}, "refresh_tokens": {}, "clients": {}, "uploads": {},
                      "_ids": {}}

    def _group(self, group_id: int | str) -> dict[str, Any]:
        group = self.state["groups"].get(str(abs(int(group_id))))
        if group is None:
            raise KeyError(f"group {group_id}")
        return group

    def _find_group(self, group_id: int) -> dict[str, Any] | None:
        return self.state["groups"].get(str(abs(group_id)))

    def _user(self, user_id: int, first_name: str = "", last_name: str = "") -> dict[str, Any]:
        users = self.state["users"]
        if str(user_id) not in users:
            users[str(user_id)] = {"id": user_id, "first_name": first_name or "Читатель",
                                   "last_name": last_name or str(user_id)}
        return users[str(user_id)]

    def _new_token(self, kind: str, **data: Any) -> str:
        prefix = {"user": "vk1.a.", "group": "vk1.g.", "service": "vk1.s."}[kind]
        token = prefix + secrets.token_urlsafe(48)
        self.state["tokens"][token] = {"type": kind, "revoked": False, "expires_at": None, **data}
        return token

    def seed(self, *, group_id: int = 1001, name: str = "Библиотека", screen_name: str = "",
             admin_id: int = 501, admin_first_name: str = "Анна", admin_last_name: str = "Смирнова",
             members: int = 0, user_token: str = "", community_token: str = "", refresh_token: str = "",
             client_id: str = "51000001", device_id: str = "", expires_in: int | None = 3600,
             confirmation_code: str = "", secret: str = "") -> dict[str, Any]:
        """A community with its admin, tokens and Callback API settings; returns what a page needs."""
        with self.lock:
            gid = abs(int(group_id))
            self._user(admin_id, admin_first_name, admin_last_name)
            group = self.state["groups"].setdefault(str(gid), {
                "id": gid, "name": name, "screen_name": screen_name or f"club{gid}", "type": "page",
                "admins": {}, "members": [], "extra_members": 0, "allowed": [], "posts": {}, "comments": {},
                "photos": {}, "polls": {}, "messages": [], "guids": {}, "comment_guids": {}, "random_ids": {},
                "post_times": [], "member_log": [], "lp": {"next_ts": 1, "keys": [], "events": [], "lost": False},
                "confirmation_code": confirmation_code or secrets.token_hex(4),
                "secret": secret or secrets.token_urlsafe(16),
            })
            group["admins"][str(admin_id)] = 3
            group["extra_members"] = int(members)
            if admin_id not in group["members"]:
                group["members"].append(admin_id)
            expires_at = _now() + expires_in if expires_in else None
            user_token = user_token or self._new_token("user", user_id=admin_id, expires_at=expires_at)
            self.state["tokens"].setdefault(user_token, {"type": "user", "user_id": admin_id, "revoked": False,
                                                         "expires_at": expires_at})
            community_token = community_token or self._new_token("group", group_id=gid)
            self.state["tokens"].setdefault(community_token, {"type": "group", "group_id": gid, "revoked": False,
                                                              "expires_at": None})
            service_token = self._new_token("service", app_id=client_id)
            device_id = device_id or secrets.token_urlsafe(12)
            refresh_token = refresh_token or secrets.token_urlsafe(40)
            self.state["clients"][str(client_id)] = {"client_id": str(client_id)}
            self.state["refresh_tokens"][refresh_token] = {
                "user_id": admin_id, "client_id": str(client_id), "device_id": device_id, "valid": True,
                "access_token": user_token}
            self.save()
        credentials: dict[str, Any] = {"access_token": user_token, "community_token": community_token,
                                       "refresh_token": refresh_token, "client_id": str(client_id),
                                       "device_id": device_id, "user_id": admin_id}
        if expires_at:
            credentials["expires_at"] = expires_at
        return {"group_id": gid, "external_id": str(gid), "credentials": credentials, "service_token": service_token,
                "confirmation_code": group["confirmation_code"], "secret": group["secret"]}

    # --- routes ------------------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        for verb in ("GET", "POST"):
            self.route(verb, r"/method/(?P<name>[A-Za-z]+\.[A-Za-z]+)", self._api)
        self.route("POST", r"/upload\.php", self._upload)
        self.route("GET", r"/lp/(?P<gid>\d+)", self._long_poll)
        self.route("POST", r"/oauth2/auth", self._oauth)
        self.route("GET", r"/photos/(?P<key>-?\d+_\d+)", self._photo_file)
        self.route("GET", r"/club(?P<gid>\d+)", self._club_view)
        self.route("GET", r"/wall(?P<owner>-?\d+)_(?P<pid>\d+)", self._post_view)

    def origin(self, request: Request) -> str:
        return self.base_url or f"http://{request.headers.get('host', '127.0.0.1')}"

    # --- API dispatch --------------------------------------------------------------------------------------
    def _api(self, request: Request) -> Response:
        if not self.base_url:  # served by a bare WSGI server: build upload/long poll URLs from the Host header
            self.base_url = self.origin(request)
        name = request.match["name"]
        params = request.params
        record: dict[str, Any] = {"kind": "api", "method": name, "params": _redact(params), "token_type": None}
        self.log_request(record, request)
        response = self._api_inner(request, name, params, record)
        record["status"] = response.status
        try:
            record["body"] = json.loads(response.body) if response.status == 200 else None
        except ValueError:
            record["body"] = None
        return response

    def _error(self, exc: ApiError, name: str, params: dict[str, str]) -> Response:
        request_params = [{"key": "method", "value": name}, {"key": "oauth", "value": "1"}]
        request_params += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
        return Response.json({"error": {"error_code": exc.code, "error_msg": exc.message, **exc.extra,
                                        "request_params": request_params}})

    def _api_inner(self, request: Request, name: str, params: dict[str, str], record: dict[str, Any]) -> Response:
        try:
            method = METHODS.get(name)
            if method is None:
                raise ApiError(3, "Unknown method passed")
            token_value = params.get("access_token") or request.headers.get("authorization", "")
            token_value = token_value.removeprefix("Bearer ").strip()
            with self.lock:
                known = self.state["tokens"].get(token_value)
            record["token_type"] = known["type"] if known else None  # kept for an expired or revoked one too
            token = self._authorize(token_value)
            if token["type"] not in method.tokens:
                raise ApiError(*TOKEN_TYPE_ERRORS[token["type"]])
        except ApiError as exc:
            return self._error(exc, name, params)

        def execute() -> Response:
            try:
                if self.over_limit(f"token:{token_value}", RATE_LIMITS[token["type"]], 1.0):
                    raise ApiError(6, "Too many requests per second")
                version = params.get("v", "")
                if not version:
                    raise ApiError(8, "Invalid request: v (version) is required")
                major, _, minor = version.partition(".")
                if not (major.isdigit() and minor.isdigit()) or (int(major), int(minor)) < (5, 81):
                    raise ApiError(8, "Invalid request: versions below 5.81 are deprecated")
                values = validate(method, params)
                handler: Callable[[dict[str, Any], dict[str, Any]], Any] = getattr(
                    self, "m_" + name.replace(".", "_"))
                with self.lock:
                    result = handler(token, values)
                    self.save()
            except ApiError as exc:
                return self._error(exc, name, params)
            return Response.json({"response": result})

        fault = self.take_fault(name)
        if fault is None:
            return execute()
        return self._fault(fault, execute, token_value, name, params)

    def _fault(self, kind: str, execute: Callable[[], Response], token_value: str, name: str,
               params: dict[str, str]) -> Response:
        if kind in ("http_500", "http_502"):
            status = 500 if kind == "http_500" else 502
            return Response(status, f"<html><body><h1>{status}</h1></body></html>".encode(), "text/html")
        if kind == "timeout_before":
            self.sleep_for_timeout()
            return Response(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html")
        if kind == "timeout_after":
            response = execute()
            self.sleep_for_timeout()
            return response
        if kind == "rate_limit":
            return self._error(ApiError(6, "Too many requests per second"), name, params)
        if kind == "captcha":
            sid = str(secrets.randbelow(10**12))
            return self._error(ApiError(14, "Captcha needed", captcha_sid=sid,
                                        captcha_img=f"{self.base_url}/captcha.php?sid={sid}&s=1"), name, params)
        with self.lock:
            token = self.state["tokens"].get(token_value)
            if token is not None and kind == "revoke_token":
                token["revoked"] = True  # as if the user removed the app: its refresh tokens die too
                for refresh in self.state["refresh_tokens"].values():
                    if refresh.get("access_token") == token_value:
                        refresh["valid"] = False
            elif token is not None:
                token["expires_at"] = _now() - 1
            self.save()
        message = ("User authorization failed: invalid session." if kind == "revoke_token"
                   else "User authorization failed: access_token has expired.")
        return self._error(ApiError(5, message), name, params)

    def _authorize(self, token_value: str) -> dict[str, Any]:
        if not token_value:
            raise ApiError(5, "User authorization failed: no access_token passed.")
        with self.lock:
            token = self.state["tokens"].get(token_value)
        if token is None:
            raise ApiError(5, "User authorization failed: invalid access_token (4).")
        if token.get("revoked"):
            raise ApiError(5, "User authorization failed: invalid session.")
        if token.get("expires_at") and token["expires_at"] <= time.time():
            raise ApiError(5, "User authorization failed: access_token has expired.")
        return dict(token)

    # --- rights --------------------------------------------------------------------------------------------
    def _admin_level(self, token: dict[str, Any], group: dict[str, Any]) -> int:
        if token["type"] == "group":
            return 3 if token["group_id"] == group["id"] else 0
        if token["type"] == "user":
            return int(group["admins"].get(str(token["user_id"]), 0))
        return 0

    def _wall(self, token: dict[str, Any], owner_id: int | None, *, need_level: int = 2) -> dict[str, Any]:
        """The community wall a call acts on, checking the caller may manage it."""
        if owner_id is None or owner_id >= 0:
            raise ApiError(214, "Access to adding post denied: only community walls are emulated")
        group = self._find_group(owner_id)
        if group is None:
            raise invalid("owner_id is incorrect")
        if self._admin_level(token, group) < need_level:
            raise ApiError(214, "Access to adding post denied: access to the wall is closed")
        return group

    # --- objects as VK returns them ----------------------------------------------------------------------
    def _photo_obj(self, photo: dict[str, Any]) -> dict[str, Any]:
        obj = {key: photo[key] for key in ("id", "album_id", "owner_id", "user_id", "date", "text", "width",
                                           "height")}
        obj["has_tags"] = False
        obj["sizes"] = [{"type": "x", "width": photo["width"], "height": photo["height"],
                         "url": f"{self.base_url}/photos/{photo['owner_id']}_{photo['id']}"}]
        return obj

    def _poll_obj(self, poll: dict[str, Any]) -> dict[str, Any]:
        total_votes = sum(len(a["voters"]) for a in poll["answers"])
        voters = poll["voters"]
        answers = [{"id": a["id"], "text": a["text"], "votes": len(a["voters"]),
                    "rate": round(100.0 * len(a["voters"]) / total_votes, 2) if total_votes else 0.0}
                   for a in poll["answers"]]
        closed = bool(poll["end_date"] and poll["end_date"] <= time.time())
        return {"id": poll["id"], "owner_id": poll["owner_id"], "author_id": poll["author_id"],
                "created": poll["created"], "question": poll["question"], "votes": len(voters),
                "answers": answers, "anonymous": poll["anonymous"], "multiple": poll["multiple"],
                "answer_ids": [], "end_date": poll["end_date"], "closed": closed, "is_board": False,
                "can_edit": not voters, "can_vote": not closed, "can_report": False, "can_share": True,
                "disable_unvote": poll["disable_unvote"]}

    def _attachment_obj(self, group: dict[str, Any], attachment: str) -> dict[str, Any]:
        photo = PHOTO_RE.match(attachment)
        if photo:
            return {"type": "photo", "photo": self._photo_obj(group["photos"][photo.group(2)])}
        poll = POLL_RE.match(attachment)
        if poll:
            return {"type": "poll", "poll": self._poll_obj(group["polls"][poll.group(2)])}
        return {"type": "link", "link": {"url": attachment, "title": attachment, "caption": "", "description": ""}}

    def _post_obj(self, group: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
        comments = [c for c in group["comments"].values() if c["post_id"] == post["id"] and not c["deleted"]]
        obj = {"id": post["id"], "owner_id": post["owner_id"], "from_id": post["from_id"],
               "created_by": post["created_by"], "date": post["date"], "post_type": "post", "text": post["text"],
               "attachments": [self._attachment_obj(group, a) for a in post["attachments"]],
               "comments": {"count": len(comments), "can_post": 1},
               "likes": {"count": len(post["likes"]), "user_likes": 0, "can_like": 1},
               "reposts": {"count": post["reposts"], "user_reposted": 0},
               "views": {"count": post["views"]}, "is_favorite": False, "can_edit": 1, "can_delete": 1}
        if post.get("edited"):
            obj["edited"] = post["edited"]
        return obj

    def _group_obj(self, group: dict[str, Any], token: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": group["id"], "name": group["name"], "screen_name": group["screen_name"],
                               "is_closed": 0, "type": group["type"]}
        if token["type"] == "user":
            level = self._admin_level(token, group)
            obj["is_admin"] = 1 if level else 0
            if level:
                obj["admin_level"] = level
            obj["is_member"] = 1 if token["user_id"] in group["members"] else 0
            obj["is_advertiser"] = 0
        if "members_count" in fields:
            obj["members_count"] = len(group["members"]) + int(group["extra_members"])
        return obj

    # --- attachments --------------------------------------------------------------------------------------
    def _check_attachments(self, group: dict[str, Any], items: list[str]) -> list[str]:
        if len(items) > MAX_ATTACHMENTS:
            raise invalid("too many attachments")
        links = 0
        for item in items:
            photo = PHOTO_RE.match(item)
            poll = POLL_RE.match(item)
            if photo:
                if int(photo.group(1)) != -group["id"] or photo.group(2) not in group["photos"]:
                    raise invalid(f"attachments: photo {item} not found")
            elif poll:
                if int(poll.group(1)) != -group["id"] or poll.group(2) not in group["polls"]:
                    raise invalid(f"attachments: poll {item} not found")
            elif item.startswith(("http://", "https://")):
                links += 1
            elif MEDIA_RE.match(item):
                raise invalid(f"attachments: {item} not found")
            else:
                raise invalid("attachments is invalid")
        if links > 1:
            raise invalid("attachments: only one link can be attached")
        return items

    # --- wall ----------------------------------------------------------------------------------------------
    def m_wall_post(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        group = self._wall(token, p.get("owner_id"))
        guid = p.get("guid")
        if guid and guid in group["guids"]:
            return {"post_id": group["guids"][guid]}
        text = p.get("message", "")
        attachments = self._check_attachments(group, p.get("attachments", []))
        if not text and not attachments:
            raise invalid("message is empty or invalid")
        if len(text) > POST_TEXT_LIMIT:
            raise invalid("message is too long")
        now = _now()
        group["post_times"] = [t for t in group["post_times"] if t > now - 86400]
        if len(group["post_times"]) >= self.posts_per_day:
            raise ApiError(9, "Flood control: too many posts today")
        post_id = self.next_id(f"wall:{group['id']}")
        from_id = -group["id"] if p.get("from_group") else token["user_id"]
        group["posts"][str(post_id)] = {
            "id": post_id, "owner_id": -group["id"], "from_id": from_id, "created_by": token["user_id"],
            "date": now, "text": text, "attachments": attachments, "guid": guid or "", "views": 0, "likes": [],
            "reposts": 0, "deleted": False}
        group["post_times"].append(now)
        if guid:
            group["guids"][guid] = post_id
        return {"post_id": post_id}

    def _post(self, group: dict[str, Any], post_id: int | None) -> dict[str, Any] | None:
        post = group["posts"].get(str(post_id))
        return None if post is None or post["deleted"] else post

    def m_wall_edit(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        group = self._wall(token, p.get("owner_id"))
        post = self._post(group, p["post_id"])
        if post is None:
            raise invalid("post_id is invalid")
        text = p.get("message", "")
        attachments = self._check_attachments(group, p.get("attachments", []))
        if not text and not attachments:
            raise invalid("message is empty or invalid")
        if len(text) > POST_TEXT_LIMIT:
            raise invalid("message is too long")
        post.update(text=text, attachments=attachments, edited=_now())
        return {"post_id": post["id"]}

    def m_wall_delete(self, token: dict[str, Any], p: dict[str, Any]) -> int:
        group = self._wall(token, p.get("owner_id"))
        post = self._post(group, p.get("post_id"))
        if post is None:
            raise ApiError(104, "Not found")
        post["deleted"] = True
        return 1

    def _posts_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        items = []
        for ref in ids:
            owner, _, post_id = ref.partition("_")
            if not INT_RE.match(owner) or not post_id.isdigit():
                continue
            group = self._find_group(int(owner)) if int(owner) < 0 else None
            post = self._post(group, int(post_id)) if group else None
            if group is not None and post is not None:
                items.append(self._post_obj(group, post))
        return items

    def m_wall_getById(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        return {"items": self._posts_by_ids(p["posts"])}

    # --- statistics: the community's days and the posts' reach, from what the emulator recorded ---------------
    def m_stats_get(self, token: dict[str, Any], p: dict[str, Any]) -> list[dict[str, Any]]:
        """Per day (``interval=day``, Moscow days as VK counts them), newest first: members who joined and left
        (``activity.subscribed`` / ``unsubscribed``), and the likes, reposts and comments of that day's posts."""
        group = self._wall(token, -int(p.get("group_id") or 0) if p.get("group_id") else None, need_level=1)
        if p.get("interval", "day") != "day":
            raise invalid("interval: only day is served by the emulator")
        start = int(p.get("timestamp_from") or 0)
        end = int(p.get("timestamp_to") or _now())
        day = 86400
        offset = 3 * 3600  # Moscow time, UTC+3
        first = (start + offset) // day * day - offset
        periods = []
        for period_from in range(first, end + 1, day):
            period_to = period_from + day - 1
            joined = sum(1 for at, delta in group.get("member_log", []) if period_from <= at <= period_to and delta > 0)
            left = sum(1 for at, delta in group.get("member_log", []) if period_from <= at <= period_to and delta < 0)
            posts = [post for post in group["posts"].values()
                     if not post.get("deleted") and period_from <= post["date"] <= period_to]
            comments = sum(1 for c in group["comments"].values() if not c["deleted"]
                           and any(c["post_id"] == post["id"] for post in posts))
            periods.append({"period_from": period_from, "period_to": period_to,
                            "activity": {"subscribed": joined, "unsubscribed": left,
                                         "likes": sum(len(post["likes"]) for post in posts),
                                         "copies": sum(post["reposts"] for post in posts), "comments": comments}})
        return list(reversed(periods))

    def m_stats_getPostReach(self, token: dict[str, Any], p: dict[str, Any]) -> list[dict[str, Any]]:
        """The reach of each post: the people who saw it, as the emulator counts them — the views less repeat views
        (one in five), and never fewer than the people who liked, reposted or commented."""
        group = self._wall(token, int(p["owner_id"]), need_level=1)
        rows = []
        for post_id in p["post_ids"]:
            post = self._post(group, int(post_id))
            if post is None:
                raise ApiError(210, "Access to wall's post denied")
            commenters = {c["from_id"] for c in group["comments"].values()
                          if c["post_id"] == post["id"] and not c["deleted"]}
            engaged = len(set(post["likes"]) | commenters) + post["reposts"]
            reach = max(post["views"] - post["views"] // 5, engaged)
            subscribers = min(reach, len(group["members"]) + int(group["extra_members"]))
            rows.append({"post_id": post["id"], "reach_total": reach, "reach_subscribers": subscribers,
                         "reach_viral": reach - subscribers, "reach_ads": 0, "links": 0, "to_group": 0,
                         "join_group": 0, "report": 0, "hide": 0, "unsubscribe": 0})
        return rows

    def _resolve_domain(self, domain: str) -> dict[str, Any]:
        for group in self.state["groups"].values():
            if domain in (group["screen_name"], f"club{group['id']}", f"public{group['id']}", str(-group["id"])):
                return group
        raise ApiError(100, "One of the parameters specified was missing or invalid: owner_id is incorrect")

    def m_wall_get(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("domain"):
            raise invalid("owner_id is undefined")
        group = self._resolve_domain(p["domain"])
        flt = p.get("filter", "all")
        posts = [post for post in group["posts"].values() if not post["deleted"]]
        if flt == "owner":
            posts = [post for post in posts if post["from_id"] == -group["id"]]
        elif flt == "others":
            posts = [post for post in posts if post["from_id"] != -group["id"]]
        elif flt not in ("all",):
            posts = []
        posts.sort(key=lambda post: post["id"], reverse=True)
        offset, count = p.get("offset", 0), min(p.get("count", 20), 100)
        return {"count": len(posts), "items": [self._post_obj(group, post) for post in posts[offset:offset + count]]}

    def m_wall_createComment(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        owner_id = p.get("owner_id")
        group = self._find_group(owner_id) if owner_id is not None and owner_id < 0 else None
        if group is None:
            raise invalid("owner_id is incorrect")
        if token["type"] == "group" and token["group_id"] != group["id"]:
            raise ApiError(15, "Access denied: no access to this wall")
        post = self._post(group, p["post_id"])
        if post is None:
            raise invalid("post_id is invalid")
        guid = p.get("guid")
        if guid and guid in group["comment_guids"]:
            return {"comment_id": group["comment_guids"][guid], "parents_stack": []}
        text = p.get("message", "")
        if not text and not p.get("attachments"):
            raise invalid("message is empty or invalid")
        if len(text) > POST_TEXT_LIMIT:
            raise invalid("message is too long")
        reply_to = p.get("reply_to_comment")
        if reply_to and str(reply_to) not in group["comments"]:
            raise invalid("reply_to_comment is invalid")
        if token["type"] == "group" or (p.get("from_group") and self._admin_level(token, group) >= 2):
            from_id = -group["id"]
        else:
            from_id = token["user_id"]
        comment = self._add_comment(group, post, from_id, text, reply_to)
        if guid:
            group["comment_guids"][guid] = comment["id"]
        return {"comment_id": comment["id"], "parents_stack": []}

    def m_wall_deleteComment(self, token: dict[str, Any], p: dict[str, Any]) -> int:
        """A community admin (a moderator at least) deletes a comment on the community's wall."""
        owner_id = p.get("owner_id")
        group = self._find_group(owner_id) if owner_id is not None and owner_id < 0 else None
        if group is None:
            raise invalid("owner_id is incorrect")
        comment = group["comments"].get(str(p["comment_id"]))
        if comment is None or comment.get("deleted"):
            raise ApiError(104, "Not found")
        if self._admin_level(token, group) < 1 and comment["from_id"] != token.get("user_id"):
            raise ApiError(211, "Access to wall's comment denied")
        comment["deleted"] = True
        self._event(group, "wall_reply_delete", {"owner_id": -group["id"], "id": comment["id"],
                                                 "deleter_id": token.get("user_id"), "post_id": comment["post_id"]})
        return 1

    def _add_comment(self, group: dict[str, Any], post: dict[str, Any], from_id: int, text: str,
                     reply_to: int | None) -> dict[str, Any]:
        comment_id = self.next_id(f"wall:{group['id']}")  # posts and comments share a wall's id space
        comment = {"id": comment_id, "from_id": from_id, "post_id": post["id"], "owner_id": -group["id"],
                   "date": _now(), "text": text, "parents_stack": [], "deleted": False}
        if reply_to:
            comment["reply_to_comment"] = reply_to
            parent = group["comments"][str(reply_to)]
            comment["reply_to_user"] = parent["from_id"]
        group["comments"][str(comment_id)] = comment
        event = {k: v for k, v in comment.items() if k != "deleted"}
        event["post_owner_id"] = -group["id"]
        self._event(group, "wall_reply_new", event)
        return comment

    # --- photos --------------------------------------------------------------------------------------------
    def _sign(self, *parts: Any) -> str:
        return hmac.new(self.server_secret, ":".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()[:32]

    def m_photos_getWallUploadServer(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        group_id = p.get("group_id")
        if group_id is None:
            raise ApiError(214, "Access to adding post denied: only community walls are emulated")
        self._wall(token, -abs(group_id))
        uid = token["user_id"]
        query = urlencode({"act": "do_add", "mid": uid, "aid": WALL_ALBUM_ID, "gid": abs(group_id),
                           "hash": self._sign("upload", uid, abs(group_id)), "api": 1, "wallphoto": 1})
        return {"upload_url": f"{self.base_url}/upload.php?{query}", "album_id": WALL_ALBUM_ID, "user_id": uid}

    def m_photos_saveWallPhoto(self, token: dict[str, Any], p: dict[str, Any]) -> list[dict[str, Any]]:
        group_id = p.get("group_id")
        if not group_id:
            raise ApiError(214, "Access to adding post denied: only community walls are emulated")
        group = self._wall(token, -group_id)
        photo_text = p["photo"]
        if p.get("hash") != self._sign("photo", photo_text, p.get("server", "")):
            raise ApiError(121, "Invalid hash")
        try:
            entries = json.loads(photo_text)
        except ValueError:
            entries = []
        if not isinstance(entries, list) or not entries:
            raise invalid("photos_list is invalid")
        saved = []
        for entry in entries:
            upload = self.state["uploads"].pop(str(entry.get("photo", "")), None) if isinstance(entry, dict) else None
            if upload is None or upload["gid"] != group["id"] or upload["uid"] != token["user_id"]:
                raise invalid("photos_list is invalid")
            photo_id = self.next_id("photo")
            photo = {"id": photo_id, "album_id": WALL_ALBUM_ID, "owner_id": -group["id"], "user_id": 100,
                     "date": _now(), "text": p.get("caption", ""), "width": upload["width"],
                     "height": upload["height"], "filename": upload["filename"]}
            group["photos"][str(photo_id)] = photo
            blob = self.blobs.pop(f"upload:{entry['photo']}", None)
            if blob is not None:
                self.blobs[f"{-group['id']}_{photo_id}"] = blob
            saved.append(self._photo_obj(photo))
        return saved

    def _upload(self, request: Request) -> Response:
        query = request.query
        record: dict[str, Any] = {"kind": "upload", "method": "upload", "params": _redact(query),
                                  "files": {k: len(f.content) for k, f in request.files.items()}}
        self.log_request(record, request)

        def execute() -> Response:
            try:
                uid, gid = int(query.get("mid", "0")), int(query.get("gid", "0"))
            except ValueError:
                return Response.json({"error": "ERR_UPLOAD_BAD_PARAMS"})
            if query.get("act") != "do_add" or query.get("hash") != self._sign("upload", uid, gid):
                return Response.json({"error": "ERR_UPLOAD_BAD_SIGNATURE: invalid upload url"})
            upload = request.files.get("photo")
            probe = probe_image(upload.content) if upload is not None else None
            if upload is None or probe is None:
                # VK's upload server answers an empty list for a missing field or a file it cannot read.
                photo_text = "[]"
            else:
                key = secrets.token_hex(12)
                with self.lock:
                    self.state["uploads"][key] = {"uid": uid, "gid": gid, "width": probe[1], "height": probe[2],
                                                  "filename": upload.filename}
                    self.save()
                self.blobs[f"upload:{key}"] = (upload.content, f"image/{probe[0].lower()}")
                photo_text = json.dumps([{"photo": key, "sizes": [], "kid": secrets.token_hex(8)}])
            return Response.json({"server": UPLOAD_SERVER_ID, "photo": photo_text,
                                  "hash": self._sign("photo", photo_text, UPLOAD_SERVER_ID)})

        fault = self.take_fault("upload")
        response = execute() if fault is None else self._fault_plain(fault, execute)
        record["status"] = response.status
        return response

    def _fault_plain(self, kind: str, execute: Callable[[], Response]) -> Response:
        """Faults on the non-API endpoints (upload server, Long Poll, VK ID): HTTP errors and timeouts."""
        if kind == "timeout_after":
            response = execute()
            self.sleep_for_timeout()
            return response
        if kind == "timeout_before":
            self.sleep_for_timeout()
            return Response(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html")
        status = 502 if kind == "http_502" else 500
        return Response(status, f"<html><body><h1>{status}</h1></body></html>".encode(), "text/html")


    # --- polls ---------------------------------------------------------------------------------------------
    def m_polls_create(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        group = self._wall(token, p.get("owner_id"))
        question = p.get("question", "").strip()
        if not question:
            raise invalid("question is undefined")
        try:
            answers = json.loads(p.get("add_answers", "[]"))
        except ValueError:
            raise invalid("add_answers is invalid") from None
        if (not isinstance(answers, list) or not 1 <= len(answers) <= 10
                or not all(isinstance(a, str) and a.strip() for a in answers)):
            raise invalid("add_answers should be a JSON array of 1 to 10 non-empty strings")
        end_date = p.get("end_date", 0)
        if end_date and end_date <= time.time():
            raise invalid("end_date should be in the future")
        poll_id = self.next_id("poll")
        poll = {"id": poll_id, "owner_id": -group["id"], "author_id": token["user_id"], "created": _now(),
                "question": question, "anonymous": bool(p.get("is_anonymous", False)),
                "multiple": bool(p.get("is_multiple", False)), "end_date": end_date,
                "disable_unvote": bool(p.get("disable_unvote", False)), "voters": [],
                "answers": [{"id": self.next_id("poll_answer"), "text": a, "voters": []} for a in answers]}
        group["polls"][str(poll_id)] = poll
        return self._poll_obj(poll)

    def m_polls_getById(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        owner_id = p.get("owner_id")
        group = self._find_group(owner_id) if owner_id is not None and owner_id < 0 else None
        poll = group["polls"].get(str(p["poll_id"])) if group else None
        if poll is None or group is None:
            raise ApiError(251, "Invalid poll id")
        return self._poll_obj(poll)

    # --- groups --------------------------------------------------------------------------------------------
    def m_groups_getById(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        refs = list(p.get("group_ids", []))
        if p.get("group_id"):
            refs.append(p["group_id"])
        if not refs:
            if token["type"] != "group":
                raise invalid("group_ids is undefined")
            refs = [str(token["group_id"])]
        groups = []
        for ref in refs:
            ref = str(ref)
            group = self._find_group(int(ref)) if INT_RE.match(ref) else None
            if group is None:
                try:
                    group = self._resolve_domain(ref)
                except ApiError:
                    raise invalid("group_ids is invalid") from None
            groups.append(self._group_obj(group, token, p.get("fields", [])))
        return {"groups": groups, "profiles": []}

    def m_groups_getLongPollServer(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        group = self._find_group(p["group_id"])
        if group is None:
            raise invalid("group_id is invalid")
        if self._admin_level(token, group) < 3:
            raise ApiError(15, "Access denied: no access to this group")
        key = secrets.token_hex(20)
        lp = group["lp"]
        lp["keys"] = [*lp["keys"][-4:], key]
        return {"key": key, "server": f"{self.base_url}/lp/{group['id']}", "ts": str(lp["next_ts"])}

    # --- messages ------------------------------------------------------------------------------------------
    def m_messages_send(self, token: dict[str, Any], p: dict[str, Any]) -> int:
        if token["type"] != "group":
            raise ApiError(15, "Access denied: only community messages are emulated")
        group = self._group(token["group_id"])
        if "random_id" not in p:
            raise invalid("random_id is undefined")
        peer = p.get("peer_id", p.get("user_id"))
        if peer is None:
            raise invalid("peer_id is undefined")
        text = p.get("message", "")
        if not text and not p.get("attachment") and not p.get("sticker_id"):
            raise invalid("message is empty or invalid")
        if len(text) > MESSAGE_LIMIT:
            raise ApiError(914, "Message is too long")
        if str(peer) not in self.state["users"]:
            raise ApiError(113, "Invalid user id")
        if peer not in group["allowed"]:
            raise ApiError(901, "Can't send messages for users without permission")
        random_id = p["random_id"]
        if random_id and str(random_id) in group["random_ids"]:
            return int(group["random_ids"][str(random_id)])
        message = self._add_message(group, peer, -group["id"], text, out=1, random_id=random_id)
        if random_id:
            group["random_ids"][str(random_id)] = message["id"]
        return int(message["id"])

    def _add_message(self, group: dict[str, Any], peer: int, from_id: int, text: str, *, out: int,
                     random_id: int = 0) -> dict[str, Any]:
        message_id = self.next_id(f"msg:{group['id']}")
        conversation = sum(1 for m in group["messages"] if m["peer_id"] == peer) + 1
        message = {"id": message_id, "date": _now(), "peer_id": peer, "from_id": from_id, "text": text,
                   "out": out, "conversation_message_id": conversation, "version": message_id,
                   "random_id": random_id, "attachments": [], "fwd_messages": [], "important": False,
                   "is_hidden": False}
        group["messages"].append(message)
        return message

    def m_messages_isMessagesFromGroupAllowed(self, token: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        group = self._find_group(p["group_id"])
        if group is None or self._admin_level(token, group) < 1:
            raise ApiError(15, "Access denied: no access to this group")
        return {"is_allowed": 1 if p["user_id"] in group["allowed"] else 0}

    def m_users_get(self, token: dict[str, Any], p: dict[str, Any]) -> list[dict[str, Any]]:
        ids = p.get("user_ids") or ([str(token["user_id"])] if token["type"] == "user" else [])
        users = []
        for ref in ids:
            user = self.state["users"].get(str(ref).removeprefix("id"))
            if user is not None:
                users.append({"id": user["id"], "first_name": user["first_name"], "last_name": user["last_name"],
                              "can_access_closed": True, "is_closed": False})
        if ids and not users:
            raise ApiError(113, "Invalid user id")
        return users

    # --- Bots Long Poll ------------------------------------------------------------------------------------
    def _event(self, group: dict[str, Any], kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        lp = group["lp"]
        number = lp["next_ts"]
        lp["next_ts"] = number + 1
        event = {"group_id": group["id"], "type": kind, "event_id": hashlib.sha256(
            f"{group['id']}:{number}:{kind}".encode()).hexdigest()[:40], "v": API_VERSION, "object": obj}
        lp["events"].append({"ts": number, "event": event})
        lp["events"] = lp["events"][-self.lp_history:]
        return event

    def callback_body(self, event: dict[str, Any]) -> dict[str, Any]:
        """The JSON VK's Callback API would POST for this event (with the community's secret)."""
        group = self._group(event["group_id"])
        return {**event, "secret": group["secret"]}

    def callback_bodies(self, group_id: int) -> list[dict[str, Any]]:
        with self.lock:
            group = self._group(group_id)
            return [self.callback_body(item["event"]) for item in group["lp"]["events"]]

    def _long_poll(self, request: Request) -> Response:
        query = request.query
        record: dict[str, Any] = {"kind": "longpoll", "method": "a_check", "params": _redact(query)}
        self.log_request(record, request)

        def execute() -> Response:
            with self.lock:
                group = self.state["groups"].get(request.match["gid"])
                if group is None or query.get("act") != "a_check":
                    return Response.json({"failed": 2})
                lp = group["lp"]
                if lp["lost"]:
                    lp["lost"] = False
                    lp["keys"] = []
                    return Response.json({"failed": 3})
                if query.get("key") not in lp["keys"]:
                    return Response.json({"failed": 2})
                ts_text = query.get("ts", "")
                if not ts_text.isdigit():
                    return Response.json({"failed": 1, "ts": str(lp["next_ts"])})
                ts = int(ts_text)
                oldest = lp["events"][0]["ts"] if lp["events"] else lp["next_ts"]
                if ts < oldest or ts > lp["next_ts"]:
                    return Response.json({"failed": 1, "ts": str(lp["next_ts"])})
            try:
                wait = min(max(int(query.get("wait", "25")), 0), 90)
            except ValueError:
                wait = 25
            deadline = time.monotonic() + wait
            while True:
                with self.lock:
                    events = [item["event"] for item in lp["events"] if item["ts"] >= ts]
                    next_ts = lp["next_ts"]
                if events or time.monotonic() >= deadline:
                    return Response.json({"ts": str(next_ts), "updates": events})
                time.sleep(0.05)

        fault = self.take_fault("a_check")
        response = execute() if fault is None else self._fault_plain(fault, execute)
        record["status"] = response.status
        return response

    # --- VK ID ---------------------------------------------------------------------------------------------
    def _oauth(self, request: Request) -> Response:
        form = request.form
        record: dict[str, Any] = {"kind": "oauth", "method": "oauth2.auth", "params": _redact(form)}
        self.log_request(record, request)

        def fail(error: str, description: str, status: int = 400) -> Response:
            body: dict[str, Any] = {"error": error, "error_description": description}
            if form.get("state"):
                body["state"] = form["state"]
            return Response.json(body, status)

        def execute() -> Response:
            if form.get("grant_type") != "refresh_token":
                if not form.get("grant_type"):
                    return fail("invalid_request", "grant_type is required")
                return fail("unsupported_grant_type", "only refresh_token is emulated")
            for name in ("refresh_token", "client_id", "device_id", "state"):
                if not form.get(name):
                    return fail("invalid_request", f"{name} is required")
            with self.lock:
                if form["client_id"] not in self.state["clients"]:
                    return fail("invalid_client", "unknown client_id", 401)
                old = self.state["refresh_tokens"].get(form["refresh_token"])
                if (old is None or not old["valid"] or old["client_id"] != form["client_id"]
                        or old["device_id"] != form["device_id"]):
                    return fail("invalid_grant", "refresh token is invalid, expired or already used")
                old["valid"] = False  # rotation: the old refresh token stops working
                expires_in = 3600
                access = self._new_token("user", user_id=old["user_id"], expires_at=_now() + expires_in)
                refresh = secrets.token_urlsafe(40)
                self.state["refresh_tokens"][refresh] = {**old, "valid": True, "access_token": access}
                self.save()
            return Response.json({"refresh_token": refresh, "access_token": access, "token_type": "Bearer",
                                  "expires_in": expires_in, "user_id": old["user_id"], "state": form["state"],
                                  "scope": "wall photos groups"})

        fault = self.take_fault("oauth")
        response = execute() if fault is None else self._fault_plain(fault, execute)
        record["status"] = response.status
        return response

    # --- readers ---------------------------------------------------------------------------------------------
    def simulate(self, action: str, data: dict[str, Any]) -> Any:
        if action == "seed":
            return self.seed(**data)
        group = self._group(data.get("group_id") or data.get("owner_id") or 0)
        user_id = int(data.get("user_id") or 0) or self.next_id("reader") + 700000
        if action == "new_member":
            self._user(user_id, data.get("first_name", ""), data.get("last_name", ""))
            if user_id not in group["members"]:
                group["members"].append(user_id)
                group.setdefault("member_log", []).append([int(data.get("at") or _now()), 1])
                self._event(group, "group_join", {"user_id": user_id, "join_type": "join"})
            return {"user_id": user_id}
        if action == "leave":
            if user_id in group["members"]:
                group["members"].remove(user_id)
                group.setdefault("member_log", []).append([int(data.get("at") or _now()), -1])
                self._event(group, "group_leave", {"user_id": user_id, "self": 1})
            return {"user_id": user_id}
        if action in ("allow_messages", "deny_messages"):
            self._user(user_id, data.get("first_name", ""), data.get("last_name", ""))
            if action == "allow_messages" and user_id not in group["allowed"]:
                group["allowed"].append(user_id)
                self._event(group, "message_allow", {"user_id": user_id, "key": data.get("key", "")})
            elif action == "deny_messages" and user_id in group["allowed"]:
                group["allowed"].remove(user_id)
                self._event(group, "message_deny", {"user_id": user_id})
            return {"user_id": user_id}
        if action == "message":
            self._user(user_id, data.get("first_name", ""), data.get("last_name", ""))
            message = self._add_message(group, user_id, user_id, str(data.get("text", "")), out=0)
            if user_id not in group["allowed"]:
                group["allowed"].append(user_id)  # a person who wrote to the community may be answered
            self._event(group, "message_new", {"message": {k: v for k, v in message.items()},
                                               "client_info": {"button_actions": ["text"], "keyboard": True,
                                                               "inline_keyboard": True, "carousel": True,
                                                               "lang_id": 0}})
            return {"message_id": message["id"], "user_id": user_id}
        post = self._post(group, int(data.get("post_id") or 0)) if "post_id" in data else None
        if action == "comment":
            if post is None:
                raise ValueError("no such post")
            self._user(user_id, data.get("first_name", ""), data.get("last_name", ""))
            reply_to = data.get("reply_to_comment")
            if reply_to and str(reply_to) not in group["comments"]:
                raise ValueError("no such comment")
            comment = self._add_comment(group, post, user_id, str(data.get("text", "")), reply_to)
            return {"comment_id": comment["id"], "user_id": user_id}
        if action in ("view", "like", "repost"):
            if post is None:
                raise ValueError("no such post")
            count = int(data.get("count", 1))
            if action == "view":
                post["views"] += count
            elif action == "repost":
                post["reposts"] += count
            else:
                post["likes"].extend(user_id + n for n in range(count))
            return {"post_id": post["id"]}
        if action == "vote":
            poll = group["polls"].get(str(data.get("poll_id")))
            if poll is None:
                raise ValueError("no such poll")
            if user_id in poll["voters"]:
                raise ValueError("already voted")
            indexes = data.get("answers", [data.get("answer", 0)])
            chosen = [poll["answers"][int(i)] for i in indexes]
            if len(chosen) > 1 and not poll["multiple"]:
                raise ValueError("the poll allows one answer")
            self._user(user_id)
            poll["voters"].append(user_id)
            for answer in chosen:
                answer["voters"].append(user_id)
                self._event(group, "poll_vote_new", {"owner_id": poll["owner_id"], "poll_id": poll["id"],
                                                     "option_id": answer["id"], "user_id": user_id})
            return {"poll_id": poll["id"], "user_id": user_id}
        if action == "lose_history":
            group["lp"]["lost"] = True
            return {}
        if action == "expire_lp_key":
            group["lp"]["keys"] = []
            return {}
        raise KeyError(action)

    # --- HTML views -------------------------------------------------------------------------------------------
    def _render_post(self, group: dict[str, Any], post: dict[str, Any]) -> str:
        e = html.escape
        parts = [f"<article><p><a href='/wall{post['owner_id']}_{post['id']}'>#{post['id']}</a> · "
                 f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(post['date']))} UTC · views {post['views']} · "
                 f"likes {len(post['likes'])} · reposts {post['reposts']}</p>",
                 f"<p style='white-space:pre-wrap'>{e(post['text'])}</p>"]
        for attachment in post["attachments"]:
            obj = self._attachment_obj(group, attachment)
            if obj["type"] == "photo":
                photo = obj["photo"]
                parts.append(f"<img alt='photo' style='max-width:160px' "
                             f"src='/photos/{e(str(photo['owner_id']))}_{e(str(photo['id']))}'>")
            elif obj["type"] == "poll":
                poll = obj["poll"]
                rows = "".join(f"<li>{e(a['text'])}: {a['votes']}</li>" for a in poll["answers"])
                parts.append(f"<div><b>{e(poll['question'])}</b> ({poll['votes']} voted)<ul>{rows}</ul></div>")
            else:
                url = obj["link"]["url"]
                parts.append(f"<p>🔗 <a rel='nofollow' href='{e(url)}'>{e(url)}</a></p>")
        comments = [c for c in group["comments"].values() if c["post_id"] == post["id"]]
        if comments:
            items = "".join(f"<li>{e(str(c['from_id']))}: {e(c['text'])}</li>" for c in comments)
            parts.append(f"<ul>{items}</ul>")
        return "".join(parts) + "</article><hr>"

    def _render_group(self, group: dict[str, Any]) -> str:
        e = html.escape
        posts = sorted((p for p in group["posts"].values() if not p["deleted"]), key=lambda p: -p["id"])
        dialogs = "".join(f"<li>{'→' if m['out'] else '←'} {e(str(m['peer_id']))}: {e(m['text'])}</li>"
                          for m in group["messages"][-50:])
        members = len(group["members"]) + int(group["extra_members"])
        return (f"<section><h2><a href='/club{group['id']}'>{e(group['name'])}</a></h2>"
                f"<p>vk.com/{e(group['screen_name'])} · members {members}</p>"
                + "".join(self._render_post(group, post) for post in posts[:50])
                + f"<h3>Messages</h3><ul>{dialogs}</ul></section>")

    def render_pages(self) -> str:
        with self.lock:
            return "".join(self._render_group(group) for group in self.state["groups"].values()) or "<p>No pages.</p>"

    def _club_view(self, request: Request) -> Response:
        with self.lock:
            group = self.state["groups"].get(request.match["gid"])
            if group is None:
                return Response.html("<p>Not found</p>", 404)
            body = self._render_group(group)
        return Response.html(f"<!doctype html><html lang='ru'><meta charset='utf-8'><title>{html.escape(group['name'])}"
                             f"</title><body>{body}</body></html>")

    def _post_view(self, request: Request) -> Response:
        with self.lock:
            group = self._find_group(int(request.match["owner"]))
            post = self._post(group, int(request.match["pid"])) if group else None
            if group is None or post is None:
                return Response.html("<p>Not found</p>", 404)
            body = self._render_post(group, post)
        return Response.html(f"<!doctype html><html lang='ru'><meta charset='utf-8'><title>{html.escape(group['name'])}"
                             f"</title><body>{body}</body></html>")

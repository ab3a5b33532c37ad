"""A protocol-faithful local OK (ok.ru): ``/fb.do``, the photo upload server and the Bot API under ``/graph/``.

What it checks the way OK does (apiok.ru method docs; error codes from OK's list):

- every REST call: known ``method`` (else 3 METHOD), ``application_key`` of a known application (101),
  ``format=json``, an access token (453 SESSION_REQUIRED), the ``sig`` recomputed from the parameters and
  ``md5(access_token + application_secret_key)`` (104 PARAM_SIGNATURE), the token valid / not expired
  (103 / 102), the token's permissions (10 PERMISSION_DENIED), required parameters, types, ranges and enums
  (100 PARAM; unknown parameters are refused too, so a typo cannot pass), and a per-token request budget
  (8 FLOOD_BLOCKED; OK's limits are not public, so it is configurable, 5 requests/s by default);
- ``mediatopic.post``/``edit``: the JSON attachment (media blocks text / photo / link / poll), text and poll
  limits (601-604), photo tokens that really came from the upload server for this group (121), admin rights;
- the upload server: a multipart body (21 NOT_MULTIPART), real images only (503 PHOTO_INVALID_FORMAT,
  504 PHOTO_IMAGE_CORRUPTED, 505 PHOTO_NO_IMAGE, 500 PHOTO_SIZE_LIMIT_EXCEEDED), a valid upload token;
- the Bot API: the group's messages key in ``access_token``, ``Content-Type: application/json`` on POSTs,
  chats of this group only (705 CHAT_NOT_FOUND), messages only to users who allowed them.

Faults (``add_fault(method, kind)``; REST method names, ``uploadImage`` or ``graph.user.messages`` style Bot
API names): ``http_500``/``http_502``, ``timeout_before`` (nothing applied, then 504), ``timeout_after``
(applied, then the answer is late), ``rate_limit`` (8 FLOOD_BLOCKED), ``captcha`` (OK's API has no captcha:
answered with 7 ACTION_BLOCKED, its anti-spam block), ``revoke_token`` (103 from now on) and ``expire_token``
(102 from now on).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from emulators.base import EmulatorApp, Request, Response
from filial.networks.ok.client import ERROR_NAMES, sign

MOSCOW = timezone(timedelta(hours=3))
DEFAULT_PERMISSIONS = ("VALUABLE_ACCESS", "GROUP_CONTENT", "PHOTO_CONTENT", "LONG_ACCESS_TOKEN")
ADMIN_STATUSES = ("ADMIN", "MODERATOR")
POLL_OPTIONS = frozenset({"SingleChoice", "AnonymousVoting", "ResultsAfterVoting", "VotingClosed"})
DISCUSSION_TYPES = ("GROUP_TOPIC", "GROUP_PHOTO", "GROUP_ALBUM", "GROUP_MOVIE", "GROUP_PRODUCT", "USER_STATUS",
                    "USER_PHOTO", "USER_ALBUM", "USER_FORUM", "MOVIE", "CITY_NEWS", "SCHOOL_FORUM", "CHAT")
ATTACHMENT_KEYS = frozenset({"media", "publishAt", "publishAtMs", "onBehalfOfGroup", "disableComments"})


class ApiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Param:
    kind: str  # str, id, ids, int, bool, enum, json, fields
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()


BASE_PARAMS = frozenset({"method", "application_key", "format", "access_token", "session_key", "sig"})
FIELD_NAMES: dict[str, frozenset[str]] = {
    "user": frozenset({"uid", "name", "first_name", "last_name", "gender", "locale", "pic_1", "pic_2", "pic_3",
                       "pic_50x50", "pic_128x128", "url_profile", "online", "last_online"}),
    "group": frozenset({"uid", "name", "shortname", "description", "members_count", "pic_avatar", "premium",
                        "private", "main_photo", "photo_id", "created_ms", "status", "admin_id"}),
    "media_topic": frozenset({"id", "created_ms", "media", "like_summary", "reshare_summary", "discussion_summary",
                              "views_count", "owner_ref", "author_ref", "is_on_behalf_of_group", "is_editable",
                              "edit_allowed", "delete_id", "publication_date_ms", "is_commenting_denied",
                              "has_more"}),
    "poll": frozenset({"id", "question", "answers", "options", "votes_count"}),
    "group_photo": frozenset({"id", "pic640x480", "pic_max", "standard_width", "standard_height", "text"}),
    "comment": frozenset({"id", "text", "author_id", "author_name", "author_ref", "date", "created_ms",
                          "reply_to_comment_id", "reply_to_id", "reply_to_name", "type", "like_count"}),
}
FIELD_PREFIXES: dict[str, tuple[str, ...]] = {
    "users.getCurrentUser": ("user",),
    "group.getInfo": ("group",),
    "mediatopic.getByIds": ("media_topic", "poll", "group", "group_photo", "user"),
    "mediatopic.getTopics": ("media_topic", "poll", "group", "group_photo", "user"),
    "discussions.getComments": ("comment", "user", "group"),
    "discussions.addDiscussionComment": ("comment", "user", "group"),
}
_DIRECTIONS = ("FORWARD", "BACKWARD", "AROUND")

# Parameters per method as apiok.ru documents them (only the methods Filial uses are emulated).
METHODS: dict[str, dict[str, Param]] = {
    "users.getCurrentUser": {"fields": Param("fields")},
    "group.getInfo": {"uids": Param("ids", True, maximum=100), "fields": Param("fields", True),
                      "move_to_top": Param("bool")},
    "group.getUserGroupsByIds": {"group_id": Param("id", True), "uids": Param("ids", True, maximum=100)},
    "photosV2.getUploadUrl": {"uid": Param("id"), "aid": Param("str", maximum=64), "gid": Param("id"),
                              "count": Param("int", minimum=1, maximum=40), "placeholders": Param("bool")},
    "mediatopic.post": {"uid": Param("id"), "type": Param("enum", choices=(
                            "USER", "USER_STATUS", "USER_NOTE", "GROUP_THEME", "GROUP_THEME_PROMO", "GROUP_SUGGESTED")),
                        "gid": Param("id"), "attachment": Param("json", True), "set_status": Param("bool"),
                        "devices": Param("str", maximum=64), "text_link_preview": Param("bool"),
                        "hidden_post": Param("bool"), "ads_post": Param("bool")},
    "mediatopic.edit": {"topic_id": Param("id", True), "attachment": Param("json", True), "gid": Param("id"),
                        "uid": Param("id")},
    "mediatopic.deleteTopic": {"topic_id": Param("id", True), "gid": Param("id"), "uid": Param("id")},
    "mediatopic.getByIds": {"topic_ids": Param("ids", True, maximum=100), "media_limit": Param("int", minimum=1,
                            maximum=3), "fields": Param("fields"), "features": Param("str", maximum=256)},
    "mediatopic.getTopics": {"gid": Param("id"), "uid": Param("id"), "anchor": Param("str", maximum=256),
                             "direction": Param("enum", choices=_DIRECTIONS), "count": Param("int", minimum=1,
                             maximum=100), "fields": Param("fields")},
    "discussions.getComments": {"discussionId": Param("str", True, maximum=64), "discussionType": Param(
                                    "enum", True, choices=DISCUSSION_TYPES), "anchor": Param("str", maximum=256),
                                "direction": Param("enum", choices=_DIRECTIONS), "count": Param("int", minimum=1,
                                maximum=100), "frmt": Param("enum", choices=("TEXT", "HTML")),
                                "fields": Param("fields"), "fieldset": Param("str", maximum=64),
                                "mark_as_read": Param("bool"), "includeRemoved": Param("bool")},
    "discussions.addDiscussionComment": {"entityId": Param("str", True, maximum=64), "entityType": Param(
                                             "enum", True, choices=DISCUSSION_TYPES),
                                         "comment": Param("str", True, maximum=4096),
                                         "reply_to_comment_id": Param("str", maximum=256),
                                         "as_admin": Param("bool"), "attachments": Param("json"),
                                         "frmt": Param("enum", choices=("TEXT", "HTML")), "fields": Param("fields"),
                                         "fieldset": Param("str", maximum=64)},
}
PERMISSION_OF = {"mediatopic.post": "GROUP_CONTENT", "mediatopic.edit": "GROUP_CONTENT",
                 "mediatopic.deleteTopic": "GROUP_CONTENT", "photosV2.getUploadUrl": "PHOTO_CONTENT"}
WRITE_METHODS = frozenset({"mediatopic.post", "mediatopic.edit", "mediatopic.deleteTopic",
                           "discussions.addDiscussionComment", "photosV2.getUploadUrl"})


def _now_ms() -> int:
    return int(time.time() * 1000)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def _is_bool(value: str) -> bool:
    return value.lower() in ("true", "false")


def _truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


class OKEmulator(EmulatorApp):
    network = "ok"
    title = "OK (ok.ru) emulator"

    def __init__(self, *, state_file: Path | None = None, fault_delay: float = 25.0, rate_limits: bool = True,
                 rate_limit: int = 5, rate_period: float = 1.0, text_limit: int = 10_000, max_photos: int = 10,
                 poll_max_answers: int = 10, poll_question_limit: int = 255, poll_answer_limit: int = 255,
                 max_media_blocks: int = 20, max_image_bytes: int = 20 * 1024 * 1024,
                 deliver_webhooks: bool = True) -> None:
        self.rate_limit = rate_limit
        self.rate_period = rate_period
        self.text_limit = text_limit
        self.max_photos = max_photos
        self.poll_max_answers = poll_max_answers
        self.poll_question_limit = poll_question_limit
        self.poll_answer_limit = poll_answer_limit
        self.max_media_blocks = max_media_blocks
        self.max_image_bytes = max_image_bytes
        self.deliver_webhooks = deliver_webhooks
        super().__init__(state_file=state_file, fault_delay=fault_delay, rate_limits=rate_limits)

    # --- state ---------------------------------------------------------------------------------------------
    def reset_state(self) -> None:
        self.state = {"apps": {}, "tokens": {}, "users": {}, "groups": {}, "topics": {}, "photos": {},
                      "uploads": {}, "polls": {}, "comments": {}, "chats": {}, "subscriptions": {},
                      "webhook_outbox": []}
        self.blobs = {}

    def seed(self, *, gid: str = "57000000000001", name: str = "Библиотека", shortname: str = "",
             members: int = 0, application_key: str = "CBAEMULATORAPPKEY",
             application_secret_key: str = "EMULATORSECRETKEY0000000",  # noqa: S107 - a fake for the emulator
             access_token: str = "",
             bot_token: str = "", admin_uid: str = "570000000001", admin_name: str = "Администратор страницы",
             permissions: tuple[str, ...] | list[str] = DEFAULT_PERMISSIONS, description: str = "") -> dict[str, Any]:
        """Create (or refresh) an application, an admin user with a token, a group and its messages key."""
        gid = str(gid)
        access_token = access_token or f"tkn1{_b64('admin:' + gid)}"
        bot_token = bot_token or f"tkn1{_b64('bot:' + gid)}"
        with self.lock:
            self.state["apps"][application_key] = {"secret": application_secret_key, "name": "Filial"}
            self.state["users"].setdefault(admin_uid, {"name": admin_name})
            group = self.state["groups"].setdefault(gid, {
                "name": name, "shortname": shortname, "description": description, "admins": [], "members": [],
                "allowed": [], "created_ms": _now_ms()})
            group.update({"name": name, "shortname": shortname or group.get("shortname", "")})
            if admin_uid not in group["admins"]:
                group["admins"].append(admin_uid)
            if admin_uid not in group["members"]:
                group["members"].append(admin_uid)
            for _ in range(max(0, members - len(group["members"]))):
                uid = str(580000000000 + self.next_id("user"))
                self.state["users"][uid] = {"name": f"Читатель {uid[-4:]}"}
                group["members"].append(uid)
            self.state["tokens"][access_token] = {"kind": "user", "app": application_key, "uid": admin_uid,
                                                  "permissions": list(permissions), "status": "active"}
            self.state["tokens"][bot_token] = {"kind": "bot", "gid": gid, "status": "active"}
            self.save()
        return {"external_id": gid, "credentials": {
            "application_key": application_key, "application_secret_key": application_secret_key,
            "access_token": access_token, "bot_token": bot_token}}

    # --- routes --------------------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", r"/fb\.do", self._rest)
        self.route("GET", r"/fb\.do", self._rest)
        self.route("POST", r"/uploadImage", self._upload)
        self.route("GET", r"/_emulator/photo/(?P<key>\d+)", self._photo_file)
        graph: list[tuple[str, str, str, Callable[[Request, dict[str, Any]], Any]]] = [
            ("GET", r"/graph/me/info/?", "graph.user.info", self._g_info),
            ("GET", r"/graph/me/chats/?", "graph.user.chats", self._g_chats),
            ("GET", r"/graph/me/chat(?:/(?P<chat_id>[^/]+))?/?", "graph.user.chat", self._g_chat),
            ("GET", r"/graph/me/messages(?:/(?P<chat_id>[^/]+))?/?", "graph.user.messages", self._g_messages),
            ("POST", r"/graph/me/messages(?:/(?P<chat_id>[^/]+))?/?", "graph.user.messages", self._g_send),
            ("POST", r"/graph/me/subscribe/?", "graph.user.subscribe", self._g_subscribe),
            ("POST", r"/graph/me/unsubscribe/?", "graph.user.unsubscribe", self._g_unsubscribe),
            ("GET", r"/graph/me/subscriptions/?", "graph.user.subscriptions", self._g_subscriptions),
        ]
        for verb, pattern, name, handler in graph:
            self.route(verb, pattern, self._graph_route(name, handler))

    # --- envelopes -----------------------------------------------------------------------------------------
    @staticmethod
    def error(code: int, detail: str = "") -> Response:
        name = ERROR_NAMES.get(code, "UNKNOWN")
        return Response.json({"error_code": code, "error_msg": f"{name} : {detail}" if detail else name,
                              "error_data": None}, headers=[("invocation-error", str(code))])

    def _fault_response(self, kind: str | None) -> Response | None:
        if kind == "http_500":
            return Response.html("<h1>500 Internal Server Error</h1>", 500)
        if kind == "http_502":
            return Response.html("<h1>502 Bad Gateway</h1>", 502)
        if kind == "timeout_before":
            self.sleep_for_timeout()
            return Response.html("<h1>504 Gateway Time-out</h1>", 504)
        if kind == "rate_limit":
            return self.error(8, "Flood blocked")
        if kind == "captcha":
            return self.error(7, "Action blocked")
        return None

    def _record(self, api: str, method: str, request: Request, params: dict[str, Any],
                body: Any = None) -> dict[str, Any]:
        redacted = {key: value for key, value in params.items() if key not in ("access_token", "session_key")}
        if "sig" in redacted:
            redacted["sig"] = "<redacted>"
        entry: dict[str, Any] = {"api": api, "method": method, "http": request.method, "path": request.path,
                                 "params": redacted, "content_type": request.headers.get("content-type", "")}
        if body is not None:
            entry["json"] = body
        self.log_request(entry, request)
        return entry

    @staticmethod
    def _finish(entry: dict[str, Any], response: Response) -> Response:
        entry["status"] = response.status
        if response.content_type.startswith("application/json"):
            entry["response"] = json.loads(response.body.decode("utf-8"))
        return response

    # --- REST ----------------------------------------------------------------------------------------------
    def _rest(self, request: Request) -> Response:
        params = request.params
        method = params.get("method", "")
        entry = self._record("rest", method, request, params)
        return self._finish(entry, self._rest_call(method, params))

    def _rest_call(self, method: str, params: dict[str, str]) -> Response:
        if not method:
            return self.error(100, "Missing required parameter method")
        if method not in METHODS:
            return self.error(3, f"Method {method} does not exist")
        fault = self.take_fault(method)
        early = self._fault_response(fault if fault not in ("rate_limit", "captcha") else None)
        if early is not None:
            return early
        app = self.state["apps"].get(params.get("application_key", ""))
        if app is None:
            return self.error(101, "Parameter application_key not specified or invalid")
        if params.get("format", "").lower() != "json":
            return self.error(100, "format must be json (the XML format is not emulated)")
        token = params.get("access_token") or params.get("session_key") or ""
        if not token:
            return self.error(453, "Session key was not specified for the method, which requires session")
        if params.get("sig", "") != sign(params, token, app["secret"]):
            return self.error(104, "Invalid signature")
        with self.lock:
            record = self.state["tokens"].get(token)
            if record is None or record.get("kind") != "user" or record.get("app") != params["application_key"]:
                return self.error(103, "Invalid session key")
            if fault == "revoke_token":
                record["status"] = "revoked"
                self.save()
            elif fault == "expire_token":
                record["status"] = "expired"
                self.save()
            if record["status"] == "revoked":
                return self.error(103, "Invalid session key")
            if record["status"] == "expired":
                return self.error(102, "Session expired")
        late = self._fault_response(fault if fault in ("rate_limit", "captcha") else None)
        if late is not None:
            return late
        if self.over_limit(f"rest:{token}", self.rate_limit, self.rate_period):
            return self.error(8, "Flood blocked")
        permission = PERMISSION_OF.get(method, "VALUABLE_ACCESS")
        if permission not in record.get("permissions", []):
            return self.error(10, f"Permission {permission} is required")
        try:
            self._validate(method, params)
            handler = getattr(self, "m_" + method.replace(".", "_"))
            with self.lock:
                result = handler(record, params)
                self.save()
        except ApiError as exc:
            return self.error(exc.code, exc.detail)
        if fault == "timeout_after":
            self.sleep_for_timeout()
        return Response.json(result)

    def _validate(self, method: str, params: dict[str, str]) -> None:
        spec = METHODS[method]
        for key in params:
            if key not in spec and key not in BASE_PARAMS:
                raise ApiError(100, f"Unknown parameter {key}")
        for name, rule in spec.items():
            value = params.get(name)
            if value is None or value == "":
                if rule.required:
                    raise ApiError(100, f"Missing required parameter {name}")
                continue
            self._check_param(method, name, rule, value)

    @staticmethod
    def _check_param(method: str, name: str, rule: Param, value: str) -> None:
        bad = ApiError(100, f"Invalid parameter {name}")
        if rule.kind == "id" and not (value.isdigit() and len(value) <= 20):
            raise bad
        if rule.kind == "ids":
            items = value.split(",")
            if not all(item.isdigit() for item in items) or (rule.maximum and len(items) > rule.maximum):
                raise bad
        if rule.kind == "int":
            if not re.fullmatch(r"-?\d{1,10}", value):
                raise bad
            number = int(value)
            if (rule.minimum is not None and number < rule.minimum) or (
                    rule.maximum is not None and number > rule.maximum):
                raise ApiError(100, f"Parameter {name} is out of range")
        if rule.kind == "bool" and not _is_bool(value):
            raise bad
        if rule.kind == "enum" and value.upper() not in {choice.upper() for choice in rule.choices}:
            raise ApiError(100, f"Invalid value of {name}: {value}")
        if rule.kind == "str" and rule.maximum is not None and len(value) > rule.maximum:
            raise ApiError(100, f"Parameter {name} is too long")
        if rule.kind == "json":
            try:
                json.loads(value)
            except ValueError:
                raise ApiError(100, f"Parameter {name} is not valid JSON") from None
        if rule.kind == "fields":
            prefixes = FIELD_PREFIXES.get(method, ())
            for token in value.split(","):
                match = re.fullmatch(r"(?:([a-z_]+)\.)?(\*|[a-z_0-9]+)", token.strip().lower())
                prefix = (match.group(1) or prefixes[0]) if match and prefixes else ""
                if not match or prefix not in prefixes or (
                        match.group(2) != "*" and match.group(2) not in FIELD_NAMES[prefix]):
                    raise ApiError(100, f"Invalid field {token}")

    # helpers for handlers
    def _group(self, gid: str, code: int = 160) -> dict[str, Any]:
        group = self.state["groups"].get(gid)
        if group is None:
            raise ApiError(code, f"Invalid group ID {gid}")
        return dict(group)

    def _require_admin(self, record: dict[str, Any], gid: str) -> None:
        if record["uid"] not in self.state["groups"][gid]["admins"]:
            raise ApiError(10, "Only group administrators may do this")

    def _topic(self, topic_id: str) -> dict[str, Any]:
        topic = self.state["topics"].get(topic_id)
        if topic is None or topic.get("deleted"):
            raise ApiError(300, f"Topic {topic_id} is not found")
        return dict(topic)

    @staticmethod
    def _fields(raw: str | None) -> set[str]:
        return {token.strip().lower() for token in (raw or "").split(",") if token.strip()}

    # --- methods -------------------------------------------------------------------------------------------
    def m_users_getCurrentUser(self, record: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
        user = self.state["users"][record["uid"]]
        first, _, last = user["name"].partition(" ")
        full = {"uid": record["uid"], "name": user["name"], "first_name": first, "last_name": last}
        wanted = {name.split(".")[-1] for name in self._fields(p.get("fields"))}
        if not wanted or "*" in wanted:
            return full
        return {key: value for key, value in full.items() if key in wanted or key == "uid"}

    def m_group_getInfo(self, record: dict[str, Any], p: dict[str, str]) -> list[dict[str, Any]]:
        wanted = {name.split(".")[-1] for name in self._fields(p["fields"])}
        out = []
        for gid in p["uids"].split(","):
            group = self.state["groups"].get(gid)
            if group is None:
                continue
            full = {"uid": gid, "name": group["name"], "shortname": group.get("shortname", ""),
                    "description": group.get("description", ""), "members_count": len(group["members"]),
                    "created_ms": group.get("created_ms"), "private": False, "premium": False}
            out.append(full if "*" in wanted else {k: v for k, v in full.items() if k in wanted or k == "uid"})
        return out

    def m_group_getUserGroupsByIds(self, record: dict[str, Any], p: dict[str, str]) -> list[dict[str, Any]]:
        group = self._group(p["group_id"])
        out = []
        for uid in p["uids"].split(","):
            status = "ADMIN" if uid in group["admins"] else "ACTIVE" if uid in group["members"] else ""
            if status:
                out.append({"groupId": p["group_id"], "userId": uid, "status": status})
        return out

    def m_photosV2_getUploadUrl(self, record: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
        if not p.get("gid") or p.get("aid") or p.get("uid"):
            raise ApiError(100, "only uploads for group topics (gid without aid) are emulated")
        gid = p["gid"]
        self._group(gid)
        self._require_admin(record, gid)
        count = int(p.get("count") or 1)
        photo_ids = [str(900000000000 + self.next_id("photo")) for _ in range(count)]
        upload_token = secrets.token_urlsafe(16)
        expires = _now_ms() + 24 * 3600 * 1000
        for photo_id in photo_ids:
            self.state["photos"][photo_id] = {"gid": gid, "status": "reserved", "token": ""}
        self.state["uploads"][upload_token] = {"gid": gid, "photo_ids": photo_ids, "expires_ms": expires,
                                               "used": False}
        base = self.base_url or "http://ok-emulator.invalid"
        return {"upload_url": f"{base}/uploadImage?apiToken={upload_token}", "photo_ids": photo_ids,
                "expires_ms": expires}

    def _media(self, gid: str, raw: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[str], dict]:
        """Validate an attachment; the stored media blocks, a new poll, the photo ids used, topic options."""
        attachment = json.loads(raw)
        if not isinstance(attachment, dict) or not isinstance(attachment.get("media"), list):
            raise ApiError(100, "attachment must be a JSON object with a media array")
        unknown = set(attachment) - ATTACHMENT_KEYS
        if unknown:
            raise ApiError(100, f"Unknown attachment keys: {', '.join(sorted(unknown))}")
        media = attachment["media"]
        if not media:
            raise ApiError(100, "attachment.media is empty")
        if len(media) > self.max_media_blocks:
            raise ApiError(600, "Too many media parameters")
        blocks: list[dict[str, Any]] = []
        poll: dict[str, Any] | None = None
        used: list[str] = []
        text_total = 0
        for block in media:
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "text":
                text = block.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise ApiError(100, "a text block needs text")
                text_total += len(text)
                blocks.append({"type": "text", "text": text})
            elif kind == "photo":
                items = block.get("list")
                if not isinstance(items, list) or not items:
                    raise ApiError(100, "a photo block needs a list of photos")
                ids = []
                for item in items:
                    token = item.get("id") if isinstance(item, dict) else None
                    photo_id = next((pid for pid, photo in self.state["photos"].items()
                                     if token and photo.get("token") == token), None)
                    if (photo_id is None or self.state["photos"][photo_id]["gid"] != gid
                            or self.state["photos"][photo_id]["status"] != "uploaded" or photo_id in used):
                        raise ApiError(121, "Invalid photo ID")
                    ids.append(photo_id)
                    used.append(photo_id)
                blocks.append({"type": "photo", "photo_ids": ids})
            elif kind == "link":
                url = block.get("url")
                parts = urlsplit(url) if isinstance(url, str) else None
                if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                    raise ApiError(100, "a link block needs an http(s) url")
                blocks.append({"type": "link", "url": url})
            elif kind == "poll":
                if poll is not None:
                    raise ApiError(600, "Too many media parameters: one poll per topic")
                poll = self._poll(block)
                blocks.append({"type": "poll", "poll_id": poll["id"]})
            else:
                raise ApiError(100, f"Unsupported media type {kind!r}")
        if text_total > self.text_limit:
            raise ApiError(601, "Text limit reached")
        if len(used) > self.max_photos:
            raise ApiError(600, "Too many photos")
        options = {key: attachment[key] for key in ATTACHMENT_KEYS - {"media"} if key in attachment}
        return blocks, poll, used, options

    def _poll(self, block: dict[str, Any]) -> dict[str, Any]:
        question = block.get("question")
        answers = block.get("answers")
        if not isinstance(question, str) or not question.strip():
            raise ApiError(100, "a poll needs a question")
        if len(question) > self.poll_question_limit:
            raise ApiError(602, "Question text limit reached")
        if not isinstance(answers, list) or len(answers) < 2:
            raise ApiError(100, "a poll needs at least two answers")
        if len(answers) > self.poll_max_answers:
            raise ApiError(603, "Too many answer parameters")
        texts = []
        for answer in answers:
            text = answer.get("text") if isinstance(answer, dict) else None
            if not isinstance(text, str) or not text.strip():
                raise ApiError(100, "a poll answer needs text")
            if len(text) > self.poll_answer_limit:
                raise ApiError(604, "Answer text limit reached")
            texts.append(text)
        options = [item.strip() for item in str(block.get("options") or "").split(",") if item.strip()]
        if any(option not in POLL_OPTIONS for option in options):
            raise ApiError(100, "unknown poll options")
        poll_id = str(700000000000 + self.next_id("poll"))
        return {"id": poll_id, "question": question, "options": options,
                "answers": [{"id": str(index + 1), "text": text, "voters": []} for index, text in enumerate(texts)]}

    def m_mediatopic_post(self, record: dict[str, Any], p: dict[str, str]) -> str:
        gid = p.get("gid", "")
        kind = p.get("type", "USER").upper()
        if not gid or kind not in ("GROUP_THEME", "GROUP_THEME_PROMO"):
            raise ApiError(100, "gid with type=GROUP_THEME is required (user topics are not emulated)")
        self._group(gid)
        self._require_admin(record, gid)
        blocks, poll, used, options = self._media(gid, p["attachment"])
        topic_id = str(155000000000000 + self.next_id("topic"))
        if poll is not None:
            poll["topic_id"] = topic_id
            self.state["polls"][poll["id"]] = poll
        for photo_id in used:
            self.state["photos"][photo_id]["status"] = "attached"
        publish_at = int(options.get("publishAtMs") or 0)
        self.state["topics"][topic_id] = {
            "gid": gid, "author": record["uid"], "media": blocks, "created_ms": _now_ms(),
            "publish_at_ms": publish_at, "options": options, "deleted": False, "likes": 0, "reshares": 0,
            "views": 0, "hidden": _truthy(p.get("hidden_post"))}
        self.state["comments"][topic_id] = []
        return topic_id

    def m_mediatopic_edit(self, record: dict[str, Any], p: dict[str, str]) -> bool:
        topic = self._topic(p["topic_id"])
        if p.get("gid") and p["gid"] != topic["gid"]:
            raise ApiError(100, "the topic is not in this group")
        self._require_admin(record, topic["gid"])
        blocks, poll, used, options = self._media(topic["gid"], p["attachment"])
        if poll is not None:
            poll["topic_id"] = p["topic_id"]
            self.state["polls"][poll["id"]] = poll
        for photo_id in used:
            self.state["photos"][photo_id]["status"] = "attached"
        self.state["topics"][p["topic_id"]].update({"media": blocks, "options": options, "edited_ms": _now_ms()})
        return True

    def m_mediatopic_deleteTopic(self, record: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
        topic = self._topic(p["topic_id"])
        if p.get("gid") and p["gid"] != topic["gid"]:
            raise ApiError(100, "the topic is not in this group")
        self._require_admin(record, topic["gid"])
        self.state["topics"][p["topic_id"]]["deleted"] = True
        return {"success": True}

    def _topic_json(self, topic_id: str, topic: dict[str, Any], fields: set[str],
                    entities: dict[str, dict[str, Any]], media_limit: int | None = None) -> dict[str, Any]:
        names = {name.split(".", 1)[1] if "." in name else name for name in fields
                 if name.startswith("media_topic.") or "." not in name}
        every = not fields or "*" in names
        media = []
        for block in topic["media"][:media_limit] if media_limit else topic["media"]:
            if block["type"] == "photo":
                media.append({"type": "photo", "photo_refs": [f"group_photo:{pid}" for pid in block["photo_ids"]]})
                for pid in block["photo_ids"]:
                    entities.setdefault("group_photos", {})[pid] = {
                        "id": pid, "pic640x480": f"{self.base_url}/photo/{pid}.jpg"}
            elif block["type"] == "poll":
                media.append({"type": "poll", "poll_ref": f"poll:{block['poll_id']}"})
                poll = self.state["polls"][block["poll_id"]]
                voters = {uid for answer in poll["answers"] for uid in answer["voters"]}
                entities.setdefault("polls", {})[poll["id"]] = {
                    "id": poll["id"], "question": poll["question"], "options": ",".join(poll["options"]),
                    "votes_count": len(voters),
                    "answers": [{"id": a["id"], "text": a["text"], "votes_count": len(a["voters"])}
                                for a in poll["answers"]]}
            else:
                media.append(dict(block))
        gid = topic["gid"]
        entities.setdefault("groups", {})[gid] = {"uid": gid, "name": self.state["groups"][gid]["name"]}
        full = {
            "id": topic_id, "created_ms": topic["created_ms"], "media": media,
            "owner_ref": f"group:{gid}", "author_ref": f"group:{gid}", "is_on_behalf_of_group": True,
            "like_summary": {"count": topic["likes"], "self": False},
            "reshare_summary": {"count": topic["reshares"], "self": False},
            "discussion_summary": {"comments_count": len(self.state["comments"].get(topic_id, []))},
            "views_count": topic["views"], "is_editable": True, "edit_allowed": True,
        }
        return full if every else {key: value for key, value in full.items() if key in names or key == "id"}

    @staticmethod
    def _entities(entities: dict[str, dict[str, Any]], fields: set[str]) -> dict[str, Any]:
        wanted = {"polls": "poll.", "groups": "group.", "group_photos": "group_photo."}
        return {key: list(values.values()) for key, values in entities.items()
                if any(name.startswith(wanted[key]) for name in fields)}

    def m_mediatopic_getByIds(self, record: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
        ids = p["topic_ids"].split(",")
        if len(ids) > 1 and not p.get("media_limit"):
            raise ApiError(100, "media_limit is required when several topics are requested")
        fields = self._fields(p.get("fields"))
        limit = int(p["media_limit"]) if p.get("media_limit") else None
        entities: dict[str, dict[str, Any]] = {}
        topics = []
        for topic_id in ids:
            topic = self.state["topics"].get(topic_id)
            if topic is not None and not topic["deleted"]:
                topics.append(self._topic_json(topic_id, topic, fields, entities, limit))
        return {"media_topics": topics, "entities": self._entities(entities, fields)}

    def m_mediatopic_getTopics(self, record: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
        if not p.get("gid") or p.get("uid"):
            raise ApiError(100, "only group topics (gid) are emulated")
        self._group(p["gid"])
        now = _now_ms()
        ids = sorted((tid for tid, topic in self.state["topics"].items()
                      if topic["gid"] == p["gid"] and not topic["deleted"] and topic["publish_at_ms"] <= now),
                     key=lambda tid: (self.state["topics"][tid]["created_ms"], int(tid)), reverse=True)
        start = 0
        anchor = p.get("anchor", "")
        if anchor:
            decoded = _unb64(anchor)
            if not decoded.startswith("t:") or not decoded[2:].isdigit():
                raise ApiError(100, "Invalid anchor")
            start = int(decoded[2:])
        count = int(p.get("count") or 20)
        if p.get("direction", "FORWARD").upper() == "BACKWARD":
            start = max(0, start - count)
        page = ids[start:start + count]
        fields = self._fields(p.get("fields"))
        entities: dict[str, dict[str, Any]] = {}
        topics = [self._topic_json(tid, self.state["topics"][tid], fields, entities) for tid in page]
        return {"media_topics": topics, "anchor": _b64(f"t:{start + len(page)}"),
                "has_more": start + len(page) < len(ids), "entities": self._entities(entities, fields)}

    def _comment_json(self, comment: dict[str, Any]) -> dict[str, Any]:
        out = {key: comment[key] for key in ("id", "text", "author_id", "author_name", "date", "created_ms", "type")}
        if comment.get("author_ref"):
            out["author_ref"] = comment["author_ref"]
        if comment.get("reply_to_comment_id"):
            out["reply_to_comment_id"] = comment["reply_to_comment_id"]
            out["reply_to_id"] = comment.get("reply_to_id", "")
        return out

    def m_discussions_getComments(self, record: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
        if p["discussionType"].upper() != "GROUP_TOPIC":
            raise ApiError(100, "only GROUP_TOPIC discussions are emulated")
        topic_id = p["discussionId"]
        self._topic(topic_id)
        comments = self.state["comments"].get(topic_id, [])
        anchor = p.get("anchor") or "FIRST"
        direction = (p.get("direction") or "FORWARD").upper()
        count = int(p.get("count") or 20)
        if anchor.upper() in ("FIRST", "UNREAD"):
            position = 0
        elif anchor.upper() == "LAST":
            position = len(comments)
        else:
            decoded = _unb64(anchor)
            if not decoded.startswith("c:") or not decoded[2:].isdigit():
                raise ApiError(100, "Invalid anchor")
            seq = int(decoded[2:])
            position = sum(1 for comment in comments if comment["seq"] <= seq)
        if direction == "BACKWARD":
            page = comments[max(0, position - count):position]
            has_more = position - count > 0
            edge = page[0] if page else None
        else:
            page = comments[position:position + count]
            has_more = position + count < len(comments)
            edge = page[-1] if page else None
        users = {c["author_id"]: {"uid": c["author_id"], "name": c["author_name"]} for c in page if c["author_id"]}
        return {"discussionId": topic_id, "discussionType": "GROUP_TOPIC",
                "anchor": _b64(f"c:{edge['seq']}") if edge else anchor, "has_more": has_more,
                "comments": [self._comment_json(c) for c in page], "entities": {"users": list(users.values())}}

    def _add_comment(self, topic_id: str, text: str, uid: str, name: str, *, reply_to: str = "",
                     group_ref: str = "") -> dict[str, Any]:
        comments = self.state["comments"].setdefault(topic_id, [])
        target = None
        if reply_to:
            target = next((c for c in comments if c["id"] == reply_to), None)
            if target is None:
                raise ApiError(700, "Comment not found")
        seq = self.next_id("comment")
        created = _now_ms()
        comment = {"id": _b64(f"{created}:{seq}:{topic_id}"), "seq": seq, "text": text, "author_id": uid,
                   "author_name": name, "author_ref": group_ref, "created_ms": created, "type": "ACTIVE_MESSAGE",
                   "date": datetime.fromtimestamp(created / 1000, tz=MOSCOW).strftime("%Y-%m-%d %H:%M:%S"),
                   "reply_to_comment_id": reply_to, "reply_to_id": target["author_id"] if target else ""}
        comments.append(comment)
        return comment

    def m_discussions_addDiscussionComment(self, record: dict[str, Any], p: dict[str, str]) -> dict[str, Any]:
        if p["entityType"].upper() != "GROUP_TOPIC":
            raise ApiError(100, "only GROUP_TOPIC discussions are emulated")
        topic = self._topic(p["entityId"])
        if not p["comment"].strip():
            raise ApiError(100, "the comment is empty")
        as_admin = _truthy(p.get("as_admin"))
        if as_admin:
            self._require_admin(record, topic["gid"])
        user = self.state["users"][record["uid"]]
        comment = self._add_comment(p["entityId"], p["comment"], record["uid"], user["name"],
                                    reply_to=p.get("reply_to_comment_id", ""),
                                    group_ref=f"group:{topic['gid']}" if as_admin else "")
        return self._comment_json(comment)

    # --- upload server -------------------------------------------------------------------------------------
    def _upload(self, request: Request) -> Response:
        entry = self._record("upload", "uploadImage", request, {
            "apiToken": "<redacted>", "files": {name: {"filename": f.filename, "content_type": f.content_type,
                                                       "size": len(f.content)} for name, f in request.files.items()}})
        return self._finish(entry, self._upload_call(request))

    def _upload_call(self, request: Request) -> Response:
        fault = self.take_fault("uploadImage")
        early = self._fault_response(fault)
        if early is not None:
            return early
        from PIL import Image, UnidentifiedImageError

        with self.lock:
            upload = self.state["uploads"].get(request.query.get("apiToken", ""))
            if upload is None or upload["used"] or upload["expires_ms"] < _now_ms():
                return self.error(100, "Invalid or expired upload token")
            if not request.headers.get("content-type", "").startswith("multipart/form-data"):
                return self.error(21, "Not a multi-part request")
            files = sorted(request.files.items(),
                           key=lambda kv: (int(re.sub(r"\D", "", kv[0]) or 0), kv[0]))
            if not files:
                return self.error(505, "No image is found in request")
            if len(files) > len(upload["photo_ids"]):
                return self.error(100, "More files than reserved photo ids")
            sizes: list[tuple[int, int]] = []
            formats: list[str] = []
            for name, uploaded in files:
                if len(uploaded.content) > self.max_image_bytes:
                    return self.error(500, f"{name}: the image is too large")
                try:
                    with Image.open(io.BytesIO(uploaded.content)) as image:
                        image.verify()
                        sizes.append(image.size)
                        formats.append(str(image.format or "jpeg").lower())
                except UnidentifiedImageError:
                    return self.error(503, f"{name}: the image format cannot be recognized")
                except Exception:  # Pillow raises many kinds of errors for a broken file
                    return self.error(504, f"{name}: the image is corrupted")
            result = {}
            for (_, uploaded), photo_id, size, image_format in zip(files, upload["photo_ids"], sizes, formats,
                                                                    strict=False):
                token = secrets.token_urlsafe(24)
                self.blobs[photo_id] = (uploaded.content, f"image/{image_format}")
                self.state["photos"][photo_id].update({"status": "uploaded", "token": token, "size": len(
                    uploaded.content), "width": size[0], "height": size[1], "filename": uploaded.filename})
                result[photo_id] = {"token": token}
            upload["used"] = True
            self.save()
        if fault == "timeout_after":
            self.sleep_for_timeout()
        return Response.json({"photos": result})

    # --- Bot API -------------------------------------------------------------------------------------------
    def _graph_route(self, name: str, handler: Callable[[Request, dict[str, Any]], Any]) -> Callable[
            [Request], Response]:
        def route(request: Request) -> Response:
            body: Any = None
            if request.method == "POST":
                try:
                    body = request.json()
                except ValueError:
                    body = "<invalid json>"
            entry = self._record("graph", f"{request.method} {name}", request, dict(request.query), body)
            return self._finish(entry, self._graph_call(name, handler, request, body))
        return route

    def _graph_call(self, name: str, handler: Callable[[Request, dict[str, Any]], Any], request: Request,
                    body: Any) -> Response:
        fault = self.take_fault(name)
        early = self._fault_response(fault if fault not in ("rate_limit", "captcha") else None)
        if early is not None:
            return early
        token = request.query.get("access_token", "")
        with self.lock:
            record = self.state["tokens"].get(token)
            if not token:
                return self.error(453, "Session key was not specified")
            if record is None or record.get("kind") != "bot":
                return self.error(103, "Invalid session key")
            if fault in ("revoke_token", "expire_token"):
                record["status"] = "revoked" if fault == "revoke_token" else "expired"
                self.save()
            if record["status"] != "active":
                return self.error(103 if record["status"] == "revoked" else 102,
                                  "Invalid session key" if record["status"] == "revoked" else "Session expired")
        late = self._fault_response(fault if fault in ("rate_limit", "captcha") else None)
        if late is not None:
            return late
        if self.over_limit(f"graph:{token}", self.rate_limit, self.rate_period):
            return self.error(8, "Flood blocked")
        if request.method == "POST":
            if not request.headers.get("content-type", "").startswith("application/json"):
                return self.error(100, "POST requests need Content-Type: application/json;charset=utf-8")
            if not isinstance(body, dict):
                return self.error(100, "the body must be a JSON object")
        try:
            with self.lock:
                result = handler(request, {"gid": record["gid"], "body": body})
                self.save()
        except ApiError as exc:
            return self.error(exc.code, exc.detail)
        if fault == "timeout_after":
            self.sleep_for_timeout()
        return Response.json(result)

    def _chat_json(self, chat_id: str, chat: dict[str, Any]) -> dict[str, Any]:
        return {"type": "GROUP_CHAT", "status": "ACTIVE", "title": self.state["users"][chat["uid"]]["name"],
                "participants": {f"user:{chat['uid']}": chat["last_event"], f"group:{chat['gid']}": chat["last_event"]},
                "lastEventTime": chat["last_event"], "chat_id": chat_id, "owner_id": f"user:{chat['uid']}",
                "group_id": f"group:{chat['gid']}"}

    def _chat_for(self, gid: str, chat_id: str) -> dict[str, Any]:
        chat = self.state["chats"].get(chat_id)
        if chat is None or chat["gid"] != gid:
            raise ApiError(705, "Chat not found")
        return dict(chat)

    def _dialog(self, gid: str, uid: str) -> str:
        for chat_id, chat in self.state["chats"].items():
            if chat["gid"] == gid and chat["uid"] == uid:
                return str(chat_id)
        chat_id = f"chat:C{secrets.token_hex(6)}"
        self.state["chats"][chat_id] = {"gid": gid, "uid": uid, "messages": [], "last_event": _now_ms()}
        return chat_id

    def _add_message(self, chat_id: str, sender: str, name: str, text: str) -> dict[str, Any]:
        chat = self.state["chats"][chat_id]
        seq = self.next_id("message")
        stamp = max(_now_ms(), chat["last_event"] + 1)
        message = {"sender": {"name": name, "user_id": sender}, "recipient": {"chat_id": chat_id},
                   "message": {"text": text, "seq": seq, "mid": f"mid:{chat_id[5:]}.{seq:x}"}, "timestamp": stamp}
        chat["messages"].append(message)
        chat["last_event"] = stamp
        return message

    def _g_info(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        return {"name": self.state["groups"][ctx["gid"]]["name"], "group_id": f"group:{ctx['gid']}"}

    def _g_chats(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        count = self._int_query(request, "count", 1, 100, 100)
        chats = sorted(((cid, chat) for cid, chat in self.state["chats"].items() if chat["gid"] == ctx["gid"]),
                       key=lambda item: item[1]["last_event"], reverse=True)
        start = 0
        if request.query.get("marker"):
            decoded = _unb64(request.query["marker"])
            if not decoded.startswith("m:") or not decoded[2:].isdigit():
                raise ApiError(100, "Invalid marker")
            start = int(decoded[2:])
        page = chats[start:start + count]
        out: dict[str, Any] = {"chats": [self._chat_json(cid, chat) for cid, chat in page]}
        if start + count < len(chats):
            out["marker"] = _b64(f"m:{start + count}")
        return out

    @staticmethod
    def _int_query(request: Request, name: str, low: int, high: int, default: int) -> int:
        raw = request.query.get(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ApiError(100, f"Invalid parameter {name}")
        return int(raw)

    def _g_chat(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        chat_id = request.match.get("chat_id") or request.query.get("chat_id", "")
        return self._chat_json(chat_id, self._chat_for(ctx["gid"], chat_id))

    def _g_messages(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        chat_id = request.match.get("chat_id") or request.query.get("chat_id", "")
        chat = self._chat_for(ctx["gid"], chat_id)
        count = self._int_query(request, "count", 1, 100, 50)
        newest = self._int_query(request, "from", 0, 2**62, 2**62)
        oldest = self._int_query(request, "to", 0, 2**62, 0)
        if newest < oldest:
            raise ApiError(100, "from must be greater than to")
        messages = [m for m in reversed(chat["messages"]) if oldest <= m["timestamp"] <= newest]
        return {"messages": messages[:count]}

    def _g_send(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = ctx["body"]
        gid = ctx["gid"]
        recipient = body.get("recipient")
        message = body.get("message")
        if not isinstance(recipient, dict) or not isinstance(message, dict):
            raise ApiError(100, "recipient and message are required")
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(100, "message.text is required (attachments are not emulated)")
        group_name = self.state["groups"][gid]["name"]
        path_chat = request.match.get("chat_id")
        if path_chat or recipient.get("chat_id"):
            chat_id = path_chat or str(recipient.get("chat_id"))
            if path_chat and recipient.get("chat_id") and recipient["chat_id"] != path_chat:
                raise ApiError(100, "recipient.chat_id differs from the chat in the path")
            self._chat_for(gid, chat_id)
            sent = self._add_message(chat_id, f"group:{gid}", group_name, text)
            return {"success": True, "message_id": sent["message"]["mid"]}
        users = recipient.get("user_ids")
        single = "user_id" in recipient
        if single:
            users = [recipient["user_id"]]
        if not isinstance(users, list) or not users or not all(isinstance(u, str | int) for u in users):
            raise ApiError(100, "recipient needs chat_id, user_id or user_ids")
        success: list[bool] = []
        chat_ids: list[str | None] = []
        mids: list[str | None] = []
        for user in users:
            uid = str(user).removeprefix("user:")
            if not uid.isdigit():
                raise ApiError(110, "Invalid user ID")
            if uid not in self.state["groups"][gid]["allowed"]:
                success.append(False)
                chat_ids.append(None)
                mids.append(None)
                continue
            chat_id = self._dialog(gid, uid)
            sent = self._add_message(chat_id, f"group:{gid}", group_name, text)
            success.append(True)
            chat_ids.append(chat_id)
            mids.append(sent["message"]["mid"])
        if single:
            return {"success": success[0], "chat_id": chat_ids[0], "message_id": mids[0]}
        return {"success": success, "chat_ids": chat_ids}

    @staticmethod
    def _webhook_url(body: dict[str, Any]) -> str:
        url = body.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(100, "url must be an http(s) URL")
        return str(url)

    def _g_subscribe(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        url = self._webhook_url(ctx["body"])
        subs = self.state["subscriptions"].setdefault(ctx["gid"], [])
        if all(sub["url"] != url for sub in subs):
            subs.append({"url": url, "time": _now_ms()})
        return {"success": True}

    def _g_unsubscribe(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        url = self._webhook_url(ctx["body"])
        subs = self.state["subscriptions"].get(ctx["gid"], [])
        self.state["subscriptions"][ctx["gid"]] = [sub for sub in subs if sub["url"] != url]
        return {"success": True}

    def _g_subscriptions(self, request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
        return {"subscriptions": [dict(sub) for sub in self.state["subscriptions"].get(ctx["gid"], [])]}

    # --- readers (simulate) --------------------------------------------------------------------------------
    def _reader(self, data: dict[str, Any]) -> tuple[str, str]:
        uid = str(data.get("uid") or 580000000000 + self.next_id("user"))
        name = str(data.get("name") or self.state["users"].get(uid, {}).get("name") or f"Читатель {uid[-4:]}")
        self.state["users"].setdefault(uid, {"name": name})
        return uid, self.state["users"][uid]["name"]

    def _only_group(self, data: dict[str, Any]) -> str:
        gid = str(data.get("gid") or "")
        if not gid and len(self.state["groups"]) == 1:
            gid = next(iter(self.state["groups"]))
        if gid not in self.state["groups"]:
            raise KeyError(f"group {gid or '?'}")
        return gid

    def simulate(self, action: str, data: dict[str, Any]) -> Any:
        if action == "seed":
            return self.seed(**data)
        if action == "new_member":
            gid = self._only_group(data)
            uid, _ = self._reader(data)
            if uid not in self.state["groups"][gid]["members"]:
                self.state["groups"][gid]["members"].append(uid)
            return {"uid": uid, "members_count": len(self.state["groups"][gid]["members"])}
        if action == "comment":
            topic_id = str(data.get("topic_id") or "")
            topic = self.state["topics"].get(topic_id)
            if topic is None or topic["deleted"]:
                raise KeyError(f"topic {topic_id}")
            if not str(data.get("text") or "").strip():
                raise ValueError("a comment needs text")
            uid, name = self._reader(data)
            try:
                comment = self._add_comment(topic_id, str(data["text"]), uid, name,
                                            reply_to=str(data.get("reply_to") or ""))
            except ApiError as exc:
                raise ValueError(exc.detail) from exc
            return self._comment_json(comment)
        if action in ("message", "allow_messages"):
            gid = self._only_group(data)
            uid, name = self._reader(data)
            if uid not in self.state["groups"][gid]["allowed"]:
                self.state["groups"][gid]["allowed"].append(uid)
            if action == "allow_messages":
                return {"uid": uid}
            if not str(data.get("text") or "").strip():
                raise ValueError("a message needs text")
            chat_id = self._dialog(gid, uid)
            message = self._add_message(chat_id, f"user:{uid}", name, str(data["text"]))
            self._webhook(gid, {"sender": {"user_id": f"user:{uid}"}, "recipient": {"chat_id": chat_id},
                                "message": dict(message["message"]), "timestamp": message["timestamp"]})
            return message
        if action == "vote":
            return self._vote(data)
        if action in ("like", "reshare", "view"):
            topic_id = str(data.get("topic_id") or "")
            if topic_id not in self.state["topics"]:
                raise KeyError(f"topic {topic_id}")
            key = {"like": "likes", "reshare": "reshares", "view": "views"}[action]
            self.state["topics"][topic_id][key] += int(data.get("count") or 1)
            return {key: self.state["topics"][topic_id][key]}
        if action in ("revoke_token", "expire_token"):
            token = str(data.get("token") or "")
            if token not in self.state["tokens"]:
                raise KeyError("token")
            self.state["tokens"][token]["status"] = "revoked" if action == "revoke_token" else "expired"
            return {"status": self.state["tokens"][token]["status"]}
        raise KeyError(action)

    def _vote(self, data: dict[str, Any]) -> dict[str, Any]:
        topic_id = str(data.get("topic_id") or "")
        topic = self.state["topics"].get(topic_id)
        poll_id = next((b["poll_id"] for b in (topic or {}).get("media", []) if b["type"] == "poll"), None)
        if poll_id is None:
            raise KeyError(f"poll in topic {topic_id}")
        poll = self.state["polls"][poll_id]
        choices = data.get("answers", [data.get("answer", 0)])
        if not isinstance(choices, list) or not choices:
            raise ValueError("answers must be a list of answer indexes")
        if "SingleChoice" in poll["options"] and len(choices) > 1:
            raise ValueError("a single-choice poll takes one answer")
        uid, _ = self._reader(data)
        for index in choices:
            if not isinstance(index, int) or not 0 <= index < len(poll["answers"]):
                raise ValueError(f"no answer {index}")
            if uid not in poll["answers"][index]["voters"]:
                poll["answers"][index]["voters"].append(uid)
        return {"poll_id": poll_id, "votes": [len(a["voters"]) for a in poll["answers"]]}

    def _webhook(self, gid: str, payload: dict[str, Any]) -> None:
        urls = [sub["url"] for sub in self.state["subscriptions"].get(gid, [])]
        self.state["webhook_outbox"].append({"gid": gid, "urls": urls, "payload": payload})
        if self.deliver_webhooks:
            for url in urls:
                threading.Thread(target=self._deliver, args=(url, payload), daemon=True).start()

    @staticmethod
    def _deliver(url: str, payload: dict[str, Any]) -> None:
        try:
            httpx.post(url, json=payload, timeout=5.0)
        except httpx.HTTPError:
            pass  # OK retries for hours; the emulator records the payload in webhook_outbox instead

    # --- the page view -------------------------------------------------------------------------------------

    def render_pages(self) -> str:
        e = html.escape
        parts: list[str] = []
        with self.lock:
            for gid, group in self.state["groups"].items():
                parts.append(f"<section><h2>{e(group['name'])} <small>group {e(gid)} · "
                             f"{len(group['members'])} members</small></h2>")
                topics = sorted(((tid, t) for tid, t in self.state["topics"].items() if t["gid"] == gid),
                                key=lambda item: item[1]["created_ms"], reverse=True)
                for topic_id, topic in topics:
                    state = "deleted" if topic["deleted"] else "published"
                    parts.append(f"<article><h3>Topic {e(topic_id)} ({state}) · 👍 {topic['likes']} · "
                                 f"↻ {topic['reshares']} · 👁 {topic['views']}</h3>")
                    for block in topic["media"]:
                        if block["type"] == "text":
                            parts.append(f"<p style='white-space:pre-wrap'>{e(block['text'])}</p>")
                        elif block["type"] == "photo":
                            parts.append(f"<p>📷 {len(block['photo_ids'])} photo(s)</p>")
                            parts += [f"<img alt='photo' style='max-width:160px' src='/_emulator/photo/{e(pid)}'>"
                                      for pid in block["photo_ids"] if pid in self.blobs]
                        elif block["type"] == "link":
                            parts.append(f"<p>🔗 {e(block['url'])}</p>")
                        elif block["type"] == "poll":
                            poll = self.state["polls"][block["poll_id"]]
                            answers = "".join(f"<li>{e(a['text'])}: {len(a['voters'])}</li>" for a in poll["answers"])
                            parts.append(f"<p>📊 {e(poll['question'])}</p><ul>{answers}</ul>")
                    comments = "".join(f"<li><b>{e(c['author_name'])}</b>: {e(c['text'])}</li>"
                                       for c in self.state["comments"].get(topic_id, []))
                    if comments:
                        parts.append(f"<ul>{comments}</ul>")
                    parts.append("</article>")
                for chat_id, chat in self.state["chats"].items():
                    if chat["gid"] != gid:
                        continue
                    lines = "".join(f"<li>{e(m['sender']['name'])}: {e(m['message']['text'])}</li>"
                                    for m in chat["messages"])
                    parts.append(f"<h3>Chat {e(chat_id)}</h3><ul>{lines}</ul>")
                parts.append("</section>")
        return "".join(parts) or "<p>No groups yet: seed one with POST /_emulator/simulate/seed.</p>"


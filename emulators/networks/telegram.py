"""A local Telegram Bot API server: the same paths, parameters, envelopes, error descriptions and limits.

Faithful to Bot API 10.1 (https://core.telegram.org/bots/api) and to the official server
(github.com/tdlib/telegram-bot-api, ``Client.cpp``): ``/bot<token>/<method>`` over GET/POST with query string,
form, JSON or multipart parameters; ``{"ok": true, "result"}`` / ``{"ok": false, "error_code", "description",
"parameters"}``; method names case-insensitive; ``Unauthorized: invalid token specified`` for a malformed token,
``Unauthorized`` for an unknown or revoked one, ``Not Found: method not found``; ``Bad Request: parameter "x" is
required``, ``chat not found``, ``message is too long`` (4096 characters after entity parsing), ``message caption
is too long`` (1024), ``can't parse entities: …`` (HTML parse mode), ``IMAGE_PROCESS_FAILED`` and
``PHOTO_INVALID_DIMENSIONS`` for photos, ``too many messages to send as an album``; 403 ``bot was kicked from
the channel chat`` / ``bot can't initiate conversation with a user`` / ``bot was blocked by the user``; 409
``Conflict: can't use getUpdates method while webhook is active; …``; 429 ``Too Many Requests: retry after N``
with ``parameters.retry_after`` (per bot ~30 messages/s, per chat 1 message/s with bursts of 3, per channel or
group 20 messages/min, an album counting one message per photo).

It keeps bots, channels with their linked discussion groups, members, messages, photos, polls with votes,
comments and direct messages; the bot's channel posts are forwarded automatically into the discussion group
(``is_automatic_forward``), where readers comment. Updates queue per bot for ``getUpdates`` (offset confirms)
or are POSTed to the webhook with ``X-Telegram-Bot-Api-Secret-Token``.

Deviations, on purpose: parameter types are checked strictly (the real server reads ``"abc"`` as 0); only the
HTML parse mode is understood; files are taken only as uploads or known ``file_id`` (no URL download); a webhook
may be plain HTTP on loopback (Telegram demands HTTPS); ``captcha`` faults do nothing (the Bot API has none) and
``expire_token`` acts like a revoked token (bot tokens do not expire).
"""

from __future__ import annotations

import html
import io
import json
import math
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Any
from urllib.parse import urlsplit

from emulators.base import EmulatorApp, Request, Response, UploadedFile

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
TELEGRAM_SERVICE_USER = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
DEFAULT_ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
                           "business_message", "edited_business_message", "deleted_business_messages",
                           "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
                           "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member",
                           "chat_join_request", "chat_boost", "removed_chat_boost"]
ALL_UPDATE_KINDS = {*DEFAULT_ALLOWED_UPDATES, "chat_member", "message_reaction", "message_reaction_count",
                    "guest_message", "managed_bot"}
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP"}
ADMIN_RIGHTS = ("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
                "can_post_stories", "can_edit_stories", "can_delete_stories")
CHANNEL_RIGHTS = ("can_post_messages", "can_edit_messages", "can_manage_direct_messages")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


# --- HTML parse mode -----------------------------------------------------------------------------------------------
HTML_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
             "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
             "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
             "tg-emoji": "custom_emoji"}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTR_RE = re.compile(r"""\s*([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML style → (plain text, MessageEntity list with UTF-16 offsets); ApiError when malformed."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, str]]] = []
    pos16 = 0
    i = 0

    def byte_offset(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    def fail(detail: str) -> ApiError:
        return bad(f"can't parse entities: {detail}")

    while i < len(source):
        char = source[i]
        if char == "<":
            end = source.find(">", i)
            if end == -1:
                raise fail(f"Can't find end of the tag starting at byte offset {byte_offset(i)}")
            inner = source[i + 1:end]
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise fail(f"Unexpected end tag at byte offset {byte_offset(i)}")
                tag, start, attrs = stack.pop()
                if name and name != tag:
                    raise fail(f'Unmatched end tag at byte offset {byte_offset(i)}, expected "</{tag}>", found '
                               f'"</{name}>"')
                kind = HTML_TAGS[tag]
                if pos16 > start:
                    entity: dict[str, Any] = {"type": kind, "offset": start, "length": pos16 - start}
                    if kind == "text_link":
                        entity["url"] = attrs.get("href", "")
                    if kind == "custom_emoji":
                        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
                    if kind == "pre" and attrs.get("language"):
                        entity["language"] = attrs["language"]
                    if not (kind == "text_link" and not entity["url"]):
                        entities.append(entity)
            else:
                match = re.match(r"([a-zA-Z][a-zA-Z0-9-]*)", inner)
                name = match.group(1).lower() if match else ""
                attrs = {m.group(1).lower(): next(g for g in (*m.groups()[1:], "") if g is not None)
                         for m in _ATTR_RE.finditer(inner[len(name):]) if m.group(1)}
                if name not in HTML_TAGS or (name == "span" and attrs.get("class") != "tg-spoiler"):
                    raise fail(f'Unsupported start tag "{inner.split()[0] if inner.split() else inner}" at byte '
                               f"offset {byte_offset(i)}")
                stack.append((name, pos16, attrs))
            i = end + 1
            continue
        if char == "&":
            match = re.match(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,8});", source[i:])
            if match:
                ref = match.group(1)
                decoded: str | None
                if ref.startswith("#x"):
                    decoded = chr(int(ref[2:], 16))
                elif ref.startswith("#"):
                    decoded = chr(int(ref[1:]))
                else:
                    decoded = NAMED_ENTITIES.get(ref.lower())
                if decoded is not None:
                    out.append(decoded)
                    pos16 += utf16_len(decoded)
                    i += len(match.group(0))
                    continue
        out.append(char)
        pos16 += utf16_len(char)
        i += 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), entities


def normalize_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading and trailing white space; entities move with the text; URLs are detected."""
    stripped = text.strip()
    lead = utf16_len(text[:len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    covered = [(e["offset"], e["offset"] + e["length"]) for e in kept
               if e["type"] in ("text_link", "code", "pre", "url")]
    for match in _URL_RE.finditer(stripped):
        start = utf16_len(stripped[:match.start()])
        end = start + utf16_len(match.group(0))
        if not any(a < end and start < b for a, b in covered):
            kept.append({"type": "url", "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept


def formatted(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[dict[str, Any]]]:
    mode = (parse_mode or "").lower()
    if mode in ("", "none"):
        given = entities if isinstance(entities, list) else []
        return normalize_text(text, [dict(e) for e in given if isinstance(e, dict)])
    if mode == "html":
        return normalize_text(*parse_html(text))
    if mode in ("markdown", "markdownv2"):
        raise bad(f"parse_mode {parse_mode} is not available in this emulator (use HTML)")
    raise bad("unsupported parse_mode")


# --- parameter schemas -----------------------------------------------------------------------------------------------
# kinds: chat, int, str, bool, json, file
COMMON_SEND = {"business_connection_id": "str", "message_thread_id": "int", "direct_messages_topic_id": "int",
               "disable_notification": "bool", "protect_content": "bool", "allow_paid_broadcast": "bool",
               "message_effect_id": "str", "reply_parameters": "json", "reply_markup": "json"}
METHODS: dict[str, dict[str, tuple[str, bool]]] = {
    "getMe": {},
    "logOut": {},
    "close": {},
    "getChat": {"chat_id": ("chat", True)},
    "getChatMember": {"chat_id": ("chat", True), "user_id": ("int", True)},
    "getChatMemberCount": {"chat_id": ("chat", True)},
    "getChatAdministrators": {"chat_id": ("chat", True)},
    "sendMessage": {"chat_id": ("chat", True), "text": ("str", True), "parse_mode": ("str", False),
                    "entities": ("json", False), "link_preview_options": ("json", False),
                    **{k: (v, False) for k, v in COMMON_SEND.items()}},
    "sendPhoto": {"chat_id": ("chat", True), "photo": ("file", True), "caption": ("str", False),
                  "parse_mode": ("str", False), "caption_entities": ("json", False),
                  "show_caption_above_media": ("bool", False), "has_spoiler": ("bool", False),
                  **{k: (v, False) for k, v in COMMON_SEND.items()}},
    "sendMediaGroup": {"chat_id": ("chat", True), "media": ("json", True),
                       **{k: (v, False) for k, v in COMMON_SEND.items() if k != "reply_markup"}},
    "sendPoll": {"chat_id": ("chat", True), "question": ("str", True), "question_parse_mode": ("str", False),
                 "question_entities": ("json", False), "options": ("json", True), "is_anonymous": ("bool", False),
                 "type": ("str", False), "allows_multiple_answers": ("bool", False),
                 "allows_revoting": ("bool", False), "shuffle_options": ("bool", False),
                 "allow_adding_options": ("bool", False), "hide_results_until_closes": ("bool", False),
                 "members_only": ("bool", False), "country_codes": ("json", False),
                 "correct_option_ids": ("json", False), "explanation": ("str", False),
                 "explanation_parse_mode": ("str", False), "open_period": ("int", False),
                 "close_date": ("int", False), "is_closed": ("bool", False), "description": ("str", False),
                 "description_parse_mode": ("str", False),
                 **{k: (v, False) for k, v in COMMON_SEND.items()}},
    "editMessageText": {"business_connection_id": ("str", False), "chat_id": ("chat", False),
                        "message_id": ("int", False), "inline_message_id": ("str", False), "text": ("str", False),
                        "parse_mode": ("str", False), "entities": ("json", False),
                        "link_preview_options": ("json", False), "reply_markup": ("json", False)},
    "editMessageCaption": {"business_connection_id": ("str", False), "chat_id": ("chat", False),
                           "message_id": ("int", False), "inline_message_id": ("str", False),
                           "caption": ("str", False), "parse_mode": ("str", False),
                           "caption_entities": ("json", False), "show_caption_above_media": ("bool", False),
                           "reply_markup": ("json", False)},
    "deleteMessage": {"chat_id": ("chat", True), "message_id": ("int", True)},
    "deleteMessages": {"chat_id": ("chat", True), "message_ids": ("json", True)},
    "stopPoll": {"business_connection_id": ("str", False), "chat_id": ("chat", True), "message_id": ("int", True),
                 "reply_markup": ("json", False)},
    "getUpdates": {"offset": ("int", False), "limit": ("int", False), "timeout": ("int", False),
                   "allowed_updates": ("json", False)},
    "setWebhook": {"url": ("str", True), "certificate": ("file", False), "ip_address": ("str", False),
                   "max_connections": ("int", False), "allowed_updates": ("json", False),
                   "drop_pending_updates": ("bool", False), "secret_token": ("str", False)},
    "deleteWebhook": {"drop_pending_updates": ("bool", False)},
    "getWebhookInfo": {},
}
METHOD_NAMES = {name.lower(): name for name in METHODS}
SEND_METHODS = {"sendMessage", "sendPhoto", "sendMediaGroup", "sendPoll"}
WRITE_METHODS = SEND_METHODS | {"editMessageText", "editMessageCaption", "deleteMessage", "deleteMessages",
                                "stopPoll", "setWebhook", "deleteWebhook"}


def _coerce(name: str, kind: str, value: Any, files: dict[str, UploadedFile]) -> Any:
    if kind == "file":
        if name in files:
            return files[name]
        if isinstance(value, str) and value:
            return value
        raise bad(f"there is no {name} in the request")
    if kind == "chat":
        if isinstance(value, bool):
            raise bad("chat not found")
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not text:
            raise bad("chat_id is empty")
        if re.fullmatch(r"-?\d{1,20}", text):
            return int(text)
        if text.startswith("@"):
            return text
        raise bad("chat not found")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
            return int(value.strip())
        raise bad(f'parameter "{name}" must be an Integer')
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0", ""):
            return False
        raise bad(f'parameter "{name}" must be a Boolean')
    if kind == "str":
        if isinstance(value, str):
            return value
        raise bad(f'parameter "{name}" must be a String')
    if kind == "json":
        if isinstance(value, list | dict):
            return value
        try:
            return json.loads(str(value))
        except ValueError:
            raise bad(f"can't parse {name} JSON object") from None
    raise AssertionError(kind)


def _image_info(upload: UploadedFile) -> tuple[str, int, int]:
    from PIL import Image, UnidentifiedImageError

    if not upload.content:
        raise bad("file must be non-empty")
    if len(upload.content) > 10 * 1024 * 1024:
        raise bad("file is too big")
    try:
        with Image.open(io.BytesIO(upload.content)) as image:
            image_format, (width, height) = image.format or "", image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise bad("IMAGE_PROCESS_FAILED") from None
    if image_format not in PHOTO_FORMATS:
        raise bad("IMAGE_PROCESS_FAILED")
    if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
        raise bad("PHOTO_INVALID_DIMENSIONS")
    return image_format, width, height


class TelegramEmulator(EmulatorApp):
    network = "telegram"
    title = "Telegram Bot API emulator"
    # Flood control (core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
    bot_per_second = 30
    chat_burst = 3  # messages per ``chat_burst_window`` seconds in one chat: 1/s on average, short bursts pass
    chat_burst_window = 3.0
    group_per_minute = 20
    fault_retry_after = 5
    webhook_retry_delay = 0.5
    long_poll_max = 50

    in_flight = 0

    def reset_state(self) -> None:
        self.state = {"bots": {}, "chats": {}, "users": {}, "polls": {}, "files": {}}
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._delivering: set[str] = set()
        self.blobs = {}

    def setup_routes(self) -> None:
        for http_method in ("GET", "POST"):
            self.route(http_method, r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)", self._api)
        self.route("GET", r"/_emulator/photo/(?P<key>[A-Za-z0-9_-]+)", self._photo_file)

    # --- seeding --------------------------------------------------------------------------------------------------
    def seed(self, *, token: str | None = None, bot_username: str = "filial_test_bot", title: str = "Библиотека",
             username: str | None = "filial_library", members: int = 1250, discussion: bool = True,
             chat_id: int | None = None, can_post_messages: bool = True) -> dict[str, Any]:
        """A bot, its channel (the bot an administrator) and the channel's discussion group."""
        with self.lock:
            if token is None:
                token = f"{7000000000 + self.next_id('bot')}:{secrets.token_urlsafe(26)[:35]}"
            bot_id = int(token.split(":", 1)[0])
            bots = self.state["bots"]
            if token not in bots:
                bots[token] = {"id": bot_id, "username": bot_username, "first_name": bot_username.replace("_", " "),
                               "revoked": False, "webhook": None, "allowed_updates": None, "updates": [],
                               "next_update_id": 100000000 + self.next_id("update_base") * 1000,
                               "started": [], "blocked": []}
            chat_id = chat_id or -(1000000000000 + 1000 + self.next_id("channel"))
            channel = self._new_chat(chat_id, "channel", title=title, username=username, member_count=members)
            self._set_member(channel, bot_id, self._admin(bot_id, can_post_messages=can_post_messages))
            result: dict[str, Any] = {"token": token, "bot_id": bot_id, "bot_username": bot_username,
                                      "chat_id": chat_id, "username": username, "discussion_chat_id": None}
            if discussion:
                group_id = -(1000000000000 + 5000 + self.next_id("group"))
                group = self._new_chat(group_id, "supergroup", title=f"{title}: обсуждение", username=None,
                                       member_count=max(1, members // 10))
                self._set_member(group, bot_id, self._admin(bot_id, channel=False))
                channel["linked_chat_id"], group["linked_chat_id"] = group_id, chat_id
                result["discussion_chat_id"] = group_id
            self.save()
            return result

    def _new_chat(self, chat_id: int, chat_type: str, *, title: str, username: str | None,
                  member_count: int) -> dict[str, Any]:
        chat = {"id": chat_id, "type": chat_type, "title": title, "username": username, "description": "",
                "linked_chat_id": None, "members": {}, "member_count": member_count, "messages": {},
                "next_message_id": 1, "forwards": {}}
        self.state["chats"][str(chat_id)] = chat
        return chat

    def _admin(self, user_id: int, *, channel: bool = True, can_post_messages: bool = True) -> dict[str, Any]:
        member: dict[str, Any] = {"status": "administrator", **dict.fromkeys(ADMIN_RIGHTS, False),
                                  "can_manage_chat": True, "can_delete_messages": True, "can_invite_users": True}
        if channel:
            member.update(can_post_messages=can_post_messages, can_edit_messages=True,
                          can_manage_direct_messages=False)
        else:
            member.update(can_pin_messages=True, can_manage_topics=False)
        return member

    def _set_member(self, chat: dict[str, Any], user_id: int, member: dict[str, Any]) -> None:
        chat["members"][str(user_id)] = member

    def _user(self, data: dict[str, Any]) -> dict[str, Any]:
        user_id = int(data.get("id") or 500000000 + self.next_id("user"))
        users = self.state["users"]
        user = users.get(str(user_id)) or {"id": user_id, "is_bot": False,
                                           "first_name": data.get("first_name") or f"Reader {user_id}"}
        for key in ("first_name", "last_name", "username", "language_code"):
            if data.get(key):
                user[key] = data[key]
        users[str(user_id)] = user
        return user

    # --- the API entry point --------------------------------------------------------------------------------------
    def _api(self, request: Request) -> Response:
        with self.lock:
            self.in_flight += 1
        try:
            return self._api_call(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no API request is being served (e.g. one sleeping in a ``timeout_after`` fault)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.in_flight == 0 and not self._delivering:
                return True
            time.sleep(0.02)
        return False

    def _api_call(self, request: Request) -> Response:
        token, raw_method = request.match["token"], request.match["method"]
        method = METHOD_NAMES.get(raw_method.lower(), raw_method)
        record: dict[str, Any] = {"method": method, "http_method": request.method,
                                  "path": f"/bot<redacted>/{raw_method}", "token": "<redacted>",
                                  "token_kind": "bot" if re.fullmatch(r"\d+:[\w-]+", token) else "malformed",
                                  "at": time.time()}
        try:
            params, kind = self._raw_params(request)
            record["content_type"] = kind
            record["params"] = {k: ("<redacted>" if k == "secret_token" else v) for k, v in params.items()}
            record["files"] = {k: {"filename": f.filename, "content_type": f.content_type, "size": len(f.content)}
                               for k, f in request.files.items()}
            response = self._handle(token, method, params, request.files)
        except ApiError as exc:
            response = self._error(exc)
        record["status"] = response.status
        try:
            record["response"] = json.loads(response.body.decode("utf-8"))
        except ValueError:
            record["response"] = None
        with self.lock:
            self.log_request(record, request)
        return response

    @staticmethod
    def _raw_params(request: Request) -> tuple[dict[str, Any], str]:
        content_type = request.headers.get("content-type", "")
        params: dict[str, Any] = dict(request.query)
        kind = "query"
        if content_type.startswith("application/json"):
            kind = "json"
            try:
                body = request.json()
            except ValueError:
                raise bad("can't parse JSON encoded request") from None
            if body is not None and not isinstance(body, dict):
                raise bad("JSON object expected")
            params.update(body or {})
        elif content_type.startswith("multipart/form-data"):
            kind = "multipart"
            params.update(request.form)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            kind = "form"
            params.update(request.form)
        return params, kind

    @staticmethod
    def _ok(result: Any, description: str | None = None) -> Response:
        body: dict[str, Any] = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return Response.json(body)

    @staticmethod
    def _error(exc: ApiError) -> Response:
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return Response.json(body, status=exc.code)

    def _handle(self, token: str, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> Response:
        if (not token or token[0] == "0" or len(token) > 80 or ":" not in token
                or not token.split(":", 1)[0].isdigit()):
            raise ApiError(401, "Unauthorized: invalid token specified")
        with self.lock:
            bot = self.state["bots"].get(token)
            if bot is None or bot.get("revoked"):
                raise ApiError(401, "Unauthorized")
        if method not in METHODS:
            raise ApiError(404, "Not Found: method not found")
        fault = self.take_fault(method)
        if fault in ("http_500", "http_502"):
            if fault == "http_502":
                return Response(502, b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
                                     b"Gateway</h1></center><hr><center>nginx/1.18.0</center></body></html>",
                                "text/html")
            raise ApiError(500, "Internal Server Error")
        if fault == "timeout_before":
            self.sleep_for_timeout()
            return Response(504, b"<html><head><title>504 Gateway Time-out</title></head></html>", "text/html")
        if fault == "rate_limit":
            raise ApiError(429, f"Too Many Requests: retry after {self.fault_retry_after}",
                           {"retry_after": self.fault_retry_after})
        if fault in ("revoke_token", "expire_token"):
            with self.lock:
                bot["revoked"] = True
                self.save()
            raise ApiError(401, "Unauthorized")
        values = self._validate(method, params, files)
        if method == "getUpdates":
            updates = self._get_updates(token, values)
            if fault == "timeout_after":
                self.sleep_for_timeout()
            return updates
        with self.lock:
            handler = getattr(self, f"_m_{method}")
            response: Response = handler(token, bot, values)
            self.save()
        if fault == "timeout_after":
            self.sleep_for_timeout()
        return response

    def _validate(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, (kind, required) in METHODS[method].items():
            present = name in params and params[name] is not None and not (
                isinstance(params[name], str) and params[name] == "" and kind != "str")
            if not present and not (kind == "file" and name in files):
                if required:
                    if name == "chat_id":
                        raise bad("chat_id is empty")
                    if name == "text":
                        raise bad("message text is empty")
                    raise bad(f'parameter "{name}" is required')
                continue
            values[name] = _coerce(name, kind, params.get(name), files)
        values["_files"] = files
        return values

    # --- chats, rights, flood control -----------------------------------------------------------------------------
    def _chat(self, ref: int | str) -> dict[str, Any]:
        chats = self.state["chats"]
        if isinstance(ref, int):
            chat = chats.get(str(ref))
            if chat is None and ref > 0 and str(ref) in self.state["users"]:
                user = self.state["users"][str(ref)]
                chat = {"id": ref, "type": "private", "user": user, "messages": {}}
            if chat is None:
                raise bad("chat not found")
            return chat
        name = ref.lstrip("@").lower()
        for chat in chats.values():
            if str(chat.get("username") or "").lower() == name:
                return chat
        raise bad("chat not found")

    def _chat_short(self, chat: dict[str, Any]) -> dict[str, Any]:
        if chat["type"] == "private":
            user = chat["user"]
            short = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if user.get(key):
                    short[key] = user[key]
            return short
        short = {"id": chat["id"], "type": chat["type"], "title": chat["title"]}
        if chat.get("username"):
            short["username"] = chat["username"]
        return short

    def _private(self, bot: dict[str, Any], user_id: int) -> dict[str, Any]:
        """The private chat of ``bot`` with a user, with its own message store."""
        key = f"{bot['id']}:{user_id}"
        chats = self.state.setdefault("private", {})
        if key not in chats:
            chats[key] = {"id": user_id, "type": "private", "user": self.state["users"][str(user_id)],
                          "messages": {}, "next_message_id": 1}
        chat: dict[str, Any] = chats[key]
        return chat

    def _target(self, bot: dict[str, Any], ref: int | str, *, write: bool = True) -> dict[str, Any]:
        """The chat a bot acts in, after Telegram's membership and rights checks."""
        chat = self._chat(ref)
        if chat["type"] == "private":
            user_id = chat["id"]
            if user_id in bot["blocked"]:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if user_id not in bot["started"]:
                if write:
                    raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
                raise bad("chat not found")
            return self._private(bot, user_id)
        member = chat["members"].get(str(bot["id"]))
        kind = "channel chat" if chat["type"] == "channel" else f"{chat['type']} chat"
        if member is None or member["status"] == "left":
            if not write:
                raise bad("chat not found")
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        if member["status"] == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        return chat

    def _require_post_right(self, bot: dict[str, Any], chat: dict[str, Any]) -> None:
        if chat["type"] != "channel":
            return
        member = chat["members"].get(str(bot["id"])) or {}
        if member.get("status") != "creator" and not (member.get("status") == "administrator"
                                                     and member.get("can_post_messages")):
            raise bad("need administrator rights in the channel chat")

    def _flood(self, bot: dict[str, Any], chat: dict[str, Any], units: int = 1) -> None:
        if not self.rate_limits_enabled:
            return
        now = time.monotonic()
        checks: list[tuple[str, int, float, int]] = [
            (f"bot:{bot['id']}", self.bot_per_second, 1.0, 1),
            (f"chat:{bot['id']}:{chat['id']}", self.chat_burst, self.chat_burst_window, 1),
        ]
        if chat["type"] in ("channel", "group", "supergroup"):
            checks.append((f"group:{bot['id']}:{chat['id']}", self.group_per_minute, 60.0, units))
        for key, limit, per, cost in checks:
            window = self._windows[key]
            while window and window[0] <= now - per:
                window.popleft()
            if len(window) + cost > limit:
                oldest = window[max(0, len(window) + cost - limit - 1)] if window else now
                retry = max(1, math.ceil(oldest + per - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for key, _limit, _per, cost in checks:
            self._windows[key].extend([now] * cost)

    # --- messages -------------------------------------------------------------------------------------------------
    def _new_message(self, bot: dict[str, Any], chat: dict[str, Any], content: dict[str, Any],
                     reply_to: dict[str, Any] | None = None, thread: int | None = None) -> dict[str, Any]:
        message_id = chat.get("next_message_id", 1)
        chat["next_message_id"] = message_id + 1
        message: dict[str, Any] = {"message_id": message_id}
        short = self._chat_short(chat)
        if chat["type"] == "channel":
            message["sender_chat"] = short
        else:
            message["from"] = self._bot_user(bot)
        message.update(date=int(time.time()), chat=short)
        if thread is not None:
            message["message_thread_id"] = thread
        if reply_to is not None:
            message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        message.update(content)
        chat["messages"][str(message_id)] = message
        chat.setdefault("authors", {})[str(message_id)] = bot["id"]
        if chat["type"] == "channel":
            self._forward_to_discussion(chat, message)
        return message

    def _bot_user(self, bot: dict[str, Any]) -> dict[str, Any]:
        return {"id": bot["id"], "is_bot": True, "first_name": bot["first_name"], "username": bot["username"]}

    def _forward_to_discussion(self, channel: dict[str, Any], post: dict[str, Any]) -> None:
        group = self.state["chats"].get(str(channel.get("linked_chat_id")))
        if group is None:
            return
        copy = {k: v for k, v in post.items() if k not in ("message_id", "sender_chat", "chat", "date")}
        message_id = group["next_message_id"]
        group["next_message_id"] = message_id + 1
        forward = {"message_id": message_id, "from": TELEGRAM_SERVICE_USER, "sender_chat": self._chat_short(channel),
                   "date": post["date"], "chat": self._chat_short(group),
                   "forward_origin": {"type": "channel", "chat": self._chat_short(channel),
                                      "message_id": post["message_id"], "date": post["date"]},
                   "is_automatic_forward": True, **copy}
        group["messages"][str(message_id)] = forward
        channel["forwards"][str(post["message_id"])] = message_id
        self._broadcast(group, "message", forward)

    def _broadcast(self, chat: dict[str, Any], kind: str, payload: dict[str, Any],
                   exclude_bot: int | None = None) -> None:
        """Queue an update for every bot that is an administrator (or a member) of ``chat``."""
        for token, bot in self.state["bots"].items():
            member = chat.get("members", {}).get(str(bot["id"]))
            if bot["id"] == exclude_bot or member is None or member["status"] in ("left", "kicked"):
                continue
            if kind == "channel_post" and member["status"] not in ("administrator", "creator"):
                continue
            self._enqueue(token, kind, payload)

    def _enqueue(self, token: str, kind: str, payload: dict[str, Any]) -> None:
        bot = self.state["bots"][token]
        allowed = bot.get("allowed_updates") or DEFAULT_ALLOWED_UPDATES
        if kind not in allowed:
            return
        update = {"update_id": bot["next_update_id"], kind: json.loads(json.dumps(payload))}
        bot["next_update_id"] += 1
        bot["updates"].append(update)
        if (bot.get("webhook") or {}).get("url"):
            self._kick_webhook(token)

    def _text_content(self, text: str, parse_mode: str | None, entities: Any, *, caption: bool) -> dict[str, Any]:
        plain, parsed = formatted(text, parse_mode, entities)
        if caption:
            if utf16_len(plain) > CAPTION_LIMIT:
                raise bad("message caption is too long")
            return {"caption": plain, "caption_entities": parsed} if parsed else ({"caption": plain} if plain else {})
        if not plain:
            raise bad("message text is empty")
        if utf16_len(plain) > TEXT_LIMIT:
            raise bad("message is too long")
        return {"text": plain, "entities": parsed} if parsed else {"text": plain}

    def _reply_target(self, chat: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any] | None, int | None]:
        reply = values.get("reply_parameters")
        if reply is None:
            return None, None
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad("can't parse reply parameters JSON object")
        original = chat["messages"].get(str(reply["message_id"]))
        if original is None:
            if reply.get("allow_sending_without_reply"):
                return None, None
            raise bad("message to be replied not found")
        thread = original.get("message_thread_id")
        if thread is None and original.get("is_automatic_forward"):
            thread = original["message_id"]
        return original, thread

    def _photo_sizes(self, upload: UploadedFile | str) -> list[dict[str, Any]]:
        files = self.state["files"]
        if isinstance(upload, str):
            if upload in files and files[upload]["kind"] == "photo":
                return [dict(s) for s in files[upload]["sizes"]]
            raise bad("wrong file identifier/HTTP URL specified")
        image_format, width, height = _image_info(upload)
        sizes = []
        scales = [min(1.0, 320 / max(width, height)), min(1.0, 1280 / max(width, height))]
        for scale in sorted(set(scales)):
            file_id = "AgACAgIAAxkBAAI" + secrets.token_urlsafe(36)
            size = {"file_id": file_id, "file_unique_id": "AQAD" + secrets.token_urlsafe(9),
                    "file_size": max(1, int(len(upload.content) * scale * scale)),
                    "width": max(1, round(width * scale)), "height": max(1, round(height * scale))}
            sizes.append(size)
        for size in sizes:
            files[size["file_id"]] = {"kind": "photo", "sizes": sizes}
        self.blobs[str(sizes[-1]["file_unique_id"])] = (upload.content, f"image/{image_format.lower()}")
        return sizes

    def _post_checks(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        chat = self._target(bot, values["chat_id"])
        self._require_post_right(bot, chat)
        if chat["type"] == "supergroup" and values.get("message_thread_id") is not None:
            root = chat["messages"].get(str(values["message_thread_id"]))
            if root is None:
                raise bad("message thread not found")
        return chat

    # --- methods: the bot and chats -------------------------------------------------------------------------------
    def _m_getMe(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        return self._ok({**self._bot_user(bot), "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False, "can_connect_to_business": False,
                         "has_main_web_app": False})

    def _m_logOut(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        return self._ok(True)

    def _m_close(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        return self._ok(True)

    def _m_getChat(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._target(bot, values["chat_id"], write=False)
        info: dict[str, Any] = {**self._chat_short(chat), "accent_color_id": 0, "max_reaction_count": 11,
                                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                                        "unique_gifts": False, "premium_subscription": False,
                                                        "gifts_from_channels": False}}
        if chat["type"] != "private":
            if chat.get("description"):
                info["description"] = chat["description"]
            if chat.get("linked_chat_id"):
                info["linked_chat_id"] = chat["linked_chat_id"]
            member = chat["members"].get(str(bot["id"])) or {}
            if member.get("can_invite_users") and not chat.get("username"):
                info["invite_link"] = f"https://t.me/+{abs(chat['id']) % 10**8:08d}AbCdEf"
        return self._ok(info)

    def _member_object(self, chat: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
        member = chat.get("members", {}).get(str(user["id"]))
        if member is None:
            return {"status": "left", "user": user}
        if member["status"] == "kicked":
            return {"status": "kicked", "user": user, "until_date": 0}
        return {**member, "user": user}

    def _m_getChatMember(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._target(bot, values["chat_id"], write=False)
        user_id = values["user_id"]
        if user_id == bot["id"]:
            user = self._bot_user(bot)
        elif str(user_id) in self.state["users"]:
            user = self.state["users"][str(user_id)]
        else:
            other = next((b for b in self.state["bots"].values() if b["id"] == user_id), None)
            if other is None:
                raise bad("user not found")
            user = self._bot_user(other)
        return self._ok(self._member_object(chat, user))

    def _m_getChatMemberCount(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._target(bot, values["chat_id"], write=False)
        return self._ok(2 if chat["type"] == "private" else int(chat["member_count"]))

    def _m_getChatAdministrators(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._target(bot, values["chat_id"], write=False)
        if chat["type"] == "private":
            raise bad("there are no administrators in the private chat")
        admins = []
        for user_id, member in chat["members"].items():
            if member["status"] in ("administrator", "creator"):
                other = next((b for b in self.state["bots"].values() if str(b["id"]) == user_id), None)
                user = self._bot_user(other) if other else self.state["users"].get(user_id)
                if user:
                    admins.append({**member, "user": user})
        return self._ok(admins)

    # --- methods: sending -----------------------------------------------------------------------------------------
    def _m_sendMessage(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._post_checks(token, bot, values)
        content = self._text_content(values["text"], values.get("parse_mode"), values.get("entities"), caption=False)
        preview = values.get("link_preview_options")
        if preview is not None:
            if not isinstance(preview, dict):
                raise bad("object expected as link preview options")
            for key in ("is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text"):
                if key in preview and not isinstance(preview[key], bool):
                    raise bad(f'can\'t parse link preview options: field "{key}" must be of type Boolean')
            if "url" in preview and not isinstance(preview["url"], str):
                raise bad('can\'t parse link preview options: field "url" must be of type String')
            content["link_preview_options"] = {k: v for k, v in preview.items() if k in (
                "is_disabled", "url", "prefer_small_media", "prefer_large_media", "show_above_text")}
        reply, thread = self._reply_target(chat, values)
        self._flood(bot, chat)
        return self._ok(self._new_message(bot, chat, content, reply, thread))

    def _m_sendPhoto(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._post_checks(token, bot, values)
        content = self._text_content(values.get("caption", ""), values.get("parse_mode"),
                                     values.get("caption_entities"), caption=True)
        photo = values["photo"]
        if isinstance(photo, str) and photo.startswith("attach://"):
            name = photo[len("attach://"):]
            if name not in values["_files"]:
                raise bad("there is no photo in the request")
            photo = values["_files"][name]
        reply, thread = self._reply_target(chat, values)
        sizes = self._photo_sizes(photo)
        self._flood(bot, chat)
        if values.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._ok(self._new_message(bot, chat, {"photo": sizes, **content}, reply, thread))

    def _m_sendMediaGroup(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._post_checks(token, bot, values)
        media = values["media"]
        if not isinstance(media, list):
            raise bad("Expected an Array of InputMedia")
        if not media:
            raise bad("there are no messages to send")
        prepared: list[tuple[UploadedFile | str, dict[str, Any]]] = []
        for item in media:
            if not isinstance(item, dict):
                raise bad("can't parse InputMedia: expected an Object")
            if item.get("type") != "photo":
                kind = item.get("type")
                if kind == "animation":
                    raise bad('can\'t parse InputMedia: type "animation" can\'t be used in sendMediaGroup')
                raise bad(f'can\'t parse InputMedia: type "{kind}" is not supported by this emulator (photos only)')
            content = self._text_content(item.get("caption", "") or "", item.get("parse_mode"),
                                         item.get("caption_entities"), caption=True)
            ref = item.get("media")
            if not isinstance(ref, str) or not ref:
                raise bad("can't parse InputMedia: media not found")
            source: UploadedFile | str = ref
            if ref.startswith("attach://"):
                name = ref[len("attach://"):]
                if name not in values["_files"]:
                    raise bad("can't parse InputMedia: media not found")
                source = values["_files"][name]
            prepared.append((source, content))
        if len(prepared) > 10:
            raise bad("too many messages to send as an album")
        reply, thread = self._reply_target(chat, values)
        sizes_list = []
        for position, (source, _content) in enumerate(prepared, 1):
            try:
                sizes_list.append(self._photo_sizes(source))
            except ApiError as exc:
                raise bad(f'failed to send message #{position} with the error message '
                          f'"{exc.description.removeprefix("Bad Request: ")}"') from None
        self._flood(bot, chat, units=len(prepared))
        group_id = str(13000000000000000000 + self.next_id("media_group")) if len(prepared) > 1 else None
        messages = []
        for sizes, (_source, content) in zip(sizes_list, prepared, strict=True):
            extra = {"media_group_id": group_id} if group_id else {}
            messages.append(self._new_message(bot, chat, {**extra, "photo": sizes, **content}, reply, thread))
        return self._ok(messages)

    def _m_sendPoll(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._post_checks(token, bot, values)
        question, _q_entities = formatted(values["question"], values.get("question_parse_mode"),
                                          values.get("question_entities"))
        if not 1 <= utf16_len(question) <= 300:
            raise bad("poll question length must not exceed 300" if question else "poll question must be non-empty")
        options = values["options"]
        if not isinstance(options, list):
            raise bad("Expected an Array of String as options")
        texts: list[str] = []
        for option in options:
            if isinstance(option, dict):
                text = option.get("text")
                if not isinstance(text, str):
                    raise bad('can\'t parse InputPollOption: field "text" must be of type String')
            elif isinstance(option, str):
                text = option
            else:
                raise bad("Expected an option to be of type String")
            text = text.strip()
            if not 1 <= utf16_len(text) <= 100:
                raise bad("POLL_OPTION_INVALID")
            texts.append(text)
        if not texts:
            raise bad("poll must have at least 1 option")
        if len(texts) > 12:
            raise bad("poll can't have more than 12 options")
        if len(set(texts)) != len(texts):
            raise bad("POLL_OPTION_DUPLICATE")
        poll_type = values.get("type") or "regular"
        if poll_type not in ("regular", "quiz"):
            raise bad("Unsupported poll type specified")
        anonymous = values.get("is_anonymous", True)
        if chat["type"] == "channel" and not anonymous:
            raise bad("non-anonymous polls can't be sent to channel chats")
        now = int(time.time())
        close_date = values.get("close_date")
        if values.get("open_period") is not None and close_date is not None:
            raise bad("can't use open_period and close_date together")
        if values.get("open_period") is not None:
            if not 5 <= values["open_period"] <= 2628000:
                raise bad("invalid open_period specified")
            close_date = now + values["open_period"]
        if close_date is not None and close_date != 0 and not 5 <= close_date - now <= 2628000:
            raise bad("invalid close_date specified")
        self._flood(bot, chat)
        poll_id = str(5000000000000000000 + self.next_id("poll"))
        poll: dict[str, Any] = {
            "id": poll_id, "question": question,
            "options": [{"persistent_id": f"{poll_id}-{i}", "text": t, "voter_count": 0} for i, t in enumerate(texts)],
            "total_voter_count": 0, "is_closed": bool(values.get("is_closed")), "is_anonymous": bool(anonymous),
            "type": poll_type, "allows_multiple_answers": bool(values.get("allows_multiple_answers")),
            "allows_revoting": bool(values.get("allows_revoting", poll_type != "quiz")),
            "members_only": bool(values.get("members_only")),
        }
        if close_date:
            poll["close_date"] = close_date
        reply, thread = self._reply_target(chat, values)
        message = self._new_message(bot, chat, {"poll": poll}, reply, thread)
        self.state["polls"][poll_id] = {"chat_id": chat["id"], "message_id": message["message_id"], "bot": token,
                                        "votes": {}}
        return self._ok(message)

    # --- methods: editing, deleting, polls ------------------------------------------------------------------------
    def _editable(self, bot: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if values.get("inline_message_id"):
            raise bad("MESSAGE_ID_INVALID")
        if "chat_id" not in values:
            raise bad("chat_id is empty")
        if "message_id" not in values:
            raise bad("message identifier is not specified")
        chat = self._target(bot, values["chat_id"])
        message = chat["messages"].get(str(values["message_id"]))
        if message is None:
            raise bad("message to edit not found")
        if chat.get("authors", {}).get(str(message["message_id"])) != bot["id"]:
            raise bad("message can't be edited")
        return chat, message

    def _apply_edit(self, chat: dict[str, Any], message: dict[str, Any], changes: dict[str, Any],
                    drop: tuple[str, ...]) -> dict[str, Any]:
        before = {k: message.get(k) for k in (*changes, *drop)}
        after = {**{k: None for k in drop}, **changes}
        if all(before.get(k) == v for k, v in after.items()):
            raise bad("message is not modified: specified new message content and reply markup are exactly the same "
                      "as a current content and reply markup of the message")
        for key in drop:
            message.pop(key, None)
        message.update(changes)
        message["edit_date"] = int(time.time())
        if chat["type"] == "channel":
            group = self.state["chats"].get(str(chat.get("linked_chat_id")))
            forward_id = chat["forwards"].get(str(message["message_id"]))
            if group is not None and forward_id is not None:
                copy = group["messages"].get(str(forward_id))
                if copy is not None:
                    for key in drop:
                        copy.pop(key, None)
                    copy.update(changes)
                    copy["edit_date"] = message["edit_date"]
                    self._broadcast(group, "edited_message", copy)
        return message

    def _m_editMessageText(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat, message = self._editable(bot, values)
        if "text" not in message:
            raise bad("there is no text in the message to edit")
        if not values.get("text"):
            raise bad("message text is empty")
        content = self._text_content(values["text"], values.get("parse_mode"), values.get("entities"), caption=False)
        preview = values.get("link_preview_options")
        if isinstance(preview, dict):
            content["link_preview_options"] = preview
        drop = tuple(k for k in ("entities", "link_preview_options") if k not in content)
        return self._ok(self._apply_edit(chat, message, content, drop))

    def _m_editMessageCaption(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat, message = self._editable(bot, values)
        if not any(k in message for k in ("photo", "video", "document", "audio", "animation")):
            raise bad("there is no caption in the message to edit")
        content = self._text_content(values.get("caption", ""), values.get("parse_mode"),
                                     values.get("caption_entities"), caption=True)
        drop = tuple(k for k in ("caption", "caption_entities") if k not in content)
        return self._ok(self._apply_edit(chat, message, content, drop))

    def _deletable(self, bot: dict[str, Any], chat: dict[str, Any], message: dict[str, Any]) -> bool:
        member = chat.get("members", {}).get(str(bot["id"])) or {}
        if member.get("status") == "creator" or member.get("can_delete_messages"):
            return True
        own = chat.get("authors", {}).get(str(message["message_id"])) == bot["id"]
        fresh = message["date"] > time.time() - 48 * 3600
        if chat["type"] == "channel":
            return own and bool(member.get("can_post_messages")) and fresh
        return own and fresh

    def _m_deleteMessage(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._target(bot, values["chat_id"])
        message = chat["messages"].get(str(values["message_id"]))
        if message is None:
            raise bad("message to delete not found")
        if not self._deletable(bot, chat, message):
            raise bad("message can't be deleted")
        del chat["messages"][str(values["message_id"])]
        return self._ok(True)

    def _m_deleteMessages(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._target(bot, values["chat_id"])
        ids = values["message_ids"]
        if not isinstance(ids, list):
            raise bad("Expected an Array of message identifiers")
        if not ids:
            raise bad("message identifiers are not specified")
        if len(ids) > 100:
            raise bad("too many message identifiers specified")
        numbers: list[int] = []
        for value in ids:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise bad("message identifier must be a Number")
            try:
                number = int(value)
            except ValueError:
                raise bad("can't parse message identifier as a Number") from None
            if number <= 0:
                raise bad("invalid message identifier specified")
            numbers.append(number)
        found = [chat["messages"][str(n)] for n in numbers if str(n) in chat["messages"]]
        if any(not self._deletable(bot, chat, m) for m in found):
            raise bad("message can't be deleted")
        for message in found:
            del chat["messages"][str(message["message_id"])]
        return self._ok(True)

    def _poll_record(self, chat: dict[str, Any], message_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        message = chat["messages"].get(str(message_id))
        if message is None:
            raise bad("message with poll to stop not found")
        poll = message.get("poll")
        if poll is None:
            raise bad("message is not a poll")
        return message, poll

    def _m_stopPoll(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        chat = self._target(bot, values["chat_id"])
        message, poll = self._poll_record(chat, values["message_id"])
        record = self.state["polls"].get(poll["id"]) or {}
        if record.get("bot") != token:
            raise bad("message can't be edited")
        self._refresh_poll(poll)
        if poll["is_closed"]:
            raise bad("poll has already been closed")
        poll["is_closed"] = True
        self._sync_poll(chat, message)
        self._enqueue(token, "poll", dict(poll))
        return self._ok(poll)

    def _refresh_poll(self, poll: dict[str, Any]) -> None:
        if poll.get("close_date") and poll["close_date"] <= time.time():
            poll["is_closed"] = True

    def _sync_poll(self, chat: dict[str, Any], message: dict[str, Any]) -> None:
        group = self.state["chats"].get(str(chat.get("linked_chat_id")))
        forward_id = chat.get("forwards", {}).get(str(message["message_id"]))
        if group is not None and forward_id is not None and str(forward_id) in group["messages"]:
            group["messages"][str(forward_id)]["poll"] = message["poll"]

    # --- methods: updates and webhooks ----------------------------------------------------------------------------
    def _set_allowed(self, bot: dict[str, Any], values: dict[str, Any]) -> None:
        allowed = values.get("allowed_updates")
        if allowed is None:
            return
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad("can't parse allowed_updates JSON object")
        kinds = [a for a in allowed if a in ALL_UPDATE_KINDS]
        bot["allowed_updates"] = kinds or None

    def _get_updates(self, token: str, values: dict[str, Any]) -> Response:
        with self.lock:
            bot = self.state["bots"][token]
            if (bot.get("webhook") or {}).get("url"):
                raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use "
                                    "deleteWebhook to delete the webhook first")
            self._set_allowed(bot, values)
            offset = values.get("offset", 0)
            limit = min(100, max(1, values.get("limit", 100)))
            timeout = min(self.long_poll_max, max(0, values.get("timeout", 0)))
            if offset < 0:
                bot["updates"] = bot["updates"][offset:]
            elif offset > 0:
                bot["updates"] = [u for u in bot["updates"] if u["update_id"] >= offset]
            self.save()
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                result = [u for u in bot["updates"] if offset <= 0 or u["update_id"] >= offset][:limit]
            if result or time.monotonic() >= deadline:
                return self._ok(result)
            time.sleep(0.05)

    def _m_setWebhook(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        url = values["url"]
        if not url:
            return self._m_deleteWebhook(token, bot, values)
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise bad("invalid webhook URL specified")
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not loopback:
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        if parts.port not in (None, 80, 88, 443, 8443) and not loopback:
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = values.get("secret_token", "")
        if len(secret) > 256:
            raise bad("secret token is too long")
        if not re.fullmatch(r"[A-Za-z0-9_-]*", secret):
            raise bad("secret token contains unallowed characters")
        max_connections = values.get("max_connections", 40)
        if not 1 <= max_connections <= 100:
            max_connections = min(100, max(1, max_connections))
        if values.get("drop_pending_updates"):
            bot["updates"] = []
        self._set_allowed(bot, values)
        old = bot.get("webhook") or {}
        bot["webhook"] = {"url": url, "secret_token": secret, "max_connections": max_connections,
                          "last_error_date": None, "last_error_message": None}
        if bot["updates"]:
            self._kick_webhook(token)
        same = old.get("url") == url and old.get("secret_token") == secret
        return self._ok(True, "Webhook is already set" if same else "Webhook was set")

    def _m_deleteWebhook(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        had = bool((bot.get("webhook") or {}).get("url"))
        bot["webhook"] = None
        if values.get("drop_pending_updates"):
            bot["updates"] = []
        return self._ok(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _m_getWebhookInfo(self, token: str, bot: dict[str, Any], values: dict[str, Any]) -> Response:
        webhook = bot.get("webhook") or {}
        info: dict[str, Any] = {"url": webhook.get("url", ""), "has_custom_certificate": False,
                                "pending_update_count": len(bot["updates"])}
        if webhook.get("url"):
            info["max_connections"] = webhook["max_connections"]
            if bot.get("allowed_updates"):
                info["allowed_updates"] = bot["allowed_updates"]
            if webhook.get("last_error_date"):
                info.update(last_error_date=webhook["last_error_date"],
                            last_error_message=webhook["last_error_message"])
        return self._ok(info)

    def _kick_webhook(self, token: str) -> None:
        if token in self._delivering:
            return
        self._delivering.add(token)
        threading.Thread(target=self._deliver, args=(token,), name="telegram-webhook", daemon=True).start()

    def _deliver(self, token: str, attempts: int = 5) -> None:
        import httpx

        try:
            failures = 0
            while failures < attempts:
                with self.lock:
                    bot = self.state["bots"].get(token)
                    webhook = (bot or {}).get("webhook") or {}
                    if not bot or not webhook.get("url") or not bot["updates"]:
                        return
                    update = dict(bot["updates"][0])
                    url, secret = webhook["url"], webhook.get("secret_token", "")
                headers = {"Content-Type": "application/json"}
                if secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = secret
                error = ""
                try:
                    answer = httpx.post(url, content=json.dumps(update, ensure_ascii=False).encode("utf-8"),
                                        headers=headers, timeout=10.0)
                    if not 200 <= answer.status_code < 300:
                        error = f"Wrong response from the webhook: {answer.status_code} {answer.reason_phrase}"
                except httpx.HTTPError as exc:
                    error = f"Connection failed: {type(exc).__name__}"
                with self.lock:
                    bot = self.state["bots"].get(token) or {}
                    if error:
                        failures += 1
                        if bot.get("webhook"):
                            bot["webhook"].update(last_error_date=int(time.time()), last_error_message=error)
                    else:
                        bot["updates"] = [u for u in bot.get("updates", []) if u["update_id"] != update["update_id"]]
                    self.save()
                if error:
                    time.sleep(self.webhook_retry_delay)
        finally:
            with self.lock:
                self._delivering.discard(token)

    # --- reader actions -------------------------------------------------------------------------------------------
    def _bot_by(self, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        for token, bot in self.state["bots"].items():
            if data.get("token") == token or data.get("bot_id") == bot["id"] or (
                    data.get("bot_username") and data["bot_username"] == bot["username"]):
                return token, bot
        if len(self.state["bots"]) == 1 and not any(k in data for k in ("token", "bot_id", "bot_username")):
            return next(iter(self.state["bots"].items()))
        raise KeyError("bot")

    def simulate(self, action: str, data: dict[str, Any]) -> Any:
        handler = getattr(self, f"_sim_{action}", None)
        if handler is None:
            raise KeyError(action)
        return handler(data)

    def _sim_seed(self, data: dict[str, Any]) -> Any:
        allowed = {"token", "bot_username", "title", "username", "members", "discussion", "chat_id",
                   "can_post_messages"}
        return self.seed(**{k: v for k, v in data.items() if k in allowed})

    def _sim_message(self, data: dict[str, Any]) -> Any:
        """A person writes to the bot in private (``/start`` lets the bot answer)."""
        token, bot = self._bot_by(data)
        user = self._user(data.get("user") or {})
        text = str(data.get("text", "/start"))
        if user["id"] in bot["blocked"]:  # writing again (Telegram's "Restart") unblocks the bot first
            bot["blocked"].remove(user["id"])
            self._private_member_update(token, bot, user, blocked=False)
        if text.startswith("/start") and user["id"] not in bot["started"]:
            bot["started"].append(user["id"])
        chat = self._private(bot, user["id"])
        message_id = chat["next_message_id"]
        chat["next_message_id"] += 1
        message: dict[str, Any] = {"message_id": message_id, "from": user, "chat": self._chat_short(chat),
                                   "date": int(time.time()), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])}]
        chat["messages"][str(message_id)] = message
        self._enqueue(token, "message", message)
        return message

    def _sim_start(self, data: dict[str, Any]) -> Any:
        return self._sim_message({**data, "text": "/start"})

    def _sim_block_bot(self, data: dict[str, Any]) -> Any:
        """A person blocks the bot: it can no longer write to them, and it gets a ``my_chat_member`` update."""
        token, bot = self._bot_by(data)
        user_id = int(data["user_id"])
        if user_id not in bot["blocked"]:
            bot["blocked"].append(user_id)
            self._private_member_update(token, bot, self._user({"id": user_id}), blocked=True)
        return True

    def _private_member_update(self, token: str, bot: dict[str, Any], user: dict[str, Any], *, blocked: bool) -> None:
        """The ``my_chat_member`` update of a private chat: Telegram sends one only when the user blocks the bot
        (``member`` → ``kicked``) or unblocks it (``kicked`` → ``member``); the chat's id is the user's id."""
        chat = self._private(bot, user["id"])
        member = {"status": "member", "user": self._bot_user(bot)}
        kicked = {"status": "kicked", "user": self._bot_user(bot), "until_date": 0}
        self._enqueue(token, "my_chat_member", {
            "chat": self._chat_short(chat), "from": user, "date": int(time.time()),
            "old_chat_member": member if blocked else kicked, "new_chat_member": kicked if blocked else member})

    def _sim_comment(self, data: dict[str, Any]) -> Any:
        """A reader comments under a channel post (or replies to a comment) in the discussion group."""
        channel = self._chat(_chat_ref(data["chat_id"]))
        group = self.state["chats"].get(str(channel.get("linked_chat_id")))
        if group is None:
            raise ValueError("the channel has no discussion group")
        forward_id = channel["forwards"].get(str(int(data["post_id"])))
        if forward_id is None:
            raise KeyError("post")
        root = group["messages"][str(forward_id)]
        reply = root
        if data.get("reply_to"):
            reply = group["messages"].get(str(int(data["reply_to"])))
            if reply is None:
                raise KeyError("reply_to")
        user = self._user(data.get("user") or {})
        message_id = group["next_message_id"]
        group["next_message_id"] += 1
        message = {"message_id": message_id, "message_thread_id": forward_id, "from": user,
                   "chat": self._chat_short(group), "date": int(time.time()),
                   "reply_to_message": {k: v for k, v in reply.items() if k != "reply_to_message"},
                   "text": str(data.get("text", ""))}
        group["messages"][str(message_id)] = message
        self._broadcast(group, "message", message)
        return message

    def _sim_channel_post(self, data: dict[str, Any]) -> Any:
        """Another administrator posts in the channel (bots receive ``channel_post``)."""
        channel = self._chat(_chat_ref(data["chat_id"]))
        message_id = channel["next_message_id"]
        channel["next_message_id"] += 1
        message = {"message_id": message_id, "sender_chat": self._chat_short(channel), "date": int(time.time()),
                   "chat": self._chat_short(channel), "text": str(data.get("text", ""))}
        channel["messages"][str(message_id)] = message
        self._broadcast(channel, "channel_post", message)
        self._forward_to_discussion(channel, message)
        return message

    def _sim_new_member(self, data: dict[str, Any]) -> Any:
        chat = self._chat(_chat_ref(data["chat_id"]))
        user = self._user(data.get("user") or {})
        old = self._member_object(chat, user)
        chat["members"][str(user["id"])] = {"status": "member"}
        chat["member_count"] += 1
        self._broadcast(chat, "chat_member", {"chat": self._chat_short(chat), "from": user, "date": int(time.time()),
                                              "old_chat_member": old, "new_chat_member": {"status": "member",
                                                                                          "user": user}})
        return {"member_count": chat["member_count"], "user": user}

    def _sim_member_left(self, data: dict[str, Any]) -> Any:
        chat = self._chat(_chat_ref(data["chat_id"]))
        chat["members"].pop(str(int(data.get("user_id", 0))), None)
        chat["member_count"] = max(0, chat["member_count"] - 1)
        return {"member_count": chat["member_count"]}

    def _sim_vote(self, data: dict[str, Any]) -> Any:
        chat = self._chat(_chat_ref(data["chat_id"]))
        message, poll = self._poll_record(chat, int(data["message_id"]))
        self._refresh_poll(poll)
        if poll["is_closed"]:
            raise ValueError("the poll is closed")
        user = self._user(data.get("user") or {})
        option_ids = [int(i) for i in data.get("option_ids", [])]
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise ValueError("the poll allows one answer")
        if any(not 0 <= i < len(poll["options"]) for i in option_ids):
            raise ValueError("no such option")
        record = self.state["polls"][poll["id"]]
        previous = record["votes"].get(str(user["id"]), [])
        for i in previous:
            poll["options"][i]["voter_count"] -= 1
        for i in option_ids:
            poll["options"][i]["voter_count"] += 1
        if option_ids:
            record["votes"][str(user["id"])] = option_ids
        else:
            record["votes"].pop(str(user["id"]), None)
        poll["total_voter_count"] = len(record["votes"])
        self._sync_poll(chat, message)
        self._enqueue(record["bot"], "poll", dict(poll))
        if not poll["is_anonymous"]:
            self._enqueue(record["bot"], "poll_answer", {
                "poll_id": poll["id"], "user": user, "option_ids": option_ids,
                "option_persistent_ids": [poll["options"][i]["persistent_id"] for i in option_ids]})
        return poll

    def _sim_kick_bot(self, data: dict[str, Any]) -> Any:
        token, bot = self._bot_by(data)
        chat = self._chat(_chat_ref(data["chat_id"]))
        old = self._member_object(chat, self._bot_user(bot))
        chat["members"][str(bot["id"])] = {"status": "kicked"}
        self._enqueue(token, "my_chat_member", {
            "chat": self._chat_short(chat), "from": self._user({"id": 1, "first_name": "Admin"}),
            "date": int(time.time()), "old_chat_member": old,
            "new_chat_member": {"status": "kicked", "user": self._bot_user(bot), "until_date": 0}})
        return True

    def _sim_demote_bot(self, data: dict[str, Any]) -> Any:
        _token, bot = self._bot_by(data)
        chat = self._chat(_chat_ref(data["chat_id"]))
        chat["members"][str(bot["id"])] = {"status": "member"}
        return True

    def _sim_revoke_token(self, data: dict[str, Any]) -> Any:
        _token, bot = self._bot_by(data)
        bot["revoked"] = True
        return True

    def _sim_age_message(self, data: dict[str, Any]) -> Any:
        chat = self._chat(_chat_ref(data["chat_id"]))
        message = chat["messages"][str(int(data["message_id"]))]
        message["date"] -= int(data.get("seconds", 49 * 3600))
        return True

    def _sim_deliver_webhooks(self, data: dict[str, Any]) -> Any:
        for token, bot in self.state["bots"].items():
            if (bot.get("webhook") or {}).get("url") and bot["updates"]:
                self._kick_webhook(token)
        return True

    # --- the page view --------------------------------------------------------------------------------------------
    def render_pages(self) -> str:
        esc = html.escape
        parts: list[str] = []
        with self.lock:
            chats = list(self.state["chats"].values())
            for chat in chats:
                if chat["type"] != "channel":
                    continue
                name = f"@{chat['username']}" if chat.get("username") else str(chat["id"])
                parts.append(f"<section><h2>{esc(chat['title'])} <small>{esc(name)} · "
                             f"{int(chat['member_count'])} подписчиков</small></h2>")
                group = self.state["chats"].get(str(chat.get("linked_chat_id")))
                for message in sorted(chat["messages"].values(), key=lambda m: m["message_id"]):
                    parts.append(self._render_message(message))
                    forward_id = chat["forwards"].get(str(message["message_id"]))
                    if group is not None and forward_id is not None:
                        comments = [m for m in group["messages"].values() if m.get("message_thread_id") == forward_id]
                        if comments:
                            parts.append("<ul class='comments'>" + "".join(
                                f"<li><b>{esc(self._who(m))}</b>: {esc(str(m.get('text', '')))}</li>"
                                for m in sorted(comments, key=lambda m: m["message_id"])) + "</ul>")
                parts.append("</section>")
            for bot in self.state["bots"].values():
                dialogues = [c for k, c in self.state.get("private", {}).items() if k.startswith(f"{bot['id']}:")]
                webhook = (bot.get("webhook") or {}).get("url") or "—"
                parts.append(f"<section><h2>Бот @{esc(bot['username'])}</h2><p>webhook: {esc(webhook)}; "
                             f"pending updates: {len(bot['updates'])}; "
                             f"{'token revoked' if bot['revoked'] else 'token valid'}</p>")
                for chat in dialogues:
                    parts.append(f"<h3>{esc(self._who({'from': chat['user']}))}</h3><ul>" + "".join(
                        f"<li><b>{esc(self._who(m))}</b>: {esc(str(m.get('text', '')))}</li>"
                        for m in sorted(chat["messages"].values(), key=lambda m: m["message_id"])) + "</ul>")
                parts.append("</section>")
        return "".join(parts) or "<p>No channels yet.</p>"

    @staticmethod
    def _who(message: dict[str, Any]) -> str:
        user = message.get("from") or {}
        if message.get("sender_chat"):
            return str(message["sender_chat"].get("title", ""))
        return " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or str(user.get("id", ""))

    def _render_message(self, message: dict[str, Any]) -> str:
        esc = html.escape
        body = esc(str(message.get("text") or message.get("caption") or ""))
        extras = []
        if message.get("photo"):
            largest = message["photo"][-1]
            extras.append(f"[фото {int(largest['width'])}×{int(largest['height'])}]")
            if str(largest.get("file_unique_id")) in self.blobs:
                extras.append(f"<img alt='photo' style='max-width:160px' "
                              f"src='/_emulator/photo/{esc(str(largest['file_unique_id']))}'>")
        if message.get("media_group_id"):
            extras.append(f"[альбом {esc(str(message['media_group_id']))}]")
        poll = message.get("poll")
        if poll:
            options = ", ".join(f"{esc(o['text'])}: {int(o['voter_count'])}" for o in poll["options"])
            state = "закрыт" if poll["is_closed"] else "открыт"
            extras.append(f"[опрос «{esc(poll['question'])}» ({state}) {options}]")
        if message.get("edit_date"):
            extras.append("[изменено]")
        return (f"<article><small>#{int(message['message_id'])}</small> {' '.join(extras)}"
                f"<div style='white-space:pre-wrap'>{body}</div></article>")


def _chat_ref(value: Any) -> int | str:
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text

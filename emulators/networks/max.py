"""A local MAX Bot API server (OpenAPI 0.0.32) for tests and the demo.

Same paths, parameters, JSON bodies and ``{"code", "message"}`` errors as ``platform-api2.max.ru``. It
validates what the real API validates: the token in the ``Authorization`` header (a token in the query is
refused), parameter types and ranges, ``NewMessageBody`` (text up to 4000 characters, attachment payloads,
reply links, format), the bot's membership and admin rights, the upload flow (``POST /uploads?type=image``
→ a signed one-use url → multipart field ``data`` with a real image: JPG, PNG, GIF, TIFF, BMP, HEIC, at
most 50 MB and 7680×7680) and the processing window after an upload (``400 attachment.not.ready``). It
enforces 30 requests per second per bot (``429 too.many.requests``), keeps long-polling updates with
markers, webhook subscriptions (``405`` on ``GET /updates`` while one is active; deliveries carry
``X-Max-Bot-Api-Secret``), and honours injected faults per operationId (``sendMessage``, ``getChat``…; the
upload host is ``upload``). MAX has no captcha and bot tokens do not expire: ``expire_token`` behaves like
``revoke_token`` (the token stops working), a ``captcha`` fault is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import io
import json
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from emulators.base import EmulatorApp, Request, Response

TEXT_LIMIT = 4000
RATE_LIMIT = 30  # requests per second per bot (dev.max.ru: "30 rps")
MAX_IMAGES = 10
IMAGE_MAX_BYTES = 50 * 1024 * 1024
IMAGE_MAX_SIDE = 7680
IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "gif", "tif", "tiff", "bmp", "heic", "heif"}
IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "TIFF", "BMP"}
UPLOAD_TYPES = ("image", "video", "audio", "file")
ATTACHMENT_TYPES = {"image", "video", "audio", "file", "sticker", "contact", "inline_keyboard", "location",
                    "share"}
UPDATE_TYPES = {"bot_added", "bot_started", "bot_stopped", "bot_removed", "chat_title_changed", "dialog_cleared",
                "dialog_muted", "dialog_unmuted", "dialog_removed", "message_callback", "message_created",
                "message_edited", "message_removed", "user_added", "user_removed", "comment_created"}
DEFAULT_BOT_PERMISSIONS = ["read_all_messages", "write", "edit", "delete", "pin_message", "change_chat_info",
                           "add_remove_members"]
EDIT_RIGHTS = {"write", "edit", "edit_message", "post_edit_delete_message"}
DELETE_RIGHTS = {"write", "delete", "delete_message", "post_edit_delete_message"}
POST_RIGHTS = {"write", "post_edit_delete_message"}
INT64 = re.compile(r"-?\d{1,19}\Z")
SECRET_RE = re.compile(r"[a-zA-Z0-9_-]{5,256}\Z")
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"]+")
DIALOG_EDIT_WINDOW_MS = 7 * 24 * 3600 * 1000


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _bad(message: str) -> ApiError:
    return ApiError(400, "proto.payload", message)


def _error(status: int, code: str, message: str) -> Response:
    return Response.json({"code": code, "message": message}, status)


def now_ms() -> int:
    return int(time.time() * 1000)


# --- parameter parsing as the API does it ------------------------------------------------------------------
def int_param(request: Request, name: str, *, required: bool = False, minimum: int | None = None,
              maximum: int | None = None, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if required:
            raise _bad(f"Missing required parameter: {name}")
        return default
    if not INT64.match(raw):
        raise _bad(f"Invalid value for parameter {name}: '{raw}' is not an integer")
    value = int(raw)
    if not -(2**63) <= value < 2**63:
        raise _bad(f"Invalid value for parameter {name}: out of int64 range")
    if minimum is not None and value < minimum:
        raise _bad(f"Invalid value for parameter {name}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise _bad(f"Invalid value for parameter {name}: must be at most {maximum}")
    return value


def bool_param(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in {"true", "false"}:
        raise _bad(f"Invalid value for parameter {name}: '{raw}' is not a boolean")
    return raw.lower() == "true"


def list_param(request: Request, name: str) -> list[str] | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


class MaxEmulator(EmulatorApp):
    network = "max"
    title = "MAX Bot API emulator"

    def __init__(self, *, state_file: Path | None = None, fault_delay: float = 25.0, rate_limits: bool = True,
                 processing_delay: float = 0.15, deliver_webhooks: bool = False,
                 public_url: str = "https://max.ru") -> None:
        self.processing_delay = processing_delay  # seconds an uploaded file stays "not ready"
        self.deliver_webhooks = deliver_webhooks  # POST updates to subscribed urls (the demo); else only record
        self.public_url = public_url.rstrip("/")
        self.max_poll_wait = 5.0  # cap on GET /updates ?timeout= here, so a test never hangs for 90 s
        super().__init__(state_file=state_file, fault_delay=fault_delay, rate_limits=rate_limits)
        self.updates_ready = threading.Condition(self.lock)

    # --- state ----------------------------------------------------------------------------------------------
    def reset_state(self) -> None:
        self.state = {
            "bots": {}, "users": {}, "chats": {}, "dialogs": {}, "messages": {}, "order": {}, "comments": {},
            "updates": {}, "subscriptions": {}, "uploads": {}, "attachments": {}, "webhook_outbox": [],
            "upload_key": secrets.token_hex(16),
        }
        self.blobs = {}

    def add_fault(self, method: str, kind: str, times: int = 1) -> None:
        if kind == "captcha":
            raise ValueError("MAX has no captcha; use rate_limit, revoke_token or another kind")
        super().add_fault(method, kind, times)

    def setup_routes(self) -> None:
        api = self._api
        self.route("GET", r"/me", api("getMyInfo", self._get_me))
        self.route("GET", r"/chats/(?P<chat>[^/]+)", api("getChat", self._get_chat))
        self.route("GET", r"/chats/(?P<chat>[^/]+)/members/me", api("getMembership", self._get_membership))
        self.route("GET", r"/chats/(?P<chat>[^/]+)/members", api("getMembers", self._get_members))
        self.route("POST", r"/messages", api("sendMessage", self._send_message, write=True))
        self.route("PUT", r"/messages", api("editMessage", self._edit_message, write=True))
        self.route("DELETE", r"/messages", api("deleteMessage", self._delete_message, write=True))
        self.route("GET", r"/messages", api("getMessages", self._get_messages))
        self.route("GET", r"/messages/(?P<mid>[^/]+)", api("getMessageById", self._get_message))
        self.route("POST", r"/uploads", api("getUploadUrl", self._get_upload_url, write=True))
        self.route("GET", r"/updates", api("getUpdates", self._get_updates))
        self.route("GET", r"/subscriptions", api("getSubscriptions", self._get_subscriptions))
        self.route("POST", r"/subscriptions", api("subscribe", self._subscribe, write=True))
        self.route("DELETE", r"/subscriptions", api("unsubscribe", self._unsubscribe, write=True))
        self.route("POST", r"/upload\.do", self._upload)
        self.route("GET", r"/i/(?P<photo>[0-9]+)\.jpg", self._image)

    def dispatch(self, request: Request) -> Response:
        response = super().dispatch(request)
        if request.path.startswith("/_emulator"):
            return response
        if response.status == 404 and response.body == b'{"error": "not found"}':
            self._record("(unknown)", request)["status"] = 404
            return _error(404, "not.found", f"Path {request.path} not found")
        if response.status == 405 and response.body == b'{"error": "method not allowed"}':
            self._record("(unknown)", request)["status"] = 405
            return _error(405, "method.not.allowed", f"Method {request.method} is not allowed here")
        return response

    # --- the request pipeline ---------------------------------------------------------------------------------
    def _record(self, operation: str, request: Request) -> dict[str, Any]:
        query = {k: ("<redacted>" if k in {"access_token", "sig"} else v) for k, v in request.query.items()}
        body: Any = None
        if request.body and request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = json.loads(request.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                body = "<invalid json>"
        entry: dict[str, Any] = {
            "operation": operation, "method": request.method, "path": request.path, "query": query, "body": body,
            "authorization": "<redacted>" if request.headers.get("authorization") else None,
            "content_type": request.headers.get("content-type", ""),
            "files": {name: {"filename": f.filename, "content_type": f.content_type, "size": len(f.content)}
                      for name, f in request.files.items()},
        }
        self.log_request(entry, request)
        return entry

    def _api(self, operation: str, handler: Any, *, write: bool = False) -> Any:
        def run(request: Request) -> Response:
            entry = self._record(operation, request)
            response = self._guarded(operation, request, handler, write)
            entry["status"] = response.status
            if response.content_type.startswith("application/json") and response.body:
                entry["response"] = json.loads(response.body.decode("utf-8"))
            return response
        return run

    def _guarded(self, operation: str, request: Request, handler: Any, write: bool) -> Response:
        if "access_token" in request.query:
            return _error(401, "verify.token", "Passing the token in query parameters is not supported: "
                                               "use the Authorization header")
        token = request.headers.get("authorization", "")
        if not token:
            return _error(401, "verify.token", "Empty access_token")
        with self.lock:
            bot = self.state["bots"].get(token)
        if bot is None or bot.get("status") != "active":
            return _error(401, "verify.token", "Invalid access_token")
        if self.over_limit(f"bot:{bot['user_id']}", RATE_LIMIT, 1.0):
            return _error(429, "too.many.requests", "Too many requests")
        fault = self.take_fault(operation)
        if fault is not None and fault != "timeout_after":
            return self._fault(fault, token)
        try:
            body = self._json_body(request)
            with self.lock:
                response = handler(request, bot, body)
                if write:
                    self.save()
        except ApiError as exc:
            response = _error(exc.status, exc.code, exc.message)
        if fault == "timeout_after":
            self.sleep_for_timeout()  # applied, but the answer comes too late
        return response

    def _fault(self, kind: str, token: str) -> Response:
        if kind == "http_500":
            return _error(500, "internal.error", "Internal server error")
        if kind == "http_502":
            return Response(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if kind == "timeout_before":
            self.sleep_for_timeout()
            return Response(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html")
        if kind == "rate_limit":
            return _error(429, "too.many.requests", "Too many requests")
        if kind in {"revoke_token", "expire_token"}:
            with self.lock:
                self.state["bots"][token]["status"] = "revoked"
                self.save()
            return _error(401, "verify.token", "Invalid access_token")
        return _error(500, "internal.error", f"unknown fault {kind}")

    @staticmethod
    def _json_body(request: Request) -> Any:
        if not request.body:
            return None
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise _bad("Content-Type must be application/json")
        try:
            return json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _bad("Request body is not valid JSON") from None

    # --- objects as the API shows them ------------------------------------------------------------------------
    def _user(self, user_id: int | str) -> dict[str, Any]:
        user = dict(self.state["users"][str(user_id)])
        view = {k: user.get(k) for k in ("user_id", "first_name", "username", "is_bot", "last_activity_time")}
        if not user.get("is_bot"):
            view["last_name"] = user.get("last_name")
        view["name"] = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
        return view

    def _chat_view(self, chat: dict[str, Any]) -> dict[str, Any]:
        return {
            "chat_id": chat["chat_id"], "type": chat["type"], "status": "active", "title": chat.get("title"),
            "icon": None, "last_event_time": chat["last_event_time"], "participants_count": len(chat["members"]),
            "owner_id": chat.get("owner_id"), "participants": None, "is_public": chat.get("is_public", False),
            "link": chat.get("link"), "description": chat.get("description"), "dialog_with_user": None,
            "messages_count": len(self.state["order"].get(str(chat["chat_id"]), [])), "pinned_message": None,
        }

    def _member_view(self, chat: dict[str, Any], user_id: int) -> dict[str, Any]:
        view = self._user(user_id)
        admin = chat["admins"].get(str(user_id))
        view.update({
            "description": None, "avatar_url": "", "full_avatar_url": "",
            "last_access_time": chat["members"][str(user_id)], "join_time": chat["members"][str(user_id)],
            "is_owner": chat.get("owner_id") == user_id, "is_admin": admin is not None,
            "permissions": list(admin) if admin is not None else None,
        })
        return view

    def _message_view(self, mid: str) -> dict[str, Any]:
        record = self.state["messages"][mid]
        message = json.loads(json.dumps(record["message"]))
        chat = self.state["chats"].get(str(message["recipient"]["chat_id"]), {})
        if chat.get("type") == "channel" and record.get("by_bot"):
            message["stat"] = {"views": record.get("views", 0)}
            message["url"] = f"{self.public_url}/c/{chat['chat_id']}/{mid}"
        return message

    # --- lookups with the API's errors ---------------------------------------------------------------------------
    def _chat(self, raw: str | int) -> dict[str, Any]:
        if isinstance(raw, str) and not INT64.match(raw):
            raise ApiError(404, "chat.not.found", f"Chat {raw} not found")  # a link that no chat has
        chat = self.state["chats"].get(str(int(raw)))
        if chat is None:
            raise ApiError(404, "chat.not.found", f"Chat {raw} not found")
        return dict(chat)

    def _member_chat(self, raw: str | int, bot: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(raw)
        if str(bot["user_id"]) not in chat["members"]:
            raise ApiError(403, "chat.denied", "Bot is not a member of this chat")
        return chat

    def _rights(self, chat: dict[str, Any], bot: dict[str, Any]) -> set[str]:
        return set(chat["admins"].get(str(bot["user_id"])) or [])

    def _message(self, mid: str, bot: dict[str, Any]) -> dict[str, Any]:
        record = self.state["messages"].get(mid)
        if record is None or record.get("deleted"):
            raise ApiError(404, "not.found", "Message not found")
        chat = self.state["chats"].get(str(record["chat_id"]))
        if chat is None or str(bot["user_id"]) not in chat["members"]:
            raise ApiError(404, "not.found", "Message not found")
        return dict(record)

    # --- /me and /chats -------------------------------------------------------------------------------------------
    def _get_me(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        view = self._user(bot["user_id"])
        view.update({"description": bot.get("description"), "avatar_url": "", "full_avatar_url": "",
                     "commands": None})
        return Response.json(view)

    def _get_chat(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        return Response.json(self._chat_view(self._member_chat(request.match["chat"], bot)))

    def _get_membership(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        chat = self._member_chat(request.match["chat"], bot)
        return Response.json(self._member_view(chat, bot["user_id"]))

    def _get_members(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        chat = self._member_chat(request.match["chat"], bot)
        if str(bot["user_id"]) not in chat["admins"]:
            raise ApiError(403, "chat.denied", "Bot must be an administrator of the chat")
        count = int_param(request, "count", minimum=1, maximum=100, default=20) or 20
        marker = int_param(request, "marker", default=0) or 0
        wanted = list_param(request, "user_ids")
        ids = sorted(int(uid) for uid in chat["members"])
        if wanted is not None:
            if any(not INT64.match(w) for w in wanted):
                raise _bad("Invalid value for parameter user_ids")
            chosen = [uid for uid in ids if str(uid) in wanted]
            return Response.json({"members": [self._member_view(chat, uid) for uid in chosen], "marker": None})
        page = [uid for uid in ids if uid > marker][:count]
        more = len([uid for uid in ids if uid > marker]) > count
        return Response.json({"members": [self._member_view(chat, uid) for uid in page],
                              "marker": page[-1] if more and page else None})

    # --- messages ------------------------------------------------------------------------------------------------
    def _attachment(self, item: Any, bot: dict[str, Any]) -> dict[str, Any]:
        """One ``AttachmentRequest`` → the ``Attachment`` the message will show."""
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise _bad("Attachment must be an object with a type")
        kind = item["type"]
        if kind not in ATTACHMENT_TYPES:
            raise _bad(f"Unknown attachment type: {kind}")
        payload = item.get("payload")
        if kind == "location":
            if not isinstance(item.get("latitude"), int | float) or not isinstance(item.get("longitude"), int | float):
                raise _bad("Location needs latitude and longitude")
            return {"type": "location", "latitude": item["latitude"], "longitude": item["longitude"]}
        if not isinstance(payload, dict):
            raise _bad(f"Attachment {kind} needs a payload object")
        if kind == "image":
            given = [k for k in ("url", "token", "photos") if payload.get(k) is not None]
            if not given:
                raise _bad("No `photos`, `url` or `token` provided. Check payload.")
            if len(given) > 1:
                raise _bad("Only one of `photos`, `url` or `token` may be provided")
            if given[0] == "url":
                url = payload["url"]
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    raise _bad("Image url must be an http(s) URL")
                photo_id = self.next_id("photo")
                return {"type": "image", "payload": {"photo_id": photo_id, "token": secrets.token_urlsafe(24),
                                                     "url": url}}
            if given[0] == "token":
                tokens = [payload["token"]]
            else:
                photos = payload["photos"]
                if not isinstance(photos, dict) or not photos:
                    raise _bad("`photos` must be a non-empty object of photo tokens")
                tokens = []
                for value in photos.values():
                    if not isinstance(value, dict) or not isinstance(value.get("token"), str):
                        raise _bad("Every entry of `photos` needs a token")
                    tokens.append(value["token"])
            if len(tokens) != 1:
                raise _bad("One image attachment carries one photo")
            stored = self._stored_attachment(tokens[0], "image", bot)
            return {"type": "image", "payload": {"photo_id": stored["photo_id"], "token": tokens[0],
                                                 "url": stored["url"]}}
        if kind in {"video", "audio", "file"}:
            token = payload.get("token")
            if not isinstance(token, str):
                raise _bad(f"Attachment {kind} needs the token of an uploaded file")
            stored = self._stored_attachment(token, kind, bot)
            return {"type": kind, "payload": {"url": stored["url"], "token": token}}
        if kind == "sticker":
            if not isinstance(payload.get("code"), str):
                raise _bad("Sticker needs a code")
            return {"type": "sticker", "payload": {"url": "", "code": payload["code"]}, "width": 0, "height": 0}
        if kind == "share":
            if not isinstance(payload.get("url"), str) and not isinstance(payload.get("token"), str):
                raise _bad("Share needs a url or a token")
            return {"type": "share", "payload": dict(payload), "title": None, "description": None,
                    "image_url": None}
        if kind == "inline_keyboard":
            buttons = payload.get("buttons")
            if not isinstance(buttons, list) or not all(isinstance(row, list) for row in buttons):
                raise _bad("Keyboard buttons must be a list of rows")
            return {"type": "inline_keyboard", "payload": {"buttons": buttons}}
        return {"type": kind, "payload": dict(payload)}  # contact

    def _stored_attachment(self, token: str, kind: str, bot: dict[str, Any]) -> dict[str, Any]:
        stored = self.state["attachments"].get(token)
        if stored is None or stored["type"] != kind:
            raise _bad(f"Invalid {kind} token")
        if time.time() < stored["ready_at"]:
            raise ApiError(400, "attachment.not.ready", "Key: errors.process.attachment.file.not.processed")
        return dict(stored)

    def _new_body(self, body: Any, bot: dict[str, Any], *, editing: bool) -> dict[str, Any]:
        """Validate a ``NewMessageBody``; give back text, markup, attachments and link as the message shows them."""
        if not isinstance(body, dict):
            raise _bad("Request body must be a NewMessageBody object")
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            raise _bad("text must be a string")
        if text is not None and len(text) > TEXT_LIMIT:
            raise _bad(f"text: size must be between 0 and {TEXT_LIMIT}, got {len(text)}")
        fmt = body.get("format")
        if fmt is not None and fmt not in {"markdown", "html"}:
            raise _bad(f"Invalid format: {fmt}")
        notify = body.get("notify", True)
        if not isinstance(notify, bool):
            raise _bad("notify must be a boolean")
        raw_attachments = body.get("attachments")
        attachments: list[dict[str, Any]] | None = None
        if raw_attachments is not None:
            if not isinstance(raw_attachments, list):
                raise _bad("attachments must be an array")
            attachments = [self._attachment(item, bot) for item in raw_attachments]
            images = sum(1 for a in attachments if a["type"] == "image")
            if images > MAX_IMAGES:
                raise _bad(f"Too many attachments: at most {MAX_IMAGES} images in a message")
            files = sum(1 for a in attachments if a["type"] == "file")
            if files and len([a for a in attachments if a["type"] != "inline_keyboard"]) > 1:
                raise _bad("Must be only one file attachment in message")
        link = body.get("link")
        if link is not None:
            if not isinstance(link, dict) or link.get("type") not in {"reply", "forward"} \
                    or not isinstance(link.get("mid"), str) or not link["mid"]:
                raise _bad("link must be {type: reply|forward, mid}")
        shown = text or ""
        markup: list[Any] | None = None
        if fmt == "html" and shown:
            shown = html.unescape(re.sub(r"<[^>]+>", "", shown))
            markup = []
        has_content = bool(shown.strip()) or bool(attachments) or (link is not None and link["type"] == "forward")
        if not editing and not has_content:
            raise _bad("Message must have text or attachments")
        return {"text": text, "shown": shown, "markup": markup, "attachments": attachments, "link": link,
                "notify": notify}

    def _preview(self, text: str, attachments: list[dict[str, Any]] | None, disable: bool) -> list[dict[str, Any]]:
        """MAX builds a link preview for a url in the text (unless disabled or other media is attached)."""
        attachments = list(attachments or [])
        found = URL_IN_TEXT.search(text or "")
        if found and not disable and not attachments:
            attachments.append({"type": "share", "payload": {"url": found.group(0), "token": None},
                                "title": None, "description": None, "image_url": None})
        return attachments

    def _linked(self, link: dict[str, Any] | None, chat_id: int) -> dict[str, Any] | None:
        if link is None:
            return None
        record = self.state["messages"].get(link["mid"])
        if record is None or record.get("deleted"):
            raise _bad(f"Linked message {link['mid']} not found")
        if link["type"] == "reply" and record["chat_id"] != chat_id:
            raise _bad("Reply must link a message of the same chat")
        original = record["message"]
        linked: dict[str, Any] = {"type": link["type"], "message": dict(original["body"])}
        if original.get("sender"):
            linked["sender"] = original["sender"]
        if link["type"] == "forward":
            linked["chat_id"] = record["chat_id"]
        return linked

    def _send_message(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        chat_id = int_param(request, "chat_id")
        user_id = int_param(request, "user_id")
        disable_preview = bool_param(request, "disable_link_preview")
        if (chat_id is None) == (user_id is None):
            raise _bad("Exactly one of chat_id or user_id is required")
        if user_id is not None:
            if str(user_id) not in self.state["users"]:
                raise ApiError(404, "user.not.found", f"User {user_id} not found")
            dialog = self.state["dialogs"].get(f"{bot['user_id']}:{user_id}")
            if dialog is None or not dialog.get("started") or dialog.get("stopped"):
                raise ApiError(403, "chat.denied", "error.dialog.suspended")
            chat = self._chat(dialog["chat_id"])
        else:
            assert chat_id is not None
            chat = self._member_chat(chat_id, bot)
            if chat["type"] == "channel" and not self._rights(chat, bot) & POST_RIGHTS:
                raise ApiError(403, "chat.denied", "You don't have permission to post in this channel")
        parsed = self._new_body(body, bot, editing=False)
        linked = self._linked(parsed["link"], chat["chat_id"])
        attachments = self._preview(parsed["shown"], parsed["attachments"], disable_preview)
        mid = self._store_message(chat, sender_id=bot["user_id"], text=parsed["shown"], attachments=attachments,
                                  markup=parsed["markup"], linked=linked, by_bot=True,
                                  dialog_user=user_id if user_id is not None else chat.get("dialog_user"))
        return Response.json({"message": self._message_view(mid)})

    def _store_message(self, chat: dict[str, Any], *, sender_id: int, text: str,
                       attachments: list[dict[str, Any]] | None, markup: Any, linked: dict[str, Any] | None,
                       by_bot: bool, dialog_user: int | None = None) -> str:
        number = self.next_id("message")
        mid = f"mid.{abs(int(chat['chat_id'])) % 0xFFFFFFFF:08x}{number:016x}"
        ts = now_ms()
        recipient_user = None
        if chat["type"] == "dialog":
            recipient_user = dialog_user if by_bot else chat.get("bot_id")
        message = {
            "sender": self._user(sender_id),
            "recipient": {"chat_id": chat["chat_id"], "chat_type": chat["type"], "user_id": recipient_user},
            "timestamp": ts, "link": linked,
            "body": {"mid": mid, "seq": number, "text": text, "attachments": attachments or None,
                     "markup": markup},
        }
        self.state["messages"][mid] = {"message": message, "chat_id": chat["chat_id"], "by_bot": by_bot,
                                       "views": 0, "deleted": False}
        self.state["order"].setdefault(str(chat["chat_id"]), []).append(mid)
        self.state["chats"][str(chat["chat_id"])]["last_event_time"] = ts
        return mid

    def _edit_message(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        mid = request.query.get("message_id", "")
        if not mid:
            raise _bad("Missing required parameter: message_id")
        record = self._message(mid, bot)
        chat = self._chat(record["chat_id"])
        message = record["message"]
        if (message.get("sender") or {}).get("user_id") != bot["user_id"]:
            raise ApiError(403, "chat.denied", "You can edit only messages of the bot")
        if chat["type"] == "channel" and not self._rights(chat, bot) & EDIT_RIGHTS:
            raise ApiError(403, "chat.denied", "You don't have permission to edit posts in this channel")
        if chat["type"] == "dialog" and now_ms() - message["timestamp"] > DIALOG_EDIT_WINDOW_MS:
            keyboards = [a for a in message["body"].get("attachments") or [] if a["type"] == "inline_keyboard"]
            if not keyboards:
                raise _bad("Message is too old to be edited")
        parsed = self._new_body(body, bot, editing=True)
        stored = self.state["messages"][mid]["message"]
        if parsed["text"] is not None:
            stored["body"]["text"] = parsed["shown"]
            stored["body"]["markup"] = parsed["markup"]
        if parsed["attachments"] is not None:
            stored["body"]["attachments"] = parsed["attachments"] or None
        if not (stored["body"]["text"] or "").strip() and not stored["body"]["attachments"]:
            raise _bad("Message must have text or attachments")
        self.state["chats"][str(chat["chat_id"])]["last_event_time"] = now_ms()
        return Response.json({"success": True})

    def _delete_message(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        mid = request.query.get("message_id", "")
        if not mid:
            raise _bad("Missing required parameter: message_id")
        record = self._message(mid, bot)
        chat = self._chat(record["chat_id"])
        own = (record["message"].get("sender") or {}).get("user_id") == bot["user_id"]
        if chat["type"] != "dialog" and not self._rights(chat, bot) & DELETE_RIGHTS and not (
                own and chat["type"] == "chat"):
            raise ApiError(403, "chat.denied", "You don't have permission to delete messages in this chat")
        if chat["type"] == "dialog" and not own:
            raise ApiError(403, "chat.denied", "You can delete only messages of the bot in a dialog")
        self.state["messages"][mid]["deleted"] = True
        order = self.state["order"].get(str(chat["chat_id"]), [])
        if mid in order:
            order.remove(mid)
        return Response.json({"success": True})

    def _get_message(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        mid = request.match["mid"]
        self._message(mid, bot)
        return Response.json(self._message_view(mid))

    def _get_messages(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        chat_id = int_param(request, "chat_id")
        ids = list_param(request, "message_ids")
        count = int_param(request, "count", minimum=1, maximum=100, default=50) or 50
        since = int_param(request, "to")
        until = int_param(request, "from")
        if chat_id is None and ids is None:
            raise _bad("One of chat_id or message_ids is required")
        if ids is not None:
            found = []
            for mid in ids:
                record = self.state["messages"].get(mid)
                if record is None or record.get("deleted"):
                    continue
                chat = self.state["chats"].get(str(record["chat_id"]))
                if chat and str(bot["user_id"]) in chat["members"]:
                    found.append(self._message_view(mid))
            return Response.json({"messages": found})
        assert chat_id is not None
        chat = self._member_chat(chat_id, bot)
        if chat["type"] == "channel" and str(bot["user_id"]) not in chat["admins"]:
            raise ApiError(403, "chat.denied", "Bot must be an administrator to read the channel")
        messages = []
        for mid in reversed(self.state["order"].get(str(chat_id), [])):
            ts = self.state["messages"][mid]["message"]["timestamp"]
            if (until is not None and ts > until) or (since is not None and ts < since):
                continue
            messages.append(self._message_view(mid))
            if len(messages) >= count:
                break
        return Response.json({"messages": messages})

    # --- uploads -----------------------------------------------------------------------------------------------
    def _sign(self, upload_id: str) -> str:
        key = self.state["upload_key"].encode()
        return hmac.new(key, upload_id.encode(), hashlib.sha256).hexdigest()[:32]

    def _get_upload_url(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        kind = request.query.get("type")
        if kind is None or kind == "":
            raise _bad("Missing required parameter: type")
        if kind not in UPLOAD_TYPES:
            raise _bad(f"Invalid upload type '{kind}': expected one of image, video, audio, file")
        upload_id = f"{self.next_id('upload')}{secrets.token_hex(4)}"
        record: dict[str, Any] = {"bot_id": bot["user_id"], "type": kind, "used": False}
        answer: dict[str, Any] = {"url": f"{self.base_url or 'http://127.0.0.1'}/upload.do?"
                                         f"uid={upload_id}&sig={self._sign(upload_id)}"}
        if kind in {"video", "audio"}:
            record["token"] = answer["token"] = secrets.token_urlsafe(24)
        self.state["uploads"][upload_id] = record
        return Response.json(answer)

    def _upload(self, request: Request) -> Response:
        entry = self._record("upload", request)
        response = self._upload_inner(request)
        entry["status"] = response.status
        if response.content_type.startswith("application/json"):
            entry["response"] = json.loads(response.body.decode("utf-8"))
        return response

    def _upload_inner(self, request: Request) -> Response:
        fault = self.take_fault("upload")
        if fault is not None and fault not in {"timeout_after", "revoke_token", "expire_token"}:
            if fault == "rate_limit":
                return _error(429, "too.many.requests", "Too many requests")
            return self._fault(fault, "")
        upload_id = request.query.get("uid", "")
        with self.lock:
            record = self.state["uploads"].get(upload_id)
            if record is None or not hmac.compare_digest(self._sign(upload_id), request.query.get("sig", "")):
                return _error(403, "access.denied", "Invalid upload url")
            if record["used"]:
                return _error(400, "upload.error", "This upload url has already been used")
            data = request.files.get("data")
            if data is None:
                return _error(400, "upload.error", "No file: send it as multipart/form-data field 'data'")
            if record["type"] == "image":
                problem, size = self._check_image(data.filename, data.content)
                if problem:
                    return _error(400, "upload.error", problem)
            else:
                size = (0, 0)
            record["used"] = True
            token = record.get("token") or secrets.token_urlsafe(32)
            photo_id = self.next_id("photo")
            delay = self.processing_delay * (1 + len(data.content) / (5 * 1024 * 1024))
            self.state["attachments"][token] = {
                "bot_id": record["bot_id"], "type": record["type"], "photo_id": photo_id,
                "url": f"{self.base_url or 'http://127.0.0.1'}/i/{photo_id}.jpg", "ready_at": time.time() + delay,
                "size": len(data.content), "width": size[0], "height": size[1], "filename": data.filename,
            }
            if record["type"] == "image":
                self.blobs[str(photo_id)] = (data.content, "image/jpeg")
            self.save()
        if fault == "timeout_after":
            self.sleep_for_timeout()
        if record["type"] == "image":
            key = secrets.token_urlsafe(18)
            return Response.json({"photos": {key: {"token": token}}})
        if record["type"] == "file":
            return Response.json({"token": token})
        return Response.json({"retval": "ok"})

    @staticmethod
    def _check_image(filename: str, content: bytes) -> tuple[str, tuple[int, int]]:
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension and extension not in IMAGE_EXTENSIONS:
            return "File extension is forbidden", (0, 0)
        if len(content) > IMAGE_MAX_BYTES:
            return "File is too large: an image may be at most 50 MB", (0, 0)
        if content[4:12] in {b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1"}:
            return "", (0, 0)  # HEIC: accepted as is
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(content)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(content)) as image:
                kind, width, height = image.format, image.width, image.height
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return "File is not an image or is damaged", (0, 0)
        if kind not in IMAGE_FORMATS:
            return "File extension is forbidden", (0, 0)
        if width > IMAGE_MAX_SIDE or height > IMAGE_MAX_SIDE:
            return f"Image is too large: at most {IMAGE_MAX_SIDE}x{IMAGE_MAX_SIDE} px", (0, 0)
        return "", (width, height)

    def _image(self, request: Request) -> Response:
        blob = self.blobs.get(request.match["photo"])
        if blob is None:
            return _error(404, "not.found", "Image not found")
        return Response(200, *blob)

    # --- updates and subscriptions --------------------------------------------------------------------------
    def _get_updates(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        limit = int_param(request, "limit", minimum=1, maximum=1000, default=100) or 100
        timeout = int_param(request, "timeout", minimum=0, maximum=90, default=30)
        raw_marker = request.query.get("marker")
        marker = None if raw_marker in {None, "", "null"} else int_param(request, "marker")
        types = list_param(request, "types")
        if types is not None and any(t not in UPDATE_TYPES for t in types):
            raise _bad(f"Unknown update types: {', '.join(t for t in types if t not in UPDATE_TYPES)}")
        if self.state["subscriptions"].get(str(bot["user_id"])):
            raise ApiError(405, "method.not.allowed", "Long polling is not available: the bot has a webhook "
                                                      "subscription")
        queue = self.state["updates"].setdefault(str(bot["user_id"]), {"next": 1, "delivered": 1, "items": []})
        if marker is not None:
            queue["items"] = [pair for pair in queue["items"] if pair[0] >= marker]  # older ones are read
        start = marker if marker is not None else queue["delivered"]
        deadline = time.monotonic() + min(float(timeout if timeout is not None else 30), self.max_poll_wait)

        def pending() -> list[list[Any]]:
            return [pair for pair in queue["items"] if pair[0] >= start
                    and (types is None or pair[1]["update_type"] in types)]

        chosen = pending()
        while not chosen and time.monotonic() < deadline:
            self.updates_ready.wait(deadline - time.monotonic())
            chosen = pending()
        chosen = chosen[:limit]
        if chosen:
            next_marker = chosen[-1][0] + 1
        elif types is not None:
            next_marker = max(start, queue["next"])  # what was filtered out counts as delivered
        else:
            next_marker = start
        queue["delivered"] = max(queue["delivered"], next_marker)
        self.save()
        return Response.json({"updates": [pair[1] for pair in chosen], "marker": next_marker})

    def _get_subscriptions(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        subs = self.state["subscriptions"].get(str(bot["user_id"]), [])
        return Response.json({"subscriptions": [{k: s[k] for k in ("url", "time", "update_types")} for s in subs]})

    def _subscribe(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        if not isinstance(body, dict):
            raise _bad("Request body must be a SubscriptionRequestBody object")
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise _bad("url is required")
        if not url.startswith("https://") and not (self.deliver_webhooks and urlsplit(url).hostname in {
                "127.0.0.1", "localhost"}):
            raise _bad("Webhook url must start with https://")
        types = body.get("update_types")
        if types is not None:
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types) \
                    or len(set(types)) != len(types):
                raise _bad("update_types must be an array of distinct strings")
            unknown = [t for t in types if t not in UPDATE_TYPES]
            if unknown:
                raise _bad(f"Unknown update types: {', '.join(unknown)}")
        secret = body.get("secret")
        if secret is not None and (not isinstance(secret, str) or not SECRET_RE.match(secret)):
            raise _bad("secret must be 5-256 characters: A-Z, a-z, 0-9, _ and -")
        subs = self.state["subscriptions"].setdefault(str(bot["user_id"]), [])
        subs[:] = [s for s in subs if s["url"] != url]
        subs.append({"url": url, "time": now_ms(), "update_types": types, "secret": secret})
        return Response.json({"success": True})

    def _unsubscribe(self, request: Request, bot: dict[str, Any], body: Any) -> Response:
        url = request.query.get("url")
        if not url:
            raise _bad("Missing required parameter: url")
        subs = self.state["subscriptions"].get(str(bot["user_id"]), [])
        left = [s for s in subs if s["url"] != url]
        if len(left) == len(subs):
            return Response.json({"success": False, "message": "Subscription not found"})
        self.state["subscriptions"][str(bot["user_id"])] = left
        return Response.json({"success": True})

    def push_update(self, bot_id: int, update: dict[str, Any]) -> None:
        """An event for one bot: to its webhook subscriptions if it has any, else to its long-polling queue."""
        subs = self.state["subscriptions"].get(str(bot_id)) or []
        if subs:
            for sub in subs:
                if sub["update_types"] and update["update_type"] not in sub["update_types"]:
                    continue
                headers = {"Content-Type": "application/json"}
                if sub.get("secret"):
                    headers["X-Max-Bot-Api-Secret"] = sub["secret"]
                delivery = {"url": sub["url"], "headers": headers,
                            "body": json.dumps(update, ensure_ascii=False), "status": None}
                self.state["webhook_outbox"].append(delivery)
                if self.deliver_webhooks:
                    threading.Thread(target=self._deliver, args=(delivery,), daemon=True).start()
            return
        queue = self.state["updates"].setdefault(str(bot_id), {"next": 1, "delivered": 1, "items": []})
        queue["items"].append([queue["next"], update])
        queue["next"] += 1
        self.updates_ready.notify_all()

    def _deliver(self, delivery: dict[str, Any]) -> None:
        import httpx

        try:
            answer = httpx.post(delivery["url"], content=delivery["body"].encode("utf-8"),
                                headers=delivery["headers"], timeout=30)
            delivery["status"] = answer.status_code
        except httpx.HTTPError as exc:
            delivery["status"] = f"failed: {type(exc).__name__}"

    # --- set-up and readers ---------------------------------------------------------------------------------
    def _new_user(self, *, first_name: str, last_name: str | None = None, username: str | None = None,
                  is_bot: bool = False, user_id: int | None = None) -> int:
        uid = user_id if user_id is not None else (9_000_000 if is_bot else 100_000) + self.next_id(
            "bot" if is_bot else "user")
        self.state["users"][str(uid)] = {"user_id": uid, "first_name": first_name, "last_name": last_name,
                                         "username": username, "is_bot": is_bot, "last_activity_time": now_ms()}
        return uid

    def seed(self, *, token: str | None = None, chat_id: int | None = None, title: str = "Библиотека",
             chat_type: str = "channel", link: str | None = None, description: str | None = None,
             members: int = 0, bot_name: str = "Filial", bot_username: str | None = None,
             bot_admin: bool = True, permissions: list[str] | None = None, is_public: bool = True) -> dict[str, Any]:
        """A bot (with its token) that is an admin of a channel or group chat; returns their ids."""
        if chat_type not in {"channel", "chat"}:
            raise ValueError("chat_type is channel or chat")
        with self.lock:
            token = token or secrets.token_urlsafe(32)
            bot = self.state["bots"].get(token)
            if bot is None:
                username = bot_username or f"filial_{self.next_id('botname')}_bot"
                uid = self._new_user(first_name=bot_name, username=username, is_bot=True)
                bot = self.state["bots"][token] = {"user_id": uid, "status": "active",
                                                   "description": "Библиотечный бот Filial"}
            else:
                bot["status"] = "active"
            if chat_id is None:
                chat_id = -(70_000_000_000_000 + self.next_id("chat"))
            chat: dict[str, Any] | None = self.state["chats"].get(str(chat_id))
            if chat is None:
                owner = self._new_user(first_name="Администратор", last_name="Библиотеки")
                ts = now_ms()
                chat = {
                    "chat_id": chat_id, "type": chat_type, "title": title, "description": description,
                    "link": link or f"{self.public_url}/join/{abs(chat_id):x}", "is_public": is_public,
                    "owner_id": owner, "members": {str(owner): ts}, "admins": {str(owner): ["write", "edit",
                                                                                        "delete", "add_admins"]},
                    "last_event_time": ts,
                }
                self.state["chats"][str(chat_id)] = chat
                for n in range(members):
                    reader = self._new_user(first_name=f"Читатель {n + 1}")
                    chat["members"][str(reader)] = ts
            chat["members"][str(bot["user_id"])] = now_ms()
            if bot_admin:
                chat["admins"][str(bot["user_id"])] = list(permissions if permissions is not None
                                                           else DEFAULT_BOT_PERMISSIONS)
            else:
                chat["admins"].pop(str(bot["user_id"]), None)
            self.save()
            return {"token": token, "chat_id": chat_id, "bot_user_id": bot["user_id"], "link": chat["link"],
                    "title": chat["title"], "type": chat["type"]}

    def _bots_in(self, chat: dict[str, Any]) -> list[int]:
        return [bot["user_id"] for bot in self.state["bots"].values() if str(bot["user_id"]) in chat["admins"]]

    def _reader(self, data: dict[str, Any]) -> int:
        uid = data.get("user_id")
        if uid is not None and str(uid) in self.state["users"]:
            return int(uid)
        return self._new_user(first_name=str(data.get("first_name") or "Читатель"),
                              last_name=data.get("last_name"), username=data.get("username"),
                              user_id=int(uid) if uid is not None else None)

    def _bot_of(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("bot_token"):
            return dict(self.state["bots"][str(data["bot_token"])])
        if data.get("bot_user_id") is not None:
            for bot in self.state["bots"].values():
                if bot["user_id"] == int(data["bot_user_id"]):
                    return dict(bot)
            raise KeyError(f"bot {data['bot_user_id']}")
        if len(self.state["bots"]) != 1:
            raise ValueError("several bots: say which one with bot_token or bot_user_id")
        return dict(next(iter(self.state["bots"].values())))

    def _dialog(self, bot_id: int, user_id: int) -> dict[str, Any]:
        key = f"{bot_id}:{user_id}"
        dialog = self.state["dialogs"].get(key)
        if dialog is None:
            chat_id = 50_000_000 + self.next_id("dialog")
            dialog = self.state["dialogs"][key] = {"chat_id": chat_id, "started": False, "stopped": False}
            ts = now_ms()
            self.state["chats"][str(chat_id)] = {
                "chat_id": chat_id, "type": "dialog", "title": None, "description": None, "link": None,
                "is_public": False, "owner_id": None, "members": {str(bot_id): ts, str(user_id): ts},
                "admins": {}, "last_event_time": ts, "bot_id": bot_id, "dialog_user": user_id,
            }
        return dict(dialog)

    def simulate(self, action: str, data: dict[str, Any]) -> Any:
        """Reader actions (also ``POST /_emulator/simulate/<action>``): seed, new_member, message, comment,
        bot_started, bot_stopped, view; ``vote`` is refused (no polls in MAX)."""
        with self.lock:
            result = self._simulate(action, data)
            self.save()
            return result

    def _simulate(self, action: str, data: dict[str, Any]) -> Any:
        if action == "seed":
            return self.seed(**data)
        if action == "new_member":
            chat = self._chat(int(data["chat_id"]))
            uid = self._reader(data)
            self.state["chats"][str(chat["chat_id"])]["members"][str(uid)] = now_ms()
            for bot_id in self._bots_in(chat):
                self.push_update(bot_id, {"update_type": "user_added", "timestamp": now_ms(),
                                          "chat_id": chat["chat_id"], "user": self._user(uid), "inviter_id": None,
                                          "is_channel": chat["type"] == "channel"})
            return {"user_id": uid, "participants_count": len(self.state["chats"][str(chat["chat_id"])]["members"])}
        if action in {"bot_started", "bot_stopped"}:
            bot = self._bot_of(data)
            uid = self._reader(data)
            dialog = self._dialog(bot["user_id"], uid)
            state = self.state["dialogs"][f"{bot['user_id']}:{uid}"]
            state["started"], state["stopped"] = action == "bot_started", action == "bot_stopped"
            update: dict[str, Any] = {"update_type": action, "timestamp": now_ms(), "chat_id": dialog["chat_id"],
                                      "user": self._user(uid)}
            if action == "bot_started":
                update["payload"] = data.get("payload")
            self.push_update(bot["user_id"], update)
            return {"user_id": uid, "chat_id": dialog["chat_id"]}
        if action == "message":
            bot = self._bot_of(data)
            uid = self._reader(data)
            dialog = self._dialog(bot["user_id"], uid)
            self.state["dialogs"][f"{bot['user_id']}:{uid}"].update(started=True, stopped=False)
            chat = self._chat(dialog["chat_id"])
            linked = self._linked({"type": "reply", "mid": data["reply_to"]}, chat["chat_id"]) \
                if data.get("reply_to") else None
            mid = self._store_message(chat, sender_id=uid, text=str(data.get("text") or ""), attachments=None,
                                      markup=None, linked=linked, by_bot=False)
            self.push_update(bot["user_id"], {"update_type": "message_created", "timestamp": now_ms(),
                                              "message": self._message_view(mid), "user_locale": "ru"})
            return {"mid": mid, "user_id": uid, "chat_id": dialog["chat_id"]}
        if action == "comment":
            chat = self._chat(int(data["chat_id"]))
            uid = self._reader(data)
            self.state["chats"][str(chat["chat_id"])]["members"].setdefault(str(uid), now_ms())
            post = data.get("post_id") or data.get("reply_to")
            if chat["type"] == "channel":
                return self._channel_comment(chat, uid, str(post or ""), str(data.get("text") or ""))
            linked = self._linked({"type": "reply", "mid": str(post)}, chat["chat_id"]) if post else None
            mid = self._store_message(chat, sender_id=uid, text=str(data.get("text") or ""), attachments=None,
                                      markup=None, linked=linked, by_bot=False)
            for bot_id in self._bots_in(chat):
                self.push_update(bot_id, {"update_type": "message_created", "timestamp": now_ms(),
                                          "message": self._message_view(mid)})
            return {"mid": mid, "user_id": uid}
        if action == "view":
            record = self.state["messages"].get(str(data["mid"]))
            if record is None:
                raise KeyError(f"message {data['mid']}")
            record["views"] = int(record.get("views", 0)) + int(data.get("count", 1))
            return {"views": record["views"]}
        if action == "vote":
            raise ValueError("MAX Bot API 0.0.32 has no polls")
        raise KeyError(action)

    def _channel_comment(self, chat: dict[str, Any], uid: int, post: str, text: str) -> dict[str, Any]:
        """A reader's comment under a channel post: ``comment_created`` (official Go client stubs, newer API)."""
        record = self.state["messages"].get(post)
        if not post or record is None or record["chat_id"] != chat["chat_id"] or record.get("deleted"):
            raise ValueError("a channel comment needs the post_id of a post in that channel")
        number = self.next_id("message")
        mid = f"mid.{abs(int(chat['chat_id'])) % 0xFFFFFFFF:08x}{number:016x}"
        ts = now_ms()
        comment = {"sender": self._user(uid),
                   "recipient": {"chat_id": chat["chat_id"], "chat_type": "channel", "user_id": None,
                                 "post_id": post},
                   "timestamp": ts, "link": None,
                   "body": {"mid": mid, "seq": number, "text": text, "attachments": None, "markup": None}}
        self.state["comments"].setdefault(post, []).append(comment)
        for bot_id in self._bots_in(chat):
            self.push_update(bot_id, {"update_type": "comment_created", "timestamp": ts, "message": comment})
        return {"mid": mid, "user_id": uid}

    # --- the HTML view --------------------------------------------------------------------------------------------
    def render_pages(self) -> str:
        esc = html.escape
        parts: list[str] = []
        with self.lock:
            bots = ", ".join(f"@{esc(str(self.state['users'][str(b['user_id'])].get('username')))} "
                             f"({esc(str(b['status']))})" for b in self.state["bots"].values())
            parts.append(f"<p>Bots: {bots or 'none'}</p>")
            for chat in self.state["chats"].values():
                if chat["type"] == "dialog":
                    continue
                link = str(chat.get("link") or "")
                shown_link = f"<a href='{esc(link)}'>{esc(link)}</a>" if link.startswith(("https://", "http://")) \
                    else esc(link)
                parts.append(f"<section><h2>{esc(str(chat.get('title')))} <small>({esc(chat['type'])}, "
                             f"{chat['chat_id']}, {len(chat['members'])} members)</small></h2>"
                             f"<p>{shown_link}</p><ol reversed>")
                for mid in reversed(self.state["order"].get(str(chat["chat_id"]), [])):
                    record = self.state["messages"][mid]
                    body = record["message"]["body"]
                    who = record["message"].get("sender", {}).get("name", "")
                    images = "".join(f"<img src='/i/{int(a['payload']['photo_id'])}.jpg' alt='' height='80'>"
                                     for a in body.get("attachments") or [] if a["type"] == "image"
                                     and str(a["payload"]["photo_id"]) in self.blobs)
                    comments = "".join(f"<li>{esc(str(c['sender'].get('name')))}: {esc(str(c['body']['text']))}"
                                       "</li>" for c in self.state["comments"].get(mid, []))
                    parts.append(f"<li><code>{esc(mid)}</code> {esc(str(who))} · views {record.get('views', 0)}"
                                 f"<pre>{esc(str(body.get('text') or ''))}</pre>{images}"
                                 f"{'<ul>' + comments + '</ul>' if comments else ''}</li>")
                parts.append("</ol></section>")
            dialogs = [c for c in self.state["chats"].values() if c["type"] == "dialog"]
            if dialogs:
                parts.append("<section><h2>Direct messages</h2>")
                for chat in dialogs:
                    user = self.state["users"].get(str(chat.get("dialog_user")), {})
                    parts.append(f"<h3>{esc(str(user.get('first_name', '')))} ({chat.get('dialog_user')})</h3><ul>")
                    for mid in self.state["order"].get(str(chat["chat_id"]), []):
                        message = self.state["messages"][mid]["message"]
                        parts.append(f"<li>{esc(str(message.get('sender', {}).get('name', '')))}: "
                                     f"{esc(str(message['body'].get('text') or ''))}</li>")
                    parts.append("</ul>")
                parts.append("</section>")
            parts.append(f"<p>Webhook deliveries: {len(self.state['webhook_outbox'])}</p>")
        return "".join(parts)

"""Test helpers for the OK package: a served emulator with a seeded group, images, and the conformance check.

OK has no machine-readable API spec (``../shared/specs/`` has none for it), so the parameters and response
shapes below are transcribed from the official method pages on apiok.ru (their GitHub source
apiok/documentation) for the methods Filial uses. They are kept apart from the emulator's own table on
purpose: the conformance test checks what the connector sent and what the emulator answered against them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from PIL import Image

from emulators.base import ServedEmulator
from emulators.networks.ok import OKEmulator
from filial.networks.base import Photo
from filial.networks.ok.connector import OKConnector
from filial.networks.tests.helpers import served


def image(fmt: str = "PNG", color: str = "red", size: tuple[int, int] = (64, 48), name: str = "") -> Photo:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    ext = {"PNG": "png", "JPEG": "jpg", "GIF": "gif"}[fmt]
    return Photo(buffer.getvalue(), name or f"photo.{ext}", f"image/{'jpeg' if fmt == 'JPEG' else fmt.lower()}")


@dataclass
class World:
    app: OKEmulator
    server: ServedEmulator
    seed: dict[str, Any]
    connectors: list[OKConnector] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return str(self.seed["external_id"])

    @property
    def credentials(self) -> dict[str, str]:
        return dict(self.seed["credentials"])

    @property
    def api_url(self) -> str:
        return self.server.url + "/fb.do"

    def connector(self, timeout: float = 5.0, external_id: str = "", **credentials: str) -> OKConnector:
        creds = {**self.credentials, **credentials}
        return OKConnector(external_id=external_id or self.gid, credentials=creds, base_url=self.api_url,
                           timeout=timeout)

    def rest(self, method: str) -> list[dict[str, Any]]:
        return [entry for entry in self.app.requests if entry["method"] == method]


@contextmanager
def ok_world(*, members: int = 25, name: str = "Центральная библиотека", **emulator: Any) -> Iterator[World]:
    options: dict[str, Any] = {"fault_delay": 1.5, "rate_limit": 1000, "deliver_webhooks": False}
    options.update(emulator)
    app = OKEmulator(**options)
    with served(app) as server:
        seed = app.seed(members=members, name=name, shortname="cbs")
        yield World(app=app, server=server, seed=seed)


# --- conformance: requests ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class P:
    kind: str = "str"  # str, id, ids, int, bool, enum, json, fields
    required: bool = False
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()


DIRECTION = ("FORWARD", "BACKWARD", "AROUND")
REST_METHODS: dict[str, dict[str, P]] = {
    # https://apiok.ru/dev/methods/rest/users/users.getCurrentUser
    "users.getCurrentUser": {"fields": P("fields")},
    # https://apiok.ru/dev/methods/rest/group/group.getInfo
    "group.getInfo": {"uids": P("ids", True), "fields": P("fields", True), "move_to_top": P("bool")},
    # https://apiok.ru/dev/methods/rest/group/group.getUserGroupsByIds
    "group.getUserGroupsByIds": {"group_id": P("id", True), "uids": P("ids", True)},
    # https://apiok.ru/dev/methods/rest/photosV2/photosV2.getUploadUrl
    "photosV2.getUploadUrl": {"uid": P("id"), "aid": P(), "gid": P("id"), "count": P("int", low=1),
                              "placeholders": P("bool")},
    # https://apiok.ru/dev/methods/rest/mediatopic/mediatopic.post
    "mediatopic.post": {"uid": P("id"), "gid": P("id"), "attachment": P("json", True), "set_status": P("bool"),
                        "type": P("enum", choices=("USER", "USER_STATUS", "USER_NOTE", "GROUP_THEME",
                                                   "GROUP_THEME_PROMO", "GROUP_SUGGESTED")),
                        "devices": P(), "text_link_preview": P("bool"), "hidden_post": P("bool")},
    "mediatopic.edit": {"topic_id": P("id", True), "attachment": P("json", True), "gid": P("id"), "uid": P("id")},
    "mediatopic.deleteTopic": {"topic_id": P("id", True), "gid": P("id"), "uid": P("id")},
    # https://apiok.ru/dev/methods/rest/mediatopic/mediatopic.getByIds (media_limit 1..3)
    "mediatopic.getByIds": {"topic_ids": P("ids", True), "media_limit": P("int", low=1, high=3),
                            "fields": P("fields"), "features": P()},
    "mediatopic.getTopics": {"gid": P("id"), "uid": P("id"), "anchor": P(), "direction": P("enum", choices=DIRECTION),
                             "count": P("int", low=1, high=100), "fields": P("fields")},
    # https://apiok.ru/dev/methods/rest/discussions/discussions.getComments
    "discussions.getComments": {"discussionId": P(required=True), "discussionType": P(required=True),
                                "anchor": P(), "direction": P("enum", choices=DIRECTION), "count": P("int", low=1),
                                "frmt": P(), "fields": P("fields"), "fieldset": P(), "mark_as_read": P("bool"),
                                "includeRemoved": P("bool")},
    # https://apiok.ru/dev/methods/rest/discussions/discussions.addDiscussionComment
    "discussions.addDiscussionComment": {"entityId": P(required=True), "entityType": P(required=True),
                                         "comment": P(required=True), "reply_to_comment_id": P(),
                                         "as_admin": P("bool"), "attachments": P("json"), "frmt": P(),
                                         "fields": P("fields"), "fieldset": P()},
}
# Bot API (https://apiok.ru/dev/graph_api/bot_api): method names of the docs and the query they take.
GRAPH_ENDPOINTS: dict[str, set[str]] = {
    "GET graph.user.info": set(),
    "GET graph.user.chats": {"marker", "count"},
    "GET graph.user.chat": {"chat_id"},
    "GET graph.user.messages": {"chat_id", "from", "to", "count"},
    "POST graph.user.messages": set(),
    "POST graph.user.subscribe": set(),
    "POST graph.user.unsubscribe": set(),
    "GET graph.user.subscriptions": set(),
}
COMMON_REST = {"method", "application_key", "format", "sig"}


def _check_value(method: str, name: str, rule: P, value: str) -> str | None:
    if rule.kind == "id" and not value.isdigit():
        return f"{method}: {name}={value!r} is not an id"
    if rule.kind == "ids" and not all(part.isdigit() for part in value.split(",")):
        return f"{method}: {name}={value!r} is not a comma-separated id list"
    if rule.kind == "int":
        if not re.fullmatch(r"\d+", value):
            return f"{method}: {name}={value!r} is not an integer"
        if (rule.low is not None and int(value) < rule.low) or (rule.high is not None and int(value) > rule.high):
            return f"{method}: {name}={value} is out of range"
    if rule.kind == "bool" and value not in ("true", "false"):
        return f"{method}: {name}={value!r} is not true/false"
    if rule.kind == "enum" and value not in rule.choices:
        return f"{method}: {name}={value!r} is not one of {rule.choices}"
    if rule.kind == "fields" and not re.fullmatch(r"[a-z_]+(\.[a-z_*]+)?(,[a-z_]+(\.[a-z_*]+)?)*", value):
        return f"{method}: fields={value!r} is malformed"
    return None


def check_requests(requests: list[dict[str, Any]]) -> list[str]:
    """Problems with what the connector sent: unknown methods, missing/unknown parameters, wrong types, a
    token leaking into the recorded parameters, a Bot API POST without a JSON body."""
    problems: list[str] = []
    for entry in requests:
        params = entry["params"]
        if "access_token" in params or "session_key" in params:
            problems.append(f"{entry['method']}: a token was recorded")
        if entry["api"] == "rest":
            method = entry["method"]
            spec = REST_METHODS.get(method)
            if spec is None:
                problems.append(f"unknown OK method {method!r}")
                continue
            missing = COMMON_REST - set(params)
            if missing:
                problems.append(f"{method}: missing {sorted(missing)}")
            if params.get("format") != "json":
                problems.append(f"{method}: format is not json")
            for name in set(params) - COMMON_REST - set(spec):
                problems.append(f"{method}: unknown parameter {name}")
            for name, rule in spec.items():
                value = params.get(name)
                if value in (None, ""):
                    if rule.required:
                        problems.append(f"{method}: required parameter {name} is missing")
                    continue
                problem = _check_value(method, name, rule, str(value))
                if problem:
                    problems.append(problem)
        elif entry["api"] == "graph":
            allowed = GRAPH_ENDPOINTS.get(entry["method"])
            if allowed is None:
                problems.append(f"unknown Bot API endpoint {entry['method']}")
                continue
            for name in set(params) - allowed:
                problems.append(f"{entry['method']}: unknown query parameter {name}")
            if entry["http"] == "POST" and (not entry["content_type"].startswith("application/json")
                                            or not isinstance(entry.get("json"), dict)):
                problems.append(f"{entry['method']}: POST without a JSON object body")
        elif entry["api"] == "upload":
            files = entry["params"].get("files") or {}
            if not files or not all(re.fullmatch(r"pic\d+", name) for name in files):
                problems.append(f"upload: files must be pic1..picN, got {sorted(files)}")
    return problems


# --- conformance: responses ---------------------------------------------------------------------------------
DEFINITIONS: dict[str, Any] = {
    "id": {"type": "string", "pattern": r"^\d+$"},
    "error": {"type": "object", "required": ["error_code", "error_msg"],
              "properties": {"error_code": {"type": "integer"}, "error_msg": {"type": "string"}}},
    "media_block": {"type": "object", "required": ["type"], "properties": {
        "type": {"enum": ["text", "photo", "link", "poll", "movie", "music", "app", "topic"]},
        "text": {"type": "string"}, "url": {"type": "string"},
        "photo_refs": {"type": "array", "items": {"type": "string", "pattern": r"^group_photo:\d+$"}},
        "poll_ref": {"type": "string", "pattern": r"^poll:\d+$"}}},
    "summary": {"type": "object", "properties": {"count": {"type": "integer", "minimum": 0}}},
    "media_topic": {"type": "object", "required": ["id"], "properties": {
        "id": {"$ref": "#/definitions/id"}, "created_ms": {"type": "integer"},
        "media": {"type": "array", "items": {"$ref": "#/definitions/media_block"}},
        "owner_ref": {"type": "string", "pattern": r"^(group|user):\d+$"},
        "like_summary": {"$ref": "#/definitions/summary"}, "reshare_summary": {"$ref": "#/definitions/summary"},
        "discussion_summary": {"type": "object", "properties": {"comments_count": {"type": "integer"}}},
        "views_count": {"type": "integer"}}},
    "poll": {"type": "object", "required": ["id", "question", "answers"], "properties": {
        "id": {"$ref": "#/definitions/id"}, "question": {"type": "string"},
        "answers": {"type": "array", "items": {"type": "object", "required": ["id", "text"], "properties": {
            "text": {"type": "string"}, "votes_count": {"type": "integer", "minimum": 0}}}}}},
    "topics": {"type": "object", "required": ["media_topics"], "properties": {
        "media_topics": {"type": "array", "items": {"$ref": "#/definitions/media_topic"}},
        "anchor": {"type": "string"}, "has_more": {"type": "boolean"},
        "entities": {"type": "object", "properties": {
            "polls": {"type": "array", "items": {"$ref": "#/definitions/poll"}},
            "groups": {"type": "array", "items": {"type": "object", "required": ["uid"]}}}}}},
    "comment": {"type": "object", "required": ["id", "text", "author_id", "date"], "properties": {
        "id": {"type": "string", "minLength": 1}, "text": {"type": "string"}, "author_id": {"type": "string"},
        "date": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"},
        "reply_to_comment_id": {"type": "string"}}},
    "message": {"type": "object", "required": ["sender", "recipient", "message", "timestamp"], "properties": {
        "sender": {"type": "object", "required": ["user_id"],
                   "properties": {"user_id": {"type": "string", "pattern": r"^(user|group):\d+$"}}},
        "recipient": {"type": "object", "required": ["chat_id"],
                      "properties": {"chat_id": {"type": "string", "pattern": r"^chat:"}}},
        "message": {"type": "object", "required": ["mid"], "properties": {
            "text": {"type": "string"}, "seq": {"type": "integer"},
            "mid": {"type": "string", "pattern": r"^mid:"}}},
        "timestamp": {"type": "integer"}}},
    "chat": {"type": "object", "required": ["chat_id", "type", "lastEventTime"], "properties": {
        "chat_id": {"type": "string", "pattern": r"^chat:"}, "type": {"enum": ["GROUP_CHAT", "DIALOG", "CHAT"]},
        "status": {"enum": ["ACTIVE", "LEFT", "REMOVED"]}, "lastEventTime": {"type": "integer"},
        "group_id": {"type": "string", "pattern": r"^group:\d+$"}}},
}
RESPONSES: dict[str, Any] = {
    "users.getCurrentUser": {"type": "object", "required": ["uid"], "properties": {"uid": {"$ref": "#/definitions/id"},
                                                                                   "name": {"type": "string"}}},
    "group.getInfo": {"type": "array", "items": {"type": "object", "required": ["uid"], "properties": {
        "uid": {"$ref": "#/definitions/id"}, "name": {"type": "string"}, "shortname": {"type": "string"},
        "members_count": {"type": "integer", "minimum": 0}}}},
    "group.getUserGroupsByIds": {"type": "array", "items": {"type": "object", "required": ["userId", "status"],
                                                            "properties": {"status": {"enum": [
                                                                "ACTIVE", "MAYBE", "BLOCKED", "ADMIN",
                                                                "MODERATOR", "PASSIVE"]}}}},
    "photosV2.getUploadUrl": {"type": "object", "required": ["upload_url", "photo_ids"], "properties": {
        "upload_url": {"type": "string", "pattern": r"^https?://"},
        "photo_ids": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/id"}},
        "expires_ms": {"type": "integer"}}},
    "uploadImage": {"type": "object", "required": ["photos"], "properties": {"photos": {
        "type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object", "required": ["token"], "properties": {"token": {"type": "string", "minLength": 1}}}}}},
    "mediatopic.post": {"$ref": "#/definitions/id"},
    "mediatopic.edit": {"const": True},
    "mediatopic.deleteTopic": {"type": "object", "required": ["success"], "properties": {"success": {"const": True}}},
    "mediatopic.getByIds": {"$ref": "#/definitions/topics"},
    "mediatopic.getTopics": {"$ref": "#/definitions/topics"},
    "discussions.getComments": {"type": "object", "required": ["comments"], "properties": {
        "comments": {"type": "array", "items": {"$ref": "#/definitions/comment"}}, "anchor": {"type": "string"},
        "has_more": {"type": "boolean"}}},
    "discussions.addDiscussionComment": {"$ref": "#/definitions/comment"},
    "GET graph.user.info": {"type": "object", "required": ["group_id"], "properties": {
        "group_id": {"type": "string", "pattern": r"^group:\d+$"}, "name": {"type": "string"}}},
    "GET graph.user.chats": {"type": "object", "required": ["chats"], "properties": {
        "chats": {"type": "array", "items": {"$ref": "#/definitions/chat"}}, "marker": {"type": "string"}}},
    "GET graph.user.chat": {"$ref": "#/definitions/chat"},
    "GET graph.user.messages": {"type": "object", "required": ["messages"], "properties": {
        "messages": {"type": "array", "items": {"$ref": "#/definitions/message"}}}},
    "POST graph.user.messages": {"type": "object", "required": ["success"], "properties": {
        "success": {"anyOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "boolean"}}]},
        "chat_ids": {"type": "array", "items": {"type": ["string", "null"]}},
        "message_id": {"type": ["string", "null"]}}},
    "POST graph.user.subscribe": {"type": "object", "required": ["success"]},
    "POST graph.user.unsubscribe": {"type": "object", "required": ["success"]},
    "GET graph.user.subscriptions": {"type": "object", "required": ["subscriptions"], "properties": {
        "subscriptions": {"type": "array", "items": {"type": "object", "required": ["url", "time"]}}}},
}


def check_responses(requests: list[dict[str, Any]]) -> list[str]:
    """Problems with the emulator's answers: each must fit the documented success shape or OK's error envelope."""
    problems: list[str] = []
    for entry in requests:
        if entry.get("status") != 200 or "response" not in entry:
            continue
        body = entry["response"]
        if isinstance(body, dict) and "error_code" in body:
            schema: Any = {"$ref": "#/definitions/error"}
        else:
            schema = RESPONSES.get(entry["method"])
            if schema is None:
                problems.append(f"no response schema for {entry['method']}")
                continue
        try:
            jsonschema.validate(body, {**schema, "definitions": DEFINITIONS})
        except jsonschema.ValidationError as exc:
            problems.append(f"{entry['method']}: {exc.message} at {list(exc.absolute_path)}")
    return problems

"""MAX (max.ru) pages: a channel or group chat where Filial's bot is an administrator.

Credentials: ``{"bot_token": ...}``; the page's external id is the chat id (a negative number for chats and
channels). Everything goes through the MAX Bot API (see ``client.py``): posts are messages in the chat
(``POST /messages?chat_id=``), photos go through ``POST /uploads?type=image`` and the upload url, readers'
messages come from ``GET /updates`` (long polling, ``marker`` = our cursor) or from webhooks
(``webhooks.py``). The API has no polls and no idempotency key; a send whose outcome is unknown is looked
for among the chat's recent messages (``GET /messages?chat_id=``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import httpx

from filial.networks.base import (
    Capabilities,
    ChannelInfo,
    InboundItem,
    NetworkError,
    Photo,
    PollResults,
    PostPayload,
    PostStats,
    Published,
    UpdatesPage,
)
from filial.networks.max.client import NETWORK, MaxClient
from filial.networks.max.rules import MaxRules
from filial.networks.max.webhooks import UPDATE_TYPES, update_items

T = TypeVar("T")
TEXT_LIMIT = 4000  # NewMessageBody.text maxLength in the OpenAPI schema
POST_RIGHTS = {"write", "post_edit_delete_message"}  # "write" replaced "post_edit_delete_message"


def _local_error(message: str, **kwargs: Any) -> NetworkError:
    return NetworkError(message, network=NETWORK, code="local", permanent=True, method="(local)", **kwargs)


class MaxConnector(MaxRules):
    network = "max"
    capabilities = Capabilities(
        text_limit=TEXT_LIMIT,
        caption_limit=None,  # text and photos travel in one message with the same limit
        max_photos=10,  # the API documents no count; 10 is Filial's cap (and the emulator's)
        polls=False,  # MAX Bot API 0.0.32 has no poll attachment
        poll_max_answers=0,
        edit=True,
        delete=True,
        native_scheduling=False,
        links=True,  # a link in the text; MAX builds its preview
        comments=True,  # messages in the page's group chat, channel comments where MAX sends them
        direct_messages=True,  # to people who started the bot
        idempotency=False,
        formatting="plain",  # we send no "format": the text is shown as written
    )
    # A message sent right after an upload may get "attachment.not.ready": wait and resend, bounded.
    not_ready_delays: ClassVar[tuple[float, ...]] = (0.2, 0.4, 0.8, 1.6, 3.2)
    poll_timeout: ClassVar[int] = 0  # seconds GET /updates may hold the request; 0 = answer at once
    recent_count: ClassVar[int] = 50

    def __init__(self, *, external_id: str, credentials: dict[str, Any], base_url: str,
                 transport: httpx.BaseTransport | None = None, timeout: float = 20.0) -> None:
        super().__init__(external_id=external_id, credentials=credentials, base_url=base_url,
                         transport=transport, timeout=timeout)
        self._client: MaxClient | None = None

    # --- plumbing ---------------------------------------------------------------------------------------
    @property
    def client(self) -> MaxClient:
        if self._client is None:
            self._client = MaxClient(str(self.credentials.get("bot_token") or ""), base_url=self.base_url,
                                     timeout=self.timeout, transport=self.transport)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def chat_id(self) -> int:
        try:
            return int(str(self.external_id).strip())
        except ValueError:
            raise _local_error(f"the MAX chat id must be a number, not {self.external_id!r}") from None

    def check(self, post: PostPayload) -> list[str]:
        return super().check(dataclasses.replace(post, text=self.compose_text(post)))

    def _retry_not_ready(self, send: Callable[[], T]) -> T:
        delays = list(self.not_ready_delays)
        while True:
            try:
                return send()
            except NetworkError as exc:
                if exc.code != "attachment.not.ready" or not delays:
                    raise
                time.sleep(delays.pop(0))

    def _upload_photos(self, photos: list[Photo]) -> list[dict[str, Any]]:
        """Upload every photo first: if one fails, the error stops the post before anything is sent."""
        attachments: list[dict[str, Any]] = []
        for photo in photos:
            endpoint = self.client.get_upload_url("image")
            url = str(endpoint.get("url") or "")
            if not url:
                raise NetworkError("POST /uploads gave no upload url", network=NETWORK, code="upload",
                                   method="getUploadUrl")
            answer = self.client.upload_file(url, photo)
            if isinstance(answer, dict) and answer.get("photos"):
                payload: dict[str, Any] = {"photos": answer["photos"]}
            elif isinstance(answer, dict) and answer.get("token"):
                payload = {"token": answer["token"]}
            elif endpoint.get("token"):
                payload = {"token": endpoint["token"]}
            else:
                raise NetworkError("the upload server gave no photo token", network=NETWORK, code="upload",
                                   permanent=True, method="upload")
            attachments.append({"type": "image", "payload": payload})
        return attachments

    @staticmethod
    def _published(message: dict[str, Any]) -> Published:
        body = message.get("body") or {}
        recipient = message.get("recipient") or {}
        return Published(external_id=str(body.get("mid") or ""), url=str(message.get("url") or ""),
                         extra={"chat_id": recipient.get("chat_id"), "seq": body.get("seq")})

    @staticmethod
    def _message_error(exc: NetworkError) -> NetworkError:
        """A 403 on a direct message means the person has not started or has blocked the bot: not a reauth."""
        if getattr(exc, "status", None) != 403:
            return exc
        error = NetworkError(f"the person does not accept messages from the bot ({exc.message})",
                             network=NETWORK, code=exc.code, permanent=True, method=exc.method)
        error.request = getattr(exc, "request", "")  # type: ignore[attr-defined]
        return error

    # --- pages ----------------------------------------------------------------------------------------------
    def verify(self) -> ChannelInfo:
        me = self.client.get_me()
        chat = self.client.get_chat(self.chat_id())
        member = self.client.get_membership(self.chat_id())
        bot = f"@{me.get('username')}" if me.get("username") else "the bot"
        rights = set(member.get("permissions") or [])
        if not member.get("is_admin"):
            raise NetworkError(f"{bot} is not an administrator of “{chat.get('title')}”: add it as an admin",
                               network=NETWORK, code="chat.denied", needs_reauth=True, method="getMembership")
        if chat.get("type") == "channel" and not rights & POST_RIGHTS:
            raise NetworkError(f"{bot} may not post in the channel “{chat.get('title')}”: give it the right "
                               "to write posts", network=NETWORK, code="chat.denied", needs_reauth=True,
                               method="getMembership")
        return self._info(chat)

    def channel_info(self) -> ChannelInfo:
        return self._info(self.client.get_chat(self.chat_id()))

    def _info(self, chat: dict[str, Any]) -> ChannelInfo:
        count = chat.get("participants_count")
        return ChannelInfo(external_id=str(chat.get("chat_id", self.external_id)), name=str(chat.get("title") or ""),
                           url=str(chat.get("link") or ""), audience=int(count) if count is not None else None)

    # --- posts ------------------------------------------------------------------------------------------------
    def publish(self, post: PostPayload) -> Published:
        self.require_ok(post)
        chat = self.chat_id()
        attachments = self._upload_photos(post.photos)
        text = self.compose_text(post)
        body = {"text": text or None, "attachments": attachments or None, "link": None, "notify": True}
        result = self._retry_not_ready(lambda: self.client.send_message(body, chat_id=chat))
        return self._published(result.get("message") or {})

    def edit(self, external_id: str, post: PostPayload) -> None:
        self.require_ok(post)
        attachments = self._upload_photos(post.photos)
        # The payload is the whole new post: an empty list removes photos the post no longer has.
        body = {"text": self.compose_text(post) or None, "attachments": attachments, "link": None}
        result = self._retry_not_ready(lambda: self.client.edit_message(external_id, body))
        if not result.get("success"):
            raise NetworkError(str(result.get("message") or "MAX did not apply the edit"), network=NETWORK,
                               code="edit", permanent=True, method="editMessage")

    def delete(self, external_id: str) -> None:
        try:
            result = self.client.delete_message(external_id)
        except NetworkError as exc:
            if getattr(exc, "status", None) == 404:
                return  # already gone
            raise
        if not result.get("success"):
            raise NetworkError(str(result.get("message") or "MAX did not delete the message"), network=NETWORK,
                               code="delete", permanent=True, method="deleteMessage")

    def delete_comment(self, item: dict[str, Any]) -> None:
        """Delete a reader's message in the page's group chat (the bot needs the right to delete messages).
        Channel comments (``comment_created``) have no delete method in the Bot API."""
        if (item.get("raw") or {}).get("update_type") == "comment_created":
            raise _local_error("MAX Bot API 0.0.32 has no method to delete a channel comment; delete it in MAX")
        self.delete(str(item.get("external_id") or ""))

    def find_published(self, post: PostPayload) -> Published | None:
        """MAX has no idempotency key: look for our text (and photo count) among the chat's recent posts."""
        expected = self.compose_text(post).strip()
        for message in self.client.get_messages(chat_id=self.chat_id(), count=self.recent_count):
            sender = message.get("sender") or {}
            if sender and not sender.get("is_bot"):
                continue  # a reader's message in a group chat
            body = message.get("body") or {}
            images = [a for a in body.get("attachments") or [] if a.get("type") == "image"]
            if str(body.get("text") or "").strip() == expected and len(images) == len(post.photos):
                return self._published(message)  # newest first: the latest matching post
        return None

    def post_stats(self, external_ids: list[str]) -> dict[str, PostStats]:
        stats: dict[str, PostStats] = {}
        for start in range(0, len(external_ids), 100):
            chunk = external_ids[start:start + 100]
            for message in self.client.get_messages(message_ids=chunk):
                mid = str((message.get("body") or {}).get("mid") or "")
                stat = message.get("stat") or {}
                views = stat.get("views")
                if mid:
                    stats[mid] = PostStats(views=int(views) if views is not None else None)
        return stats

    def poll_results(self, published: Published) -> PollResults | None:
        return None  # no polls in the MAX Bot API

    # --- readers --------------------------------------------------------------------------------------------------
    def fetch_updates(self, cursor: str | None) -> UpdatesPage:
        """``GET /updates``: passing the last ``marker`` marks everything before it as read (save it after commit)."""
        marker: int | None = None
        if cursor:
            try:
                marker = int(cursor)
            except ValueError:
                raise _local_error(f"bad MAX updates cursor {cursor!r}") from None
        try:
            data = self.client.get_updates(marker=marker, limit=100, timeout=self.poll_timeout)
        except NetworkError as exc:
            if getattr(exc, "status", None) == 405:
                raise NetworkError("the bot has a webhook subscription: updates come to the webhook, not to "
                                   "GET /updates", network=NETWORK, code=exc.code, permanent=True,
                                   method=exc.method) from None
            raise
        chat = str(self.chat_id())
        items = [item for update in data.get("updates") or [] for item in update_items(update, chat_id=chat)]
        new_marker = data.get("marker")
        return UpdatesPage(items=items, cursor=str(new_marker) if new_marker is not None else (cursor or ""))

    def _check_text(self, text: str) -> None:
        if not text.strip():
            raise _local_error("the message is empty")
        if len(text) > TEXT_LIMIT:
            raise _local_error(f"text is {len(text)} characters, at most {TEXT_LIMIT}")

    def reply(self, item: InboundItem, text: str, key: str) -> str:
        self._check_text(text)
        body = {"text": text, "attachments": None, "link": {"type": "reply", "mid": item.external_id},
                "notify": True}
        if item.kind == "message":
            try:
                result = self.client.send_message(body, user_id=int(item.thread_id))
            except NetworkError as exc:
                raise self._message_error(exc) from None
        elif item.raw.get("update_type") == "comment_created":
            raise _local_error("MAX Bot API 0.0.32 has no method to answer a channel comment; answer in MAX")
        else:
            result = self.client.send_message(body, chat_id=self.chat_id())
        return str(((result.get("message") or {}).get("body") or {}).get("mid") or "")

    def send_message(self, user_id: str, text: str, key: str) -> str:
        """A direct message; MAX delivers it only to people who started the bot (else 403 ``chat.denied``)."""
        self._check_text(text)
        try:
            uid = int(user_id)
        except ValueError:
            raise _local_error(f"a MAX user id is a number, not {user_id!r}") from None
        body = {"text": text, "attachments": None, "link": None, "notify": True}
        try:
            result = self.client.send_message(body, user_id=uid)
        except NetworkError as exc:
            raise self._message_error(exc) from None
        return str(((result.get("message") or {}).get("body") or {}).get("mid") or "")

    # --- webhooks (used by the webhook endpoint's setup) --------------------------------------------------
    def set_webhook(self, url: str, secret: str) -> None:
        """Subscribe the bot to push updates (MAX then stops answering GET /updates)."""
        result = self.client.subscribe(url, secret, UPDATE_TYPES)
        if not result.get("success"):
            raise NetworkError(str(result.get("message") or "MAX refused the subscription"), network=NETWORK,
                               code="subscribe", permanent=True, method="subscribe")

    def remove_webhook(self, url: str) -> None:
        self.client.unsubscribe(url)

    def webhooks(self) -> list[dict[str, Any]]:
        return self.client.get_subscriptions()

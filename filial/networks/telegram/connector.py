"""Telegram: a channel run by the page's bot (the bot is an administrator with "Post messages").

Credentials: ``{"bot_token": "<id>:<secret>"}``; ``external_id`` is the channel's chat id (``-100…``) or
``@username``.

How a post goes out (Bot API 10.1, https://core.telegram.org/bots/api):

- text only → ``sendMessage`` (HTML parse mode, text escaped, 1-4096 characters after parsing), the link as
  ``link_preview_options.url`` (appended to the text when the text does not contain it);
- 1 photo → ``sendPhoto``; 2-10 photos → ``sendMediaGroup`` (``attach://photoN`` multipart parts); the text
  rides as the caption of the first photo when it fits 1024 characters, otherwise it follows the photos as its
  own ``sendMessage`` (decision: a long text is never cut and never refused only because of photos);
- a poll → ``sendPoll`` after the text (anonymous in channels; 2-12 answers for Filial, although Bot API 10
  accepts one). No ``close_date`` is sent: ``poll_results`` closes the poll with ``stopPoll``, the only Bot API
  call that returns a poll's counts, so the engine calls it when the poll is due to end.

A post made of several messages is all or nothing: if a later message fails for sure, the ones already sent are
deleted (``deleteMessages``) before the error is raised; if that is impossible the error says so and is marked
``outcome_unknown`` for a human to check.

External ids: a one-message post is its message id (``"42"``); a post of several messages is
``"<first id>:<parts>"`` with parts ``a<ids>`` (photos), ``t<id>`` (separate text message), ``p<id>`` (poll),
ids as ranges, e.g. ``"12:a12-15,t16,p17"`` (fits Delivery.external_id's 100 characters). Comments name the
channel message they hang on (``post_external_id``); :meth:`TelegramConnector.message_ids` lists a post's ids
for matching.

Limits, stated honestly: the Bot API has no views, likes or reposts for channel posts (``post_stats`` answers
``None`` for each), no idempotency key (a send whose outcome is unknown is looked up with ``find_published``,
which can only see the updates Telegram still holds: the channel post's automatic forward into the linked
discussion group, if the bot is there and nothing confirmed those updates yet), and no history reading.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from filial.networks.base import (
    Capabilities,
    ChannelInfo,
    InboundItem,
    Photo,
    PollResults,
    PostPayload,
    PostStats,
    Published,
    UpdatesPage,
)
from filial.networks.telegram.client import TOKEN_RE, TelegramAPIError, TelegramClient, Upload
from filial.networks.telegram.post_ids import compose_external_id, parse_external_id
from filial.networks.telegram.rules import CAPTION_LIMIT, OPTION_LIMIT, QUESTION_LIMIT, TelegramRules
from filial.networks.telegram.updates import ALLOWED_UPDATES, consent_changes, parse_updates, poll_state
from filial.networks.telegram.webhooks import valid_secret_token

TEXT_LIMIT = 4096
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif",
                 "BMP": "image/bmp"}


def escape_html(text: str) -> str:
    """Text for ``parse_mode=HTML``: ``<``, ``>`` and ``&`` become entities (core.telegram.org/bots/api#html-style)."""
    return html.escape(text, quote=False)


def _photo_problem(index: int, photo: Photo) -> str | None:
    name = f"photo {index} ({photo.filename})"
    if len(photo.content) > PHOTO_MAX_BYTES:
        return f"{name} is {len(photo.content) / 1048576:.1f} MB; Telegram accepts photos up to 10 MB"
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(photo.content)) as image:
            image_format = image.format or ""
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return f"{name} is not an image Telegram can show (JPEG, PNG, WEBP or GIF)"
    if image_format not in PHOTO_FORMATS:
        return f"{name} is a {image_format} image; Telegram takes JPEG, PNG, WEBP or GIF photos"
    if width + height > 10000:
        return f"{name} is {width}×{height}; width and height together must not exceed 10000"
    if max(width, height) > 20 * max(1, min(width, height)):
        return f"{name} is {width}×{height}; the sides' ratio must be at most 20"
    return None


class TelegramConnector(TelegramRules):
    network = "telegram"
    capabilities = Capabilities(
        text_limit=TEXT_LIMIT, caption_limit=CAPTION_LIMIT, max_photos=10, polls=True, poll_max_answers=12,
        edit=True, delete=True, native_scheduling=False, links=True, comments=True, direct_messages=True,
        idempotency=False, formatting="html",
    )
    notes: ClassVar[tuple[str, ...]] = (
        "Text longer than 1024 characters goes as its own message after the photos (caption limit 1024).",
        "The Bot API gives no views, likes or reposts for channel posts: post statistics stay empty.",
        "Telegram has no idempotency key: an uncertain send is checked against the updates the bot still holds.",
        "A poll cannot be edited; reading its results closes it (stopPoll).",
        "Comments need the channel's discussion group with the bot as an administrator there too.",
        "Direct messages reach only people who started the bot.",
    )
    long_poll_seconds: ClassVar[int] = 0  # getUpdates ``timeout``; the caller polls periodically

    # --- plumbing ------------------------------------------------------------------------------------------
    @property
    def chat_id(self) -> int | str:
        text = str(self.external_id).strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return text if text.startswith("@") else f"@{text}"

    @contextmanager
    def _client(self) -> Iterator[TelegramClient]:
        token = str(self.credentials.get("bot_token") or "").strip()
        if not token:
            raise TelegramAPIError("no bot token: paste the token @BotFather gave for the page's bot",
                                   needs_reauth=True, code="local")
        if not TOKEN_RE.match(token):
            raise TelegramAPIError("the bot token is malformed (expected <digits>:<secret> as @BotFather gives it)",
                                   needs_reauth=True, code="local")
        client = TelegramClient(token, base_url=self.base_url, transport=self.transport, timeout=self.timeout)
        try:
            yield client
        finally:
            client.close()

    @staticmethod
    def message_ids(external_id: str) -> list[int]:
        """All Telegram message ids of a published post (for matching comments to deliveries)."""
        return parse_external_id(external_id).all

    # --- checks --------------------------------------------------------------------------------------------
    def check(self, post: PostPayload) -> list[str]:
        problems: list[str] = []
        text = self.plain_text(post)
        if len(text) > TEXT_LIMIT:
            with_link = " with the link" if text != post.text.strip() else ""
            problems.append(f"text is {len(text)} characters{with_link}, at most {TEXT_LIMIT}")
        if len(post.photos) > self.capabilities.max_photos:
            problems.append(f"{len(post.photos)} photos, at most {self.capabilities.max_photos}")
        else:
            for index, photo in enumerate(post.photos, 1):
                problem = _photo_problem(index, photo)
                if problem:
                    problems.append(problem)
        if post.poll is not None:
            poll = post.poll
            answers = [a.strip() for a in poll.answers]
            if not 2 <= len(answers) <= self.capabilities.poll_max_answers:
                problems.append(f"a poll needs 2 to {self.capabilities.poll_max_answers} answers")
            if not 1 <= len(poll.question.strip()) <= QUESTION_LIMIT:
                problems.append(f"the poll question must be 1 to {QUESTION_LIMIT} characters")
            if any(not 1 <= len(a) <= OPTION_LIMIT for a in answers):
                problems.append(f"each poll answer must be 1 to {OPTION_LIMIT} characters")
            if len(set(answers)) != len(answers):
                problems.append("poll answers must differ")
            if not poll.anonymous:
                problems.append("Telegram channels only have anonymous polls")
        if not text and not post.photos and post.poll is None:
            problems.append("the post is empty")
        return problems

    # --- the page ------------------------------------------------------------------------------------------
    def verify(self) -> ChannelInfo:
        with self._client() as client:
            me = client.call("getMe")
            chat = client.call("getChat", {"chat_id": self.chat_id})
            if chat.get("type") not in ("channel", "supergroup"):
                raise TelegramAPIError(f"chat {self.external_id} is a {chat.get('type')} chat, not a channel",
                                       permanent=True, code="local", method="getChat")
            member = client.call("getChatMember", {"chat_id": self.chat_id, "user_id": me["id"]})
            status = member.get("status")
            can_post = status == "creator" or (status == "administrator" and (
                chat.get("type") != "channel" or member.get("can_post_messages") is True))
            if not can_post:
                bot = f"@{me.get('username')}" if me.get("username") else "the bot"
                raise TelegramAPIError(
                    f"{bot} is {status or 'not a member'} in “{chat.get('title', self.external_id)}”; make it an "
                    "administrator with the right to post messages", needs_reauth=True, code="local",
                    method="getChatMember")
            audience = client.call("getChatMemberCount", {"chat_id": self.chat_id})
        username = chat.get("username")
        url = f"https://t.me/{username}" if username else str(chat.get("invite_link") or "")
        return ChannelInfo(external_id=str(chat["id"]), name=str(chat.get("title") or username or chat["id"]),
                           url=url, audience=int(audience) if isinstance(audience, int) else None)

    def _post_url(self, chat: dict[str, Any], message_id: int) -> str:
        username = chat.get("username")
        if username:
            return f"https://t.me/{username}/{message_id}"
        chat_id = str(chat.get("id", ""))
        if chat_id.startswith("-100"):
            return f"https://t.me/c/{chat_id[4:]}/{message_id}"
        return ""

    # --- publishing ----------------------------------------------------------------------------------------
    def _text_params(self, text_html: str, link: str) -> dict[str, Any]:
        params: dict[str, Any] = {"chat_id": self.chat_id, "text": text_html, "parse_mode": "HTML"}
        if link:
            params["link_preview_options"] = {"url": link}
        return params

    def publish(self, post: PostPayload) -> Published:
        self.require_ok(post)
        text = self.plain_text(post)
        text_html = escape_html(text)
        parts: list[tuple[str, list[int]]] = []
        first: dict[str, Any] | None = None
        extra: dict[str, Any] = {}
        with self._client() as client:
            try:
                if post.photos:
                    caption = text_html if text and len(text) <= CAPTION_LIMIT else None
                    album = self._send_photos(client, post.photos, caption)
                    first = album[0]
                    parts.append(("a", [m["message_id"] for m in album]))
                    if album[0].get("media_group_id"):
                        extra["media_group_id"] = album[0]["media_group_id"]
                    if text and caption is None:
                        message = client.call("sendMessage", self._text_params(text_html, post.link))
                        parts.append(("t", [message["message_id"]]))
                elif text:
                    first = client.call("sendMessage", self._text_params(text_html, post.link))
                    parts.append(("t", [first["message_id"]]))
                if post.poll is not None:
                    message = client.call("sendPoll", {
                        "chat_id": self.chat_id, "question": post.poll.question.strip(),
                        "options": [{"text": a.strip()} for a in post.poll.answers],
                        "is_anonymous": post.poll.anonymous, "type": "regular",
                        "allows_multiple_answers": post.poll.multiple,
                    })
                    first = first or message
                    parts.append(("p", [message["message_id"]]))
                    extra["poll_id"] = message.get("poll", {}).get("id")
            except TelegramAPIError as exc:
                if parts:
                    raise self._undo(client, parts, exc) from None
                raise
        assert first is not None
        roles = dict(parts)
        ids = [i for _, group in parts for i in group]
        text_id = roles["t"][0] if "t" in roles else (roles["a"][0] if "a" in roles and text else None)
        extra.update({
            "chat_id": first.get("chat", {}).get("id"), "message_ids": ids,
            "album_message_ids": roles.get("a", []), "text_message_id": text_id,
            "poll_message_id": roles["p"][0] if "p" in roles else None,
        })
        return Published(external_id=compose_external_id(parts), url=self._post_url(first.get("chat", {}), ids[0]),
                         extra=extra)

    def _send_photos(self, client: TelegramClient, photos: list[Photo], caption: str | None) -> list[dict[str, Any]]:
        uploads = [Upload(f"photo{i}", p.filename or f"photo{i}.jpg", p.content, p.content_type or "image/jpeg")
                   for i, p in enumerate(photos)]
        if len(photos) == 1:
            params: dict[str, Any] = {"chat_id": self.chat_id}
            if caption:
                params.update(caption=caption, parse_mode="HTML")
            upload = uploads[0]
            message = client.call("sendPhoto", params, files=[Upload("photo", upload.filename, upload.content,
                                                                     upload.content_type)])
            return [message]
        media: list[dict[str, Any]] = [{"type": "photo", "media": f"attach://{u.field}"} for u in uploads]
        if caption:
            media[0].update(caption=caption, parse_mode="HTML")
        result = client.call("sendMediaGroup", {"chat_id": self.chat_id, "media": media}, files=uploads)
        return list(result)

    def _undo(self, client: TelegramClient, parts: list[tuple[str, list[int]]],
              exc: TelegramAPIError) -> TelegramAPIError:
        """After a later message of a post failed: delete the earlier ones so nothing half-published stays."""
        ids = [i for _, group in parts for i in group]
        flags: dict[str, Any] = {"code": exc.code, "method": exc.method, "description": exc.description,
                                 "parameters": exc.parameters, "request": exc.request,
                                 "http_status": exc.http_status}
        if exc.outcome_unknown:
            return TelegramAPIError(f"{exc.message}; messages {ids} of this post are already published",
                                    outcome_unknown=True, **flags)
        try:
            client.call("deleteMessages", {"chat_id": self.chat_id, "message_ids": ids})
        except TelegramAPIError as undo_exc:
            return TelegramAPIError(f"{exc.message}; the post is half-published: messages {ids} could not be "
                                    f"deleted ({undo_exc.message})", outcome_unknown=True, **flags)
        return TelegramAPIError(f"{exc.message} (the {len(ids)} message(s) already sent were deleted: nothing of "
                                "this post stays published)", permanent=exc.permanent, retry_after=exc.retry_after,
                                needs_reauth=exc.needs_reauth, **flags)

    def edit(self, external_id: str, post: PostPayload) -> None:
        self.require_ok(post)
        messages = parse_external_id(external_id)
        text = self.plain_text(post)
        with self._client() as client:
            if messages.text is not None:
                self._edit_text(client, messages.text, text, post.link)
            elif messages.album:
                self._edit_caption(client, messages.album[0], text)
            elif messages.single and post.photos:
                self._edit_caption(client, messages.main, text)
            elif messages.single and post.poll is not None and not text:
                return  # a poll alone: nothing Telegram lets us edit
            else:
                self._edit_text(client, messages.main, text, post.link)

    def _edit_text(self, client: TelegramClient, message_id: int, text: str, link: str) -> None:
        if not text:
            raise TelegramAPIError("Telegram cannot empty a text message; delete the post instead", permanent=True,
                                   code="local", method="editMessageText")
        params = self._text_params(escape_html(text), link)
        params["message_id"] = message_id
        try:
            client.call("editMessageText", params)
        except TelegramAPIError as exc:
            if "message is not modified" in exc.description:
                return
            if "there is no text in the message to edit" in exc.description:
                self._edit_caption(client, message_id, text)
                return
            raise

    def _edit_caption(self, client: TelegramClient, message_id: int, text: str) -> None:
        if len(text) > CAPTION_LIMIT:
            raise TelegramAPIError(
                f"the text is {len(text)} characters but this post carries it as the photos' caption (at most "
                f"{CAPTION_LIMIT}); shorten it or delete and publish the post again", permanent=True, code="local",
                method="editMessageCaption")
        params: dict[str, Any] = {"chat_id": self.chat_id, "message_id": message_id, "caption": escape_html(text)}
        if text:
            params["parse_mode"] = "HTML"
        try:
            client.call("editMessageCaption", params)
        except TelegramAPIError as exc:
            if "message is not modified" in exc.description:
                return
            raise

    def delete(self, external_id: str) -> None:
        ids = parse_external_id(external_id).all
        with self._client() as client:
            client.call("deleteMessages", {"chat_id": self.chat_id, "message_ids": ids})

    def delete_comment(self, item: dict[str, Any]) -> None:
        """Delete a reader's comment (a message in the discussion group: ``chat:message`` id); the bot must be an
        administrator of the group allowed to delete messages."""
        chat, _, message_id = str(item.get("external_id") or "").partition(":")
        if not chat or not message_id.isdigit():
            raise TelegramAPIError(f"not a comment id: {item.get('external_id')!r}", permanent=True, code="local",
                                   method="deleteMessage")
        with self._client() as client:
            client.call("deleteMessage", {"chat_id": int(chat) if re.fullmatch(r"-?\d+", chat) else chat,
                                          "message_id": int(message_id)})

    def find_published(self, post: PostPayload) -> Published | None:
        """Look for this post among the updates Telegram still holds (automatic forwards into the discussion
        group, channel posts). ``None`` means "cannot tell": a webhook takes the updates, there is no discussion
        group with the bot in it, the updates were already confirmed, or the post is not (fully) there."""
        text = " ".join(self.plain_text(post).split())
        with self._client() as client:
            if (client.call("getWebhookInfo") or {}).get("url"):
                return None
            updates = client.call("getUpdates", {"limit": 100, "timeout": 0}) or []
        seen: list[tuple[int, dict[str, Any]]] = []
        for update in updates:
            message = update.get("channel_post")
            if isinstance(message, dict) and self._is_our_chat(message.get("chat")):
                seen.append((message["message_id"], message))
                continue
            message = update.get("message")
            if isinstance(message, dict) and message.get("is_automatic_forward"):
                origin = message.get("forward_origin") or {}
                if origin.get("type") == "channel" and self._is_our_chat(origin.get("chat")):
                    seen.append((int(origin["message_id"]), message))

        def plain(message: dict[str, Any]) -> str:
            return " ".join(str(message.get("text") or message.get("caption") or "").split())

        parts: list[tuple[str, list[int]]] = []
        chats: list[dict[str, Any]] = []
        caption_in_album = bool(post.photos) and bool(text) and len(text) <= CAPTION_LIMIT
        text_id: int | None = None
        if text and not caption_in_album:
            texts = [(i, m) for i, m in seen if "photo" not in m and plain(m) == text]
            if not texts:
                return None
            text_id = texts[-1][0]
            chats.append(texts[-1][1])
        if post.photos:
            with_photo = [(i, m) for i, m in seen if "photo" in m and (
                plain(m) == text if caption_in_album else text_id is None or i < text_id)]
            if not with_photo:
                return None
            last_id, last = with_photo[-1]
            group = last.get("media_group_id")
            album = sorted({i for i, m in seen if group and m.get("media_group_id") == group} | {last_id})
            if len(album) != len(post.photos):
                return None
            parts.append(("a", album))
            chats.insert(0, last)
        if text_id is not None:
            parts.append(("t", [text_id]))
        if post.poll is not None:
            polls = [(i, m) for i, m in seen if (m.get("poll") or {}).get("question") == post.poll.question.strip()]
            if not polls:
                return None
            parts.append(("p", [polls[-1][0]]))
            chats.append(polls[-1][1])
        chat = next((m.get("forward_origin", {}).get("chat") or m.get("chat") for m in chats), None) or {}
        if not parts:
            return None
        external_id = compose_external_id(parts)
        return Published(external_id=external_id, url=self._post_url(chat, parts[0][1][0]),
                         extra={"message_ids": parse_external_id(external_id).all, "found_in_updates": True})

    def _is_our_chat(self, chat: Any) -> bool:
        if not isinstance(chat, dict):
            return False
        ref = self.chat_id
        if isinstance(ref, int):
            return chat.get("id") == ref
        return str(chat.get("username") or "").lower() == ref.lstrip("@").lower()

    # --- statistics and polls ------------------------------------------------------------------------------
    def post_stats(self, external_ids: list[str]) -> dict[str, PostStats]:
        """The Bot API exposes no views, likes, reposts or comment counts for channel posts."""
        return {external_id: PostStats() for external_id in external_ids}

    def page_audience(self) -> int | None:
        """``getChatMemberCount``: the channel's subscribers (the one figure the Bot API gives a bot)."""
        with self._client() as client:
            count = client.call("getChatMemberCount", {"chat_id": self.chat_id})
        return int(count) if isinstance(count, int) else None

    def poll_results(self, published: Published) -> PollResults | None:
        """Final results of the post's poll. This CLOSES the poll: ``stopPoll`` is the only Bot API call that
        returns a poll's counts (``poll`` updates also carry them while it runs)."""
        messages = parse_external_id(published.external_id)
        message_id = published.extra.get("poll_message_id") or messages.poll
        if message_id is None and not messages.single:
            return None
        message_id = message_id or messages.main
        with self._client() as client:
            try:
                poll = client.call("stopPoll", {"chat_id": self.chat_id, "message_id": int(message_id)})
            except TelegramAPIError as exc:
                if "poll has already been closed" in exc.description:
                    raise TelegramAPIError(f"{exc.description}: Telegram returns a closed poll's counts only "
                                           "through the poll update sent when it closed", permanent=True,
                                           code=exc.code, method="stopPoll", request=exc.request) from None
                if messages.single and ("message is not a poll" in exc.description
                                        or "poll not found" in exc.description):
                    return None
                raise
        return PollResults(answers=[(str(o.get("text", "")), int(o.get("voter_count", 0)))
                                    for o in poll.get("options", [])],
                           total_voters=int(poll.get("total_voter_count", 0)))

    # --- inbox ---------------------------------------------------------------------------------------------
    def _channel_filter(self) -> tuple[int | None, str | None]:
        ref = self.chat_id
        return (ref, None) if isinstance(ref, int) else (None, ref.lstrip("@"))

    def fetch_updates(self, cursor: str | None) -> UpdatesPage:
        """New comments and direct messages through ``getUpdates``; the cursor is the next ``offset`` (the last
        ``update_id`` + 1). Passing it confirms the earlier updates, so save it only after committing the items.

        People who blocked or unblocked the bot (private-chat ``my_chat_member``) come as ``consents``."""
        params: dict[str, Any] = {"timeout": self.long_poll_seconds, "limit": 100,
                                  "allowed_updates": ALLOWED_UPDATES}
        if cursor:
            params["offset"] = int(cursor)
        with self._client() as client:
            updates = client.call("getUpdates", params, timeout=self.timeout + self.long_poll_seconds) or []
        channel_id, username = self._channel_filter()
        token = str(self.credentials.get("bot_token") or "")
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else None
        items = parse_updates(updates, channel_id=channel_id, channel_username=username, bot_id=bot_id)
        ids = [u["update_id"] for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
        next_cursor = str(max(ids) + 1) if ids else (cursor or "")
        polls = [poll for poll in (poll_state(u) for u in updates if isinstance(u, dict)) if poll is not None]
        return UpdatesPage(items=items, cursor=next_cursor, polls=polls, consents=consent_changes(updates))

    def reply(self, item: InboundItem, text: str, key: str) -> str:
        chat, _, message_id = item.external_id.partition(":")
        params = self._reply_params(chat, text)
        params["reply_parameters"] = {"message_id": int(message_id), "allow_sending_without_reply": True}
        forbidden = "user" if item.kind == "message" else "reauth"
        with self._client() as client:
            message = client.call("sendMessage", params, forbidden=forbidden)
        return f"{message['chat']['id']}:{message['message_id']}"

    def send_message(self, user_id: str, text: str, key: str) -> str:
        """A direct message; Telegram has no idempotency key (``key`` only names the attempt in logs)."""
        params = self._reply_params(user_id, text)
        with self._client() as client:
            message = client.call("sendMessage", params, forbidden="user")
        return f"{message['chat']['id']}:{message['message_id']}"

    def _reply_params(self, chat: str, text: str) -> dict[str, Any]:
        text = text.strip()
        if not text or len(text) > TEXT_LIMIT:
            raise TelegramAPIError(f"a message must be 1 to {TEXT_LIMIT} characters (this one is {len(text)})",
                                   permanent=True, code="local", method="sendMessage")
        return {"chat_id": int(chat) if re.fullmatch(r"-?\d+", chat) else chat, "text": escape_html(text),
                "parse_mode": "HTML"}

    # --- webhook management (used by the endpoint's setup) -------------------------------------------------
    def set_webhook(self, url: str, secret_token: str) -> None:
        if not valid_secret_token(secret_token):
            raise TelegramAPIError("the webhook secret must be 1-256 characters A-Z, a-z, 0-9, _ or -",
                                   permanent=True, code="local", method="setWebhook")
        with self._client() as client:
            client.call("setWebhook", {"url": url, "secret_token": secret_token,
                                       "allowed_updates": ALLOWED_UPDATES})

    def delete_webhook(self, drop_pending_updates: bool = False) -> None:
        with self._client() as client:
            client.call("deleteWebhook", {"drop_pending_updates": drop_pending_updates})

    def webhook_info(self) -> dict[str, Any]:
        with self._client() as client:
            return dict(client.call("getWebhookInfo") or {})

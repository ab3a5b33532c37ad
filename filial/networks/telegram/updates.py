"""Telegram ``Update`` objects → Filial inbox items, shared by getUpdates polling and the webhook.

What a channel's bot sees (https://core.telegram.org/bots/api#update, #message):

- ``message`` in a private chat: a person wrote to the bot (after /start) → a direct message;
- ``message`` in the channel's linked discussion group that replies to the channel post's automatic forward
  (``reply_to_message.is_automatic_forward`` with ``forward_origin`` = the channel post) → a comment on that
  post; a reply to another comment carries only ``message_thread_id`` (the automatic forward's id in the group),
  which is mapped back to the post when that forward is in the same batch;
- ``my_chat_member`` in a private chat: the person blocked the bot (``member`` → ``kicked``) or unblocked it
  (``kicked`` → ``member``; Telegram sends it only for these two, #update) → a messaging-consent change for
  that person (:func:`consent_change`), not an inbox item;
- the automatic forwards themselves, ``channel_post``, ``poll``, ``poll_answer``, ``my_chat_member`` in the
  channel or its group (the bot added, demoted or kicked: publishing learns that from the 403 answers) and the
  rest are not inbox items (they still advance the cursor).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from filial.networks.base import ConsentChange, InboundItem

MEDIA_KINDS = ("photo", "video", "animation", "document", "audio", "voice", "video_note", "sticker", "poll",
               "location", "venue", "contact", "dice")
# Update kinds the connector asks for (getUpdates / setWebhook ``allowed_updates``).
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "poll", "poll_answer", "my_chat_member"]


def message_text(message: dict[str, Any]) -> str:
    """The message's text or caption, or a bracketed kind for media without one ("[photo]")."""
    text = message.get("text") or message.get("caption")
    if isinstance(text, str) and text:
        return text
    for kind in MEDIA_KINDS:
        if kind in message:
            return f"[{kind}]"
    return ""


def _author(message: dict[str, Any]) -> tuple[str, str]:
    sender_chat = message.get("sender_chat")
    if isinstance(sender_chat, dict):
        return str(sender_chat.get("id", "")), str(sender_chat.get("title") or sender_chat.get("username") or "")
    user = message.get("from") or {}
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    if not name and user.get("username"):
        name = "@" + str(user["username"])
    return str(user.get("id", "")), name


def _is_our_channel(chat: Any, channel_id: int | None, channel_username: str | None) -> bool:
    if channel_id is None and not channel_username:
        return True
    if not isinstance(chat, dict):
        return False
    if channel_id is not None and chat.get("id") == channel_id:
        return True
    username = str(chat.get("username") or "").lower()
    return bool(channel_username) and username == str(channel_username).lstrip("@").lower()


def _forward_post_id(message: dict[str, Any], channel_id: int | None, channel_username: str | None) -> int | None:
    """The channel post id if ``message`` is the automatic forward of our channel's post into its group."""
    if not message.get("is_automatic_forward"):
        return None
    origin = message.get("forward_origin") or {}
    if origin.get("type") != "channel" or not _is_our_channel(origin.get("chat"), channel_id, channel_username):
        return None
    post_id = origin.get("message_id")
    return post_id if isinstance(post_id, int) else None


def _at(message: dict[str, Any]) -> datetime:
    date = message.get("date")
    return datetime.fromtimestamp(date if isinstance(date, int) else 0, tz=UTC)


def parse_updates(updates: Iterable[dict[str, Any]], *, channel_id: int | None = None,
                  channel_username: str | None = None, bot_id: int | None = None) -> list[InboundItem]:
    """Inbox items in ``updates`` (comments on our channel's posts and direct messages to the bot)."""
    updates = [u for u in updates if isinstance(u, dict)]
    # Discussion-group message id of an automatic forward → channel post id, from this batch.
    roots: dict[tuple[int, int], int] = {}
    for update in updates:
        message = update.get("message")
        if isinstance(message, dict):
            post_id = _forward_post_id(message, channel_id, channel_username)
            chat_id = (message.get("chat") or {}).get("id")
            if post_id is not None and isinstance(chat_id, int):
                roots[(chat_id, int(message.get("message_id", 0)))] = post_id
    items: list[InboundItem] = []
    for update in updates:
        item = parse_update(update, channel_id=channel_id, channel_username=channel_username, bot_id=bot_id,
                            roots=roots)
        if item is not None:
            items.append(item)
    return items


def parse_update(update: dict[str, Any], *, channel_id: int | None = None, channel_username: str | None = None,
                 bot_id: int | None = None, roots: dict[tuple[int, int], int] | None = None) -> InboundItem | None:
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat") or {}
    chat_id = chat.get("id")
    message_id = message.get("message_id")
    if not isinstance(chat_id, int) or not isinstance(message_id, int):
        return None
    sender = message.get("from") or {}
    if bot_id is not None and sender.get("id") == bot_id:
        return None
    author_id, author_name = _author(message)
    external_id = f"{chat_id}:{message_id}"
    if chat.get("type") == "private":
        if sender.get("is_bot"):
            return None
        return InboundItem(kind="message", external_id=external_id, thread_id=str(chat_id), author_id=author_id,
                           author_name=author_name, text=message_text(message), at=_at(message), raw=update)
    if chat.get("type") not in ("group", "supergroup") or message.get("is_automatic_forward"):
        return None
    sender_chat = message.get("sender_chat") or {}
    if sender_chat and (channel_id is not None or channel_username) and _is_our_channel(
            sender_chat, channel_id, channel_username):
        return None  # the page itself writing in its comments
    reply = message.get("reply_to_message")
    post_id: int | None = None
    reply_to = ""
    if isinstance(reply, dict):
        post_id = _forward_post_id(reply, channel_id, channel_username)
        if post_id is None:
            if reply.get("is_automatic_forward"):
                return None  # a comment under another channel's post
            reply_to = f"{chat_id}:{reply.get('message_id')}"
    thread_root = message.get("message_thread_id")
    if post_id is None and isinstance(thread_root, int) and roots:
        post_id = roots.get((chat_id, thread_root))
    if post_id is None and not reply_to:
        return None  # a plain message in the discussion group, not under a post
    post = str(post_id) if post_id is not None else ""
    thread = post or (f"{chat_id}:{thread_root}" if isinstance(thread_root, int) else reply_to)
    return InboundItem(kind="comment", external_id=external_id, thread_id=thread, author_id=author_id,
                       author_name=author_name, text=message_text(message), at=_at(message),
                       post_external_id=post, reply_to=reply_to, raw=update)


def poll_state(update: dict[str, Any]) -> dict[str, Any] | None:
    """The ``Poll`` of a ``poll`` update (new vote counts of a poll the bot sent, or its final state)."""
    poll = update.get("poll")
    return poll if isinstance(poll, dict) else None


def consent_change(update: dict[str, Any]) -> ConsentChange | None:
    """The person of a private chat blocked the bot (``allowed=False``) or unblocked it (``allowed=True``).

    Telegram's ``my_chat_member`` update of a private chat (``chat.id`` is the user's id) whose new status is
    ``kicked`` (``ChatMemberBanned``) or ``member``; a channel's or group's ``my_chat_member`` is not a consent.
    """
    change = update.get("my_chat_member")
    if not isinstance(change, dict):
        return None
    chat = change.get("chat") or {}
    status = (change.get("new_chat_member") or {}).get("status")
    person = chat.get("id") if isinstance(chat, dict) else None
    if not isinstance(chat, dict) or chat.get("type") != "private" or not isinstance(person, int) or person <= 0:
        return None
    if status not in ("member", "kicked"):
        return None
    return ConsentChange(person_id=str(person), allowed=status == "member", at=_at(change))


def consent_changes(updates: Iterable[dict[str, Any]]) -> list[ConsentChange]:
    """The consent changes in ``updates``, in their order."""
    return [change for change in (consent_change(u) for u in updates if isinstance(u, dict)) if change is not None]

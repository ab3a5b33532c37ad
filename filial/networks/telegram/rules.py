"""What Filial's domain code asks of Telegram (rate budgets, attachments, previews, edits, polls), as the
class methods of ``Connector`` (``networks/base.py``) that ``TelegramConnector`` inherits from here."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filial.networks.advice import Kind
from filial.networks.base import AdMarking, Connector, InboundItem, NetworkError, NotEditable, PostPayload, PreviewShape
from filial.networks.ratelimit import Claim, fingerprint
from filial.networks.telegram.post_ids import parse_external_id

CAPTION_LIMIT = 1024
QUESTION_LIMIT = 300
OPTION_LIMIT = 100
ATTACHMENT_KINDS = ("photo", "document", "video", "audio", "voice", "sticker", "animation")


def _bot(credentials: dict[str, Any]) -> str:
    return fingerprint(str(credentials.get("bot_token") or ""))


def plain_text(post: PostPayload) -> str:
    """The text as readers will see it: the post's text plus its link when the text does not contain it."""
    text = post.text.strip()
    if post.link and post.link not in text:
        text = f"{text}\n\n{post.link}" if text else post.link
    return text


def post_messages(post: PostPayload) -> tuple[int, int]:
    """(API send calls, channel messages) of a post as the Telegram connector sends it."""
    text = plain_text(post)
    calls = messages = 0
    if post.photos:
        calls += 1
        messages += len(post.photos)
        if text and len(text) > CAPTION_LIMIT:
            calls += 1
            messages += 1
    elif text:
        calls += 1
        messages += 1
    if post.poll is not None:
        calls += 1
        messages += 1
    return max(calls, 1), max(messages, 1)


class TelegramRules(Connector, abc.ABC):
    @classmethod
    def audience_noun(cls, kind: str) -> str:
        return "subscribers" if kind == "channel" else "members"  # a channel's «подписчики», a group's «участники»

    @classmethod
    def post_noun(cls) -> str:
        return "publications"
    # The Bot API answers with HTTP-like codes and a description; the description says what happened.
    error_phrases: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("can't initiate conversation", Kind.RECIPIENT_NOT_STARTED),
        ("must start the bot", Kind.RECIPIENT_NOT_STARTED),
        ("blocked by the user", Kind.RECIPIENT_BLOCKED),
        ("user is deactivated", Kind.RECIPIENT_NOT_FOUND),
        ("became a supergroup", Kind.CHAT_MIGRATED),
        ("upgraded to a supergroup", Kind.CHAT_MIGRATED),
        ("half-published", Kind.PARTLY_PUBLISHED),
        ("already published", Kind.PARTLY_PUBLISHED),
        ("no bot token", Kind.NEEDS_REAUTH),
        ("token is malformed", Kind.NEEDS_REAUTH),
        ("unauthorized", Kind.NEEDS_REAUTH),
        ("bot was kicked", Kind.NO_RIGHTS),
        ("bot is not a member", Kind.NO_RIGHTS),
        ("administrator", Kind.NO_RIGHTS),
        ("not enough rights", Kind.NO_RIGHTS),
        ("not a channel", Kind.PAGE_SETUP),
        ("chat_id is empty", Kind.PAGE_SETUP),
        ("chat not found", Kind.PAGE_SETUP),
        ("message is not modified", Kind.NOT_MODIFIED),
        ("can't be edited", Kind.NOT_EDITABLE),
        ("can't be deleted", Kind.NOT_EDITABLE),
        ("cannot empty a text message", Kind.NOT_EDITABLE),
        ("in the message to edit", Kind.NOT_EDITABLE),
        ("poll has already been closed", Kind.POLL_CLOSED),
        ("closed poll's counts", Kind.POLL_CLOSED),
        ("too many messages to send as an album", Kind.TOO_MANY_PHOTOS),
        ("poll", Kind.POLL_INVALID),
        ("image_process_failed", Kind.PHOTO_REJECTED),
        ("photo_invalid_dimensions", Kind.PHOTO_REJECTED),
        ("file is too big", Kind.PHOTO_REJECTED),
        ("file must be non-empty", Kind.PHOTO_REJECTED),
        ("no photo in the request", Kind.PHOTO_REJECTED),
        ("message text is empty", Kind.EMPTY),
        ("no messages to send", Kind.EMPTY),
        ("not found", Kind.NOT_FOUND),
        ("message_id_invalid", Kind.NOT_FOUND),
        ("webhook", Kind.WEBHOOK),
        ("flood control", Kind.RATE_LIMITED),
    )
    error_codes: ClassVar[dict[str, Kind]] = {
        "400": Kind.BAD_REQUEST, "401": Kind.NEEDS_REAUTH, "403": Kind.NO_RIGHTS, "404": Kind.CONFIG,
        "409": Kind.WEBHOOK, "429": Kind.RATE_LIMITED, "500": Kind.SERVER, "502": Kind.SERVER,
        "503": Kind.SERVER, "504": Kind.SERVER,
    }

    link_in_text = True
    posts_span_messages = True  # an album and its text, a poll: "12:a12-14,t15"
    poll_counts_at_end_only = True  # no call reads a running poll: stopPoll at its end time gives the counts
    # The Bot API gives a bot a chat's member count, and nothing about a channel post's views, reactions, forwards,
    # comments or reach (those are in the channel's statistics, for its owner's own account only).
    stats_unknown = {
        "views": gettext_lazy("Telegram does not tell bots how many times a post was viewed"),
        "likes": gettext_lazy("Telegram does not tell bots how many reactions a post has"),
        "reposts": gettext_lazy("Telegram does not tell bots how many times a post was forwarded"),
        "comments": gettext_lazy("Telegram does not tell bots how many comments a post has"),
        "reach": gettext_lazy("Telegram does not tell bots a post's reach"),
    }

    @staticmethod
    def plain_text(post: PostPayload) -> str:
        return plain_text(post)

    @classmethod
    def ad_text(cls, text: str, marking: AdMarking) -> str:
        """Telegram: one compact last line (a photo's caption is short), as channels mark advertising."""
        return f"{text}\n\nРеклама. {marking.requisites}. erid: {marking.erid}"

    @classmethod
    def publish_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        calls, messages = post_messages(post)
        bot = _bot(credentials)
        chat = f"{bot}:{external_id}"
        return [Claim("telegram.bot", bot, calls), Claim("telegram.chat", chat, calls),
                Claim("telegram.channel", chat, messages)]

    @classmethod
    def lookup_claims(cls, external_id: str, credentials: dict[str, Any]) -> list[Claim]:
        return [Claim("telegram.bot", _bot(credentials), 2)]

    @classmethod
    def stats_claims(cls, external_id: str, credentials: dict[str, Any], publications: int) -> list[Claim]:
        return [Claim("telegram.bot", _bot(credentials), 1)]  # getChatMemberCount; no call reads a post's figures

    @classmethod
    def message_claims(cls, external_id: str, credentials: dict[str, Any], recipient: str, *,
                       comment: bool = False) -> list[Claim]:
        bot = _bot(credentials)
        return [Claim("telegram.bot", bot, 1), Claim("telegram.chat", f"{bot}:{recipient}", 1)]

    @classmethod
    def fetch_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        return [Claim("telegram.bot", _bot(credentials), 1)]

    @classmethod
    def poll_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        return [Claim("telegram.bot", _bot(credentials), 1)]  # one stopPoll

    @classmethod
    def attachments(cls, raw: dict[str, Any]) -> list[dict[str, Any]]:
        message = raw.get("message") or {}
        found = []
        for kind in ATTACHMENT_KINDS:
            if kind in message:
                body = message[kind][-1] if isinstance(message[kind], list) and message[kind] else message[kind]
                body = body if isinstance(body, dict) else {}
                found.append({"type": kind, "name": str(body.get("file_name") or "")[:120],
                              "size": body.get("file_size"), "content_type": str(body.get("mime_type") or "")[:120]})
        return found

    @classmethod
    def post_message_ids(cls, external_id: str) -> list[str]:
        try:
            return [str(i) for i in parse_external_id(external_id).all]
        except (ValueError, AttributeError):
            return []

    @classmethod
    def consent_from_message(cls, item: InboundItem) -> tuple[bool, str] | None:
        """``/start`` in a private chat lets the bot write to the person; ``/stop`` withdraws it."""
        if item.kind != "message":
            return None
        command = item.text.strip().split(" ", 1)[0].split("@", 1)[0].lower()
        if command in ("/start", "/stop"):
            return command == "/start", f"telegram:{command[1:]}"
        return None

    @classmethod
    def preview_text(cls, post: PostPayload) -> str:
        return plain_text(post)

    @classmethod
    def preview_warnings(cls, post: PreviewShape) -> list[str]:
        warnings: list[str] = []
        if not post.has_poll:
            return warnings
        if not post.poll_anonymous:
            warnings.append(_("Telegram channels only have anonymous polls."))
        if len(post.poll_question.strip()) > QUESTION_LIMIT:
            warnings.append(_("Telegram takes a poll question of at most %(n)d characters.") % {"n": QUESTION_LIMIT})
        if any(len(answer) > OPTION_LIMIT for answer in post.poll_answers):
            warnings.append(_("Telegram takes poll answers of at most %(n)d characters.") % {"n": OPTION_LIMIT})
        if len(set(post.poll_answers)) != len(post.poll_answers):
            warnings.append(_("Telegram needs different poll answers."))
        return warnings

    @classmethod
    def edit_notes(cls, external_id: str, post: PostPayload, *, had_photos: int, had_poll: bool,
                   wanted: set[str]) -> tuple[list[str], list[str]]:
        problems: list[str] = []
        notes: list[str] = []
        try:
            messages = parse_external_id(external_id)
        except NetworkError:
            raise NotEditable(_("the network's id of the post is not a Telegram message")) from None
        text = plain_text(post)
        as_caption = messages.text is None and (bool(messages.album) or (messages.single and had_photos > 0))
        if as_caption and len(text) > CAPTION_LIMIT:
            problems.append(_("the text is longer than %(n)d characters, the most a photo caption can hold")
                            % {"n": CAPTION_LIMIT})
        if messages.text is None and not messages.album and not had_photos and not had_poll and post.photos:
            problems.append(_("Telegram cannot add photos to a text message"))
        if messages.single and had_poll and not had_photos and post.text.strip():
            problems.append(_("Telegram cannot add text to a post that is a poll only"))
        if "poll" in wanted:
            notes.append(_("Telegram cannot edit, add or remove a poll: the poll stays as it was"))
        if "photos" in wanted:
            notes.append(_("Telegram cannot change the photos of a sent post (a text message cannot gain "
                           "photos): only the text is edited"))
        return problems, notes

"""What Filial's domain code asks of MAX (rate budgets, attachments, previews, comments), as the class methods
of ``Connector`` (``networks/base.py``) that ``MaxConnector`` inherits from here."""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from filial.networks.advice import Kind
from filial.networks.base import AdMarking, Connector, PostPayload
from filial.networks.max.hosts import picture_source
from filial.networks.ratelimit import Claim, fingerprint


def _bot(credentials: dict[str, Any], cost: int = 1) -> list[Claim]:
    return [Claim("max.bot", fingerprint(str(credentials.get("bot_token") or "")), cost)]


class MaxRules(Connector, abc.ABC):
    @classmethod
    def audience_noun(cls, kind: str) -> str:
        return "subscribers" if kind == "channel" else "members"

    @classmethod
    def post_noun(cls) -> str:
        return "publications"
    # MAX answers ``{"code", "message"}`` with an HTTP status (client.py); the codes and words as advice.
    error_phrases: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("does not accept messages", Kind.RECIPIENT_BLOCKED),
        ("dialog.suspended", Kind.RECIPIENT_BLOCKED),
        ("only messages of the bot", Kind.NOT_EDITABLE),
        ("webhook", Kind.WEBHOOK),
        ("no max bot token", Kind.NEEDS_REAUTH),
        ("not.processed", Kind.SERVER),
    )
    error_codes: ClassVar[dict[str, Kind]] = {
        "verify.token": Kind.NEEDS_REAUTH, "access.denied": Kind.SERVER, "chat.denied": Kind.NO_RIGHTS,
        "too.many.requests": Kind.RATE_LIMITED, "internal.error": Kind.SERVER, "not.found": Kind.NOT_FOUND,
        "chat.not.found": Kind.PAGE_SETUP, "user.not.found": Kind.RECIPIENT_NOT_FOUND,
        "method.not.allowed": Kind.BAD_REQUEST, "proto.payload": Kind.BAD_REQUEST,
        "attachment.not.ready": Kind.SERVER, "upload.error": Kind.PHOTO_REJECTED, "edit": Kind.NOT_EDITABLE,
        "delete": Kind.NOT_EDITABLE, "subscribe": Kind.WEBHOOK,
        "400": Kind.BAD_REQUEST, "401": Kind.NEEDS_REAUTH, "403": Kind.NO_RIGHTS, "404": Kind.NOT_FOUND,
        "405": Kind.BAD_REQUEST, "429": Kind.RATE_LIMITED, "500": Kind.SERVER, "502": Kind.SERVER,
        "503": Kind.SERVER, "504": Kind.SERVER,
    }

    link_in_text = True
    link_card = False  # MAX builds its own preview from the text
    # A message's ``stat`` (Bot API) has only ``views``, and only for posts in channels.
    stats_unknown = {
        "likes": _("MAX tells bots only how many people viewed a channel post"),
        "reposts": _("MAX tells bots only how many people viewed a channel post"),
        "comments": _("MAX tells bots only how many people viewed a channel post"),
        "reach": _("MAX tells bots only how many people viewed a channel post"),
    }

    @classmethod
    def stats_claims(cls, external_id: str, credentials: dict[str, Any], publications: int) -> list[Claim]:
        return _bot(credentials, 1 + math.ceil(publications / 100))  # GET /chats/{id}, GET /messages per 100

    @staticmethod
    def compose_text(post: PostPayload) -> str:
        """The message text: the post's text, and its link on a line of its own unless the text has it."""
        text = post.text
        if post.link and post.link not in text:
            text = f"{text.rstrip()}\n\n{post.link}" if text.strip() else post.link
        return text

    @classmethod
    def ad_text(cls, text: str, marking: AdMarking) -> str:
        """MAX: a footer of two lines, the label with the advertiser, then the token."""
        return f"{text}\n\nРеклама: {marking.requisites}\nerid: {marking.erid}"

    @classmethod
    def publish_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        return _bot(credentials, 1 + len(post.photos))  # one upload URL per photo, then the message

    @classmethod
    def lookup_claims(cls, external_id: str, credentials: dict[str, Any]) -> list[Claim]:
        return _bot(credentials)

    @classmethod
    def message_claims(cls, external_id: str, credentials: dict[str, Any], recipient: str, *,
                       comment: bool = False) -> list[Claim]:
        return _bot(credentials)

    @classmethod
    def fetch_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        return _bot(credentials)

    @classmethod
    def attachments(cls, raw: dict[str, Any]) -> list[dict[str, Any]]:
        body = ((raw.get("message") or {}).get("body") or {})
        found = []
        for att in body.get("attachments") or []:
            kind = str(att.get("type") or "file")
            payload = att.get("payload") or {}
            found.append({"type": kind, "name": str(payload.get("filename") or "")[:120], "size": None,
                          "source": picture_source(kind, payload) if isinstance(payload, dict) else ""})
        return found

    @classmethod
    def can_delete_comment(cls, raw: dict[str, Any]) -> bool:
        # channel comments (``comment_created``): the Bot API has no method to delete them
        return raw.get("update_type") != "comment_created" and super().can_delete_comment(raw)

    @classmethod
    def preview_text(cls, post: PostPayload) -> str:
        return cls.compose_text(post)

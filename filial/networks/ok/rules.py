"""What Filial's domain code asks of Odnoklassniki (rate budgets, attachments, polls), as the class methods of
``Connector`` (``networks/base.py``) that ``OKConnector`` inherits from here."""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

from django.utils.translation import gettext_lazy as _

from filial.networks.advice import Kind
from filial.networks.base import AdMarking, Connector, PostPayload
from filial.networks.ratelimit import Claim, fingerprint


def _token(secret: Any, cost: int = 1) -> list[Claim]:
    return [Claim("ok.token", fingerprint(str(secret or "")), cost)]


class OKRules(Connector, abc.ABC):
    @classmethod
    def audience_noun(cls, kind: str) -> str:
        return "friends" if kind == "profile" else "members"  # OK: a profile's «друзья», a group's «участники»

    @classmethod
    def post_noun(cls) -> str:
        return "notes"  # OK calls a publication «заметка»
    # OK's error codes (client.ERROR_NAMES, apiok.ru "Коды ошибок") and the connector's own codes as advice.
    error_phrases: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("one poll per topic", Kind.POLL_INVALID),
        ("has not allowed messages", Kind.RECIPIENT_NO_CONSENT),
        ("is not approved for publishing", Kind.NO_RIGHTS),
        ("group id is a number", Kind.PAGE_SETUP),
        ("http 4", Kind.BAD_REQUEST),
    )
    error_codes: ClassVar[dict[str, Kind]] = {
        "1": Kind.SERVER, "2": Kind.SERVER, "3": Kind.BAD_REQUEST, "4": Kind.BAD_REQUEST,
        "7": Kind.DAILY_LIMIT, "8": Kind.RATE_LIMITED, "9": Kind.DAILY_LIMIT, "10": Kind.NO_RIGHTS,
        "11": Kind.DAILY_LIMIT, "12": Kind.SERVER, "21": Kind.BAD_REQUEST, "22": Kind.NEEDS_REAUTH,
        "23": Kind.NO_RIGHTS, "24": Kind.NO_RIGHTS, "100": Kind.BAD_REQUEST, "101": Kind.NEEDS_REAUTH,
        "102": Kind.NEEDS_REAUTH, "103": Kind.NEEDS_REAUTH, "104": Kind.NEEDS_REAUTH, "105": Kind.NEEDS_REAUTH,
        "106": Kind.NOT_FOUND, "110": Kind.RECIPIENT_NOT_FOUND, "120": Kind.NOT_FOUND,
        "121": Kind.PHOTO_REJECTED, "140": Kind.NOT_FOUND, "141": Kind.NOT_FOUND, "160": Kind.PAGE_SETUP,
        "200": Kind.NO_RIGHTS, "210": Kind.NEEDS_REAUTH, "300": Kind.NOT_FOUND, "324": Kind.PHOTO_REJECTED,
        "401": Kind.NEEDS_REAUTH, "451": Kind.BAD_REQUEST, "453": Kind.NEEDS_REAUTH, "454": Kind.CENSORED,
        "455": Kind.PRIVACY, "456": Kind.PRIVACY, "457": Kind.PRIVACY, "458": Kind.PRIVACY,
        "500": Kind.PHOTO_REJECTED, "501": Kind.PHOTO_REJECTED, "502": Kind.PHOTO_REJECTED,
        "503": Kind.PHOTO_REJECTED, "504": Kind.PHOTO_REJECTED, "505": Kind.PHOTO_REJECTED,
        "600": Kind.TOO_MANY_PHOTOS, "601": Kind.TOO_LONG, "602": Kind.POLL_INVALID, "603": Kind.POLL_INVALID,
        "604": Kind.POLL_INVALID, "700": Kind.NOT_FOUND, "701": Kind.NO_RIGHTS, "702": Kind.NOT_FOUND,
        "704": Kind.SERVER, "705": Kind.RECIPIENT_NOT_FOUND, "706": Kind.NOT_FOUND, "1200": Kind.BAD_REQUEST,
        "9999": Kind.SERVER, "429": Kind.RATE_LIMITED,
        "no_bot_token": Kind.NEEDS_REAUTH, "not_admin": Kind.NO_RIGHTS, "bot_token_group": Kind.NEEDS_REAUTH,
        "not_allowed": Kind.RECIPIENT_NO_CONSENT, "subscribe": Kind.WEBHOOK,
    }

    polls_close_on_network = False  # an OK poll has no end: Filial stops counting it
    # mediatopic.getByIds gives views, likes, reshares and comments; a topic's reach is in the group's statistics,
    # which the page's key does not open.
    stats_unknown = {"reach": _("Odnoklassniki does not give a publication's reach to the page's key")}

    @classmethod
    def stats_claims(cls, external_id: str, credentials: dict[str, Any], publications: int) -> list[Claim]:
        # group.getInfo, then mediatopic.getByIds per 50 topics
        return _token(credentials.get("access_token"), 1 + math.ceil(publications / 50))

    @classmethod
    def ad_text(cls, text: str, marking: AdMarking) -> str:
        """OK: «Реклама» above the topic's text (the feed shows the first lines), the advertiser and token below."""
        return f"Реклама\n\n{text}\n\n{marking.requisites}. erid: {marking.erid}"

    @classmethod
    def publish_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        return _token(credentials.get("access_token"), 2 if post.photos else 1)

    @classmethod
    def lookup_claims(cls, external_id: str, credentials: dict[str, Any]) -> list[Claim]:
        return _token(credentials.get("access_token"))

    @classmethod
    def message_claims(cls, external_id: str, credentials: dict[str, Any], recipient: str, *,
                       comment: bool = False) -> list[Claim]:
        # the token the call uses: the group's messages key for messages, the page's access token for comments
        used = credentials.get("access_token") if comment else credentials.get("bot_token")
        return _token(used or credentials.get("access_token"))

    @classmethod
    def fetch_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        # the current user once, the topics, the comments of changed topics, the chats
        return _token(credentials.get("access_token"), 4)

    @classmethod
    def poll_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        return _token(credentials.get("access_token"))  # one mediatopic.getByIds

    @classmethod
    def attachments(cls, raw: dict[str, Any]) -> list[dict[str, Any]]:
        message = raw.get("message") or {}
        return [{"type": str(att.get("type") or "file"), "name": "", "size": None}
                for att in message.get("attachments") or []]

"""What Filial's domain code asks of Odnoklassniki (rate budgets, attachments, polls), as the class methods of
``Connector`` (``networks/base.py``) that ``OKConnector`` inherits from here."""

from __future__ import annotations

import abc
import math
from typing import Any

from django.utils.translation import gettext_lazy as _

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

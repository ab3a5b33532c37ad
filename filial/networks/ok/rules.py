"""What Filial's domain code asks of Odnoklassniki (rate budgets, attachments, polls), as the class methods of
``Connector`` (``networks/base.py``) that ``OKConnector`` inherits from here."""

from __future__ import annotations

import abc
from typing import Any

from filial.networks.base import Connector, PostPayload
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

"""What Filial's domain code asks of VK (rate budgets, attachments, previews, edits, token refresh), as the
class methods of ``Connector`` (``networks/base.py``) that ``VKConnector`` inherits from here."""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar

from django.utils import timezone
from django.utils.translation import gettext as _

from filial.networks.advice import Kind
from filial.networks.base import AdMarking, Connector, PostPayload, PreviewShape
from filial.networks.ratelimit import Claim, fingerprint
from filial.networks.vk.hosts import picture_source
from filial.networks.vk.oauth import can_refresh, expires_at_of

MESSAGE_LIMIT = 4096  # messages.send text
MAX_ATTACHMENTS = 10  # wall.post attachments (photos, poll, link together)


def _user(credentials: dict[str, Any], cost: int) -> list[Claim]:
    return [Claim("vk.user", fingerprint(str(credentials.get("access_token") or "")), cost)]


class VKRules(Connector, abc.ABC):
    @classmethod
    def audience_noun(cls, kind: str) -> str:
        # VK: a profile's «друзья», a community's «участники» (a public page's «подписчики» is the same kind here)
        return "friends" if kind == "profile" else "members"

    @classmethod
    def post_noun(cls) -> str:
        return "posts"  # «записи» on the wall


    # VK's error codes (dev.vk.com "Ошибки") as advice; the client maps them onto retry flags (client.py).
    error_phrases: ClassVar[tuple[tuple[str, Kind], ...]] = (
        ("captcha", Kind.CAPTCHA),
        ("has not allowed messages", Kind.RECIPIENT_NO_CONSENT),
        ("privacy settings", Kind.RECIPIENT_BLOCKED),
        ("not on the wall", Kind.NOT_FOUND),
        ("cannot publish in", Kind.NO_RIGHTS),
        ("belongs to community", Kind.NEEDS_REAUTH),
        ("community id must be a number", Kind.PAGE_SETUP),
        ("flood control", Kind.DAILY_LIMIT),
        ("long poll", Kind.SERVER),
    )
    error_codes: ClassVar[dict[str, Kind]] = {
        "1": Kind.SERVER, "3": Kind.BAD_REQUEST, "5": Kind.NEEDS_REAUTH, "6": Kind.RATE_LIMITED,
        "7": Kind.NO_RIGHTS, "8": Kind.BAD_REQUEST, "9": Kind.DAILY_LIMIT, "10": Kind.SERVER,
        "14": Kind.CAPTCHA, "15": Kind.NO_RIGHTS, "17": Kind.NEEDS_REAUTH, "18": Kind.RECIPIENT_NOT_FOUND,
        "27": Kind.NEEDS_REAUTH, "28": Kind.NEEDS_REAUTH, "29": Kind.DAILY_LIMIT, "30": Kind.PRIVACY,
        "36": Kind.SERVER, "43": Kind.SERVER, "100": Kind.BAD_REQUEST, "104": Kind.NOT_FOUND,
        "113": Kind.RECIPIENT_NOT_FOUND, "121": Kind.BAD_REQUEST, "200": Kind.NO_RIGHTS, "203": Kind.NO_RIGHTS,
        "210": Kind.NO_RIGHTS, "211": Kind.NO_RIGHTS, "212": Kind.NO_RIGHTS, "214": Kind.NO_RIGHTS,
        "219": Kind.BAD_REQUEST, "220": Kind.DAILY_LIMIT, "222": Kind.BAD_REQUEST, "250": Kind.NOT_FOUND,
        "251": Kind.NOT_FOUND, "252": Kind.POLL_INVALID, "253": Kind.POLL_INVALID, "258": Kind.POLL_CLOSED,
        "900": Kind.RECIPIENT_BLOCKED, "901": Kind.RECIPIENT_NO_CONSENT, "902": Kind.RECIPIENT_BLOCKED,
        "913": Kind.TOO_MANY_PHOTOS, "914": Kind.TOO_LONG, "917": Kind.NO_RIGHTS, "921": Kind.NOT_FOUND,
        "936": Kind.RECIPIENT_NOT_FOUND, "945": Kind.RECIPIENT_BLOCKED, "3609": Kind.NEEDS_REAUTH,
        "429": Kind.RATE_LIMITED, "500": Kind.SERVER, "502": Kind.SERVER, "503": Kind.SERVER, "504": Kind.SERVER,
        "a_check": Kind.SERVER,
    }
    refreshes_credentials = True
    audience_history = True  # stats.get keeps the community's daily joins and leaves
    refresh_budget: ClassVar[str] = "vk.refresh"  # one refresh per page per minute: the lock across workers

    @classmethod
    def ad_text(cls, text: str, marking: AdMarking) -> str:
        """VK: the footer «Реклама. <advertiser>, ИНН …» and the token on its own line (VK's own ad label is
        for paid placements through its cabinet, not for a community's post)."""
        return f"{text}\n\nРеклама. {marking.requisites}\nerid: {marking.erid}"

    @classmethod
    def publish_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        # photos.getWallUploadServer + one photos.saveWallPhoto per photo, polls.create, wall.post
        return _user(credentials, 1 + ((1 + len(post.photos)) if post.photos else 0) + (1 if post.poll else 0))

    @classmethod
    def edit_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        # as a publication, plus the read of the post (wall.getById, to keep its photos and poll)
        return _user(credentials, cls.publish_claims(external_id, credentials, post)[0].cost + 1)

    @classmethod
    def lookup_claims(cls, external_id: str, credentials: dict[str, Any]) -> list[Claim]:
        return _user(credentials, 1)

    @classmethod
    def message_claims(cls, external_id: str, credentials: dict[str, Any], recipient: str, *,
                       comment: bool = False) -> list[Claim]:
        # messages.send and wall.createComment are community calls: ten communities' tokens give 200/s
        token = str(credentials.get("community_token") or credentials.get("access_token") or "")
        return [Claim("vk.community", fingerprint(token), 1)]

    @classmethod
    def fetch_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        return [Claim("vk.community", fingerprint(str(credentials.get("community_token") or "")), 2)]

    @classmethod
    def poll_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        return _user(credentials, 2)  # wall.getById (to find the poll) + polls.getById

    @classmethod
    def stats_claims(cls, external_id: str, credentials: dict[str, Any], publications: int) -> list[Claim]:
        # groups.getById, then wall.getById per 100 posts and stats.getPostReach per 30 (user-token calls)
        if not publications:
            return _user(credentials, 1)
        return _user(credentials, 1 + math.ceil(publications / 100) + math.ceil(publications / 30))

    @classmethod
    def history_claims(cls, external_id: str, credentials: dict[str, Any], days: int) -> list[Claim]:
        return _user(credentials, 2)  # groups.getById + stats.get

    @classmethod
    def message_text_limit(cls) -> int:
        return MESSAGE_LIMIT  # messages are shorter than wall posts

    @classmethod
    def pollable(cls, credentials: dict[str, Any]) -> bool:
        return bool(credentials.get("community_token"))  # Bots Long Poll is a community call

    @classmethod
    def attachments(cls, raw: dict[str, Any]) -> list[dict[str, Any]]:
        obj = raw.get("object") or {}
        message = obj.get("message", obj) if isinstance(obj, dict) else {}
        found = []
        for att in (message or {}).get("attachments") or []:
            kind = str(att.get("type") or "file")
            body = att.get(kind) or {}
            found.append({"type": kind, "name": str(body.get("title") or "")[:120], "size": body.get("size"),
                          "source": picture_source(kind, body) if isinstance(body, dict) else ""})
        return found

    @classmethod
    def preview_warnings(cls, post: PreviewShape) -> list[str]:
        attachments = post.photos + (1 if post.has_poll else 0) + (1 if post.link else 0)
        if post.photos <= cls.capabilities.max_photos and attachments > MAX_ATTACHMENTS:
            return [_("VK takes at most %(max)d attachments: photos, poll and link together make %(n)d.")
                    % {"max": MAX_ATTACHMENTS, "n": attachments}]
        return []

    @classmethod
    def edit_notes(cls, external_id: str, post: PostPayload, *, had_photos: int, had_poll: bool,
                   wanted: set[str]) -> tuple[list[str], list[str]]:
        notes = []
        if "photos" in wanted and had_photos and len(post.photos) == had_photos:
            notes.append(_("VK keeps the photos when their number does not change"))
        if "poll" in wanted and had_poll:
            notes.append(_("VK keeps the poll it has"))
        return [], notes

    @classmethod
    def credentials_due(cls, credentials: dict[str, Any], margin: float) -> bool:
        expires = expires_at_of(credentials)
        return (expires is not None and can_refresh(credentials)
                and (expires - timezone.now()).total_seconds() <= margin)

"""VK community page connector.

Credentials (``Channel.credentials``):

- ``access_token``: the community admin's USER token (VK ID). Posting, photo upload, polls, editing and
  post statistics accept only a user token. Optional companions for VK ID refresh: ``refresh_token``,
  ``client_id``, ``device_id`` and ``expires_at`` (unix seconds or ISO 8601).
- ``community_token``: the community's own token, for messages (``messages.send``), the Bots Long Poll inbox
  and replies to comments.

Token refresh: when the user token expires within ``refresh_margin`` (or VK answers error 5 and a refresh
token is at hand), the connector refreshes it through VK ID first. The refresh token ROTATES, so the new
credentials must be stored: pass ``on_credentials=callback`` (called with the whole new dict as soon as the
refresh succeeds) or read ``connector.updated_credentials`` (not None after a refresh) when the job ends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx

from filial.networks.base import (
    Capabilities,
    ChannelInfo,
    ConsentChange,
    InboundItem,
    Photo,
    PollResults,
    PollSpec,
    PostPayload,
    PostStats,
    Published,
    UpdatesPage,
)
from filial.networks.ratelimit import Meter
from filial.networks.vk.client import DEFAULT_API_URL, VKClient, VKError
from filial.networks.vk.oauth import can_refresh, expires_at_of, oauth_url_for, refresh_user_token
from filial.networks.vk.rules import MAX_ATTACHMENTS, MESSAGE_LIMIT, VKRules
from filial.networks.vk.webhooks import normalize_group_id, parse_events

TEXT_LIMIT = 16384  # wall post text
POLL_MAX_ANSWERS = 10
VK_WEB_URL = "https://vk.com"
VK_API_HOSTS = frozenset({"api.vk.ru", "api.vk.com"})
IMAGE_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))


def image_format(content: bytes) -> str | None:
    """JPEG, PNG or GIF by the file's signature (the formats VK's wall photo upload accepts)."""
    for signature, name in IMAGE_SIGNATURES:
        if content.startswith(signature):
            return name
    return None


def random_id_for(key: str) -> int:
    """messages.send ``random_id``: a stable positive int32 derived from our idempotency key."""
    digest = hashlib.sha256(f"filial-vk-random-id:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def _valid_link(link: str) -> bool:
    parts = urlsplit(link)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in link)


def consent_changes(updates: list[Any]) -> list[ConsentChange]:
    """``message_allow`` / ``message_deny`` events of a Long Poll answer (the Callback API's are read by the
    webhook): who may now be written to first, and who may not."""
    now = datetime.now(UTC)
    changes = []
    for event in updates:
        if isinstance(event, dict) and event.get("type") in ("message_allow", "message_deny"):
            user_id = (event.get("object") or {}).get("user_id")
            if isinstance(user_id, int) and user_id > 0:
                changes.append(ConsentChange(str(user_id), event["type"] == "message_allow", now))
    return changes


REACH_BATCH = 30  # stats.getPostReach post_ids: maxItems 30
VK_STATS_TZ = ZoneInfo("Europe/Moscow")  # VK counts its statistics' days in Moscow time


def _split_id(external_id: str) -> tuple[int, int]:
    """"-123_45" (owner_post) → (-123, 45)."""
    owner, _, item = str(external_id).removeprefix("wall").partition("_")
    try:
        return int(owner), int(item)
    except ValueError:
        raise VKError(f"not a VK post or comment id: {external_id!r}", code="local", permanent=True) from None


class VKConnector(VKRules):
    network = "vk"
    capabilities = Capabilities(
        text_limit=TEXT_LIMIT,
        caption_limit=None,
        max_photos=10,
        polls=True,
        poll_max_answers=POLL_MAX_ANSWERS,
        edit=True,
        delete=True,
        native_scheduling=False,  # VK has wall.post publish_date, but this interface publishes immediately
        links=True,
        comments=True,
        direct_messages=True,
        idempotency=True,  # wall.post / wall.createComment guid, messages.send random_id
        formatting="plain",
    )

    def __init__(
        self,
        *,
        external_id: str,
        credentials: dict[str, Any],
        base_url: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 20.0,
        oauth_url: str | None = None,
        on_credentials: Callable[[dict[str, Any]], None] | None = None,
        refresh_margin: timedelta = timedelta(minutes=10),
        long_poll_wait: int = 1,
    ) -> None:
        super().__init__(external_id=external_id, credentials=dict(credentials), base_url=base_url,
                         transport=transport, timeout=timeout)
        try:
            self.group_id = normalize_group_id(external_id)
        except ValueError:
            raise VKError(f"the VK community id must be a number, not {external_id!r}", code="local",
                          permanent=True) from None
        self.owner_id = -self.group_id
        self.client = VKClient(base_url or DEFAULT_API_URL, timeout=timeout, transport=transport)
        self.oauth_url = oauth_url or oauth_url_for(self.client.base_url)
        self.on_credentials = on_credentials
        self.refresh_margin = refresh_margin
        self.long_poll_wait = long_poll_wait
        self.updated_credentials: dict[str, Any] | None = None
        self._lp: dict[str, str] | None = None
        host = urlsplit(self.client.base_url)
        self.web_url = (VK_WEB_URL if host.hostname in VK_API_HOSTS or not host.hostname
                        else f"{host.scheme}://{host.netloc}")

    @property  # type: ignore[override]
    def meter(self) -> Meter | None:
        """The client takes every API call's unit from it (see ``Connector.meter``)."""
        return self.client.meter

    @meter.setter
    def meter(self, meter: Meter | None) -> None:
        self.client.meter = meter

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> VKConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- links -------------------------------------------------------------------------------------------
    def post_url(self, post_id: int, owner_id: int | None = None) -> str:
        return f"{self.web_url}/wall{owner_id if owner_id is not None else self.owner_id}_{post_id}"

    def _published(self, item: dict[str, Any]) -> Published:
        owner = int(item.get("owner_id", self.owner_id))
        post_id = int(item["id"])
        extra: dict[str, Any] = {}
        for attachment in item.get("attachments") or []:
            if attachment.get("type") == "poll":
                extra["poll_id"] = attachment["poll"]["id"]
        return Published(external_id=f"{owner}_{post_id}", url=self.post_url(post_id, owner), extra=extra)

    # --- credentials -------------------------------------------------------------------------------------
    def refresh_credentials(self) -> dict[str, Any]:
        """Refresh the user token through VK ID now; returns (and reports) the new credentials."""
        result = refresh_user_token(self.credentials, oauth_url=self.oauth_url, transport=self.transport,
                                    timeout=self.timeout)
        self.credentials = result.credentials
        self.updated_credentials = result.credentials
        if self.on_credentials is not None:
            self.on_credentials(dict(result.credentials))
        return result.credentials

    def _user_token(self) -> str:
        expires = expires_at_of(self.credentials)
        if (expires is not None and can_refresh(self.credentials)
                and expires - datetime.now(tz=UTC) <= self.refresh_margin):
            self.refresh_credentials()
        token = str(self.credentials.get("access_token") or "")
        if not token:
            raise VKError("no VK user access token (the community admin's) is configured for this page",
                          code="no_token", needs_reauth=True)
        return token

    def _group_token(self) -> str:
        token = str(self.credentials.get("community_token") or "")
        if not token:
            raise VKError("no VK community token is configured for this page (needed for messages, the inbox "
                          "and replies)", code="no_token", needs_reauth=True)
        return token

    def _user_call(self, method: str, params: dict[str, Any]) -> Any:
        token = self._user_token()
        try:
            return self.client.call(method, params, token=token, actor="user")
        except VKError as exc:
            # Error 5 means the call was not executed; a refreshed token may fix an expired one.
            if exc.code != 5 or not can_refresh(self.credentials):
                raise
            try:
                self.refresh_credentials()
            except VKError as refresh_error:
                if refresh_error.needs_reauth:  # revoked for good: VK's own answer says most
                    raise exc from refresh_error
                raise
        return self.client.call(method, params, token=str(self.credentials["access_token"]), actor="user")

    def _group_call(self, method: str, params: dict[str, Any]) -> Any:
        return self.client.call(method, params, token=self._group_token(), actor="group")

    # --- checks ------------------------------------------------------------------------------------------
    def check(self, post: PostPayload) -> list[str]:
        problems = super().check(post)
        media = len(post.photos) + (1 if post.poll is not None else 0) + (1 if post.link else 0)
        if len(post.photos) <= self.capabilities.max_photos and media > MAX_ATTACHMENTS:
            problems.append(f"{media} attachments (photos, poll and link together), at most {MAX_ATTACHMENTS}")
        for photo in post.photos:
            if image_format(photo.content) is None:
                problems.append(f"{photo.filename}: not a JPG, PNG or GIF image")
        if post.link and not _valid_link(post.link):
            problems.append(f"the link {post.link!r} is not an http(s) address")
        if post.poll is not None:
            if not post.poll.question.strip():
                problems.append("the poll has no question")
            if any(not answer.strip() for answer in post.poll.answers):
                problems.append("a poll answer is empty")
        return problems

    # --- publishing --------------------------------------------------------------------------------------
    def _upload_photos(self, photos: list[Photo]) -> list[str]:
        """photos.getWallUploadServer → POST each file → photos.saveWallPhoto; all before anything is posted."""
        if not photos:
            return []
        server = self._user_call("photos.getWallUploadServer", {"group_id": self.group_id})
        attachments = []
        for photo in photos:
            uploaded = self.client.upload_photo(str(server["upload_url"]), photo)
            saved = self._user_call("photos.saveWallPhoto", {
                "group_id": self.group_id, "photo": uploaded["photo"], "server": uploaded["server"],
                "hash": uploaded["hash"],
            })
            attachments.append(f"photo{saved[0]['owner_id']}_{saved[0]['id']}")
        return attachments

    def _create_poll(self, poll: PollSpec) -> tuple[str, int]:
        params: dict[str, Any] = {
            "owner_id": self.owner_id, "question": poll.question, "add_answers": json.dumps(poll.answers,
                                                                                          ensure_ascii=False),
            "is_multiple": poll.multiple, "is_anonymous": poll.anonymous,
        }
        if poll.ends_at is not None:
            params["end_date"] = int(poll.ends_at.timestamp())
        created = self._user_call("polls.create", params)
        return f"poll{created['owner_id']}_{created['id']}", int(created["id"])

    @staticmethod
    def _link_attachment(link: str) -> str:
        return quote(link, safe=":/?#[]@!$&'()*+;=%-._~")  # a comma would split VK's attachment list

    def publish(self, post: PostPayload) -> Published:
        self.require_ok(post)
        attachments = self._upload_photos(post.photos)
        extra: dict[str, Any] = {}
        if post.poll is not None:
            poll_attachment, poll_id = self._create_poll(post.poll)
            attachments.append(poll_attachment)
            extra["poll_id"] = poll_id
        if post.link:
            attachments.append(self._link_attachment(post.link))
        params: dict[str, Any] = {"owner_id": self.owner_id, "from_group": True, "guid": post.key}
        if post.text:
            params["message"] = post.text
        if attachments:
            params["attachments"] = attachments
        answer = self._user_call("wall.post", params)
        post_id = int(answer["post_id"])
        return Published(external_id=f"{self.owner_id}_{post_id}", url=self.post_url(post_id), extra=extra)

    def _get_posts(self, external_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        ids = [f"{owner}_{post}" for owner, post in (_split_id(x) for x in external_ids)]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 100):
            answer = self._user_call("wall.getById", {"posts": ids[start:start + 100]})
            items = answer.get("items", []) if isinstance(answer, dict) else answer
            for item in items:
                found[f"{item['owner_id']}_{item['id']}"] = item
        return found

    def edit(self, external_id: str, post: PostPayload) -> None:
        """New text and link; photos are re-uploaded only when their number changed; a poll is kept."""
        self.require_ok(post)
        owner_id, post_id = _split_id(external_id)
        current = self._get_posts([external_id]).get(f"{owner_id}_{post_id}")
        if current is None:
            raise VKError(f"post {external_id} is not on the wall", code=104, method="wall.edit", permanent=True)
        old = current.get("attachments") or []
        old_photos = [f"photo{a['photo']['owner_id']}_{a['photo']['id']}" for a in old if a.get("type") == "photo"]
        old_polls = [f"poll{a['poll']['owner_id']}_{a['poll']['id']}" for a in old if a.get("type") == "poll"]
        photos = old_photos if len(old_photos) == len(post.photos) else self._upload_photos(post.photos)
        attachments = list(photos)
        if old_polls:
            attachments.extend(old_polls)
        elif post.poll is not None:
            attachments.append(self._create_poll(post.poll)[0])
        if post.link:
            attachments.append(self._link_attachment(post.link))
        params: dict[str, Any] = {"owner_id": owner_id, "post_id": post_id, "message": post.text}
        if attachments:
            params["attachments"] = attachments
        self._user_call("wall.edit", params)

    def delete(self, external_id: str) -> None:
        owner_id, post_id = _split_id(external_id)
        try:
            self._user_call("wall.delete", {"owner_id": owner_id, "post_id": post_id})
        except VKError as exc:
            if exc.code != 104:  # already gone (e.g. a repeat after a timeout): the goal is reached
                raise

    def find_published(self, post: PostPayload) -> Published | None:
        """Recent community posts with the same text and attachments (VK does not return our guid)."""
        answer = self._user_call("wall.get", {"domain": f"club{self.group_id}", "count": 50, "filter": "owner"})
        want_text = post.text.strip()
        for item in answer.get("items", []):
            attachments = item.get("attachments") or []
            kinds = [a.get("type") for a in attachments]
            if str(item.get("text", "")).strip() != want_text:
                continue
            if (kinds.count("photo") != len(post.photos) or ("poll" in kinds) != (post.poll is not None)
                    or ("link" in kinds) != bool(post.link)):
                continue
            links = {post.link, self._link_attachment(post.link)}
            if post.link and not any(a.get("type") == "link" and a["link"].get("url") in links
                                     for a in attachments):
                continue
            return self._published(item)
        return None

    # --- statistics --------------------------------------------------------------------------------------
    def post_stats(self, external_ids: list[str]) -> dict[str, PostStats]:
        """Views, likes, reposts and comments from ``wall.getById``; reach from ``stats.getPostReach`` (30 posts a
        call; VK gives it to the community's admins and editors: without that right the reach stays unknown)."""
        stats: dict[str, PostStats] = {}
        if not external_ids:
            return stats
        posts = self._get_posts(external_ids)
        reach = self._post_reach([_split_id(external_id) for external_id in external_ids])
        for external_id in external_ids:
            owner_id, post_id = _split_id(external_id)
            item = posts.get(f"{owner_id}_{post_id}")
            if item is None:
                continue
            stats[external_id] = PostStats(
                views=(item.get("views") or {}).get("count"),
                likes=(item.get("likes") or {}).get("count"),
                reposts=(item.get("reposts") or {}).get("count"),
                comments=(item.get("comments") or {}).get("count"),
                reach=reach.get((owner_id, post_id)),
            )
        return stats

    def _post_reach(self, ids: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
        by_owner: dict[int, list[int]] = {}
        for owner_id, post_id in ids:
            by_owner.setdefault(owner_id, []).append(post_id)
        found: dict[tuple[int, int], int] = {}
        for owner_id, post_ids in by_owner.items():
            for start in range(0, len(post_ids), REACH_BATCH):
                try:
                    answer = self._user_call("stats.getPostReach", {"owner_id": owner_id,
                                                                    "post_ids": post_ids[start:start + REACH_BATCH]})
                except VKError as exc:
                    if exc.transient or exc.needs_reauth:
                        raise
                    return found  # no right to the community's statistics: the reach stays unknown
                for row in answer if isinstance(answer, list) else []:
                    total = row.get("reach_total")
                    if row.get("post_id") is not None and total is not None:
                        found[(owner_id, int(row["post_id"]))] = int(total)
        return found

    def page_audience(self) -> int | None:
        """``groups.getById`` with ``members_count`` (one call, the user token or else the community's)."""
        if self.credentials.get("access_token"):
            answer = self._user_call("groups.getById", {"group_id": self.group_id, "fields": ["members_count"]})
        else:
            answer = self._group_call("groups.getById", {"fields": ["members_count"]})
        group = answer["groups"][0]
        count = group.get("members_count")
        return int(count) if count is not None else None

    def audience_by_day(self, start: date, end: date) -> dict[date, int]:
        """VK keeps a community's daily statistics (``stats.get``, ``interval=day``): members who joined and left
        each day. The audience at the end of a past day is today's count less the net joins after it. Days are
        VK's (Moscow time)."""
        now = self.page_audience()
        if now is None:
            return {}
        today = datetime.now(VK_STATS_TZ).date()
        start = min(start, today)
        begin = datetime.combine(start, time.min, VK_STATS_TZ)
        periods = self._user_call("stats.get", {
            "group_id": self.group_id, "timestamp_from": int(begin.timestamp()),
            "timestamp_to": int(datetime.now(UTC).timestamp()), "interval": "day",
            "stats_groups": ["activity"], "extended": 0})
        net: dict[date, int] = {}
        for period in periods if isinstance(periods, list) else []:
            activity = period.get("activity") or {}
            day = datetime.fromtimestamp(int(period.get("period_from") or 0), VK_STATS_TZ).date()
            net[day] = net.get(day, 0) + int(activity.get("subscribed") or 0) - int(activity.get("unsubscribed") or 0)
        figures: dict[date, int] = {}
        audience = now
        day = today
        while day >= start:
            if day <= end:
                figures[day] = max(0, audience)
            audience -= net.get(day, 0)
            day -= timedelta(days=1)
        return figures

    def poll_results(self, published: Published) -> PollResults | None:
        poll_id = published.extra.get("poll_id")
        if poll_id is None:
            item = self._get_posts([published.external_id]).get(
                "{}_{}".format(*_split_id(published.external_id)))
            poll_id = self._published(item).extra.get("poll_id") if item else None
            if poll_id is None:
                return None
        poll = self._user_call("polls.getById", {"owner_id": self.owner_id, "poll_id": int(poll_id)})
        return PollResults(answers=[(str(a["text"]), int(a["votes"])) for a in poll.get("answers", [])],
                           total_voters=int(poll.get("votes", 0)))

    # --- the community page ------------------------------------------------------------------------------
    def verify(self) -> ChannelInfo:
        """Check both tokens against VK: the user token's owner must be an editor or admin of the community,
        the community token must belong to it. Returns the page's name, address and member count."""
        group: dict[str, Any] | None = None
        if self.credentials.get("access_token"):
            answer = self._user_call("groups.getById", {"group_id": self.group_id, "fields": ["members_count"]})
            group = answer["groups"][0]
            if group.get("is_admin") != 1 or int(group.get("admin_level", 0)) < 2:
                raise VKError(f"the VK user of this token cannot publish in “{group.get('name', self.group_id)}”: "
                              "an editor or administrator of the community is needed", code=15, needs_reauth=True,
                              method="groups.getById")
        if self.credentials.get("community_token"):
            answer = self._group_call("groups.getById", {"fields": ["members_count"]})
            own = answer["groups"][0]
            if int(own["id"]) != self.group_id:
                raise VKError(f"the community token belongs to community {own['id']}, not {self.group_id}",
                              code=27, needs_reauth=True, method="groups.getById")
            group = group or own
        if group is None:
            raise VKError("no VK credentials: give the admin's user token and/or the community token",
                          code="no_token", needs_reauth=True)
        screen = group.get("screen_name") or f"club{self.group_id}"
        return ChannelInfo(external_id=str(self.group_id), name=str(group.get("name", "")),
                           url=f"{self.web_url}/{screen}", audience=group.get("members_count"))

    # --- inbox -------------------------------------------------------------------------------------------
    def _long_poll_session(self) -> dict[str, str]:
        answer = self._group_call("groups.getLongPollServer", {"group_id": self.group_id})
        self._lp = {"server": str(answer["server"]), "key": str(answer["key"]), "ts": str(answer["ts"])}
        return self._lp

    def fetch_updates(self, cursor: str | None) -> UpdatesPage:
        """New comments and messages through the Bots Long Poll API. The cursor is VK's ``ts``.

        Without a cursor the inbox starts from now. ``failed: 1`` continues from VK's new ts (VK dropped
        older events), ``failed: 2`` takes a new key and keeps ts, ``failed: 3`` takes a new key and ts.
        """
        session = self._lp or self._long_poll_session()
        ts = cursor if cursor and cursor.isdigit() else session["ts"]
        for _ in range(4):
            answer = self.client.long_poll(session["server"], session["key"], ts, self.long_poll_wait)
            failed = answer.get("failed")
            if failed is None:
                updates = answer.get("updates") or []
                items = self._with_names(parse_events(updates, self.group_id))
                return UpdatesPage(items=items, cursor=str(answer.get("ts", ts)), consents=consent_changes(updates))
            if failed == 1:
                ts = str(answer.get("ts", ts))
            elif failed == 2:
                session = self._long_poll_session()
            elif failed == 3:
                session = self._long_poll_session()
                ts = session["ts"]
            else:
                raise VKError(f"unexpected Long Poll answer: failed={failed!r}", code="a_check", method="a_check")
        raise VKError("the VK Long Poll server keeps refusing the session", code="a_check", method="a_check")

    def _with_names(self, items: list[InboundItem]) -> list[InboundItem]:
        user_ids = sorted({int(i.author_id) for i in items if i.author_id.lstrip("-").isdigit()
                           and int(i.author_id) > 0})
        if not user_ids:
            return items
        users = self._group_call("users.get", {"user_ids": user_ids})
        names = {str(u["id"]): f"{u.get('first_name', '')} {u.get('last_name', '')}".strip() for u in users}
        return [replace(i, author_name=names.get(i.author_id, i.author_name)) for i in items]

    def reply(self, item: InboundItem, text: str, key: str) -> str:
        if item.kind == "message":
            return self._send(int(item.thread_id), text, key)
        if len(text) > TEXT_LIMIT:
            raise VKError(f"the reply is {len(text)} characters, at most {TEXT_LIMIT}", code="local",
                          permanent=True)
        owner_id, comment_id = _split_id(item.external_id)
        _, post_id = _split_id(item.post_external_id or item.thread_id)
        answer = self._group_call("wall.createComment", {
            "owner_id": owner_id, "post_id": post_id, "from_group": self.group_id, "message": text,
            "reply_to_comment": comment_id, "guid": key,
        })
        return f"{owner_id}_{answer['comment_id']}"

    def delete_comment(self, item: dict[str, Any]) -> None:
        """Delete a reader's comment on the community's wall (``wall.deleteComment`` needs the admin's user token)."""
        owner_id, comment_id = _split_id(str(item.get("external_id") or ""))
        self._user_call("wall.deleteComment", {"owner_id": owner_id, "comment_id": comment_id})

    def send_message(self, user_id: str, text: str, key: str) -> str:
        """A direct message from the community: one ``messages.send`` call (``random_id`` from ``key``). A person
        who has not allowed messages from the community is refused by VK itself: error 901, permanent."""
        if len(text) > MESSAGE_LIMIT or not text.strip():
            raise VKError(f"a message needs 1 to {MESSAGE_LIMIT} characters, this one has {len(text)}",
                          code="local", permanent=True)
        try:
            peer = int(user_id)
        except ValueError:
            raise VKError(f"not a VK user id: {user_id!r}", code=113, permanent=True) from None
        return self._send(peer, text, key)

    def _send(self, peer_id: int, text: str, key: str) -> str:
        if len(text) > MESSAGE_LIMIT or not text.strip():
            raise VKError(f"a message needs 1 to {MESSAGE_LIMIT} characters, this one has {len(text)}",
                          code="local", permanent=True)
        answer = self._group_call("messages.send", {"peer_id": peer_id, "random_id": random_id_for(key),
                                                    "message": text})
        return str(answer)

"""OK (ok.ru) group pages: the common connector interface on top of ``client.OKClient``.

- Posts are group "media topics": ``mediatopic.post`` with ``type=GROUP_THEME``, ``gid`` and a JSON
  ``attachment`` of media blocks (text, photo tokens from ``photosV2.getUploadUrl`` + the upload server, link,
  poll); ``mediatopic.edit`` / ``mediatopic.deleteTopic`` change and remove them.
- Page and audience: ``group.getInfo`` (name, shortname, members_count); the page is https://ok.ru/group/<gid>,
  a topic https://ok.ru/group/<gid>/topic/<id>. Stats and poll results: ``mediatopic.getByIds``.
- Comments: the recent topics (``mediatopic.getTopics``) and ``discussions.getComments`` with OK's
  ``anchor``/``direction`` paging; replies: ``discussions.addDiscussionComment`` (``as_admin``).
- Direct messages: the OK Bot API with the group's messages key (credential ``bot_token``): ``me/chats`` and
  ``me/messages`` for polling, ``me/subscribe`` for webhooks (``webhooks.py``), ``POST me/messages`` to send.
- OK has no idempotency key: an uncertain send is checked with ``find_published`` (recent topics, same text).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from filial.networks.base import (
    Capabilities,
    ChannelInfo,
    InboundItem,
    NetworkError,
    PollResults,
    PollSpec,
    PostPayload,
    PostStats,
    Published,
    UpdatesPage,
)
from filial.networks.ok.client import NETWORK, OKClient
from filial.networks.ok.rules import OKRules

# OK does not publish numeric limits for group topics (it has the errors MEDIA_TOPIC_TEXT_LIMIT 601,
# MEDIA_TOPIC_POLL_ANSWERS_LIMIT 603 ...); these are conservative values of ours.
TEXT_LIMIT = 10_000
MAX_PHOTOS = 10
POLL_MAX_ANSWERS = 10
POLL_QUESTION_LIMIT = 255
POLL_ANSWER_LIMIT = 255
MOSCOW = timezone(timedelta(hours=3))  # comment "date" fields are Moscow time
# group.getUserGroupsByIds statuses that may post (ADMIN, MODERATOR documented; EDITOR tolerated).
ADMIN_STATUSES = frozenset({"ADMIN", "MODERATOR", "EDITOR"})
TOPIC_FIELDS = ("media_topic.id,media_topic.created_ms,media_topic.media,media_topic.discussion_summary,"
                "media_topic.like_summary,media_topic.reshare_summary,media_topic.views_count")


def topic_url(gid: str, topic_id: str) -> str:
    return f"https://ok.ru/group/{gid}/topic/{topic_id}"


def group_url(gid: str) -> str:
    return f"https://ok.ru/group/{gid}"


def _as_id(value: Any) -> str:
    """A topic/comment id from whatever shape OK answered with: a JSON string, a number or ``{"id"}``."""
    if isinstance(value, dict):
        if "comment" in value and isinstance(value["comment"], dict):
            value = value["comment"]
        value = value.get("id") or value.get("comment_id") or value.get("topic_id")
    if value in (None, "", 0, "0"):
        # OK answers topic id 0 to applications not approved for posting (apiok.ru, ui.postMediatopic).
        raise NetworkError("OK answered without an id: is the application approved for publishing?",
                           network=NETWORK, code="bad_response", permanent=True)
    return str(value)


def _count(summary: Any, key: str = "count") -> int | None:
    if isinstance(summary, dict) and summary.get(key) is not None:
        return int(summary[key])
    return None


def _strip_ref(value: str, prefix: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value


def _comment_time(comment: dict[str, Any]) -> datetime:
    if comment.get("created_ms"):
        return datetime.fromtimestamp(int(comment["created_ms"]) / 1000, tz=UTC)
    raw = str(comment.get("date") or "")
    try:
        return datetime.strptime(raw, "%Y-%m-%d %H:%M:%S").replace(tzinfo=MOSCOW).astimezone(UTC)
    except ValueError:
        return datetime.now(tz=UTC)


def message_item(message: dict[str, Any]) -> InboundItem | None:
    """A Bot API message (``me/messages`` item or webhook body) as an inbound item; None for our own."""
    sender = message.get("sender") or {}
    sender_id = str(sender.get("user_id") or "")
    body = message.get("message") or {}
    chat_id = str((message.get("recipient") or {}).get("chat_id") or "")
    if not sender_id or sender_id.startswith("group:") or not body.get("mid"):
        return None
    stamp = int(message.get("timestamp") or 0)
    return InboundItem(
        kind="message",
        external_id=str(body["mid"]),
        thread_id=chat_id,
        author_id=_strip_ref(sender_id, "user:"),
        author_name=str(sender.get("name") or ""),
        text=str(body.get("text") or ""),
        at=datetime.fromtimestamp(stamp / 1000, tz=UTC) if stamp else datetime.now(tz=UTC),
        reply_to=str(body.get("reply_to") or ""),
        raw=message,
    )


class _Cursor:
    """Where the inbox stopped: per recent topic OK's comment anchor and comment count, and the time of the
    newest direct message seen (Bot API timestamps, ms). Serialised as compact JSON."""

    def __init__(self, raw: str | None) -> None:
        data: dict[str, Any] = {}
        if raw:
            try:
                loaded = json.loads(raw)
                data = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                data = {}
        self.topics: dict[str, dict[str, Any]] = dict(data.get("t") or {})
        self.messages_since: int = int(data.get("m") or 0)
        self.uid: str = str(data.get("u") or "")

    def dump(self) -> str:
        return json.dumps({"v": 1, "u": self.uid, "t": self.topics, "m": self.messages_since},
                          separators=(",", ":"), sort_keys=True)


class OKConnector(OKRules):
    network = NETWORK
    capabilities = Capabilities(
        text_limit=TEXT_LIMIT,
        caption_limit=None,
        max_photos=MAX_PHOTOS,
        polls=True,
        poll_max_answers=POLL_MAX_ANSWERS,
        edit=True,
        delete=True,
        native_scheduling=True,  # publishAt / publishAtMs in the attachment (not used by Filial's worker)
        links=True,
        comments=True,
        direct_messages=True,  # needs the group's messages key (credential "bot_token")
        idempotency=False,
        formatting="plain",
    )
    recent_topics = 10  # how many of the newest topics are watched for comments
    page_size = 100

    # --- credentials ---------------------------------------------------------------------------------
    @property
    def gid(self) -> str:
        return str(self.external_id).strip()

    def _client(self) -> OKClient:
        missing = [key for key in ("application_key", "application_secret_key", "access_token")
                   if not str(self.credentials.get(key) or "").strip()]
        if missing:
            raise NetworkError(f"missing OK credentials: {', '.join(missing)}", network=NETWORK,
                               code="credentials", needs_reauth=True)
        if not self.gid.isdigit():
            raise NetworkError(f"an OK group id is a number, got {self.gid!r}", network=NETWORK, code="local",
                               permanent=True)
        return OKClient(
            api_url=self.base_url,
            application_key=str(self.credentials["application_key"]).strip(),
            application_secret_key=str(self.credentials["application_secret_key"]).strip(),
            access_token=str(self.credentials["access_token"]).strip(),
            bot_token=str(self.credentials.get("bot_token") or "").strip(),
            timeout=self.timeout,
            transport=self.transport,
        )

    # --- checks --------------------------------------------------------------------------------------
    def check(self, post: PostPayload) -> list[str]:
        problems = super().check(post)
        if post.link:
            parts = urlsplit(post.link)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"the link {post.link!r} is not an http(s) address")
        for index, photo in enumerate(post.photos, start=1):
            if not photo.content_type.startswith("image/") or not photo.content:
                problems.append(f"photo {index} ({photo.filename}) is not an image")
        poll = post.poll
        if poll is not None:
            if not poll.question.strip():
                problems.append("the poll has no question")
            elif len(poll.question) > POLL_QUESTION_LIMIT:
                problems.append(f"the poll question is longer than {POLL_QUESTION_LIMIT} characters")
            if any(not answer.strip() for answer in poll.answers):
                problems.append("a poll answer is empty")
            if any(len(answer) > POLL_ANSWER_LIMIT for answer in poll.answers):
                problems.append(f"a poll answer is longer than {POLL_ANSWER_LIMIT} characters")
        return problems

    # --- page ----------------------------------------------------------------------------------------
    def verify(self) -> ChannelInfo:
        with self._client() as client:
            me = client.call("users.getCurrentUser", {"fields": "uid,name"})
            groups = client.call("group.getInfo", {"uids": self.gid, "fields": "uid,name,shortname,members_count"})
            if not isinstance(groups, list) or not groups:
                raise NetworkError(f"OK group {self.gid} was not found", network=NETWORK, code=300, permanent=True,
                                   method="group.getInfo")
            group = groups[0]
            uid = str((me or {}).get("uid") or "")
            roles = client.call("group.getUserGroupsByIds", {"group_id": self.gid, "uids": uid})
            status = str(roles[0].get("status") or "") if isinstance(roles, list) and roles else ""
            if status.upper() not in ADMIN_STATUSES:
                raise NetworkError(
                    f"the token's user {(me or {}).get('name') or uid} is not an administrator of OK group "
                    f"{group.get('name') or self.gid} (status {status or 'none'}): posting needs an admin token",
                    network=NETWORK, code="not_admin", needs_reauth=True, method="group.getUserGroupsByIds")
            if client.has_bot_token:
                info = client.graph("GET", "me/info")
                if str(info.get("group_id") or "") != f"group:{self.gid}":
                    raise NetworkError("the group messages key (bot_token) belongs to another OK group",
                                       network=NETWORK, code="bot_token_group", needs_reauth=True,
                                       method="GET /graph/me/info")
        members = group.get("members_count")
        return ChannelInfo(external_id=self.gid, name=str(group.get("name") or self.gid), url=group_url(self.gid),
                           audience=int(members) if members is not None else None)

    # --- posts ---------------------------------------------------------------------------------------
    def _attachment(self, client: OKClient, post: PostPayload) -> dict[str, Any]:
        media: list[dict[str, Any]] = []
        if post.text.strip():
            media.append({"type": "text", "text": post.text})
        if post.photos:
            upload = client.call("photosV2.getUploadUrl", {"gid": self.gid, "count": len(post.photos)})
            photo_ids = [str(item) for item in upload.get("photo_ids") or []]
            if len(photo_ids) != len(post.photos) or not upload.get("upload_url"):
                raise NetworkError("OK did not reserve the photos", network=NETWORK, code="bad_response",
                                   method="photosV2.getUploadUrl")
            tokens = client.upload_photos(str(upload["upload_url"]), photo_ids, post.photos)
            media.append({"type": "photo", "list": [{"id": token} for token in tokens]})
        if post.link:
            media.append({"type": "link", "url": post.link})
        if post.poll is not None:
            media.append(self._poll_media(post.poll))
        return {"media": media}

    @staticmethod
    def _poll_media(poll: PollSpec) -> dict[str, Any]:
        options = [] if poll.multiple else ["SingleChoice"]
        if poll.anonymous:
            options.append("AnonymousVoting")
        block: dict[str, Any] = {"type": "poll", "question": poll.question,
                                 "answers": [{"text": answer} for answer in poll.answers]}
        if options:
            block["options"] = ",".join(options)
        return block

    def publish(self, post: PostPayload) -> Published:
        self.require_ok(post)
        with self._client() as client:
            attachment = self._attachment(client, post)  # every photo is uploaded before anything is posted
            topic = client.call("mediatopic.post", {"gid": self.gid, "type": "GROUP_THEME",
                                                     "attachment": attachment}, write=True)
        topic_id = _as_id(topic)
        return Published(external_id=topic_id, url=topic_url(self.gid, topic_id))

    def edit(self, external_id: str, post: PostPayload) -> None:
        self.require_ok(post)
        with self._client() as client:
            attachment = self._attachment(client, post)
            client.call("mediatopic.edit", {"topic_id": external_id, "attachment": attachment}, write=True)

    def delete(self, external_id: str) -> None:
        with self._client() as client:
            try:
                client.call("mediatopic.deleteTopic", {"topic_id": external_id, "gid": self.gid}, write=True)
            except NetworkError as exc:
                if exc.code != 300:  # NOT_FOUND: already gone, which is what we wanted
                    raise

    def find_published(self, post: PostPayload) -> Published | None:
        """OK has no idempotency key: look at the newest group topics for one with this post's text,
        photo count, link and poll question; the newest such topic wins."""
        wanted_text = post.text.strip()
        with self._client() as client:
            page = client.call("mediatopic.getTopics", {"gid": self.gid, "count": 20, "fields": TOPIC_FIELDS})
        for topic in (page or {}).get("media_topics") or []:
            texts = [str(block.get("text") or "").strip() for block in topic.get("media") or []
                     if block.get("type") == "text"]
            photos = sum(len(block.get("photo_refs") or block.get("list") or [])
                         for block in topic.get("media") or [] if block.get("type") == "photo")
            links = [str(block.get("url") or "") for block in topic.get("media") or [] if block.get("type") == "link"]
            has_poll = any(block.get("type") == "poll" for block in topic.get("media") or [])
            if ("\n".join(texts) == wanted_text and photos == len(post.photos)
                    and (not post.link or post.link in links) and has_poll == (post.poll is not None)):
                topic_id = str(topic["id"])
                return Published(external_id=topic_id, url=topic_url(self.gid, topic_id))
        return None

    # --- statistics ----------------------------------------------------------------------------------
    def page_audience(self) -> int | None:
        """``group.getInfo`` with ``members_count`` (one call)."""
        with self._client() as client:
            groups = client.call("group.getInfo", {"uids": self.gid, "fields": "uid,members_count"})
        members = groups[0].get("members_count") if isinstance(groups, list) and groups else None
        return int(members) if members is not None else None

    def post_stats(self, external_ids: list[str]) -> dict[str, PostStats]:
        stats: dict[str, PostStats] = {}
        with self._client() as client:
            for start in range(0, len(external_ids), 50):
                batch = external_ids[start:start + 50]
                data = client.call("mediatopic.getByIds", {
                    "topic_ids": ",".join(batch), "media_limit": 1,
                    "fields": "media_topic.id,media_topic.like_summary,media_topic.reshare_summary,"
                              "media_topic.discussion_summary,media_topic.views_count"})
                for topic in (data or {}).get("media_topics") or []:
                    stats[str(topic["id"])] = PostStats(
                        views=int(topic["views_count"]) if topic.get("views_count") is not None else None,
                        likes=_count(topic.get("like_summary")),
                        reposts=_count(topic.get("reshare_summary")),
                        comments=_count(topic.get("discussion_summary"), "comments_count"),
                    )
        return stats

    def poll_results(self, published: Published) -> PollResults | None:
        with self._client() as client:
            data = client.call("mediatopic.getByIds", {"topic_ids": published.external_id,
                                                       "fields": "media_topic.id,media_topic.media,poll.*"})
        topics = (data or {}).get("media_topics") or []
        if not topics:
            return None
        refs = [str(block.get("poll_ref") or "") for block in topics[0].get("media") or []
                if block.get("type") == "poll"]
        if not refs:
            return None
        polls = ((data or {}).get("entities") or {}).get("polls") or []
        poll = next((item for item in polls if f"poll:{item.get('id')}" == refs[0]), None)
        if poll is None:
            return None
        answers = [(str(answer.get("text") or ""), int(answer.get("votes_count") or 0))
                   for answer in poll.get("answers") or []]
        total = poll.get("votes_count")
        return PollResults(answers=answers,
                           total_voters=int(total) if total is not None else sum(votes for _, votes in answers))

    # --- inbox ---------------------------------------------------------------------------------------
    def fetch_updates(self, cursor: str | None) -> UpdatesPage:
        state = _Cursor(cursor)
        items: list[InboundItem] = []
        with self._client() as client:
            if not state.uid:
                me = client.call("users.getCurrentUser", {"fields": "uid"})
                state.uid = str((me or {}).get("uid") or "")
            items.extend(self._new_comments(client, state))
            if client.has_bot_token:
                items.extend(self._new_messages(client, state))
        items.sort(key=lambda item: item.at)
        return UpdatesPage(items=items, cursor=state.dump())

    def _new_comments(self, client: OKClient, state: _Cursor) -> list[InboundItem]:
        page = client.call("mediatopic.getTopics", {
            "gid": self.gid, "count": self.recent_topics,
            "fields": "media_topic.id,media_topic.created_ms,media_topic.discussion_summary"})
        items: list[InboundItem] = []
        watched: dict[str, dict[str, Any]] = {}
        for topic in (page or {}).get("media_topics") or []:
            topic_id = str(topic["id"])
            count = _count(topic.get("discussion_summary"), "comments_count") or 0
            known = state.topics.get(topic_id) or {}
            watched[topic_id] = dict(known)
            if count == 0 or known.get("n") == count:
                continue
            anchor = str(known.get("a") or "FIRST")
            while True:
                data = client.call("discussions.getComments", {
                    "discussionId": topic_id, "discussionType": "GROUP_TOPIC", "anchor": anchor,
                    "direction": "FORWARD", "count": self.page_size,
                    "fields": "comment.id,comment.text,comment.author_id,comment.author_name,comment.date,"
                              "comment.reply_to_comment_id,user.uid,user.name"})
                comments = (data or {}).get("comments") or []
                names = {str(user.get("uid")): str(user.get("name") or "")
                         for user in ((data or {}).get("entities") or {}).get("users") or []}
                for comment in comments:
                    author = str(comment.get("author_id") or "")
                    if author == state.uid or str(comment.get("author_ref") or "") == f"group:{self.gid}":
                        continue  # our own replies
                    items.append(InboundItem(
                        kind="comment", external_id=str(comment["id"]), thread_id=topic_id,
                        author_id=author, author_name=str(comment.get("author_name") or names.get(author) or ""),
                        text=str(comment.get("text") or ""), at=_comment_time(comment), post_external_id=topic_id,
                        reply_to=str(comment.get("reply_to_comment_id") or ""), raw=comment))
                anchor = str((data or {}).get("anchor") or anchor)
                if not comments or not (data or {}).get("has_more"):
                    break
            watched[topic_id] = {"a": anchor, "n": count}
        state.topics = watched  # topics that left the recent list are forgotten
        return items

    def _new_messages(self, client: OKClient, state: _Cursor) -> list[InboundItem]:
        since = state.messages_since
        newest = since
        items: list[InboundItem] = []
        marker: str | None = None
        while True:
            data = client.graph("GET", "me/chats", params={"count": 100, "marker": marker})
            chats = (data or {}).get("chats") or []
            fresh = [chat for chat in chats if int(chat.get("lastEventTime") or 0) > since]
            for chat in fresh:
                newest = max(newest, int(chat.get("lastEventTime") or 0))
                items.extend(self._chat_messages(client, str(chat["chat_id"]), since))
            marker = (data or {}).get("marker")
            if not marker or len(fresh) < len(chats) or not chats:
                break
        for item in items:
            newest = max(newest, int(item.raw.get("timestamp") or 0))
        state.messages_since = newest
        return items

    def _chat_messages(self, client: OKClient, chat_id: str, since: int) -> list[InboundItem]:
        items: list[InboundItem] = []
        params: dict[str, Any] = {"count": self.page_size}
        while True:
            data = client.graph("GET", f"me/messages/{chat_id}", params=params)
            messages = (data or {}).get("messages") or []
            older = False
            for message in messages:  # newest first
                stamp = int(message.get("timestamp") or 0)
                if stamp <= since:
                    older = True
                    break
                item = message_item(message)
                if item is not None:
                    items.append(item)
            if older or len(messages) < self.page_size:
                return items
            params = {"count": self.page_size, "from": int(messages[-1].get("timestamp") or 0) - 1,
                      "to": since + 1}

    def reply(self, item: InboundItem, text: str, key: str) -> str:
        if not text.strip():
            raise NetworkError("the reply is empty", network=NETWORK, code="local", permanent=True)
        with self._client() as client:
            if item.kind == "comment":
                result = client.call("discussions.addDiscussionComment", {
                    "entityId": item.post_external_id or item.thread_id, "entityType": "GROUP_TOPIC",
                    "comment": text, "reply_to_comment_id": item.external_id, "as_admin": True}, write=True)
                return _as_id(result)
            result = client.graph("POST", f"me/messages/{item.thread_id}",
                                  body={"recipient": {"chat_id": item.thread_id}, "message": {"text": text}},
                                  write=True)
            return self._message_id(client, item.thread_id, text, result)

    def send_message(self, user_id: str, text: str, key: str) -> str:
        """Write to a reader who allowed messages from the group (OK has no idempotency key)."""
        if not text.strip():
            raise NetworkError("the message is empty", network=NETWORK, code="local", permanent=True)
        uid = _strip_ref(str(user_id).strip(), "user:")
        with self._client() as client:
            result = client.graph("POST", "me/messages", body={"recipient": {"user_ids": [f"user:{uid}"]},
                                                               "message": {"text": text}}, write=True)
            success = (result or {}).get("success")
            chat_ids = (result or {}).get("chat_ids") or []
            sent = success[0] if isinstance(success, list) and success else success
            if not sent or not chat_ids or not chat_ids[0]:
                raise NetworkError(f"OK did not deliver the message to user {uid}: the user has not allowed "
                                   "messages from the group", network=NETWORK, code="not_allowed", permanent=True,
                                   method="POST /graph/me/messages")
            return self._message_id(client, str(chat_ids[0]), text, result)

    @staticmethod
    def _message_id(client: OKClient, chat_id: str, text: str, result: Any) -> str:
        if isinstance(result, dict) and result.get("message_id"):
            return str(result["message_id"])
        # The send answer carries no message id: read the newest messages of the chat back.
        data = client.graph("GET", f"me/messages/{chat_id}", params={"count": 5})
        for message in (data or {}).get("messages") or []:
            sender = str((message.get("sender") or {}).get("user_id") or "")
            body = message.get("message") or {}
            if sender.startswith("group:") and body.get("text") == text and body.get("mid"):
                return str(body["mid"])
        return chat_id

    # --- webhooks ------------------------------------------------------------------------------------
    def subscribe_webhook(self, url: str) -> None:
        """Ask OK to POST new group chat events to ``url`` (``POST me/subscribe``). OK signs nothing: put a
        secret of ours into the URL and check it with ``webhooks.verify_secret``."""
        with self._client() as client:
            result = client.graph("POST", "me/subscribe", body={"url": url}, write=True)
        if not (result or {}).get("success"):
            raise NetworkError("OK refused the webhook subscription", network=NETWORK, code="subscribe",
                               permanent=True, method="POST /graph/me/subscribe")

    def unsubscribe_webhook(self, url: str) -> None:
        with self._client() as client:
            client.graph("POST", "me/unsubscribe", body={"url": url}, write=True)

    def webhook_subscriptions(self) -> list[str]:
        with self._client() as client:
            data = client.graph("GET", "me/subscriptions")
        return [str(item.get("url")) for item in (data or {}).get("subscriptions") or []]


"""FakeNet's connector: a wall and a comment feed in memory (``WALLS``), with its own rules for domain code."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any, ClassVar

from filial.networks.base import (
    Capabilities,
    ChannelInfo,
    Connector,
    InboundItem,
    PollResults,
    PostPayload,
    PostStats,
    Published,
    UpdatesPage,
)
from filial.networks.ratelimit import Claim, fingerprint

WALLS: dict[str, list[dict[str, Any]]] = {}  # page id → its posts, in order
COMMENTS: dict[str, list[InboundItem]] = {}  # page id → readers' comments not fetched yet
_ids = itertools.count(1)


def add_comment(page: str, post_id: str, text: str, *, author: str = "reader-1",
                pictures: tuple[str, ...] = ()) -> InboundItem:
    """A reader comments on a post (the test's side of the network)."""
    n = next(_ids)
    item = InboundItem(kind="comment", external_id=f"c{n}", thread_id=post_id, author_id=author,
                       author_name="Читатель", text=text, at=datetime.now(tz=UTC), post_external_id=post_id,
                       raw={"pictures": [{"url": url} for url in pictures]})
    COMMENTS.setdefault(page, []).append(item)
    return item


class FakeConnector(Connector):
    network = "fakenet"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text_limit=280, caption_limit=None, max_photos=2, polls=False, poll_max_answers=0, edit=True,
        delete=True, native_scheduling=False, links=True, comments=True, direct_messages=False,
        idempotency=True, formatting="plain")
    link_in_text = True
    link_card = False

    # --- the rules domain code asks ---------------------------------------------------------------------
    @classmethod
    def publish_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        return [Claim("fakenet.token", fingerprint(str(credentials.get("token") or "")), 1 + len(post.photos))]

    @classmethod
    def fetch_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        return [Claim("fakenet.token", fingerprint(str(credentials.get("token") or "")), 1)]

    @classmethod
    def attachments(cls, raw: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"type": "picture", "name": "", "size": None, "source": p.get("url", "")}
                for p in raw.get("pictures") or []]

    @classmethod
    def preview_text(cls, post: PostPayload) -> str:
        return f"{post.text} {post.link}".strip() if post.link and post.link not in post.text else post.text

    # --- the network -------------------------------------------------------------------------------------
    def verify(self) -> ChannelInfo:
        return ChannelInfo(external_id=self.external_id, name=f"FakeNet {self.external_id}")

    def publish(self, post: PostPayload) -> Published:
        self.require_ok(post)
        wall = WALLS.setdefault(self.external_id, [])
        post_id = str(len(wall) + 1)
        wall.append({"id": post_id, "text": self.preview_text(post), "photos": len(post.photos), "key": post.key})
        return Published(external_id=post_id, url=f"https://fakenet.invalid/{self.external_id}/{post_id}")

    def edit(self, external_id: str, post: PostPayload) -> None:
        for row in WALLS.get(self.external_id, []):
            if row["id"] == external_id:
                row["text"] = self.preview_text(post)

    def delete(self, external_id: str) -> None:
        WALLS[self.external_id] = [r for r in WALLS.get(self.external_id, []) if r["id"] != external_id]

    def find_published(self, post: PostPayload) -> Published | None:
        for row in WALLS.get(self.external_id, []):
            if row["key"] == post.key:
                return Published(external_id=row["id"])
        return None

    def post_stats(self, external_ids: list[str]) -> dict[str, PostStats]:
        return {}

    def poll_results(self, published: Published) -> PollResults | None:
        return None

    def fetch_updates(self, cursor: str | None) -> UpdatesPage:
        items = COMMENTS.pop(self.external_id, [])
        return UpdatesPage(items=items, cursor=str(int(cursor or 0) + len(items)))

    def reply(self, item: InboundItem, text: str, key: str) -> str:
        return f"r{next(_ids)}"

    def send_message(self, user_id: str, text: str, key: str) -> str:
        return f"m{next(_ids)}"

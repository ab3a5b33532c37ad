"""The common interface of every network connector, and the one error type they raise.

A connector speaks one network's protocol (``client.py``) and maps it onto this interface
(``connector.py``); the publishing engine, the inbox and the "connect a page" flow use only this module.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import httpx


class NetworkError(Exception):
    """What went wrong talking to a network, with what the caller should do about it.

    - ``permanent``: retrying the same request cannot succeed (invalid parameter, text too long...).
    - ``retry_after``: seconds to wait before trying again (rate limits, flood control).
    - ``needs_reauth``: the token is revoked, expired or lacks rights: a human must re-authorise the page.
    - ``outcome_unknown``: the request may have been applied (a timeout after it left): do not blindly
      repeat it where the network has no idempotency key.
    """

    def __init__(
        self,
        message: str,
        *,
        network: str,
        code: int | str | None = None,
        permanent: bool = False,
        retry_after: float | None = None,
        needs_reauth: bool = False,
        outcome_unknown: bool = False,
        method: str = "",
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message  # the network's own words, where ``message`` adds advice around them
        self.network = network
        self.code = code
        self.permanent = permanent or needs_reauth
        self.retry_after = retry_after
        self.needs_reauth = needs_reauth
        self.outcome_unknown = outcome_unknown
        self.method = method

    @property
    def transient(self) -> bool:
        return not self.permanent

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code is not None else ""
        where = f" {self.method}" if self.method else ""
        return f"{self.network}{where}{code}: {self.message}"


@dataclass(frozen=True)
class Capabilities:
    text_limit: int
    caption_limit: int | None  # text that can ride with photos in one message; None = same as text_limit
    max_photos: int
    polls: bool
    poll_max_answers: int
    edit: bool
    delete: bool
    native_scheduling: bool
    links: bool
    comments: bool
    direct_messages: bool
    idempotency: bool  # the network de-duplicates a repeated send by a key of ours
    formatting: str  # "plain", "html" or "markdown"


@dataclass(frozen=True)
class Photo:
    content: bytes
    filename: str
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class PollSpec:
    question: str
    answers: list[str]
    multiple: bool = False
    anonymous: bool = True
    ends_at: datetime | None = None


@dataclass(frozen=True)
class PostPayload:
    """A post as one network will receive it. ``key`` is stable per delivery (our row id) for idempotency."""

    text: str
    key: str
    photos: list[Photo] = field(default_factory=list)
    link: str = ""
    poll: PollSpec | None = None


@dataclass(frozen=True)
class Published:
    external_id: str
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. Telegram's several message ids of an album


@dataclass(frozen=True)
class ChannelInfo:
    external_id: str
    name: str
    url: str = ""
    audience: int | None = None


@dataclass(frozen=True)
class PostStats:
    views: int | None = None
    likes: int | None = None
    reposts: int | None = None
    comments: int | None = None


@dataclass(frozen=True)
class InboundItem:
    """A reader's comment or direct message, with the network's own ids for de-duplication."""

    kind: str  # "comment" or "message"
    external_id: str
    thread_id: str  # the post's external id for a comment; the dialogue (peer) id for a message
    author_id: str
    author_name: str
    text: str
    at: datetime
    post_external_id: str = ""
    reply_to: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentChange:
    """A person allowed or forbade the page to write to them first (VK ``message_allow`` / ``message_deny``)."""

    person_id: str
    allowed: bool
    at: datetime


@dataclass(frozen=True)
class UpdatesPage:
    items: list[InboundItem]
    cursor: str  # save only after the items are committed
    polls: list[dict[str, Any]] = field(default_factory=list)  # new counts of our polls (Telegram ``poll`` updates)
    consents: list[ConsentChange] = field(default_factory=list)


@dataclass(frozen=True)
class PollResults:
    answers: list[tuple[str, int]]
    total_voters: int


class Connector(abc.ABC):
    """One page on one network. Instances are cheap; create one per job."""

    network: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(
        self,
        *,
        external_id: str,
        credentials: dict[str, Any],
        base_url: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.external_id = external_id
        self.credentials = credentials
        self.base_url = base_url
        self.transport = transport
        self.timeout = timeout

    # --- checks before any network call ---------------------------------------------------------
    def check(self, post: PostPayload) -> list[str]:
        """Reasons this post cannot go to this network as it is (empty list: it can)."""
        caps = self.capabilities
        problems: list[str] = []
        limit = caps.caption_limit if post.photos and caps.caption_limit else caps.text_limit
        if len(post.text) > limit:
            problems.append(f"text is {len(post.text)} characters, at most {limit}")
        if len(post.photos) > caps.max_photos:
            problems.append(f"{len(post.photos)} photos, at most {caps.max_photos}")
        if post.poll is not None:
            if not caps.polls:
                problems.append("polls are not supported")
            elif not 2 <= len(post.poll.answers) <= caps.poll_max_answers:
                problems.append(f"a poll needs 2 to {caps.poll_max_answers} answers")
        if not post.text.strip() and not post.photos and post.poll is None:
            problems.append("the post is empty")
        return problems

    def require_ok(self, post: PostPayload) -> None:
        problems = self.check(post)
        if problems:
            raise NetworkError("; ".join(problems), network=self.network, permanent=True, code="local")

    # --- the interface ---------------------------------------------------------------------------
    @abc.abstractmethod
    def verify(self) -> ChannelInfo:
        """Check the credentials against the network; return the page's name, link and audience."""

    def channel_info(self) -> ChannelInfo:
        return self.verify()

    @abc.abstractmethod
    def publish(self, post: PostPayload) -> Published: ...

    @abc.abstractmethod
    def edit(self, external_id: str, post: PostPayload) -> None: ...

    @abc.abstractmethod
    def delete(self, external_id: str) -> None: ...

    @abc.abstractmethod
    def find_published(self, post: PostPayload) -> Published | None:
        """After an uncertain send: look on the network for a post made with this payload's key."""

    @abc.abstractmethod
    def post_stats(self, external_ids: list[str]) -> dict[str, PostStats]: ...

    @abc.abstractmethod
    def poll_results(self, published: Published) -> PollResults | None: ...

    @abc.abstractmethod
    def fetch_updates(self, cursor: str | None) -> UpdatesPage: ...

    @abc.abstractmethod
    def reply(self, item: InboundItem, text: str, key: str) -> str: ...

    @abc.abstractmethod
    def send_message(self, user_id: str, text: str, key: str) -> str: ...

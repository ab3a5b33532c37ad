"""The common interface of every network connector, and the one error type they raise.

A connector speaks one network's protocol (``client.py``) and maps it onto this interface
(``connector.py``); the publishing engine, the inbox and the "connect a page" flow use only this module.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from django.utils.translation import gettext

from filial.networks.advice import Kind, general_advice, match_phrases

if TYPE_CHECKING:
    from filial.networks.ratelimit import Claim, Meter


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
class AdMarking:
    """What marked advertising carries (Russian law on advertising, art. 18.1): the advertiser and the ERID token
    the advertising-data operator issued. The words stay Russian whatever the interface language: the law asks
    for «Реклама» in the text."""

    advertiser: str
    inn: str
    erid: str

    @property
    def requisites(self) -> str:
        return f"{self.advertiser}, ИНН {self.inn}" if self.inn else self.advertiser


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
    reach: int | None = None  # people who saw it (VK ``stats.getPostReach`` ``reach_total``), where given


# The figures the statistics collect: a page's audience and each publication's counts (``stats.PageDay``,
# ``stats.PublicationDay``). A connector names the ones its network does not give in ``stats_unknown``.
STAT_FIELDS: tuple[str, ...] = ("audience", "views", "likes", "reposts", "comments", "reach")


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


# --- push updates (webhooks) ----------------------------------------------------------------------------------
WEBHOOK_SECRET_KEY = "webhook_secret"  # noqa: S105 - the credentials key every network's webhook secret is kept under
COMMENT_EDIT = "comment_edit"  # the kind stored for a pushed edit of a comment (the inbox keeps its revisions)


@dataclass(frozen=True)
class WebhookRequest:
    """One request a network pushed to ``/hooks/<network>/<page id>/``, with what the page knows."""

    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    remote_addr: str
    page_id: str  # the page's id on the network (``Channel.external_id``)
    credentials: Mapping[str, Any]

    @property
    def secret(self) -> str:
        return str(self.credentials.get(WEBHOOK_SECRET_KEY) or "")


@dataclass(frozen=True)
class PushedItem:
    """A comment or message to store; ``kind`` / ``external_id`` when they are not the item's own (an edit)."""

    item: InboundItem
    kind: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class PushedConsent:
    """A person allowed or forbade the page to write first; ``occurrence`` tells repeats of one change apart."""

    user_id: str
    allowed: bool
    occurrence: str
    raw: Any
    at: datetime | None = None  # when the network says it happened (else when it was received)


@dataclass
class WebhookResult:
    items: list[PushedItem] = field(default_factory=list)
    consents: list[PushedConsent] = field(default_factory=list)
    response: str = "ok"  # the body to answer with (VK's confirmation code, or "ok")


class WebhookRefused(Exception):
    """The request must not be stored: answer ``status`` (403: wrong or missing secret, logged as a warning;
    400: a malformed body)."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class WebhookParser:
    """A network's push format, in its ``webhooks.py`` and named by its spec (``NetworkSpec.webhook``): verify one
    request (its secret) and say what it carries. ``channels/webhooks.py`` stores the result, for every network
    alike."""

    def parse(self, request: WebhookRequest) -> WebhookResult:
        raise NotImplementedError

    def registration_url(self, url: str, credentials: Mapping[str, Any]) -> str:
        """The address to give the network for a page whose endpoint is ``url`` (OK: with the secret in it)."""
        return url


class NotEditable(Exception):
    """:meth:`Connector.edit_notes`: this published post cannot be edited at all (the message says why)."""


@dataclass(frozen=True)
class PreviewShape:
    """What the composer's preview of one page knows of the post (no files, the poll as typed)."""

    photos: int = 0
    link: str = ""
    poll_question: str = ""
    poll_answers: tuple[str, ...] = ()
    poll_anonymous: bool = True

    @property
    def has_poll(self) -> bool:
        return bool(self.poll_question.strip() or self.poll_answers)


class Connector(abc.ABC):
    """One page on one network. Instances are cheap; create one per job."""

    network: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    # The shared rate limiter as this connector's calls take it, one unit per request right before it leaves
    # (``ratelimit.Meter``), for a network whose one operation makes several calls in a row (VK). Set by
    # ``channels.connections.connector_for`` and the outbox's lane; None: the caller's claims pace alone.
    meter: Meter | None = None

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

    def prepaid(self, claims: list[Claim]) -> None:
        """The units the caller just took for its coming calls: the first calls use them (see ``meter``)."""
        if self.meter is not None:
            self.meter.prepaid(claims)

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

    # --- what domain code asks of a network ------------------------------------------------------------------
    # Class methods and flags: no instance, nothing sent. Publishing, the outbox, the inbox, polls, previews
    # and edits ask these instead of comparing the network's name; the defaults suit a plain network (the
    # test suite's fake network overrides almost none of them).

    link_in_text: ClassVar[bool] = False  # the link travels inside the text (see :meth:`preview_text`)
    link_card: ClassVar[bool] = True  # the network shows a preview card for a post's link
    poll_counts_at_end_only: ClassVar[bool] = False  # no call reads a running poll; reading one closes it
    polls_close_on_network: ClassVar[bool] = True  # False: the network never closes a poll, Filial stops counting
    posts_span_messages: ClassVar[bool] = False  # a post may be several messages (see :meth:`post_message_ids`)
    refreshes_credentials: ClassVar[bool] = False  # the page's token expires and the connector refreshes it
    refresh_budget: ClassVar[str] = ""  # the budget used as a lock across workers while one refreshes

    @classmethod
    def publish_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        """The rate-limit budget one publication of ``post`` draws on (API calls, or messages where that
        counts); the budgets are the spec's ``budgets``."""
        return []

    @classmethod
    def edit_claims(cls, external_id: str, credentials: dict[str, Any], post: PostPayload) -> list[Claim]:
        """The budget of one edit of a published post (default: as a publication of the same content)."""
        return cls.publish_claims(external_id, credentials, post)

    @classmethod
    def lookup_claims(cls, external_id: str, credentials: dict[str, Any]) -> list[Claim]:
        """The budget of one :meth:`find_published` look-up (reading calls only)."""
        return []

    @classmethod
    def message_claims(cls, external_id: str, credentials: dict[str, Any], recipient: str, *,
                       comment: bool = False) -> list[Claim]:
        """The budget of one outgoing message (``comment``: a reply to a comment) sent through the page."""
        return []

    @classmethod
    def fetch_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        """The budget of one :meth:`fetch_updates` (reading calls, shared with publishing)."""
        return []

    @classmethod
    def poll_claims(cls, credentials: dict[str, Any]) -> list[Claim]:
        """The budget of one count of a published poll (:meth:`poll_results`)."""
        return []

    # --- statistics (the daily job in ``filial/stats``) ------------------------------------------------------------
    # The figures of STAT_FIELDS this network does not give to the kind of token a page holds, each with the reason
    # a person reads (a lazy translation): the job stores them as None (unknown), the dashboards say why.
    stats_unknown: ClassVar[Mapping[str, Any]] = {}
    audience_history: ClassVar[bool] = False  # :meth:`audience_by_day` reads past days (a backfill is possible)

    def page_audience(self) -> int | None:
        """The page's audience now (members, friends, subscribers), None where the network does not say."""
        return self.channel_info().audience

    def audience_by_day(self, start: date, end: date) -> dict[date, int]:
        """The audience at the end of each day from ``start`` to ``end`` (inclusive) where the network keeps that
        history (``audience_history``); days it does not know are left out."""
        return {}

    @classmethod
    def stats_claims(cls, external_id: str, credentials: dict[str, Any], publications: int) -> list[Claim]:
        """The budget of one statistics round of the page: its audience and the figures of ``publications``
        posts (reading calls, drawn from the same budgets as publishing)."""
        return []

    @classmethod
    def history_claims(cls, external_id: str, credentials: dict[str, Any], days: int) -> list[Claim]:
        """The budget of one :meth:`audience_by_day` over ``days`` days."""
        return []

    @classmethod
    def message_text_limit(cls) -> int:
        """The longest direct message or reply text the network takes."""
        return cls.capabilities.text_limit

    @classmethod
    def pollable(cls, credentials: dict[str, Any]) -> bool:
        """Whether a page with these secrets (and no webhook) can fetch its updates."""
        return True

    @classmethod
    def attachments(cls, raw: dict[str, Any]) -> list[dict[str, Any]]:
        """What a reader attached to the update ``raw``, as metadata only: ``type``, ``name``, ``size``,
        optionally ``content_type`` and ``source`` (a direct picture address, see ``hosts.picture_source``)."""
        return []

    @classmethod
    def post_message_ids(cls, external_id: str) -> list[str]:
        """The network ids a comment may name for a post published as several messages ([] = just its id)."""
        return []

    @classmethod
    def consent_from_message(cls, item: InboundItem) -> tuple[bool, str] | None:
        """A reader's message that allows (True) or forbids the page to write first, and its source name."""
        return None

    @classmethod
    def can_delete_comment(cls, raw: dict[str, Any]) -> bool:
        """Whether the connector can delete the reader's comment ``raw`` on the network."""
        return hasattr(cls, "delete_comment")

    @classmethod
    def preview_text(cls, post: PostPayload) -> str:
        """The text as the network will receive it (with the link where the connector puts it there)."""
        return post.text

    @classmethod
    def ad_text(cls, text: str, marking: AdMarking) -> str:
        """``text`` with the advertising marking in the form the network's pages use (default: a footer)."""
        return f"{text}\n\nРеклама. {marking.requisites}. erid: {marking.erid}"

    @classmethod
    def preview_warnings(cls, post: PreviewShape) -> list[str]:
        """Limits beyond ``Capabilities`` the connector also refuses, said to a person (translated)."""
        return []

    @classmethod
    def edit_notes(cls, external_id: str, post: PostPayload, *, had_photos: int, had_poll: bool,
                   wanted: set[str]) -> tuple[list[str], list[str]]:
        """(problems, notes) of editing the published post ``external_id`` into ``post`` (translated): a
        problem makes the edit impossible, a note tells what the network will keep as it was. Raises
        :class:`NotEditable` when nothing else need be checked (the id is not one of this network's posts)."""
        return [], []

    # The network's errors as advice (``networks/advice.py``): its answers' words (lower case, checked first, in
    # order), then Filial's general rules, then its codes (as text: ``"100"``, ``"chat.denied"``).
    error_phrases: ClassVar[tuple[tuple[str, Kind], ...]] = ()
    error_codes: ClassVar[dict[str, Kind]] = {}

    @classmethod
    def error_advice(cls, code: str, text: str) -> Kind:
        """What a person should do about the error ``code`` with the raw answer ``text`` (a kind of advice;
        ``Kind.UNKNOWN`` where no rule of the network nor a general one applies)."""
        code = str(code or "")
        return (match_phrases(text, cls.error_phrases) or general_advice(code, text)
                or cls.error_codes.get(code) or Kind.UNKNOWN)

    @classmethod
    def person_label(cls, person_id: str, network_label: str) -> str:
        """How staff see a reader the network gave no name for (translated): «Читатель VK 990011»."""
        return gettext("Reader %(network)s %(id)s") % {"network": network_label, "id": person_id}

    @classmethod
    def credentials_due(cls, credentials: dict[str, Any], margin: float) -> bool:
        """Whether the page's token expires within ``margin`` seconds and can be refreshed
        (:meth:`refresh_credentials` on an instance then does it)."""
        return False

    # --- how the network names things (the report's prose) ------------------------------------------------------
    # Word codes, not words: the report's Russian text (``reports/prose.py``) holds the word forms of each code.

    @classmethod
    def audience_noun(cls, kind: str) -> str:
        """What the network calls the audience of a page of this ``kind`` (``Channel.Kind``): ``"friends"``
        (a profile's friends), ``"members"`` (a group's members) or ``"subscribers"`` (a channel's)."""
        return {"profile": "friends", "channel": "subscribers"}.get(kind, "members")

    @classmethod
    def post_noun(cls) -> str:
        """What the network calls one publication on a page: ``"posts"`` (a wall's posts), ``"notes"`` or
        ``"publications"``."""
        return "posts"

    def refresh_credentials(self) -> dict[str, Any]:
        raise NotImplementedError(f"{self.network} tokens are not refreshed")

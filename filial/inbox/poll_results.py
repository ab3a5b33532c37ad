"""Poll results for reading (the post's results page, its card, the exports), scoped to the user.

Summing: answers are matched by position (the poll was composed once); the voters of every counted page are
summed, and each answer's share is its summed votes over the summed voters (what the networks show: with several
answers allowed the shares add up to more than 100 %). A page whose count failed and that has no earlier count is
shown as failed and left out of the sum, never as zero; a page with an older count is summed with that count and
marked as stale. A fixed number of queries whatever the number of pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from filial.inbox.models import PollCount, PollTally
from filial.networks import registry
from filial.publishing.models import Delivery, Poll, Post
from filial.publishing.selectors import posts_visible


class Status:
    COUNTED = "counted"  # counts from the last try
    STALE = "stale"  # the last try failed; older counts shown
    FAILED = "failed"  # no count yet, the last try failed
    WAITING = "waiting"  # not counted yet
    TELEGRAM_WAITS = "telegram_waits"  # Telegram gives a running poll's counts only at its end (or in updates)
    NO_POLLS = "no_polls"  # the network has no native polls (MAX)
    NOT_PUBLISHED = "not_published"  # the delivery is not (yet) on the page


@dataclass
class PageResult:
    """One page's (one delivery's) count."""

    delivery: Delivery
    tally: PollTally | None
    status: str
    votes: list[int | None]  # per answer position; None where the page has no count
    total_voters: int | None
    counted_at: datetime | None
    closed: bool
    closed_by: str
    error: str
    mismatched: bool = False  # the network's answers differ from the composed ones (e.g. edited there)

    @property
    def channel(self) -> Any:
        return self.delivery.channel

    @property
    def network(self) -> str:
        return str(self.delivery.channel.network)

    @property
    def in_sum(self) -> bool:
        return self.status in (Status.COUNTED, Status.STALE)


@dataclass
class AnswerResult:
    position: int
    text: str
    votes: int  # summed over the counted pages
    share: float | None  # 0..1 of the summed voters; None with no voters
    per_page: list[int | None] = field(default_factory=list)  # in the order of ``PollReport.pages``

    @property
    def percent(self) -> float | None:
        return None if self.share is None else round(self.share * 100, 1)


@dataclass
class PollReport:
    post: Post
    poll: Poll
    answers: list[AnswerResult]
    pages: list[PageResult]
    total_voters: int  # summed over the counted pages
    tz_name: str
    now: datetime

    @property
    def counted_pages(self) -> list[PageResult]:
        return [p for p in self.pages if p.in_sum]

    @property
    def failed_pages(self) -> list[PageResult]:
        return [p for p in self.pages if p.status in (Status.FAILED, Status.STALE)]

    @property
    def last_counted_at(self) -> datetime | None:
        times = [p.counted_at for p in self.pages if p.counted_at is not None]
        return max(times) if times else None

    @property
    def ended(self) -> bool:
        return self.poll.ends_at is not None and self.poll.ends_at <= self.now

    @property
    def all_closed(self) -> bool:
        counted = [p for p in self.pages if p.tally is not None]
        return bool(counted) and all(p.closed for p in counted)


def _status(delivery: Delivery, tally: PollTally | None, native: bool) -> str:
    if not native:
        return Status.NO_POLLS
    if delivery.state != Delivery.State.PUBLISHED:
        return Status.NOT_PUBLISHED
    if tally is None or tally.counted_at is None:
        if tally is not None and tally.error:
            return Status.FAILED
        at_end = registry.connector_class(delivery.channel.network).poll_counts_at_end_only
        return Status.TELEGRAM_WAITS if at_end else Status.WAITING
    return Status.STALE if tally.error else Status.COUNTED


def poll_report(user: Any, post_id: int, now: datetime | None = None) -> PollReport | None:
    """The post's poll results as ``user`` may see them; None if the post is not visible or has no poll."""
    post = posts_visible(user).select_related("unit__system").filter(pk=post_id).first()
    if post is None:
        return None
    poll = Poll.objects.filter(post_id=post.pk).prefetch_related("answers").first()
    if poll is None:
        return None
    answers = list(poll.answers.all())
    deliveries = list(
        Delivery.objects.filter(post_id=post.pk).exclude(state=Delivery.State.CANCELLED)
        .select_related("channel", "poll_tally")
        .prefetch_related(Prefetch("poll_tally__counts", queryset=PollCount.objects.order_by("position")))
        .order_by("channel__name", "pk"))
    deliveries.sort(key=lambda d: registry.position(d.channel.network))  # the networks' order; stable: names within
    natives: dict[str, bool] = {}
    pages: list[PageResult] = []
    for delivery in deliveries:
        network = delivery.channel.network
        if network not in natives:
            natives[network] = bool(registry.connector_class(network).capabilities.polls)
        tally: PollTally | None = getattr(delivery, "poll_tally", None)
        status = _status(delivery, tally, natives[network])
        votes: list[int | None] = [None] * len(answers)
        mismatched = False
        if tally is not None and tally.counted_at is not None:
            counts = {c.position: c for c in tally.counts.all()}
            for i, answer in enumerate(answers):
                count = counts.get(i)
                votes[i] = count.votes if count is not None else 0
                if count is None or count.text.strip() != answer.text.strip():
                    mismatched = True
            mismatched = mismatched or len(counts) != len(answers)
        pages.append(PageResult(
            delivery=delivery, tally=tally, status=status, votes=votes,
            total_voters=tally.total_voters if tally is not None and tally.counted_at is not None else None,
            counted_at=tally.counted_at if tally is not None else None, closed=bool(tally and tally.closed),
            closed_by=tally.closed_by if tally is not None else "", error=tally.error if tally is not None else "",
            mismatched=mismatched))
    summed = [p for p in pages if p.in_sum]
    total_voters = sum(p.total_voters or 0 for p in summed)
    results: list[AnswerResult] = []
    for i, answer in enumerate(answers):
        votes_sum = sum(p.votes[i] or 0 for p in summed)
        results.append(AnswerResult(position=i, text=answer.text, votes=votes_sum,
                                    share=(votes_sum / total_voters) if total_voters else None,
                                    per_page=[p.votes[i] for p in pages]))
    return PollReport(post=post, poll=poll, answers=results, pages=pages, total_voters=total_voters,
                      tz_name=post.unit.tz_name, now=now or timezone.now())

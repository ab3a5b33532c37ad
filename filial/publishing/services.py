"""Writes for posts: compose, edit, submit, approve, return, cancel. Views, API and CLI call these."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel
from filial.libraries.models import Unit
from filial.networks import registry
from filial.networks.registry import connector_class
from filial.outbox.jobs import fresh_start, human_attempt
from filial.outbox.models import Attempt
from filial.publishing.jobs import DELIVERY, complete_post, deliveries_on_commit, post_on_commit
from filial.publishing.marking import approval_errors, marking_errors
from filial.publishing.models import (
    Delivery,
    Event,
    Media,
    Poll,
    PollAnswer,
    Post,
    PostChannel,
    PostMedia,
)

MAX_PHOTOS = 10
POLL_MIN_ANSWERS = 2
POLL_MAX_ANSWERS = 10


@dataclass
class PollData:
    question: str
    answers: list[str]
    multiple: bool = False
    anonymous: bool = True
    ends_at: datetime | None = None


@dataclass
class PostData:
    """Everything a composer (form or API) says about a post."""

    unit: Unit
    kind: str
    text: str
    channels: Sequence[Channel]
    title: str = ""
    link: str = ""
    event: Event | None = None
    publish_at: datetime | None = None
    media: Sequence[Media] = ()
    poll: PollData | None = None
    text_overrides: dict[int, str] = field(default_factory=dict)
    advertises: bool = False  # the advertising marking (publishing/marking.py)
    erid: str = ""
    not_ad_reason: str = ""


EDITABLE_STATES = {Post.State.DRAFT, Post.State.RETURNED, Post.State.PENDING, Post.State.SCHEDULED}


def _validate(actor: Any, data: PostData) -> None:
    access = access_for(actor)
    errors: dict[str, list[str]] = {}
    if not access.can_write(data.unit.pk):
        raise PermissionDenied(_("You cannot write posts for this unit."))
    if data.kind not in Post.Kind.values:
        errors.setdefault("kind", []).append(_("Unknown kind of post."))
    if not data.text.strip():
        errors.setdefault("text", []).append(_("The text is empty."))
    foreign = [c for c in data.channels if not access.can_write(c.unit_id)]
    if foreign:
        errors.setdefault("channels", []).append(
            _("You cannot publish to: %(pages)s.") % {"pages": ", ".join(c.name for c in foreign)}
        )
    if any(c.unit.system_id != data.unit.system_id for c in data.channels):
        errors.setdefault("channels", []).append(_("A page belongs to another library system."))
    if len(data.media) > MAX_PHOTOS:
        errors.setdefault("media", []).append(
            _("At most %(n)d photos can go with one post.") % {"n": MAX_PHOTOS}
        )
    if any(not access.can_write(m.unit_id) for m in data.media):
        errors.setdefault("media", []).append(_("A photo belongs to a unit you cannot write for."))
    if data.event is not None and data.event.unit.system_id != data.unit.system_id:
        errors.setdefault("event", []).append(_("The event belongs to another library system."))
    if data.publish_at is not None and data.publish_at <= timezone.now():
        errors.setdefault("publish_at", []).append(_("The publication time is in the past."))
    if data.kind == Post.Kind.POLL and data.poll is None:
        errors.setdefault("poll", []).append(_("A poll post needs a question and answers."))
    if data.poll is not None:
        _validate_poll(data.poll, errors)
        refusing = _pages_without_polls(data.channels)
        if refusing:
            errors.setdefault("channels", []).append(refusing)
    unknown = set(data.text_overrides) - {c.pk for c in data.channels}
    if unknown:
        errors.setdefault("channels", []).append(_("A text variant is given for a page that is not chosen."))
    for name, messages in marking_errors(data.advertises, data.erid.strip(), data.not_ad_reason.strip()).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _validate_poll(poll: PollData, errors: dict[str, list[str]]) -> None:
    if not poll.question.strip():
        errors.setdefault("poll", []).append(_("The poll has no question."))
    answers = [a.strip() for a in poll.answers]
    if any(not a for a in answers):
        errors.setdefault("poll", []).append(_("A poll answer is empty."))
    if not POLL_MIN_ANSWERS <= len(answers) <= POLL_MAX_ANSWERS:
        errors.setdefault("poll", []).append(
            _("A poll needs from %(min)d to %(max)d answers.") % {"min": POLL_MIN_ANSWERS, "max": POLL_MAX_ANSWERS}
        )
    if len({a.casefold() for a in answers}) != len(answers):
        errors.setdefault("poll", []).append(_("Poll answers repeat."))
    if any(len(a) > 100 for a in answers):
        errors.setdefault("poll", []).append(_("A poll answer is longer than 100 characters."))
    if poll.ends_at is not None and poll.ends_at <= timezone.now():
        errors.setdefault("poll", []).append(_("The poll's end time is in the past."))


def _write_relations(post: Post, data: PostData) -> None:
    PostChannel.objects.filter(post=post).exclude(channel__in=[c.pk for c in data.channels]).delete()
    existing = {pc.channel_id: pc for pc in PostChannel.objects.filter(post=post)}
    for channel in data.channels:
        override = data.text_overrides.get(channel.pk, "").strip()
        pc = existing.get(channel.pk)
        if pc is None:
            PostChannel.objects.create(post=post, channel=channel, text_override=override)
        elif pc.text_override != override:
            pc.text_override = override
            pc.save(update_fields=["text_override"])
    PostMedia.objects.filter(post=post).delete()
    PostMedia.objects.bulk_create(
        [PostMedia(post=post, media=m, position=i) for i, m in enumerate(data.media)]
    )
    Poll.objects.filter(post=post).delete()
    if data.poll is not None:
        poll = Poll.objects.create(
            post=post, question=data.poll.question.strip(), multiple=data.poll.multiple,
            anonymous=data.poll.anonymous, ends_at=data.poll.ends_at,
        )
        PollAnswer.objects.bulk_create(
            [PollAnswer(poll=poll, text=a.strip(), position=i) for i, a in enumerate(data.poll.answers)]
        )


def _snapshot(post: Post) -> dict[str, Any]:
    return {
        "kind": post.kind,
        "title": post.title,
        "text": post.text,
        "link": post.link,
        "event": post.event_id,
        "publish_at": post.publish_at.isoformat() if post.publish_at else None,
        "channels": sorted(post.targets.values_list("channel_id", flat=True)),
        "state": post.state,
        "advertises": post.advertises,
        "erid": post.erid,
        "not_ad_reason": post.not_ad_reason,
    }


@transaction.atomic
def post_create(*, actor: Any, data: PostData) -> Post:
    _validate(actor, data)
    post = Post.objects.create(
        unit=data.unit, author=actor, kind=data.kind, title=data.title.strip(), text=data.text.strip(),
        link=data.link, event=data.event, publish_at=data.publish_at, advertises=data.advertises,
        erid=data.erid.strip(), not_ad_reason=data.not_ad_reason.strip(),
    )
    _write_relations(post, data)
    audit_record(actor, "post.create", post, _snapshot(post), system_id=data.unit.system_id)
    return post


def may_publish_directly(actor: Any, post: Post) -> bool:
    """Whether ``actor`` may put ``post`` on its pages without approval (``Access.may_publish_directly``)."""
    return access_for(actor).may_publish_directly(
        post.unit, post.targets.values_list("channel__unit_id", flat=True))


@transaction.atomic
def post_update(*, actor: Any, post: Post, data: PostData) -> Post:
    post = Post.objects.select_for_update().get(pk=post.pk)
    access = access_for(actor)
    if not access.can_write(post.unit_id):
        raise PermissionDenied(_("You cannot edit posts of this unit."))
    if post.state not in EDITABLE_STATES:
        raise ValidationError(_("A post that is %(state)s cannot be edited here.")
                              % {"state": post.get_state_display().lower()})
    _validate(actor, data)
    before = _snapshot(post)
    post.unit, post.kind, post.title, post.text = data.unit, data.kind, data.title.strip(), data.text.strip()
    post.link, post.event, post.publish_at = data.link, data.event, data.publish_at
    post.advertises, post.erid, post.not_ad_reason = data.advertises, data.erid.strip(), data.not_ad_reason.strip()
    post.save(update_fields=["unit", "kind", "title", "text", "link", "event", "publish_at", "advertises", "erid",
                             "not_ad_reason", "updated_at"])
    _write_relations(post, data)
    if post.state == Post.State.SCHEDULED and (marking := approval_errors(post)):
        raise ValidationError(marking)  # a scheduled post does not lose its marking (the transaction rolls back)
    if post.state == Post.State.SCHEDULED:
        if may_publish_directly(actor, post) and post.publish_at:
            _sync_deliveries(post)
        else:
            # A change by someone who may not publish sends the post back through approval.
            _cancel_deliveries(post)
            post.state = Post.State.PENDING
            post.save(update_fields=["state", "updated_at"])
    after = _snapshot(post)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    audit_record(actor, "post.update", post, changes, system_id=post.unit.system_id)
    return post


def post_replace_content(*, actor: Any, post: Post, data: PostData) -> Post:
    """Change what a published post says (kind, title, text, link, event, photos, poll, the pages' own texts),
    checked as any post's content; its pages, unit and time stay what they were. The caller holds the post's row
    lock and has checked the right to change a published post (``edits.post_update_published``)."""
    current = list(Channel.objects.filter(pk__in=post.targets.values("channel_id")).select_related("unit"))
    data = dataclasses.replace(data, unit=post.unit, channels=current, publish_at=None,
                               text_overrides={k: v for k, v in data.text_overrides.items()
                                               if k in {c.pk for c in current}})
    _validate(actor, data)
    post.kind, post.title, post.text = data.kind, data.title.strip(), data.text.strip()
    post.link, post.event = data.link, data.event
    post.advertises, post.erid, post.not_ad_reason = data.advertises, data.erid.strip(), data.not_ad_reason.strip()
    if marking := approval_errors(post):
        raise ValidationError(marking)  # a published advertisement keeps its marking in every edit
    post.save(update_fields=["kind", "title", "text", "link", "event", "advertises", "erid", "not_ad_reason",
                             "updated_at"])
    _write_relations(post, data)
    return post


def _pages_without_polls(channels: Sequence[Channel]) -> str:
    """A person's sentence naming the chosen pages whose network cannot take a poll ("" when all can): such a
    post would certainly fail there, so it is an error at compose, submission and approval, not a warning."""
    refusing = [c for c in channels if not connector_class(c.network).capabilities.polls]
    if not refusing:
        return ""
    return _("These pages cannot publish a poll (their network has no polls): %(pages)s. Remove the poll or these "
             "pages from the post.") % {"pages": ", ".join(f"{c.name} ({registry.label(c.network)})"
                                                        for c in refusing)}


def _check_ready(post: Post, *, scheduling: bool = True) -> None:
    """What a post needs to be submitted; ``scheduling``: it goes on the pages now (approved, or published
    without approval), so an advertisement must carry its marking (``marking.approval_errors``)."""
    errors: dict[str, list[str]] = {}
    if post.publish_at is None:
        errors["publish_at"] = [_("Choose when to publish.")]
    elif post.publish_at <= timezone.now():
        errors["publish_at"] = [_("The publication time is in the past.")]
    if not post.targets.exists():
        errors["channels"] = [_("Choose at least one page.")]
    elif Poll.objects.filter(post=post).exists():
        refusing = _pages_without_polls([t.channel for t in post.targets.select_related("channel")])
        if refusing:
            errors["channels"] = [refusing]
    if scheduling:
        errors.update(approval_errors(post))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def post_submit(*, actor: Any, post: Post) -> Post:
    """Send for approval, or schedule at once where the actor may publish without approval."""
    post = Post.objects.select_for_update().select_related("unit").get(pk=post.pk)
    if not access_for(actor).can_write(post.unit_id):
        raise PermissionDenied(_("You cannot submit posts of this unit."))
    if post.state not in {Post.State.DRAFT, Post.State.RETURNED}:
        raise ValidationError(_("Only a draft or a returned post can be submitted."))
    directly = may_publish_directly(actor, post)
    _check_ready(post, scheduling=directly)
    if directly:
        return _schedule(actor, post, action="post.submit_publish")
    post.state = Post.State.PENDING
    post.save(update_fields=["state", "updated_at"])
    audit_record(actor, "post.submit", post, {"state": post.state}, system_id=post.unit.system_id)
    return post


def _require_approver(actor: Any, post: Post) -> None:
    access = access_for(actor)
    units = {post.unit_id, *post.targets.values_list("channel__unit_id", flat=True)}
    if not all(access.can_approve(u) for u in units):
        raise PermissionDenied(_("You cannot approve posts for these pages."))


@transaction.atomic
def post_approve(*, actor: Any, post: Post, comment: str = "") -> Post:
    post = Post.objects.select_for_update().select_related("unit").get(pk=post.pk)
    _require_approver(actor, post)
    if post.state != Post.State.PENDING:
        raise ValidationError(_("Only a post awaiting approval can be approved."))
    _check_ready(post)
    post.review_comment = comment.strip()
    return _schedule(actor, post, action="post.approve")


@transaction.atomic
def post_return(*, actor: Any, post: Post, comment: str) -> Post:
    post = Post.objects.select_for_update().select_related("unit").get(pk=post.pk)
    _require_approver(actor, post)
    if post.state != Post.State.PENDING:
        raise ValidationError(_("Only a post awaiting approval can be returned."))
    if not comment.strip():
        raise ValidationError({"comment": [_("Say what should be changed.")]})
    post.state = Post.State.RETURNED
    post.review_comment = comment.strip()
    post.reviewed_by = actor
    post.reviewed_at = timezone.now()
    post.save(update_fields=["state", "review_comment", "reviewed_by", "reviewed_at", "updated_at"])
    audit_record(actor, "post.return", post, {"comment": post.review_comment}, system_id=post.unit.system_id)
    return post


@transaction.atomic
def post_cancel(*, actor: Any, post: Post) -> Post:
    post = Post.objects.select_for_update().select_related("unit").get(pk=post.pk)
    if not access_for(actor).can_write(post.unit_id):
        raise PermissionDenied(_("You cannot cancel posts of this unit."))
    if post.state in {Post.State.PUBLISHED, Post.State.CANCELLED}:
        raise ValidationError(_("This post can no longer be cancelled."))
    _cancel_deliveries(post)
    post.state = Post.State.CANCELLED
    post.save(update_fields=["state", "updated_at"])
    audit_record(actor, "post.cancel", post, {}, system_id=post.unit.system_id)
    return post


@transaction.atomic
def post_delete(*, actor: Any, post: Post) -> None:
    if not access_for(actor).can_write(post.unit_id):
        raise PermissionDenied(_("You cannot delete posts of this unit."))
    if post.deliveries.exclude(state__in=[Delivery.State.SCHEDULED, Delivery.State.CANCELLED]).exists():
        raise ValidationError(_("This post has already gone out to a page; cancel it instead."))
    audit_record(actor, "post.delete", post, _snapshot(post), system_id=post.unit.system_id)
    post.delete()


def _schedule(actor: Any, post: Post, *, action: str) -> Post:
    post.state = Post.State.SCHEDULED
    post.reviewed_by = actor
    post.reviewed_at = timezone.now()
    post.save(update_fields=["state", "review_comment", "reviewed_by", "reviewed_at", "updated_at"])
    _sync_deliveries(post)
    audit_record(actor, action, post, {"state": post.state, "publish_at": post.publish_at.isoformat()
                                       if post.publish_at else None}, system_id=post.unit.system_id)
    return post


def _sync_deliveries(post: Post) -> None:
    """One live ``Delivery`` per chosen page, due at the post's time; unchosen pages' are cancelled."""
    assert post.publish_at is not None
    wanted = set(post.targets.values_list("channel_id", flat=True))
    live = {d.channel_id: d for d in post.deliveries.exclude(state=Delivery.State.CANCELLED)}
    for channel_id, delivery in live.items():
        if channel_id not in wanted and delivery.state == Delivery.State.SCHEDULED:
            delivery.state = Delivery.State.CANCELLED
            delivery.save(update_fields=["state", "updated_at"])
        elif delivery.state == Delivery.State.SCHEDULED and delivery.due_at != post.publish_at:
            delivery.due_at = post.publish_at
            delivery.save(update_fields=["due_at", "updated_at"])
    Delivery.objects.bulk_create(
        [Delivery(post=post, channel_id=c, due_at=post.publish_at) for c in sorted(wanted - set(live))]
    )
    post_on_commit(post)  # those due within the sweep horizon go to the queue with their time


def _cancel_deliveries(post: Post) -> None:
    post.deliveries.filter(state=Delivery.State.SCHEDULED).update(
        state=Delivery.State.CANCELLED, updated_at=timezone.now()
    )


# --- deliveries: what a person decides (the engine does the rest) -------------------------------------------
def _delivery_for_change(actor: Any, delivery: Delivery) -> Delivery:
    row = Delivery.objects.select_for_update().select_related("post__unit", "channel").get(pk=delivery.pk)
    if not access_for(actor).can_write(row.post.unit_id):
        raise PermissionDenied(_("You cannot change the deliveries of this post."))
    return row


def _reopen(actor: Any, row: Delivery, outcome: str, action: str, **fields: Any) -> Delivery:
    """Back to ``scheduled`` for the engine, due now (its original time has passed)."""
    if row.post.state == Post.State.CANCELLED:
        raise ValidationError(_("The post is cancelled."))
    before = row.state
    Delivery.objects.filter(pk=row.pk).update(**fresh_start(timezone.now()), **fields)
    human_attempt(DELIVERY, row.pk, actor, outcome)
    audit_record(actor, action, row, {"post": row.post_id, "channel": row.channel_id, "state": [before, "scheduled"],
                                      **{k: v for k, v in fields.items() if isinstance(v, int | str)}},
                 system_id=row.post.unit.system_id)
    deliveries_on_commit([row.pk])
    row.refresh_from_db()
    return row


@transaction.atomic
def delivery_retry(*, actor: Any, delivery: Delivery) -> Delivery:
    """Try a failed delivery again (its retry count starts over)."""
    row = _delivery_for_change(actor, delivery)
    if row.state != Delivery.State.FAILED:
        raise ValidationError(_("Only a failed delivery can be retried."))
    return _reopen(actor, row, Attempt.Outcome.RETRY, "delivery.retry")


@transaction.atomic
def delivery_resend(*, actor: Any, delivery: Delivery) -> Delivery:
    """An uncertain delivery that a person found missing on the page: send it again, under a new key."""
    row = _delivery_for_change(actor, delivery)
    if row.state != Delivery.State.UNCERTAIN:
        raise ValidationError(_("Only a delivery whose outcome is unknown can be sent again."))
    return _reopen(actor, row, Attempt.Outcome.RESEND, "delivery.resend", generation=row.generation + 1)


@transaction.atomic
def delivery_confirm_uncertain(*, actor: Any, delivery: Delivery, url: str = "", external_id: str = "") -> Delivery:
    """A person saw the post on the page: it is published (optionally with its link and the network's id)."""
    row = _delivery_for_change(actor, delivery)
    if row.state != Delivery.State.UNCERTAIN:
        raise ValidationError(_("Only a delivery whose outcome is unknown can be confirmed."))
    url, external_id = url.strip(), external_id.strip()
    if url:
        from django.core.validators import URLValidator

        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ValidationError({"url": [_("Enter the post's address (http or https).")]}) from None
    if len(external_id) > 100:
        raise ValidationError({"external_id": [_("The post's id is longer than 100 characters.")]})
    now = timezone.now()
    Delivery.objects.filter(pk=row.pk).update(
        state=Delivery.State.PUBLISHED, url=url[:500] or row.url, external_id=external_id or row.external_id,
        published_at=now, lease_owner="", lease_until=None, sent_at=None, last_error="", last_error_code="",
        updated_at=now)
    human_attempt(DELIVERY, row.pk, actor, Attempt.Outcome.CONFIRMED, external_id=external_id,
                         url=url)
    audit_record(actor, "delivery.confirm", row, {"post": row.post_id, "channel": row.channel_id, "url": url,
                                                  "external_id": external_id}, system_id=row.post.unit.system_id)
    complete_post(row.post_id)
    row.refresh_from_db()
    return row

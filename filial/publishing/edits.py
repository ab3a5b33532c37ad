"""Editing a post that is already on its pages: the change goes to every network that can take it.

A change of a published post (text, a page's own text, link, photos, poll) saves the post and creates one
``DeliveryEdit`` per published delivery whose network can edit. Each is a row of the outbox (the kind
``publishing.jobs.EDIT``): the page's lane applies it with the connector's ``edit(external_id, payload)``, at the
networks' rate limits, with the outbox's lease and retry policy (``filial/outbox/lanes.py``), and records every try
as an ``Attempt`` (kind ``edit``) of that delivery. Scheduled deliveries simply publish the new content;
cancelled, failed and uncertain ones are left alone.

What each network can change is said before and after saving (:func:`edit_plan`): a network without editing,
a Telegram poll (cannot be edited), photos added to a Telegram text message or changed on a Telegram post (only
the text or caption is edited), VK photos replaced by as many others (VK keeps them) and a VK poll (kept).

Errors, as for every row of the outbox: needs re-authorisation → the page is paused and the edit waits for it;
"retry after" → waits that long (bounded); other temporary errors, and an answer that never came (an edit is safe
to repeat) → bounded retries with backoff; permanent → the edit failed (shown on the post's page).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel
from filial.networks import registry
from filial.networks.base import NotEditable, Photo, PollSpec, PostPayload
from filial.outbox.models import Attempt
from filial.publishing import services
from filial.publishing.jobs import edits_on_commit
from filial.publishing.models import Delivery, DeliveryEdit, Poll, Post, PostChannel, PostMedia

log = logging.getLogger("filial.engine")

# A post with deliveries on its pages can still be edited: its content goes to the networks.
EDITABLE_STATES = {*services.EDITABLE_STATES, Post.State.PUBLISHED}
CONTENT_KEYS = ("text", "variants", "link", "photos", "poll")


def content_of(post: Post) -> dict[str, Any]:
    """What the networks show of a post (the keys of ``CONTENT_KEYS``)."""
    poll = Poll.objects.filter(post_id=post.pk).prefetch_related("answers").first()
    return {
        # the text as the pages show it: with its advertising marking (publishing/marking.py), so a new ERID is an edit
        "text": [post.text, post.erid] if post.ad_marked else post.text,
        "variants": dict(sorted(PostChannel.objects.filter(post_id=post.pk).exclude(text_override="")
                                .values_list("channel_id", "text_override"))),
        "link": post.link,
        "photos": list(PostMedia.objects.filter(post_id=post.pk).order_by("position").values_list("media_id",
                                                                                                   flat=True)),
        "poll": None if poll is None else [poll.question, [a.text for a in poll.answers.all()], poll.multiple,
                                           poll.anonymous],
    }


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in CONTENT_KEYS if before.get(k) != after.get(k)]


# --- what can be edited where --------------------------------------------------------------------------------
@dataclass
class PlanRow:
    """One published delivery: whether the change goes to its page, and what the network leaves as it was."""

    delivery: Delivery
    editable: bool
    problems: list[str] = field(default_factory=list)  # why the page cannot be edited at all
    notes: list[str] = field(default_factory=list)  # what stays as it was on that page
    waiting: bool = False  # the page needs re-authorisation: the edit waits for it


@dataclass
class _PostShape:
    """What every page of one post gets, read once for the plan: texts per page, photo count, poll."""

    text: str
    overrides: dict[int, str]
    photos: int
    poll: Any
    link: str
    published: dict[int, dict[str, Any]]  # delivery id → the publication's attempt summary

    @classmethod
    def of(cls, post: Post, delivery_ids: list[int]) -> _PostShape:
        poll = Poll.objects.filter(post_id=post.pk).prefetch_related("answers").first()
        published: dict[int, dict[str, Any]] = {}
        for delivery_id, request in (Attempt.objects.filter(
                delivery_id__in=delivery_ids, outcome__in=[Attempt.Outcome.PUBLISHED, Attempt.Outcome.FOUND])
                .order_by("id").values_list("delivery_id", "request")):
            if isinstance(request, dict) and delivery_id is not None:
                published[delivery_id] = request  # the latest wins
        return cls(
            text=post.text,
            overrides=dict(PostChannel.objects.filter(post_id=post.pk).exclude(text_override="")
                           .values_list("channel_id", "text_override")),
            photos=PostMedia.objects.filter(post_id=post.pk).count(),
            poll=None if poll is None else PollSpec(poll.question, [a.text for a in poll.answers.all()],
                                                    poll.multiple, poll.anonymous),
            link=post.link, published=published)

    def payload(self, delivery: Delivery) -> PostPayload:
        """The post as this page would get it now, without reading the photo files (their count is what counts)."""
        text = self.overrides.get(delivery.channel_id, "").strip() or self.text
        return PostPayload(text=text, key=delivery.key, photos=[Photo(b"", "photo.jpg")] * self.photos,
                           link=self.link, poll=self.poll)


def _plan_row(delivery: Delivery, changes: Iterable[str] | None, post_shape: _PostShape) -> PlanRow:
    channel = delivery.channel
    wanted = set(CONTENT_KEYS if changes is None else changes)
    row = PlanRow(delivery=delivery, editable=True, waiting=channel.status == Channel.Status.NEEDS_REAUTH)
    cls = registry.connector_class(channel.network)
    if not cls.capabilities.edit:
        row.editable = False
        row.problems.append(_("this network cannot edit published posts"))
        return row
    if not delivery.external_id:
        row.editable = False
        row.problems.append(_("the network's id of the post is unknown"))
        return row
    payload = post_shape.payload(delivery)
    shape = post_shape.published.get(delivery.pk, {})
    had_photos = int(shape.get("photos") or 0)
    had_poll = bool(shape.get("poll"))
    try:  # what this network cannot change in a published post (the connector's rules)
        network_problems, notes = cls.edit_notes(delivery.external_id, payload, had_photos=had_photos,
                                                 had_poll=had_poll, wanted=wanted)
    except NotEditable as exc:
        row.editable = False
        row.problems.append(str(exc))
        return row
    if network_problems:
        row.editable = False
        row.problems.extend(network_problems)
    row.notes.extend(notes)
    problems = _check(channel, payload)
    if problems:
        row.editable = False
        row.problems.extend(problems)
    return row


def _check(channel: Channel, payload: PostPayload) -> list[str]:
    cls = registry.connector_class(channel.network)
    try:
        connector = cls(external_id=channel.external_id, credentials={}, base_url="http://invalid")
    except Exception:  # a connector that needs more to be built: the worker's own check will tell
        return []
    # The photo files are not read here (the connectors check their bytes): their number is checked instead.
    problems: list[str] = []
    if len(payload.photos) > cls.capabilities.max_photos:
        problems.append(_("%(n)d photos, at most %(max)d on this network")
                        % {"n": len(payload.photos), "max": cls.capabilities.max_photos})
    try:
        problems += [str(p) for p in connector.check(dataclasses.replace(payload, photos=[]))
                     if not (payload.photos and "empty" in str(p))]
    except Exception:  # the worker's own check (``require_ok``) will tell
        log.debug("the %s connector's check failed on a plan", channel.network, exc_info=True)
    return problems


def edit_plan(post: Post, changes: Iterable[str] | None = None) -> list[PlanRow]:
    """For every published delivery of ``post``: can the page be edited, and what stays as it was there.
    ``changes`` (keys of ``CONTENT_KEYS``) narrows the notes to what changed; None lists every limitation."""
    deliveries = (Delivery.objects.filter(post_id=post.pk, state=Delivery.State.PUBLISHED)
                  .select_related("channel", "post").order_by("channel__name", "id"))
    keys = list(changes) if changes is not None else None
    rows = list(deliveries)
    if not rows:
        return []
    post_shape = _PostShape.of(post, [d.pk for d in rows])
    return [_plan_row(d, keys, post_shape) for d in rows]


def may_edit(actor: Any, post: Post) -> bool:
    """Whether ``actor`` may change ``post`` now: a writer of its unit, and for a post that is already on a page,
    someone who may publish without approval (readers see the change at once)."""
    if post.state not in EDITABLE_STATES or not access_for(actor).can_write(post.unit_id):
        return False
    if post.state == Post.State.PUBLISHED or post.deliveries.filter(state=Delivery.State.PUBLISHED).exists():
        return services.may_publish_directly(actor, post)
    return True


# --- saving a change -----------------------------------------------------------------------------------------
@dataclass
class EditResult:
    post: Post
    plan: list[PlanRow] = field(default_factory=list)  # empty when nothing on the networks changes
    changes: list[str] = field(default_factory=list)

    @property
    def edited(self) -> list[PlanRow]:
        return [r for r in self.plan if r.editable]

    @property
    def not_edited(self) -> list[PlanRow]:
        return [r for r in self.plan if not r.editable]


@transaction.atomic
def post_update_published(*, actor: Any, post: Post, data: services.PostData) -> EditResult:
    """Save a change of a post; where it is already on pages, edit it there (through the worker).

    A post that is on no page yet goes through ``services.post_update`` unchanged. On a fully published post only
    the content changes (pages, unit and time are what they were). Changing what readers already see needs the
    right to publish without approval.
    """
    post = Post.objects.select_for_update().select_related("unit").get(pk=post.pk)
    access = access_for(actor)
    if not access.can_write(post.unit_id):
        raise PermissionDenied(_("You cannot edit posts of this unit."))
    if post.state not in EDITABLE_STATES:
        raise ValidationError(_("A post that is %(state)s cannot be edited here.")
                              % {"state": post.get_state_display().lower()})
    if not post.deliveries.filter(state=Delivery.State.PUBLISHED).exists():
        return EditResult(post=services.post_update(actor=actor, post=post, data=data))
    if not services.may_publish_directly(actor, post):
        raise PermissionDenied(_("Only someone who may publish without approval can change a post that is "
                                 "already on its pages."))
    before = content_of(post)
    if post.state == Post.State.PUBLISHED:
        post = services.post_replace_content(actor=actor, post=post, data=data)
    else:
        post = services.post_update(actor=actor, post=post, data=data)
    changes = changed_keys(before, content_of(post))
    if not changes:
        return EditResult(post=post)
    plan = request_edits(actor=actor, post=post, changes=changes)
    audit_record(actor, "post.edit_published", post, {
        "changes": changes,
        "edited": [r.delivery.channel_id for r in plan if r.editable],
        "not_edited": {str(r.delivery.channel_id): r.problems for r in plan if not r.editable},
    }, system_id=post.unit.system_id)
    return EditResult(post=post, plan=plan, changes=changes)


def request_edits(*, actor: Any, post: Post, changes: list[str]) -> list[PlanRow]:
    """One waiting ``DeliveryEdit`` per editable published delivery (a waiting older one is replaced); the outbox
    sends them (``publishing.jobs.EDIT``), queued once the transaction commits."""
    plan = edit_plan(post, changes)
    created: list[int] = []
    now = timezone.now()
    for row in plan:
        if not row.editable:
            continue
        DeliveryEdit.objects.filter(delivery_id=row.delivery.pk, state=DeliveryEdit.State.PENDING).update(
            state=DeliveryEdit.State.SUPERSEDED, finished_at=now)
        edit = DeliveryEdit.objects.create(
            delivery_id=row.delivery.pk, channel_id=row.delivery.channel_id, changes=changes, requested_at=now,
            due_at=now, requested_by=actor if getattr(actor, "is_authenticated", False) else None)
        created.append(edit.pk)
    edits_on_commit(created)
    return plan

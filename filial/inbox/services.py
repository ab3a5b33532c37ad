"""Staff actions in the inbox: assign, change the state, write an internal note, reply (through the engine's
``message_send``), hide or delete a comment on the network, manage quick replies, deadlines and opening hours."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.models import User
from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.connections import connection
from filial.inbox.models import Conversation, InboxItem, InboxSettings, Note, OpeningHours, ReplyTemplate
from filial.inbox.pipeline import _Deadlines, item_as_dict
from filial.libraries.models import LibrarySystem, Unit
from filial.networks import registry
from filial.networks.base import NetworkError
from filial.publishing.messages import message_send
from filial.publishing.models import OutgoingMessage

log = logging.getLogger("filial.inbox")

State = Conversation.State
REPLY_PURPOSE = "inbox_reply"


def _writable(actor: Any, conversation: Conversation) -> Conversation:
    access = access_for(actor)
    private = conversation.kind == Conversation.Kind.DIALOGUE
    if not access.may_see_correspondence(conversation.unit_id, private):
        raise PermissionDenied(_("You cannot see this conversation."))
    if not access.can_write(conversation.unit_id):
        raise PermissionDenied(_("You cannot answer the conversations of this unit."))
    return conversation


def _audit(actor: Any, action: str, conversation: Conversation, changes: dict[str, Any]) -> None:
    audit_record(actor, action, conversation, changes, system_id=conversation.channel.unit.system_id)


@transaction.atomic
def conversation_assign(*, actor: Any, conversation: Conversation, assignee: User | None) -> Conversation:
    _writable(actor, conversation)
    if assignee is not None and not access_for(assignee).can_write(conversation.unit_id):
        raise ValidationError({"assignee": [_("This person cannot answer for the page's unit.")]})
    before = conversation.assignee_id
    conversation.assignee = assignee
    fields = ["assignee", "updated_at"]
    if assignee is not None and conversation.state == State.NEW:
        conversation.state = State.IN_PROGRESS
        fields.append("state")
    conversation.save(update_fields=fields)
    _audit(actor, "inbox.assign", conversation, {"assignee": [before, assignee.pk if assignee else None]})
    return conversation


@transaction.atomic
def conversation_set_state(*, actor: Any, conversation: Conversation, state: str) -> Conversation:
    _writable(actor, conversation)
    if state not in State.values:
        raise ValidationError({"state": [_("Unknown state.")]})
    before = conversation.state
    conversation.state = state
    fields = ["state", "updated_at"]
    if state in (State.ANSWERED, State.CLOSED):
        conversation.waiting_since = None
        conversation.due_at = None
        fields += ["waiting_since", "due_at"]
    elif before in (State.ANSWERED, State.CLOSED) and conversation.waiting_since is None:
        # Reopened by hand: the answer is due from now.
        now = timezone.now()
        conversation.waiting_since = now
        conversation.due_at = _Deadlines().due(conversation.channel, now, conversation.urgent)
        fields += ["waiting_since", "due_at"]
    conversation.save(update_fields=fields)
    _audit(actor, "inbox.state", conversation, {"state": [before, state]})
    return conversation


@transaction.atomic
def conversation_set_urgent(*, actor: Any, conversation: Conversation, urgent: bool) -> Conversation:
    """Staff mark a conversation urgent (or not): the deadline is counted again from when it started waiting."""
    _writable(actor, conversation)
    conversation.urgent = urgent
    fields = ["urgent", "updated_at"]
    if conversation.waiting_since is not None and conversation.is_open:
        conversation.due_at = _Deadlines().due(conversation.channel, conversation.waiting_since, urgent)
        fields.append("due_at")
    conversation.save(update_fields=fields)
    _audit(actor, "inbox.urgent", conversation, {"urgent": urgent})
    return conversation


@transaction.atomic
def note_add(*, actor: Any, conversation: Conversation, text: str) -> Note:
    _writable(actor, conversation)
    text = text.strip()
    if not text:
        raise ValidationError({"text": [_("The note is empty.")]})
    if len(text) > 4000:
        raise ValidationError({"text": [_("A note is at most 4000 characters.")]})
    return Note.objects.create(conversation=conversation, author=actor, text=text)


def reply_target(conversation: Conversation) -> InboxItem | None:
    """The reader's item a reply answers: the newest one (not removed) from a reader."""
    return (conversation.items.filter(direction=InboxItem.Direction.IN, removed_at__isnull=True)
            .order_by("-at", "-id").first())


@transaction.atomic
def conversation_reply(*, actor: Any, conversation: Conversation, text: str, to: InboxItem | None = None) -> InboxItem:
    """Queue a reply through the engine; the conversation is answered once the network accepted it."""
    _writable(actor, conversation)
    text = text.strip()
    if not text:
        raise ValidationError({"text": [_("The reply is empty.")]})
    target = to or reply_target(conversation)
    if target is None or target.conversation_id != conversation.pk:
        raise ValidationError(_("There is no reader's message to answer here."))
    channel = conversation.channel
    now = timezone.now()
    # One row per reply: its id makes the engine's idempotency key (VK guid / random_id) stable across retries.
    out = InboxItem.objects.create(
        conversation=conversation, channel=channel, direction=InboxItem.Direction.OUT, kind=target.kind,
        thread_id=target.thread_id, post_external_id=target.post_external_id, reply_to=target.external_id,
        author_user=actor if getattr(actor, "is_authenticated", False) else None,
        author_name=getattr(actor, "get_full_name", lambda: "")() or getattr(actor, "username", ""),
        text=text, at=now)
    recipient = target.author_id if target.kind == "comment" else (target.thread_id or target.author_id)
    message = message_send(channel=channel, recipient_id=recipient, text=text,
                           purpose=REPLY_PURPOSE, kind="reply", reply_to=item_as_dict(target),
                           dedupe_key=f"inbox-reply-{out.pk}", actor=actor)
    out.outgoing = message
    out.save(update_fields=["outgoing"])
    fields = ["items_count", "last_item_at", "last_text", "updated_at"]
    Conversation.objects.filter(pk=conversation.pk).update(items_count=F("items_count") + 1)
    conversation.refresh_from_db(fields=["items_count"])
    conversation.last_item_at, conversation.last_text = now, text[:300]
    if conversation.state == State.NEW:
        conversation.state = State.IN_PROGRESS
        fields.append("state")
    if conversation.assignee_id is None and getattr(actor, "is_authenticated", False):
        conversation.assignee = actor
        fields.append("assignee")
    conversation.save(update_fields=fields)
    _audit(actor, "inbox.reply", conversation, {"item": out.pk, "message": message.pk})
    conversation_id = conversation.pk
    transaction.on_commit(lambda: sync_reply_states([conversation_id]))
    return out


def sync_reply_states(conversation_ids: list[int] | None = None) -> int:
    """Our replies the engine has sent: give the item the network's id (so an echo is recognised) and mark the
    conversation answered when no reader item came after the reply. Returns how many replies were settled."""
    rows = InboxItem.objects.filter(direction=InboxItem.Direction.OUT, external_id="", echo=False,
                                    outgoing__state=OutgoingMessage.State.SENT).select_related("outgoing")
    if conversation_ids is not None:
        rows = rows.filter(conversation_id__in=conversation_ids)
    settled = 0
    for item in rows[:500]:
        assert item.outgoing is not None
        with transaction.atomic():
            external = item.outgoing.external_id or f"message-{item.outgoing.pk}"
            twin = (InboxItem.objects.filter(channel_id=item.channel_id, external_id=external)
                    .exclude(pk=item.pk).first())
            if twin is not None and twin.echo:  # the network echoed the reply before we settled it: one row
                Conversation.objects.filter(pk=twin.conversation_id).update(items_count=F("items_count") - 1)
                twin.delete()
            elif twin is not None:
                external = f"message-{item.outgoing.pk}"
            InboxItem.objects.filter(pk=item.pk).update(external_id=external,
                                                        at=item.outgoing.delivered_at or item.at)
            later = InboxItem.objects.filter(conversation_id=item.conversation_id, direction=InboxItem.Direction.IN,
                                             handled_by="", at__gt=item.at).exists()
            if not later:
                Conversation.objects.filter(pk=item.conversation_id, state__in=Conversation.OPEN_STATES).update(
                    state=State.ANSWERED, waiting_since=None, due_at=None, updated_at=timezone.now())
            settled += 1
    return settled


# --- hide or delete a comment on the network ---------------------------------------------------------------
def can_remove(item: InboxItem) -> bool:
    """Whether the page's connector can delete this reader's comment on the network."""
    if item.direction != InboxItem.Direction.IN or item.kind != "comment" or item.removed_at is not None:
        return False
    return registry.connector_class(item.channel.network).can_delete_comment(item.raw or {})


def item_remove(*, actor: Any, item: InboxItem) -> InboxItem:
    """Delete a reader's comment on the network (where the connector can), and mark it removed here."""
    conversation = item.conversation
    _writable(actor, conversation)
    if not can_remove(item):
        raise ValidationError(_("This network does not let the page delete this comment."))
    try:
        with connection(item.channel) as connector:
            connector.delete_comment(item_as_dict(item))  # type: ignore[attr-defined]
    except NetworkError as exc:
        raise ValidationError(_("The network refused: %(error)s") % {"error": exc.reason}) from exc
    with transaction.atomic():
        item.removed_at = timezone.now()
        item.save(update_fields=["removed_at"])
        _audit(actor, "inbox.remove", conversation, {"item": item.external_id})
    return item


# --- quick replies, deadlines, opening hours ------------------------------------------------------------------
def _manager(actor: Any, unit: Unit) -> None:
    if not access_for(actor).can_approve(unit.pk):
        raise PermissionDenied(_("Only methodologists and administrators manage the quick replies."))


@transaction.atomic
def template_save(*, actor: Any, unit: Unit, title: str, text: str, template: ReplyTemplate | None = None
                  ) -> ReplyTemplate:
    _manager(actor, unit)
    if template is not None and template.unit_id != unit.pk:
        _manager(actor, template.unit)
    title, text = title.strip(), text.strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the quick reply a title.")]
    if not text:
        errors["text"] = [_("The text is empty.")]
    if errors:
        raise ValidationError(errors)
    template = template or ReplyTemplate()
    template.unit, template.title, template.text = unit, title[:120], text
    template.save()
    audit_record(actor, "inbox.template", template, {"title": title}, system_id=unit.system_id)
    return template


@transaction.atomic
def template_delete(*, actor: Any, template: ReplyTemplate) -> None:
    _manager(actor, template.unit)
    audit_record(actor, "inbox.template_delete", template, {"title": template.title},
                 system_id=template.unit.system_id)
    template.delete()


@dataclass
class SettingsData:
    normal_hours: int
    urgent_hours: int
    urgent_keywords: str
    digest_enabled: bool = True


@transaction.atomic
def settings_save(*, actor: Any, system: LibrarySystem, data: SettingsData) -> InboxSettings:
    if not access_for(actor).is_admin_of(system.pk):
        raise PermissionDenied(_("Only administrators change the answer deadlines."))
    if not 1 <= data.urgent_hours <= data.normal_hours <= 200:
        raise ValidationError(_("Deadlines are 1 to 200 working hours; the urgent one is not longer than the "
                                "normal one."))
    row, _created = InboxSettings.objects.get_or_create(system=system)
    row.normal_hours, row.urgent_hours = data.normal_hours, data.urgent_hours
    row.urgent_keywords, row.digest_enabled = data.urgent_keywords.strip(), data.digest_enabled
    row.save()
    audit_record(actor, "inbox.settings", row, {"normal": data.normal_hours, "urgent": data.urgent_hours},
                 system_id=system.pk)
    return row


@transaction.atomic
def opening_hours_set(*, actor: Any, unit: Unit, days: dict[int, tuple[time, time] | None]) -> None:
    """Replace the unit's weekly schedule (weekday → opens, closes; None or missing: closed)."""
    if not access_for(actor).can_approve(unit.pk):
        raise PermissionDenied(_("Only methodologists and administrators change opening hours."))
    for weekday, hours in days.items():
        if hours is not None and hours[1] <= hours[0]:
            raise ValidationError(_("A day closes after it opens."))
        if not 0 <= weekday <= 6:
            raise ValidationError(_("Unknown weekday."))
    OpeningHours.objects.filter(unit=unit).delete()
    OpeningHours.objects.bulk_create([OpeningHours(unit=unit, weekday=d, opens=h[0], closes=h[1])
                                      for d, h in sorted(days.items()) if h is not None])
    audit_record(actor, "inbox.opening_hours", unit, {str(d): [h[0].isoformat(), h[1].isoformat()] if h else None
                                                      for d, h in days.items()}, system_id=unit.system_id)

"""Writes for outgoing messages: a direct message to a person, or a reply to a comment or message, sent through a
page by the outbox (``filial/outbox/``, the same guarantees as deliveries). The inbox (replies) and the
debtors' reminders (direct messages) call :func:`message_send`; people act on messages the engine could not
finish with :func:`message_retry`, :func:`message_confirm`, :func:`message_resend` and :func:`message_cancel`.

Permissions are checked when an ``actor`` is given (write access to the page's unit); system callers (the
reminders' scheduler) pass ``actor=None``. Staff actions leave an audit entry.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel
from filial.networks import registry
from filial.outbox.jobs import fresh_start, human_attempt
from filial.outbox.models import Attempt
from filial.publishing.jobs import MESSAGE, messages_on_commit
from filial.publishing.models import OutgoingMessage

MState = OutgoingMessage.State
PURPOSE_RE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
# The fields of an ``InboundItem`` a connector's ``reply(item, text, key)`` reads.
REPLY_FIELDS = ("kind", "external_id", "thread_id", "author_id", "author_name", "text", "at", "post_external_id",
                "reply_to", "raw")


def message_text_limit(network: str) -> int:
    """The longest message text the network takes (VK messages are shorter than its wall posts)."""
    return registry.connector_class(network).message_text_limit()


def _check_actor(actor: Any, channel: Channel) -> None:
    if actor is not None and not access_for(actor).can_write(channel.unit_id):
        raise PermissionDenied(_("You cannot send messages through this page."))


def _clean_reply_to(reply_to: dict[str, Any] | None) -> dict[str, Any]:
    data = {k: v for k, v in (reply_to or {}).items() if k in REPLY_FIELDS}
    if isinstance(data.get("at"), datetime):
        data["at"] = data["at"].isoformat()
    return data


def _validate(*, channel: Channel, recipient_id: str, text: str, purpose: str, kind: str,
              reply_to: dict[str, Any], dedupe_key: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if kind not in OutgoingMessage.Kind.values:
        errors.setdefault("kind", []).append(_("Unknown kind of message."))
    if not recipient_id.strip() or len(recipient_id) > 100:
        errors.setdefault("recipient_id", []).append(_("Say who receives the message."))
    if not text.strip():
        errors.setdefault("text", []).append(_("The text is empty."))
    else:
        limit = message_text_limit(channel.network)
        if len(text) > limit:
            errors.setdefault("text", []).append(
                _("The message is %(n)d characters long; %(network)s takes at most %(limit)d.")
                % {"n": len(text), "network": channel.get_network_display(), "limit": limit})
    if not PURPOSE_RE.match(purpose):
        errors.setdefault("purpose", []).append(_("The purpose is a short code of small Latin letters."))
    if kind == OutgoingMessage.Kind.REPLY and not str(reply_to.get("external_id") or "").strip():
        errors.setdefault("reply_to", []).append(_("A reply needs the message or comment it answers."))
    capabilities = registry.connector_class(channel.network).capabilities
    if kind == OutgoingMessage.Kind.DIRECT and not capabilities.direct_messages:
        errors.setdefault("kind", []).append(_("This network does not take direct messages from a page."))
    if dedupe_key is not None and not 0 < len(dedupe_key) <= 200:
        errors.setdefault("dedupe_key", []).append(_("The de-duplication key is 1 to 200 characters."))
    if errors:
        raise ValidationError(errors)


def message_send(*, channel: Channel, recipient_id: str, text: str, purpose: str, kind: str = "direct",
                 reply_to: dict[str, Any] | None = None, dedupe_key: str | None = None,
                 due_at: datetime | None = None, actor: Any = None) -> OutgoingMessage:
    """Queue a message through ``channel`` (sent at ``due_at``, now by default, once the transaction commits).

    With ``dedupe_key``, creating the same message again returns the first row (e.g. one reminder per reader,
    rule and day): nothing new is queued.
    """
    _check_actor(actor, channel)
    recipient_id = str(recipient_id).strip()
    data = _clean_reply_to(reply_to)
    if dedupe_key is not None:
        existing = OutgoingMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    _validate(channel=channel, recipient_id=recipient_id, text=text, purpose=purpose, kind=kind, reply_to=data,
              dedupe_key=dedupe_key)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: a concurrent twin with the same key wins, we return it
                row = OutgoingMessage.objects.create(
                    channel=channel, kind=kind, recipient_id=recipient_id, reply_to=data, text=text, purpose=purpose,
                    dedupe_key=dedupe_key, due_at=due_at or timezone.now(),
                    created_by=actor if getattr(actor, "is_authenticated", False) else None)
        except IntegrityError:
            if dedupe_key is None:
                raise
            return OutgoingMessage.objects.get(dedupe_key=dedupe_key)
        if actor is not None:
            audit_record(actor, "message.send", row, {"channel": channel.pk, "kind": kind, "purpose": purpose,
                                                      "recipient": recipient_id}, system_id=channel.unit.system_id)
        messages_on_commit([row.pk])
    return row


# --- what a person decides (the engine does the rest) -------------------------------------------------------
def _for_change(actor: Any, message: OutgoingMessage) -> OutgoingMessage:
    row = OutgoingMessage.objects.select_for_update().select_related("channel__unit").get(pk=message.pk)
    if actor is not None and not access_for(actor).can_write(row.channel.unit_id):
        raise PermissionDenied(_("You cannot change the messages of this page."))
    return row


def _reopen(actor: Any, row: OutgoingMessage, outcome: str, action: str, **fields: Any) -> OutgoingMessage:
    """Back to ``scheduled`` for the engine, due now."""
    before = row.state
    now = timezone.now()
    OutgoingMessage.objects.filter(pk=row.pk).update(**fresh_start(now), due_at=now, **fields)
    human_attempt(MESSAGE, row.pk, actor, outcome)
    audit_record(actor, action, row, {"channel": row.channel_id, "state": [before, MState.SCHEDULED],
                                      **{k: v for k, v in fields.items() if isinstance(v, int | str)}},
                 system_id=row.channel.unit.system_id)
    messages_on_commit([row.pk])
    row.refresh_from_db()
    return row


@transaction.atomic
def message_retry(*, actor: Any, message: OutgoingMessage) -> OutgoingMessage:
    """Try a failed message again (its retry count starts over)."""
    row = _for_change(actor, message)
    if row.state != MState.FAILED:
        raise ValidationError(_("Only a failed message can be retried."))
    return _reopen(actor, row, Attempt.Outcome.RETRY, "message.retry")


@transaction.atomic
def message_resend(*, actor: Any, message: OutgoingMessage) -> OutgoingMessage:
    """An uncertain message a person found missing: send it again, under a new key."""
    row = _for_change(actor, message)
    if row.state != MState.UNCERTAIN:
        raise ValidationError(_("Only a message whose outcome is unknown can be sent again."))
    return _reopen(actor, row, Attempt.Outcome.RESEND, "message.resend", generation=row.generation + 1)


@transaction.atomic
def message_confirm(*, actor: Any, message: OutgoingMessage, external_id: str = "") -> OutgoingMessage:
    """A person saw the message in the dialogue: it is sent (optionally with the network's id)."""
    row = _for_change(actor, message)
    if row.state != MState.UNCERTAIN:
        raise ValidationError(_("Only a message whose outcome is unknown can be confirmed."))
    external_id = external_id.strip()
    if len(external_id) > 100:
        raise ValidationError({"external_id": [_("The message's id is longer than 100 characters.")]})
    now = timezone.now()
    OutgoingMessage.objects.filter(pk=row.pk).update(
        state=MState.SENT, external_id=external_id or row.external_id, delivered_at=now, lease_owner="",
        lease_until=None, sent_at=None, last_error="", last_error_code="", updated_at=now)
    human_attempt(MESSAGE, row.pk, actor, Attempt.Outcome.CONFIRMED, external_id=external_id)
    audit_record(actor, "message.confirm", row, {"channel": row.channel_id, "external_id": external_id},
                 system_id=row.channel.unit.system_id)
    row.refresh_from_db()
    return row


@transaction.atomic
def message_cancel(*, actor: Any, message: OutgoingMessage) -> OutgoingMessage:
    """Do not send it (a scheduled message), or stop caring (a failed or uncertain one). A message being sent
    right now cannot be cancelled."""
    row = _for_change(actor, message)
    if row.state not in (MState.SCHEDULED, MState.FAILED, MState.UNCERTAIN):
        raise ValidationError(_("Only a scheduled, failed or uncertain message can be cancelled."))
    before = row.state
    OutgoingMessage.objects.filter(pk=row.pk, state=before).update(
        state=MState.CANCELLED, next_attempt_at=None, updated_at=timezone.now())
    if actor is not None:
        audit_record(actor, "message.cancel", row, {"channel": row.channel_id, "state": [before, MState.CANCELLED]},
                     system_id=row.channel.unit.system_id)
    row.refresh_from_db()
    return row

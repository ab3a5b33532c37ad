"""A person's data in the inbox, by their network identity: export and erasure.

Everyone who wrote to a page has the rights a reader has, card or not. A person is a network id on one network;
their data is found on the pages of that network the erasure covers:

- their comments and messages (``InboxItem`` with their ``author_id``), every item of their direct-message
  dialogues (ours too), our replies to their comments, the earlier versions of edited items, stored picture
  copies;
- the conversations' denormalised texts (``last_text``, ``person_name``), staff notes in their dialogues;
- the messages the pages sent them (``OutgoingMessage``: text, reply context, the attempts' request summaries);
- the webhook rows (``channels.InboundEvent``) that carried their updates (deleted);
- the readers' dialogue rows (``DialogueState``, ``DialogueAction``), their identity links to a card;
- audit entries that name their id in the object's description or details.

Erasure blanks texts and replaces the network id everywhere by :func:`filial.core.privacy.pseudonym`, so counts,
deadlines and the consent records stay (``MessagingConsent``, ``ReaderConsent``: the proof 152-FZ asks for) and a
person who writes again can be recognised as having asked for erasure, without the id being kept.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.models import AuditEntry
from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel, InboundEvent
from filial.core.privacy import database_scrub, pseudonym
from filial.inbox.models import Conversation, InboxItem, ItemRevision, MessagingConsent, Note
from filial.outbox.models import Attempt
from filial.publishing.models import OutgoingMessage

log = logging.getLogger("filial.inbox")

ERASED = "—"


class PersonEraser(Protocol):
    def __call__(self, *, channel_ids: list[int], person_id: str, alias: str, now: datetime) -> None: ...


# Erasure steps of apps above the inbox (the readers' identity links and dialogue), run by ``erase_person_rows``
# inside its transaction: the inbox never imports them.
_ERASERS: list[PersonEraser] = []


def register_eraser(eraser: PersonEraser) -> None:
    """Add an app's step to every person's erasure (from its ``AppConfig.ready``; once)."""
    if eraser not in _ERASERS:
        _ERASERS.append(eraser)


def _id_pattern(ids: Iterable[str]) -> re.Pattern[str] | None:
    """A network id as a whole token (``501`` in ``501:7`` but not in ``15012``)."""
    words = sorted({i for i in ids if i}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"(?<![0-9A-Za-z_])(?:" + "|".join(re.escape(w) for w in words) + r")(?![0-9A-Za-z_])")


def _scrub(value: str, pattern: re.Pattern[str] | None, replacement: str) -> str:
    return pattern.sub(replacement, value) if pattern is not None and value else value


# --- which pages ------------------------------------------------------------------------------------------------
def person_channels(actor: Any, conversation: Conversation) -> list[int]:
    """The pages a person erasure started from ``conversation`` covers: the pages of the same network in the units
    where ``actor`` may erase (the unit's methodologist: their subtree; an administrator: the whole system)."""
    access = access_for(actor)
    if not access.can_erase(conversation.unit_id):
        raise PermissionDenied(_("Only the unit's methodologist or an administrator exports or erases a person's "
                                 "data."))
    return list(Channel.objects.filter(network=conversation.channel.network,
                                       unit__system_id=conversation.channel.unit.system_id,
                                       unit_id__in=access.approve_units).values_list("pk", flat=True))


def conversation_people(conversation: Conversation) -> list[tuple[str, str]]:
    """The people in a conversation: (network id, name shown), the dialogue's person first. Pseudonymised
    (erased) people are left out."""
    people: dict[str, str] = {}
    if conversation.kind == Conversation.Kind.DIALOGUE and conversation.person_id:
        people[conversation.person_id] = conversation.person_name
    for author_id, name in (conversation.items.filter(direction=InboxItem.Direction.IN).exclude(author_id="")
                            .values_list("author_id", "author_name").order_by("at", "id")):
        people.setdefault(author_id, name)
        people[author_id] = people[author_id] or name
    return [(pid, name) for pid, name in people.items() if not pid.startswith("p:")]


# --- the rows of one person ---------------------------------------------------------------------------------------
def _dialogues(channel_ids: list[int], person_id: str) -> list[Conversation]:
    return list(Conversation.objects.filter(channel_id__in=channel_ids, kind=Conversation.Kind.DIALOGUE)
                .filter(Q(person_id=person_id) | Q(thread_key=person_id)))


def _item_ids(channel_ids: list[int], person_id: str, dialogue_ids: list[int]) -> list[int]:
    own = InboxItem.objects.filter(channel_id__in=channel_ids).filter(
        Q(author_id=person_id) | Q(conversation_id__in=dialogue_ids))
    ids = set(own.values_list("pk", flat=True))
    their_external = set(own.exclude(external_id="").values_list("external_id", flat=True))
    if their_external:  # our answers to their comments
        ids |= set(InboxItem.objects.filter(channel_id__in=channel_ids, direction=InboxItem.Direction.OUT,
                                            reply_to__in=list(their_external)).values_list("pk", flat=True))
    return sorted(ids)


def _message_ids(channel_ids: list[int], thread_ids: set[str], item_ids: list[int]) -> list[int]:
    ids = set(OutgoingMessage.objects.filter(channel_id__in=channel_ids, recipient_id__in=list(thread_ids))
              .values_list("pk", flat=True))
    ids |= set(InboxItem.objects.filter(pk__in=item_ids, outgoing__isnull=False).values_list("outgoing_id",
                                                                                           flat=True))
    return sorted(ids)


def _events(channel_ids: list[int], person_id: str, thread_ids: set[str]) -> Any:
    query = (Q(payload__item__author_id=person_id) | Q(payload__user_id=person_id)
             | Q(external_id__startswith=f"consent:{person_id}:"))
    for thread in thread_ids:
        query |= Q(kind=InboundEvent.Kind.MESSAGE, payload__item__thread_id=thread)
    return InboundEvent.objects.filter(channel_id__in=channel_ids).filter(query)


def person_data(*, channel_ids: list[int], network: str, person_id: str) -> dict[str, Any]:
    """Everything the inbox holds about one network identity on these pages (the export)."""
    dialogues = _dialogues(channel_ids, person_id)
    item_ids = _item_ids(channel_ids, person_id, [c.pk for c in dialogues])
    thread_ids = {person_id} | {c.thread_key for c in dialogues}
    items = list(InboxItem.objects.filter(pk__in=item_ids).select_related("channel", "conversation")
                 .prefetch_related("revisions").order_by("at", "id"))
    messages = list(OutgoingMessage.objects.filter(pk__in=_message_ids(channel_ids, thread_ids, item_ids))
                    .select_related("channel").order_by("created_at", "id"))
    consents = list(MessagingConsent.objects.filter(channel_id__in=channel_ids, person_id=person_id)
                    .select_related("channel"))
    names = sorted({i.author_name for i in items if i.author_name and i.author_id == person_id}
                   | {c.person_name for c in dialogues if c.person_name})
    return {
        "person": {"network": network, "id": person_id, "names": names},
        "items": [{"page": i.channel.name, "at": i.at.isoformat(), "kind": i.kind,
                   "from": "person" if i.author_id == person_id else "page",
                   "conversation": i.conversation.get_kind_display(), "text": i.text,
                   "edited_at": i.edited_at.isoformat() if i.edited_at else "",
                   "earlier_versions": [r.text for r in i.revisions.all()],
                   "attachments": [{"type": a.get("type", ""), "name": a.get("name", "")}
                                   for a in (i.attachments or []) if isinstance(a, dict)]}
                  for i in items],
        "messages": [{"page": m.channel.name, "created_at": m.created_at.isoformat(), "purpose": m.purpose,
                      "state": m.state, "text": m.text} for m in messages],
        "messaging_consent": [{"page": c.channel.name, "allowed": c.allowed, "changed_at": c.changed_at.isoformat(),
                               "source": c.source} for c in consents],
    }


def person_export(*, actor: Any, conversation: Conversation, person_id: str) -> tuple[str, str]:
    """The person's data as JSON (content type, text); the audit entry names no one."""
    channel_ids = person_channels(actor, conversation)
    data = person_data(channel_ids=channel_ids, network=conversation.channel.network, person_id=person_id)
    audit_record(actor, "inbox.person.export", conversation.channel,
                 {"conversation": conversation.pk, "items": len(data["items"]), "messages": len(data["messages"])},
                 system_id=conversation.channel.unit.system_id)
    return "application/json", json.dumps(data, ensure_ascii=False, indent=2)


def person_erase(*, actor: Any, conversation: Conversation, person_id: str) -> dict[str, int]:
    """Erase one person's inbox data on the pages the actor may erase on; an audit entry with counts only."""
    channel_ids = person_channels(actor, conversation)
    with transaction.atomic():
        counts = erase_person_rows(channel_ids=channel_ids, network=conversation.channel.network,
                                   person_id=person_id)
        audit_record(actor, "inbox.person.erase", conversation.channel, {"conversation": conversation.pk, **counts},
                     system_id=conversation.channel.unit.system_id)
    if not connection.in_atomic_block:
        database_scrub()
    return counts


def erase_person_rows(*, channel_ids: list[int], network: str, person_id: str,
                      names: Iterable[str] = ()) -> dict[str, int]:
    """Blank and pseudonymise one network identity's rows on ``channel_ids`` (no access check: the callers check;
    run inside their transaction). ``names``: more strings to remove from audit entries (a reader's name, card)."""
    person_id = str(person_id or "")
    if not person_id or not channel_ids or person_id.startswith("p:"):
        return {"items": 0, "messages": 0, "events": 0}
    alias = pseudonym(network, person_id)
    dialogues = _dialogues(channel_ids, person_id)
    dialogue_ids = [c.pk for c in dialogues]
    thread_ids = {person_id} | {c.thread_key for c in dialogues if c.thread_key}
    pattern = _id_pattern(thread_ids)
    item_ids = _item_ids(channel_ids, person_id, dialogue_ids)
    message_ids = _message_ids(channel_ids, thread_ids, item_ids)
    counts = {"items": len(item_ids), "messages": len(message_ids), "events": 0}

    # Items: stored picture copies, earlier versions, texts, ids.
    items = list(InboxItem.objects.filter(pk__in=item_ids))
    for item in items:
        for attachment in item.attachments or []:
            stored = attachment.get("stored") if isinstance(attachment, dict) else None
            if stored:
                try:
                    default_storage.delete(stored)
                except OSError:  # pragma: no cover - a file already gone
                    log.warning("could not delete an erased item's picture %s", stored)
        item.text = ERASED
        item.author_name = ""
        item.raw = {}
        item.attachments = []
        item.author_id = alias if item.author_id in thread_ids else item.author_id
        item.thread_id = alias if item.thread_id in thread_ids else _scrub(item.thread_id, pattern, alias)
        item.external_id = _scrub(item.external_id, pattern, alias)
        item.reply_to = _scrub(item.reply_to, pattern, alias)
    InboxItem.objects.bulk_update(items, ["text", "author_name", "raw", "attachments", "author_id", "thread_id",
                                          "external_id", "reply_to"], batch_size=500)
    ItemRevision.objects.filter(item_id__in=item_ids).delete()

    # Conversations: the dialogue's person and key; every touched thread's denormalised last text.
    for conversation in dialogues:
        conversation.person_id = alias
        conversation.person_name = ""
        # Unique per page: a person erased twice (they wrote again in between) has two erased dialogues.
        conversation.thread_key = f"{alias}#{conversation.pk}"
        conversation.save(update_fields=["person_id", "person_name", "thread_key", "updated_at"])
    Note.objects.filter(conversation_id__in=dialogue_ids).update(text=ERASED)
    touched = set(InboxItem.objects.filter(pk__in=item_ids).values_list("conversation_id", flat=True))
    for conversation in Conversation.objects.filter(pk__in=touched | set(dialogue_ids)):
        last = conversation.items.order_by("-at", "-id").values_list("text", flat=True).first()
        conversation.last_text = (last or "")[:300]
        conversation.save(update_fields=["last_text"])

    # Messages the pages sent them: cancelled when not yet sent, texts and ids blanked, attempts' summaries.
    now = timezone.now()
    OutgoingMessage.objects.filter(pk__in=message_ids, state=OutgoingMessage.State.SCHEDULED).update(
        state=OutgoingMessage.State.CANCELLED, updated_at=now)
    messages = list(OutgoingMessage.objects.filter(pk__in=message_ids))
    for message in messages:
        message.text = ERASED
        message.reply_to = {}
        message.recipient_id = alias if message.recipient_id in thread_ids else message.recipient_id
        message.external_id = _scrub(message.external_id or "", pattern, alias)
        message.last_error = _scrub(message.last_error or "", pattern, alias)
    OutgoingMessage.objects.bulk_update(messages, ["text", "reply_to", "recipient_id", "external_id",
                                                   "last_error"], batch_size=500)
    attempts = list(Attempt.objects.filter(message_id__in=message_ids))
    for attempt in attempts:
        attempt.request = json.loads(_scrub(json.dumps(attempt.request or {}), pattern, alias))
        attempt.error_message = _scrub(attempt.error_message, pattern, alias)
        attempt.external_id = _scrub(attempt.external_id, pattern, alias)
    Attempt.objects.bulk_update(attempts, ["request", "error_message", "external_id"], batch_size=500)

    # Consent to be written to stays as proof, under the pseudonym; the readers' dialogue forgets them.
    if MessagingConsent.objects.filter(channel_id__in=channel_ids, person_id=person_id).exists():
        MessagingConsent.objects.filter(channel_id__in=channel_ids, person_id=alias).delete()  # the latest wins
        MessagingConsent.objects.filter(channel_id__in=channel_ids, person_id=person_id).update(person_id=alias)
    # Apps above the inbox forget the person too (the readers' identity links and dialogue: ReadersConfig.ready).
    for eraser in _ERASERS:
        eraser(channel_ids=channel_ids, person_id=person_id, alias=alias, now=now)

    # Webhook rows that carried their updates.
    counts["events"], _by_model = _events(channel_ids, person_id, thread_ids).delete()

    # Audit entries naming them (objects described by their id, details with their id or name).
    audit_scrub([*thread_ids, *names], alias,
                objects=[("inbox.conversation", dialogue_ids), ("publishing.outgoingmessage", message_ids)])
    return counts


def audit_scrub(strings: Iterable[str], replacement: str, *,
                objects: Iterable[tuple[str, Iterable[int]]] = ()) -> int:
    """Remove ``strings`` (ids as whole tokens, names and cards as written) from audit entries: the descriptions of
    the given objects, and any entry whose description or details contain one of them. Returns entries changed."""
    words = sorted({s for s in strings if s and len(s) >= 3}, key=len, reverse=True)
    if not words:
        return 0
    pattern = _id_pattern(words)
    query = Q()
    for object_type, ids in objects:
        keys = [str(i) for i in ids]
        if keys:
            query |= Q(object_type=object_type, object_id__in=keys)
    for word in words:
        escaped = json.dumps(word)[1:-1]  # how a JSON column may hold it (\\u0410…)
        query |= Q(object_repr__contains=word) | Q(changes__icontains=word) | Q(changes__icontains=escaped)
    changed = []
    for entry in AuditEntry.objects.filter(query):
        repr_ = _scrub(entry.object_repr, pattern, replacement)
        changes = json.loads(_scrub(json.dumps(entry.changes or {}, ensure_ascii=False), pattern, replacement))
        if repr_ != entry.object_repr or changes != entry.changes:
            entry.object_repr, entry.changes = repr_, changes
            changed.append(entry)
    AuditEntry.objects.bulk_update(changed, ["object_repr", "changes"], batch_size=500)
    return len(changed)

"""The inbound pipeline: readers' comments and messages from every page into conversations, exactly once.

Two sources, one path (:func:`ingest`):

- **webhook rows**: the webhook endpoints store ``InboundEvent`` rows (``pending``); :func:`process_pending`
  ingests them and marks them ``processed`` in the same transaction;
- **polling** (pages without a webhook: VK Bots Long Poll, Telegram ``getUpdates``, MAX ``GET /updates``, OK
  topics and Bot API chats): :func:`poll_page` takes the page's lease with one conditional UPDATE (one poller per
  page at a time), calls ``Connector.fetch_updates(cursor)``, and commits the items AND the new cursor in one
  transaction fenced by the lease. A crash between the fetch and the commit leaves the old cursor: the next poll
  fetches the same items again, and the unique ``(page, network id)`` of items makes that harmless.

:func:`ingest` de-duplicates by the network's ids, groups items into conversations (a comment thread per post,
linked to our ``Delivery``/``Post`` when the post's external id matches; a dialogue per person), records edits
with their history and consent changes, lets the registered handlers (``handlers.py``) claim items, recognises
our own replies echoed back, routes to the page's unit and sets the answer deadline (``workhours.py``).
Queries per call are constant in the number of items (bulk reads and writes), not one per item.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from filial.channels.connections import close, connector_for
from filial.channels.models import Channel, InboundEvent
from filial.core import taskqueue
from filial.inbox import handlers, workhours
from filial.inbox.models import Conversation, InboxItem, InboxSettings, ItemRevision, MessagingConsent, OpeningHours
from filial.inbox.polls import record_telegram_poll_update
from filial.networks import registry
from filial.networks.base import ConsentChange, InboundItem, NetworkError
from filial.networks.ratelimit import Claim, WouldWait
from filial.outbox.limits import limiter
from filial.publishing.models import Delivery, OutgoingMessage

log = logging.getLogger("filial.inbox")

ALLOWED_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


# --- small helpers --------------------------------------------------------------------------------------------
def _lease_seconds() -> float:
    return float(settings.FILIAL_INBOX_POLL_LEASE_SECONDS)


def _lease_token() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def item_from_payload(payload: dict[str, Any]) -> InboundItem:
    """The ``InboundItem`` a webhook stored in an ``InboundEvent`` payload (``{"item": {...}, "raw": ...}``)."""
    data = dict(payload.get("item") or {})
    at = parse_datetime(str(data.get("at") or "")) or timezone.now()
    return InboundItem(
        kind=str(data.get("kind") or "comment"), external_id=str(data.get("external_id") or ""),
        thread_id=str(data.get("thread_id") or ""), author_id=str(data.get("author_id") or ""),
        author_name=str(data.get("author_name") or ""), text=str(data.get("text") or ""), at=at,
        post_external_id=str(data.get("post_external_id") or ""), reply_to=str(data.get("reply_to") or ""),
        raw=dict(payload["raw"]) if isinstance(payload.get("raw"), dict) else {},
    )


def item_as_dict(item: InboxItem) -> dict[str, Any]:
    """A stored item as the ``InboundItem`` fields (what ``message_send(kind="reply", reply_to=...)`` takes)."""
    return {"kind": item.kind, "external_id": item.external_id, "thread_id": item.thread_id,
            "author_id": item.author_id, "author_name": item.author_name, "text": item.text,
            "at": item.at.isoformat(), "post_external_id": item.post_external_id, "reply_to": item.reply_to,
            "raw": item.raw or {}}


def attachments_of(network: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """What the reader attached, as metadata only: type, file name, size, content type. No address is kept, so
    nothing can ever be hot-linked into a staff browser."""
    found: list[dict[str, Any]] = []
    try:
        found = registry.connector_class(network).attachments(raw) if registry.find(network) else []
    except (AttributeError, TypeError):
        pass
    for attachment in found:
        if not attachment.get("source"):
            attachment.pop("source", None)
    return found[:20]


# --- ingesting ----------------------------------------------------------------------------------------------
@dataclass
class Consent:
    person_id: str
    allowed: bool
    source: str
    at: datetime


@dataclass
class IngestReport:
    new: int = 0
    duplicates: int = 0
    claimed: int = 0
    echoes: int = 0
    edits: int = 0
    consents: int = 0
    conversations: set[int] = field(default_factory=set)
    # {network id: [(secret, replacement)]}: what handlers redacted (handlers.redact), to scrub the stored events
    redactions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


class _Deadlines:
    """Answer deadlines for one ingest call: settings and schedules read once per system and unit."""

    def __init__(self) -> None:
        self.settings: dict[int, InboxSettings] = {}
        self.schedules: dict[int, dict[int, Any]] = {}

    def settings_for(self, system_id: int) -> InboxSettings:
        if system_id not in self.settings:
            self.settings[system_id] = inbox_settings(system_id)
        return self.settings[system_id]

    def due(self, channel: Channel, start: datetime, urgent: bool) -> datetime:
        unit = channel.unit
        config = self.settings_for(unit.system_id)
        if unit.pk not in self.schedules:
            self.schedules[unit.pk] = workhours.schedule_from_rows(
                OpeningHours.objects.filter(unit_id=unit.pk).values_list("weekday", "opens", "closes"))
        hours = config.urgent_hours if urgent else config.normal_hours
        return workhours.add_working_hours(start, hours, self.schedules[unit.pk], unit.tz)

    def urgent(self, channel: Channel, text: str) -> bool:
        words = self.settings_for(channel.unit.system_id).keywords
        folded = text.casefold()
        return any(word in folded for word in words)


def inbox_settings(system_id: int) -> InboxSettings:
    found = InboxSettings.objects.filter(system_id=system_id).first()
    return found if found is not None else InboxSettings(system_id=system_id)


def _thread(item: InboundItem) -> tuple[str, str]:
    if item.kind == "message":
        return Conversation.Kind.DIALOGUE, item.thread_id or item.author_id
    return Conversation.Kind.COMMENTS, item.post_external_id or item.thread_id


def _deliveries(channel: Channel, post_ids: set[str]) -> dict[str, tuple[int, int]]:
    """Our deliveries on this page whose network id is one of ``post_ids``: {post id: (delivery id, post id)}."""
    if not post_ids:
        return {}
    found = {ext: (pk, post) for pk, post, ext in Delivery.objects.filter(
        channel_id=channel.pk, external_id__in=list(post_ids)).values_list("pk", "post_id", "external_id")}
    missing = post_ids - set(found)
    cls = registry.connector_class(channel.network)
    if missing and cls.posts_span_messages:  # a post sent as several messages: Telegram "12:a12-14,t15"
        for pk, post, ext in Delivery.objects.filter(channel_id=channel.pk, external_id__contains=":").values_list(
                "pk", "post_id", "external_id"):
            for message_id in cls.post_message_ids(ext):
                if message_id in missing:
                    found[message_id] = (pk, post)
    return found


def _consent_from_message(channel: Channel, item: InboundItem) -> Consent | None:
    """A message that allows or forbids the page to write first (Telegram: ``/start`` and ``/stop``)."""
    found = registry.connector_class(channel.network).consent_from_message(item)
    if found is None:
        return None
    allowed, source = found
    return Consent(item.author_id, allowed, source, item.at)


def ingest(channel: Channel, items: Iterable[InboundItem], *, edits: Iterable[InboundItem] = (),
           consents: Iterable[Consent] = ()) -> IngestReport:
    """Store new items of one page (call inside a transaction to commit them with a cursor or event rows)."""
    report = IngestReport()
    now = timezone.now()
    with transaction.atomic():
        unique: dict[str, InboundItem] = {}
        for item in items:
            if item.external_id:
                unique.setdefault(item.external_id, item)
        known = set(InboxItem.objects.filter(channel_id=channel.pk, external_id__in=list(unique))
                    .values_list("external_id", flat=True)) if unique else set()
        fresh = [item for key, item in unique.items() if key not in known]
        report.duplicates = len(unique) - len(fresh)
        # /start and /stop first: a later consent only replaces an earlier one (record_consent), and at the same
        # second (Telegram dates are whole seconds) the person's block/unblock (``my_chat_member``) is the one
        # that tells whether the bot may write, e.g. /start then blocking the bot at once.
        consent_list = [consent for consent in (_consent_from_message(channel, item) for item in fresh)
                        if consent is not None]
        consent_list.extend(consents)
        if fresh:
            _store(channel, fresh, report, now)
        for edit in edits:
            report.edits += _edit(channel, edit, now, report)
        for consent in consent_list:
            record_consent(channel, consent)
            report.consents += 1
    return report


def _store(channel: Channel, fresh: list[InboundItem], report: IngestReport, now: datetime) -> None:
    keys = {_thread(item) for item in fresh}
    by_key: dict[tuple[str, str], Conversation] = {}
    for conversation in Conversation.objects.filter(channel_id=channel.pk,
                                                    thread_key__in=list({key for _kind, key in keys})):
        if (conversation.kind, conversation.thread_key) in keys:
            by_key[(conversation.kind, conversation.thread_key)] = conversation
    missing = keys - set(by_key)
    created: list[Conversation] = []
    if missing:
        posts = _deliveries(channel, {key for kind, key in missing if kind == Conversation.Kind.COMMENTS})
        first: dict[tuple[str, str], InboundItem] = {}
        for item in fresh:
            first.setdefault(_thread(item), item)
        for kind, key in missing:
            sample = first[(kind, key)]
            delivery, post = posts.get(key, (None, None))
            conversation = Conversation(
                channel_id=channel.pk, unit_id=channel.unit_id, kind=kind, thread_key=key[:255],
                post_external_id=(key if kind == Conversation.Kind.COMMENTS else "")[:255],
                delivery_id=delivery, post_id=post,
                person_id=sample.author_id[:100] if kind == Conversation.Kind.DIALOGUE else "",
                person_name=sample.author_name[:200] if kind == Conversation.Kind.DIALOGUE else "",
                state=Conversation.State.CLOSED, last_item_at=sample.at, items_count=0, created_at=now,
                updated_at=now)
            conversation._fresh = True  # type: ignore[attr-defined]
            by_key[(kind, key)] = conversation
            created.append(conversation)
    echoes = _echo_ids(channel, fresh)
    deadlines = _Deadlines()
    rows_out: list[InboxItem] = []
    touched: dict[int, Conversation] = {}
    for item in sorted(fresh, key=lambda i: i.at):
        conversation = by_key[_thread(item)]
        conversation.channel = channel
        row = InboxItem(
            conversation=conversation, channel_id=channel.pk, direction=InboxItem.Direction.IN, kind=item.kind,
            external_id=item.external_id[:255], thread_id=item.thread_id[:255],
            post_external_id=item.post_external_id[:255], reply_to=item.reply_to[:255],
            author_id=item.author_id[:100], author_name=item.author_name[:200], text=item.text, at=item.at,
            received_at=now, attachments=attachments_of(channel.network, item.raw),
            raw={k: v for k, v in (item.raw or {}).items() if k != "secret"})  # VK Callback bodies carry it
        if item.external_id in echoes:
            row.echo = True
            row.direction = InboxItem.Direction.OUT
            report.echoes += 1
        elif _consent_from_message(channel, item) is not None:
            row.handled_by = "consent"  # a bot command (/start, /stop): recorded, nothing to answer
        else:
            row.handled_by = handlers.claim(row)
            report.claimed += bool(row.handled_by)
            if handlers.redactions(row):
                report.redactions[row.external_id] = handlers.redactions(row)
        rows_out.append(row)
        _account(conversation, row, channel, deadlines)
        if conversation.pk is not None:
            touched[conversation.pk] = conversation
    # New conversations are inserted complete (no update after); a concurrent ingest of the same page that
    # created one meanwhile makes this transaction fail and the rows are ingested again by the next run.
    Conversation.objects.bulk_create(created, batch_size=500)
    if created and created[0].pk is None:  # a backend that cannot return ids from a bulk insert
        ids = {(c.kind, c.thread_key): c.pk for c in Conversation.objects.filter(
            channel_id=channel.pk, thread_key__in=[c.thread_key for c in created])}
        for conversation in created:
            conversation.pk = ids[(conversation.kind, conversation.thread_key)]
    for row in rows_out:
        row.conversation_id = row.conversation.pk
    InboxItem.objects.bulk_create(rows_out, batch_size=500)
    pictured = [row for row in rows_out if any("source" in a for a in row.attachments)]
    with_pictures = [row.pk for row in pictured if row.pk]
    if len(with_pictures) < len(pictured):  # a backend that cannot return ids from a bulk insert
        with_pictures = list(InboxItem.objects.filter(
            channel_id=channel.pk, external_id__in=[row.external_id for row in pictured]).values_list("pk", flat=True))
    if with_pictures:
        transaction.on_commit(lambda: _copy_later(with_pictures))
    report.new += len(rows_out)
    report.conversations |= set(touched) | {c.pk for c in created}
    for conversation in touched.values():
        conversation.updated_at = now
    Conversation.objects.bulk_update(list(touched.values()), [
        "state", "urgent", "waiting_since", "due_at", "last_item_at", "last_text", "items_count", "updated_at",
        "person_name"], batch_size=50)


def _copy_later(item_ids: list[int]) -> None:
    for item_id in item_ids:
        taskqueue.enqueue("filial.inbox.tasks.copy_item_images", item_id)


def _account(conversation: Conversation, row: InboxItem, channel: Channel, deadlines: _Deadlines) -> None:
    """Count one stored item into its conversation: counters, state, urgency and deadline."""
    conversation.items_count += 1
    if row.at >= conversation.last_item_at or getattr(conversation, "_fresh", False):
        conversation.last_item_at = max(row.at, conversation.last_item_at)
        conversation.last_text = row.text[:300]
    if conversation.kind == Conversation.Kind.DIALOGUE and row.author_name and row.direction == "in":
        conversation.person_name = row.author_name[:200]
    if row.echo or row.handled_by:
        return
    urgent = conversation.urgent or deadlines.urgent(channel, row.text)
    if conversation.state not in Conversation.OPEN_STATES:
        conversation.state = Conversation.State.NEW
        conversation.waiting_since = None
    if conversation.waiting_since is None:
        conversation.waiting_since = row.at
        conversation.due_at = deadlines.due(channel, row.at, urgent)
    elif urgent and not conversation.urgent:
        conversation.due_at = deadlines.due(channel, conversation.waiting_since, True)
    conversation.urgent = urgent


def _echo_ids(channel: Channel, items: list[InboundItem]) -> set[str]:
    """Items that are our own messages coming back: their network id is one the engine got for a message it sent
    through this page (a reply not yet settled into its inbox item, or a message sent by another feature)."""
    ids = [item.external_id for item in items]
    return set(OutgoingMessage.objects.filter(channel_id=channel.pk, external_id__in=ids)
               .values_list("external_id", flat=True))


def _edit(channel: Channel, edit: InboundItem, now: datetime, report: IngestReport) -> int:
    row = InboxItem.objects.filter(channel_id=channel.pk, external_id=edit.external_id).first()
    if row is None:  # the edit of a comment we never saw: store it as it is now
        _store(channel, [edit], report, now)
        return 1
    if row.text == edit.text:
        return 0
    if row.handled_by and row.handled_by != "consent":
        # A handler claimed (and acted on) the original: an edit changes nothing, and its text is not kept (it may
        # be the card number or code the handler redacted).
        row.edited_at = now
        row.save(update_fields=["edited_at"])
        if edit.text.strip():
            report.redactions.setdefault(row.external_id, []).append((edit.text.strip(), row.text))
        return 1
    ItemRevision.objects.create(item=row, text=row.text, replaced_at=now)
    row.text = edit.text
    row.edited_at = now
    row.save(update_fields=["text", "edited_at"])
    return 1


def record_consent(channel: Channel, consent: Consent) -> MessagingConsent:
    current = MessagingConsent.objects.filter(channel_id=channel.pk, person_id=consent.person_id).first()
    if current is None:
        return MessagingConsent.objects.create(channel_id=channel.pk, person_id=consent.person_id[:100],
                                               allowed=consent.allowed, source=consent.source[:50],
                                               changed_at=consent.at)
    if consent.at >= current.changed_at:
        current.allowed, current.source, current.changed_at = consent.allowed, consent.source[:50], consent.at
        current.save(update_fields=["allowed", "source", "changed_at"])
    return current


def may_message(channel: Channel, person_id: str) -> bool | None:
    """Has this person allowed the page to write to them? None when no consent event was ever seen."""
    row = MessagingConsent.objects.filter(channel_id=channel.pk, person_id=person_id).first()
    return None if row is None else row.allowed


# --- webhook rows --------------------------------------------------------------------------------------------
def process_pending(limit: int = 1000) -> int:
    """Ingest pending ``InboundEvent`` rows (oldest first), page by page; returns how many rows were processed."""
    pending = list(InboundEvent.objects.filter(state=InboundEvent.State.PENDING)
                   .order_by("received_at", "id").values_list("pk", "channel_id")[:limit])
    by_channel: dict[int, list[int]] = {}
    for pk, channel_id in pending:
        by_channel.setdefault(channel_id, []).append(pk)
    done = 0
    for channel_id, ids in by_channel.items():
        channel = Channel.objects.select_related("unit__system").filter(pk=channel_id).first()
        if channel is None:
            continue
        with transaction.atomic():
            rows = list(InboundEvent.objects.select_for_update(skip_locked=True)
                        .filter(pk__in=ids, state=InboundEvent.State.PENDING).order_by("received_at", "id"))
            if not rows:
                continue
            items: list[InboundItem] = []
            edits: list[InboundItem] = []
            consents: list[Consent] = []
            for event in rows:
                if event.kind == InboundEvent.Kind.CONSENT:
                    payload = event.payload or {}
                    # when it happened by the network's clock if the webhook gave it (Telegram), so that it
                    # orders with /start messages, which carry their own date; else when it arrived
                    at = parse_datetime(str(payload.get("at") or "")) or event.received_at
                    consents.append(Consent(str(payload.get("user_id") or ""), bool(payload.get("allowed")),
                                            f"{event.network}:webhook", at))
                elif event.kind == InboundEvent.Kind.COMMENT_EDIT:
                    edits.append(item_from_payload(event.payload or {}))
                else:
                    items.append(item_from_payload(event.payload or {}))
            report = ingest(channel, items, edits=edits, consents=[c for c in consents if c.person_id])
            _scrub_events(rows, report.redactions)
            InboundEvent.objects.filter(pk__in=[e.pk for e in rows]).update(state=InboundEvent.State.PROCESSED)
            done += len(rows)
    return done


def _scrub_events(rows: list[InboundEvent], redactions: dict[str, list[tuple[str, str]]]) -> None:
    """The stored webhook events of redacted items keep the replacement, never the secret (handlers.redact)."""
    if not redactions:
        return
    for event in rows:
        item = (event.payload or {}).get("item") or {}
        pairs = redactions.get(str(item.get("external_id") or "")) if isinstance(item, dict) else None
        if not pairs:
            continue
        payload = event.payload
        for secret, replacement in pairs:
            payload = handlers.scrub(payload, secret, replacement)
        InboundEvent.objects.filter(pk=event.pk).update(payload=payload)


# --- polling -------------------------------------------------------------------------------------------------
def pollable(channel: Channel) -> bool:
    """Pages whose updates we fetch: active, with credentials, on a network with a polling API, no webhook."""
    if channel.status != Channel.Status.ACTIVE or channel.network not in registry.polled():
        return False
    if not channel.credentials_encrypted:
        return False
    try:
        credentials = channel.credentials
    except Exception:
        return False
    if credentials.get("webhook_secret"):
        return False  # the network pushes this page's updates to /hooks/...
    return registry.connector_class(channel.network).pollable(credentials)


def claim_page(channel_id: int, token: str, now: datetime | None = None) -> bool:
    """Take the page's polling lease: one conditional UPDATE, so two pollers never poll one page at once."""
    now = now or timezone.now()
    return Channel.objects.filter(Q(updates_lease_until__isnull=True) | Q(updates_lease_until__lt=now),
                                  pk=channel_id).update(
        updates_lease_owner=token, updates_lease_until=now + timedelta(seconds=_lease_seconds())) == 1


def release_page(channel_id: int, token: str, error: str = "") -> None:
    Channel.objects.filter(pk=channel_id, updates_lease_owner=token).update(
        updates_lease_owner="", updates_lease_until=None, updates_polled_at=timezone.now(),
        updates_error=error[:500])


class LeaseLost(Exception):
    """Another poller took the page over (our lease had expired): this batch is rolled back."""


def commit_page(channel: Channel, token: str, items: list[InboundItem], cursor: str,
                polls: Iterable[dict[str, Any]] = (), consents: Iterable[ConsentChange] = ()) -> IngestReport:
    """Items, consent changes, poll counts and the new cursor in ONE transaction, fenced by the lease."""
    with transaction.atomic():
        report = ingest(channel, [i for i in items if not _is_edit(i)], edits=[i for i in items if _is_edit(i)],
                        consents=[Consent(c.person_id, c.allowed, f"{channel.network}:polling", c.at)
                                  for c in consents])
        for poll in polls:
            record_telegram_poll_update(channel.pk, poll)
        moved = Channel.objects.filter(pk=channel.pk, updates_lease_owner=token).update(
            updates_cursor=cursor, updates_lease_until=timezone.now() + timedelta(seconds=_lease_seconds()))
        if moved != 1:
            raise LeaseLost(f"page {channel.pk}: the polling lease was lost")
    return report


def _is_edit(item: InboundItem) -> bool:
    return item.raw.get("type") == "wall_reply_edit"  # VK Long Poll delivers edits as events of their own


def poll_page(channel_id: int, *, max_batches: int = 5) -> str:
    """Fetch and commit this page's new updates (up to ``max_batches`` pages of them). Returns what happened."""
    channel = Channel.objects.select_related("unit__system").filter(pk=channel_id).first()
    if channel is None:
        return "missing"
    if not pollable(channel):
        return "not_pollable"
    token = _lease_token()
    if not claim_page(channel_id, token):
        return "busy"
    connector = None
    error = ""
    total = 0
    try:
        connector = connector_for(channel)
        cursor = channel.updates_cursor or None
        budget = fetch_claims(channel)
        for _ in range(max_batches):
            try:
                limiter().acquire(budget, max_wait=10)
            except WouldWait:
                break  # the page's budget is taken by publishing: the next round polls
            connector.prepaid(budget)
            page = connector.fetch_updates(cursor)
            report = commit_page(channel, token, list(page.items), page.cursor, page.polls, page.consents)
            total += report.new
            if not page.items or page.cursor == (cursor or ""):
                break
            cursor = page.cursor
    except NetworkError as exc:
        error = str(exc)
        log.warning("polling page %s failed: %s", channel_id, exc)
    except LeaseLost as exc:
        log.warning("%s", exc)
        return "lease_lost"
    finally:
        close(connector)
        release_page(channel_id, token, error)
    return f"error: {error}" if error else f"ok: {total} new"


def fetch_claims(channel: Channel) -> list[Claim]:
    """The rate-limit budget one ``fetch_updates`` draws on (reading calls, shared with publishing)."""
    return registry.connector_class(channel.network).fetch_claims(channel.credentials)


def pages_to_poll() -> list[int]:
    now = timezone.now()
    rows = Channel.objects.filter(status=Channel.Status.ACTIVE, network__in=registry.polled()).filter(
        Q(updates_lease_until__isnull=True) | Q(updates_lease_until__lt=now)).exclude(credentials_encrypted="")
    return [channel.pk for channel in rows if pollable(channel)]

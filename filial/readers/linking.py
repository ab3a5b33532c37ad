"""Readers' social identities: one-time link codes, consent texts and records, identity links, and a reader's
data for staff (export, erasure).

The readers' dialogue (``dialogue.py``) calls :func:`code_match` and :func:`identity_link` inside the ingesting
transaction; staff actions check access and leave an audit entry.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel
from filial.circulation.models import ImportJob, Loan, Reader
from filial.circulation.selectors import reader_units
from filial.core.privacy import database_scrub, is_pseudonym, pseudonym
from filial.core.spreadsheets import csv_row
from filial.inbox.privacy import ERASED as ERASED_TEXT
from filial.inbox.privacy import audit_scrub, erase_person_rows
from filial.libraries.models import LibrarySystem
from filial.publishing.messages import message_cancel
from filial.publishing.models import OutgoingMessage
from filial.readers.models import (
    ConsentText,
    DialogueAction,
    DialogueState,
    LinkCode,
    ReaderConsent,
    ReaderIdentity,
    Reminder,
)

CODE_DIGITS = 6
# Wrong tries are limited per sender and page (the dialogue's lock-out, ``dialogue.MAX_FAILURES``): someone who
# knows a reader's card must not be able to void the reader's code by failing on purpose. This ceiling of wrong
# codes tried against one reader's card by ALL senders together only stops guessing spread over many identities
# (20 identities locked out; 100 guesses of a 6-digit code succeed once in 10,000).
MAX_CODE_ATTEMPTS = 100
ERASED = "—"


def code_ttl() -> timedelta:
    return timedelta(hours=float(settings.FILIAL_LINK_CODE_HOURS))


def _hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.strip().encode(), hashlib.sha256).hexdigest()


def _check_staff(actor: Any, reader: Reader) -> None:
    access = access_for(actor)
    if reader.unit_id not in reader_units(actor) or not (
            access.can_write(reader.unit_id) or access.is_admin_of(reader.system_id)):
        raise PermissionDenied(_("You do not work with the readers of this unit."))


# --- consent texts --------------------------------------------------------------------------------------------
def default_consent() -> tuple[str, str]:
    return (
        _("Reminders about the due dates of your loans and renewals on request, through this page."),
        _("I agree that the library links my reader's card to this account and stores the link, my loans' due "
          "dates and our messages in order to remind me of due dates and renew loans. I can stop reminders with "
          "«стоп» and remove the link with «отвязать» at any time."),
    )


def consent_text_current(system: LibrarySystem | int) -> ConsentText:
    """The latest consent text of the library system (version 1, the default text, if none was written)."""
    system_id = system if isinstance(system, int) else system.pk
    current = ConsentText.objects.filter(system_id=system_id).order_by("-version").first()
    if current is None:
        purpose, text = default_consent()
        current, _created = ConsentText.objects.get_or_create(system_id=system_id, version=1,
                                                              defaults={"purpose": purpose, "text": text})
    return current


def consent_text_set(*, actor: Any, system: LibrarySystem, purpose: str, text: str) -> ConsentText:
    """A new version of the consent text (administrators of the system)."""
    if not access_for(actor).is_admin_of(system.pk):
        raise PermissionDenied(_("Only administrators of the library system edit the consent text."))
    purpose, text = purpose.strip(), text.strip()
    errors = {}
    if not purpose:
        errors["purpose"] = _("Say what the link is for.")
    if not text:
        errors["text"] = _("The consent text is empty.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        last = ConsentText.objects.select_for_update().filter(system=system).order_by("-version").first()
        if last is not None and last.purpose == purpose and last.text == text:
            return last
        row = ConsentText.objects.create(system=system, version=(last.version + 1) if last else 1, purpose=purpose,
                                         text=text, created_by=actor)
        audit_record(actor, "circulation.consent_text.set", row, {"version": row.version}, system_id=system.pk)
    return row


# --- one-time codes -------------------------------------------------------------------------------------------
def code_generate(*, actor: Any, reader: Reader) -> tuple[LinkCode, str]:
    """A new one-time code for ``reader`` (earlier unused codes stop working). Returns the row and the code, which
    is shown once and stored only hashed."""
    _check_staff(actor, reader)
    code = "".join(secrets.choice("0123456789") for _i in range(CODE_DIGITS))
    now = timezone.now()
    with transaction.atomic():
        LinkCode.objects.filter(reader=reader, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        row = LinkCode.objects.create(reader=reader, code_hash=_hash(code), expires_at=now + code_ttl(),
                                      created_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit_record(actor, "circulation.link_code.create", reader, {"expires_at": row.expires_at.isoformat()},
                     system_id=reader.system_id)
    return row, code


def code_match(reader: Reader | None, code: str) -> LinkCode | None:
    """The reader's valid code equal to ``code``; a wrong code counts towards the reader's live codes' ceiling
    (``MAX_CODE_ATTEMPTS``, all senders together; the sender's own limit is the dialogue's)."""
    if reader is None:
        return None
    now = timezone.now()
    digits = "".join(ch for ch in code if ch.isdigit())
    wanted = _hash(digits) if digits else ""
    with transaction.atomic():  # the count of wrong tries is read and written under the rows' lock
        live = list(LinkCode.objects.select_for_update().filter(
            reader=reader, used_at__isnull=True, expires_at__gt=now, attempts__lt=MAX_CODE_ATTEMPTS))
        for row in live:
            if wanted and hmac.compare_digest(row.code_hash, wanted):
                return row
        for row in live:
            row.attempts += 1
            row.save(update_fields=["attempts"])
    return None


class CodeUsed(Exception):
    """The one-time code was taken by another link meanwhile."""


def code_usable(code: LinkCode | None) -> bool:
    return (code is not None and code.used_at is None and code.expires_at > timezone.now()
            and code.attempts < MAX_CODE_ATTEMPTS)


# --- identities -----------------------------------------------------------------------------------------------
def identity_link(*, reader: Reader, channel: Any, person_id: str, person_name: str, consent_text: ConsentText,
                  code: LinkCode, at: Any = None) -> ReaderIdentity:
    """Record the consent and link the identity (the dialogue calls this after an explicit yes)."""
    now = at or timezone.now()
    with transaction.atomic():
        # Single use even when two dialogues race with the same code: only one conditional UPDATE takes it.
        if not LinkCode.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=now):
            raise CodeUsed(code.pk)
        code.used_at = now
        consent = ReaderConsent.objects.create(reader=reader, system_id=reader.system_id, channel=channel,
                                               person_id=person_id[:100], consent_text=consent_text,
                                               version=consent_text.version, given_at=now)
        identity, _created = ReaderIdentity.objects.update_or_create(
            channel=channel, person_id=person_id[:100],
            defaults={"reader": reader, "person_name": person_name[:200], "consent": consent, "linked_at": now,
                      "stopped_at": None})
        audit_record(None, "circulation.identity.link", reader,
                     {"channel": channel.pk, "consent_version": consent_text.version}, system_id=reader.system_id)
    return identity


def identity_unlink(identity: ReaderIdentity, *, actor: Any = None) -> None:
    """Remove the link (the reader's «отвязать», or staff); the consent is marked withdrawn."""
    reader = identity.reader
    if actor is not None:
        _check_staff(actor, reader)
    now = timezone.now()
    with transaction.atomic():
        if identity.consent_id:
            ReaderConsent.objects.filter(pk=identity.consent_id, withdrawn_at__isnull=True).update(withdrawn_at=now)
        audit_record(actor, "circulation.identity.unlink", reader, {"channel": identity.channel_id},
                     system_id=reader.system_id)
        cancel_pending_reminders(identity.channel_id, identity.person_id)
        identity.delete()


def identity_stop(identity: ReaderIdentity, *, stopped: bool) -> None:
    """«стоп»: no more reminders (today's not yet sent are cancelled); the link stays. ``stopped=False`` resumes."""
    identity.stopped_at = timezone.now() if stopped else None
    identity.save(update_fields=["stopped_at"])
    if stopped:
        cancel_pending_reminders(identity.channel_id, identity.person_id)


def cancel_pending_reminders(channel_id: int, person_id: str) -> int:
    pending = list(OutgoingMessage.objects.filter(channel_id=channel_id, recipient_id=person_id, purpose="reminder",
                                                  state=OutgoingMessage.State.SCHEDULED))
    for message in pending:
        message_cancel(actor=None, message=message)
    return len(pending)


# --- a reader's data for staff --------------------------------------------------------------------------------
def reader_data(reader: Reader) -> dict[str, Any]:
    """Everything Filial holds about a reader (the export)."""
    identities = list(ReaderIdentity.objects.filter(reader=reader).select_related("channel"))
    consents = list(ReaderConsent.objects.filter(reader=reader).select_related("consent_text"))
    reminders = list(Reminder.objects.filter(reader=reader).select_related("message").prefetch_related("loans"))
    actions = list(DialogueAction.objects.filter(reader=reader))
    return {
        "reader": {"card": reader.card, "name": reader.name, "unit": reader.unit.name},
        "loans": [{"barcode": loan.barcode, "title": loan.title, "issued": str(loan.issued), "due": str(loan.due),
                   "returned": str(loan.returned or ""), "renewals": loan.renewals}
                  for loan in reader.loans.all()],
        "identities": [{"page": i.channel.name, "network": i.channel.network, "person_id": i.person_id,
                        "name": i.person_name, "linked_at": i.linked_at.isoformat(),
                        "reminders_stopped_at": i.stopped_at.isoformat() if i.stopped_at else ""}
                       for i in identities],
        "consents": [{"version": c.version, "purpose": c.consent_text.purpose, "text": c.consent_text.text,
                      "given_at": c.given_at.isoformat(), "page": c.channel_id or "", "person_id": c.person_id,
                      "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else ""} for c in consents],
        "reminders": [{"date": str(r.date), "state": r.state, "loans": [loan.barcode for loan in r.loans.all()],
                       "text": r.message.text if r.message else ""} for r in reminders],
        "dialogue": [{"at": a.created_at.isoformat(), "kind": a.kind, "heard": a.heard, "answer": a.text}
                     for a in actions],
    }


def reader_export(*, actor: Any, reader: Reader, fmt: str = "json") -> tuple[str, str]:
    """The reader's data as (content type, text): JSON, or CSV rows of (section, field, value)."""
    _check_staff(actor, reader)
    data = reader_data(reader)
    audit_record(actor, "circulation.reader.export", reader, {"format": fmt}, system_id=reader.system_id)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["section", "row", "field", "value"])
        for section, value in data.items():
            rows = value if isinstance(value, list) else [value]
            for n, row in enumerate(rows, 1):
                for key, cell in row.items():
                    writer.writerow(csv_row([section, n, key, cell if not isinstance(cell, list) else " ".join(cell)]))
        return "text/csv; charset=utf-8", out.getvalue()
    return "application/json", json.dumps(data, ensure_ascii=False, indent=2)


def _check_erase(actor: Any, reader: Reader) -> None:
    if reader.unit_id not in reader_units(actor) or not access_for(actor).can_erase(reader.unit_id):
        raise PermissionDenied(_("Only the unit's methodologist or an administrator erases a reader's data."))


def reader_erase(*, actor: Any, reader: Reader) -> dict[str, int]:
    """Erase the reader from Filial: the card, name, loans, link codes and identity links go; the texts of the
    dialogue, the messages and the reader's comments anywhere in the system are blanked and their network ids
    pseudonymised (:func:`filial.inbox.privacy.erase_person_rows`). What stays has no personal data: reminder and
    message counts, the dialogue's steps, and the consent record as proof (dates, version, page, pseudonym).

    The library system (the import, SIP2, Koha) is the source of the reader's record: a reader it still holds comes
    back with the next import."""
    _check_erase(actor, reader)
    with transaction.atomic():
        counts = erase_reader_rows(reader)
        audit_record(actor, "circulation.reader.erase", reader.unit, {"reader": reader.pk, **counts},
                     system_id=reader.system_id)
    if not connection.in_atomic_block:
        database_scrub()
    return counts


def erase_person_links(*, channel_ids: list[int], person_id: str, alias: str, now: datetime) -> None:
    """The readers' part of erasing one network identity (:func:`filial.inbox.privacy.erase_person_rows`, registered
    in ``ReadersConfig.ready``): identity links go (their consent withdrawn), the consent records keep the
    pseudonym as proof, the dialogue's state goes and its steps lose the words."""
    identities = list(ReaderIdentity.objects.filter(channel_id__in=channel_ids, person_id=person_id))
    for identity in identities:
        if identity.consent_id:
            ReaderConsent.objects.filter(pk=identity.consent_id, withdrawn_at__isnull=True).update(withdrawn_at=now)
    ReaderIdentity.objects.filter(pk__in=[i.pk for i in identities]).delete()
    ReaderConsent.objects.filter(channel_id__in=channel_ids, person_id=person_id).update(
        person_id=alias, erased_at=now)
    DialogueState.objects.filter(channel_id__in=channel_ids, person_id=person_id).delete()
    DialogueAction.objects.filter(channel_id__in=channel_ids, person_id=person_id).update(
        heard="", text="", person_id=alias)


def erase_reader_rows(reader: Reader) -> dict[str, int]:
    """The erasure's rows (no access check; inside the caller's transaction)."""
    now = timezone.now()
    system_channels = list(Channel.objects.filter(unit__system_id=reader.system_id).values_list("pk", "network"))
    network_of = dict(system_channels)
    pairs: set[tuple[str, str]] = set()
    for channel_id, person_id in ReaderIdentity.objects.filter(reader=reader).values_list("channel_id", "person_id"):
        pairs.add((network_of.get(channel_id, ""), person_id))
    for channel_id, person_id in DialogueAction.objects.filter(reader=reader).exclude(person_id="").values_list(
            "channel_id", "person_id"):
        pairs.add((network_of.get(channel_id, ""), person_id))
    for channel_id, person_id in DialogueState.objects.filter(
            Q(reader=reader) | Q(card=reader.card, channel_id__in=list(network_of))).values_list(
            "channel_id", "person_id"):
        pairs.add((network_of.get(channel_id, ""), person_id))
    consents = list(ReaderConsent.objects.filter(reader=reader).select_related("channel"))
    for consent in consents:
        if consent.channel is not None and consent.person_id and not is_pseudonym(consent.person_id):
            pairs.add((consent.channel.network, consent.person_id))
    # The proof first: the consent rows lose the reader and get the pseudonym.
    for consent in consents:
        network = consent.channel.network if consent.channel is not None else ""
        consent.person_id = pseudonym(network, consent.person_id) if consent.person_id else ""
        consent.reader = None
        consent.withdrawn_at = consent.withdrawn_at or now
        consent.erased_at = now
    ReaderConsent.objects.bulk_update(consents, ["person_id", "reader", "withdrawn_at", "erased_at"])

    counts = {"identities": ReaderIdentity.objects.filter(reader=reader).count(), "messages": 0, "items": 0,
              "loans": Loan.objects.filter(reader=reader).count()}
    message_ids = set(Reminder.objects.filter(reader=reader, message__isnull=False)
                      .values_list("message_id", flat=True))
    message_ids |= set(DialogueAction.objects.filter(reader=reader, message__isnull=False)
                       .values_list("message_id", flat=True))
    for network, person_id in sorted(pairs):
        channel_ids = [pk for pk, net in system_channels if net == network]
        done = erase_person_rows(channel_ids=channel_ids, network=network, person_id=person_id,
                                 names=[reader.card, reader.name])
        counts["items"] += done["items"]
        counts["messages"] += done["messages"]
    OutgoingMessage.objects.filter(pk__in=message_ids, state=OutgoingMessage.State.SCHEDULED).update(
        state=OutgoingMessage.State.CANCELLED)
    OutgoingMessage.objects.filter(pk__in=message_ids).exclude(text=ERASED_TEXT).update(text=ERASED_TEXT, reply_to={})
    DialogueAction.objects.filter(reader=reader).update(heard="", text="", reader=None)
    DialogueState.objects.filter(Q(reader=reader) | Q(card=reader.card, channel_id__in=list(network_of))).delete()
    Reminder.objects.filter(reader=reader).update(reader=None)
    audit_scrub([reader.card, reader.name], ERASED, objects=[("circulation.reader", [reader.pk])])
    _scrub_import_errors(reader)
    reader.delete()  # with its loans (and their renewal requests), link codes and identities
    return counts


def _scrub_import_errors(reader: Reader) -> None:
    """Imports' row errors quote the rows they refused: remove the card and the name from them."""
    words = [w for w in (reader.card, reader.name) if w]
    query = Q()
    for word in words:
        query |= Q(row_errors__icontains=word) | Q(row_errors__icontains=json.dumps(word)[1:-1])
    if not words:
        return
    jobs = list(ImportJob.objects.filter(unit__system_id=reader.system_id).filter(query))
    for job in jobs:
        text = json.dumps(job.row_errors, ensure_ascii=False)
        for word in words:
            text = text.replace(json.dumps(word, ensure_ascii=False)[1:-1], ERASED)
        job.row_errors = json.loads(text)
    ImportJob.objects.bulk_update(jobs, ["row_errors"])


# --- consent proof and retention ------------------------------------------------------------------------------
def consent_proof(*, network: str, person_id: str) -> list[ReaderConsent]:
    """The consent records of a network identity, before or after erasure (found by its pseudonym)."""
    ids = {person_id, pseudonym(network, person_id)}
    return list(ReaderConsent.objects.filter(person_id__in=list(ids)).select_related("consent_text", "channel")
                .order_by("given_at", "id"))


def retention_days() -> int:
    return int(settings.FILIAL_READER_RETENTION_DAYS)


def retention_due(now: Any = None) -> list[int]:
    """Readers to erase: no loan on hand, and nothing happened for the retention period (the last loan
    returned, the last word in the dialogue, the last link, the record's creation)."""
    days = retention_days()
    if days <= 0:
        return []
    cutoff = (now or timezone.now()) - timedelta(days=days)
    cutoff_day = cutoff.date()
    recent_loans = Loan.objects.filter(Q(returned__isnull=True) | Q(returned__gt=cutoff_day) | Q(due__gt=cutoff_day)
                                       | Q(issued__gt=cutoff_day))
    return list(Reader.objects.filter(created_at__lt=cutoff)
                .exclude(pk__in=recent_loans.values("reader_id"))
                .exclude(pk__in=DialogueAction.objects.filter(created_at__gte=cutoff, reader__isnull=False)
                         .values("reader_id"))
                .exclude(pk__in=ReaderIdentity.objects.filter(linked_at__gte=cutoff).values("reader_id"))
                .exclude(pk__in=LinkCode.objects.filter(created_at__gte=cutoff).values("reader_id"))
                .values_list("pk", flat=True).order_by("pk"))


def retention_run(now: Any = None, *, limit: int = 500) -> dict[str, int]:
    """Erase the readers whose retention period ended (each in its own transaction, audited without personal
    data), and blank dialogue texts older than the period that belong to no reader."""
    done = {"readers": 0, "dialogue": 0}
    for reader_id in retention_due(now)[:limit]:
        with transaction.atomic():
            reader = Reader.objects.select_for_update().filter(pk=reader_id).select_related("unit").first()
            if reader is None:
                continue
            counts = erase_reader_rows(reader)
            audit_record(None, "circulation.reader.retention", reader.unit, {"reader": reader_id, **counts},
                         system_id=reader.system_id)
        done["readers"] += 1
    days = retention_days()
    if days > 0:
        cutoff = (now or timezone.now()) - timedelta(days=days)
        done["dialogue"] = DialogueAction.objects.filter(reader__isnull=True, created_at__lt=cutoff).exclude(
            heard="", text="").update(heard="", text="")
    if done["readers"] and not connection.in_atomic_block:
        database_scrub()
    return done

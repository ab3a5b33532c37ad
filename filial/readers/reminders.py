"""Due-date reminders: rules (per library system, overridable per unit), safe templates, plural forms, planning
(one digest per reader, page and local day) and the state of what was sent.

Planning never writes to a person who did not allow the page to write (``MessagingConsent``), who said «стоп»,
or whose link has no consent; every message goes through ``message_send`` with a per reader-page-day key, so
planning twice the same day sends nothing twice.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.circulation.models import Loan, Reader
from filial.core.timeutils import local_to_aware
from filial.inbox.models import MessagingConsent
from filial.libraries.models import LibrarySystem, Unit
from filial.publishing.messages import message_send
from filial.publishing.models import OutgoingMessage
from filial.readers.models import ReaderIdentity, Reminder, ReminderRule

log = logging.getLogger("filial.circulation")

PLACEHOLDERS = ("name", "library", "books", "loans", "count")
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
FINAL_STATES = ("sent", "failed", "cancelled")
CHUNK = 500  # readers planned per transaction


def default_template() -> str:
    return _("Hello, {name}! {library} reminds you about {books}:\n{loans}\n"
             "Reply «продлить» to renew, «мои книги» to see your loans, «стоп» to stop reminders.")


def books_phrase(count: int) -> str:
    """«1 книга», «2 книги», «5 книг» (the language's plural forms)."""
    return ngettext("%(count)d book", "%(count)d books", count) % {"count": count}


def days_phrase(count: int) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}``-style placeholders; anything else (other braces, attribute access) is left as written."""
    return PLACEHOLDER_RE.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), template)


def template_errors(template: str) -> list[str]:
    unknown = sorted({m for m in PLACEHOLDER_RE.findall(template) if m not in PLACEHOLDERS})
    if unknown:
        return [_("Unknown placeholders: %(names)s. Use %(known)s.") % {
            "names": ", ".join("{" + n + "}" for n in unknown),
            "known": ", ".join("{" + n + "}" for n in PLACEHOLDERS)}]
    return []


def loan_line(n: int, loan: Loan, today: date) -> str:
    line = _("%(n)d. %(title)s — due %(due)s") % {"n": n, "title": loan.title or loan.barcode,
                                                  "due": date_format(loan.due, "SHORT_DATE_FORMAT")}
    if loan.due < today:
        line += " " + _("(overdue by %(days)s)") % {"days": days_phrase((today - loan.due).days)}
    return line


def loans_text(loans: list[Loan], today: date) -> str:
    return "\n".join(loan_line(n, loan, today) for n, loan in enumerate(loans, 1))


def open_loans(reader: Reader | int) -> list[Loan]:
    reader_id = reader if isinstance(reader, int) else reader.pk
    return list(Loan.objects.filter(reader_id=reader_id, returned__isnull=True).order_by("due", "id"))


# --- rules -------------------------------------------------------------------------------------------------
def rules_for_units(units: list[Unit]) -> dict[int, ReminderRule]:
    """The rule of each unit: its own, else its library system's, else the defaults (one query)."""
    system_ids = {u.system_id for u in units}
    rows = list(ReminderRule.objects.filter(system_id__in=system_ids))
    by_unit = {r.unit_id: r for r in rows if r.unit_id}
    by_system = {r.system_id: r for r in rows if r.unit_id is None}
    out: dict[int, ReminderRule] = {}
    for unit in units:
        out[unit.pk] = by_unit.get(unit.pk) or by_system.get(unit.system_id) or ReminderRule(system_id=unit.system_id)
    return out


def rule_for(unit: Unit) -> ReminderRule:
    return rules_for_units([unit])[unit.pk]


def rule_template(rule: ReminderRule) -> str:
    return rule.template.strip() or default_template()


def rule_save(*, actor: Any, system: LibrarySystem, unit: Unit | None, data: dict[str, Any]) -> ReminderRule:
    """Create or change the rule of a library system (administrators) or a unit's override (methodologists of
    the unit and administrators)."""
    access = access_for(actor)
    allowed = access.is_admin_of(system.pk) or (unit is not None and access.can_approve(unit.pk))
    if not allowed:
        raise PermissionDenied(_("You cannot change the reminder rules here."))
    errors = template_errors(str(data.get("template", "")))
    quiet_start, quiet_end = data.get("quiet_start"), data.get("quiet_end")
    if not isinstance(quiet_start, time) or not isinstance(quiet_end, time):
        errors.append(_("Enter the quiet hours."))
    if errors:
        raise ValidationError({"template": errors})
    fields = ("enabled", "pre_due_days", "on_due", "overdue_steps", "quiet_start", "quiet_end", "template",
              "return_window_days")
    with transaction.atomic():
        rule = ReminderRule.objects.filter(system=system, unit=unit).first() if unit else \
            ReminderRule.objects.filter(system=system, unit__isnull=True).first()
        if rule is None:
            rule = ReminderRule(system=system, unit=unit)
        for name in fields:
            if name in data:
                setattr(rule, name, data[name])
        rule.updated_by = actor
        rule.save()
        audit_record(actor, "circulation.reminder_rule.save", rule,
                     {name: str(data.get(name, "")) for name in fields if name in data}, system_id=system.pk)
    return rule


def step_of(due: date, today: date, rule: ReminderRule) -> str:
    """Which step of the rule ``due`` hits today: "pre", "due", "+N" (days overdue), or ""."""
    if rule.pre_due_days and due == today + timedelta(days=rule.pre_due_days):
        return "pre"
    if rule.on_due and due == today:
        return "due"
    overdue = (today - due).days
    if overdue > 0 and overdue in rule.steps:
        return f"+{overdue}"
    return ""


def in_quiet_hours(moment: time, rule: ReminderRule) -> bool:
    start, end = rule.quiet_start, rule.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # across midnight


def send_time(now: datetime, unit: Unit, rule: ReminderRule) -> datetime:
    """``now``, or the end of the unit's quiet hours when ``now`` falls inside them (in the unit's zone)."""
    local = timezone.localtime(now, unit.tz)
    if not in_quiet_hours(local.time().replace(tzinfo=None), rule):
        return now
    end_day = local.date()
    if rule.quiet_start > rule.quiet_end and local.time().replace(tzinfo=None) >= rule.quiet_start:
        end_day += timedelta(days=1)
    return local_to_aware(datetime.combine(end_day, rule.quiet_end), unit.tz)


# --- planning ------------------------------------------------------------------------------------------------
@dataclass
class PlanReport:
    readers: int = 0
    planned: int = 0
    existing: int = 0
    not_allowed: int = 0
    messages: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"readers": self.readers, "planned": self.planned, "existing": self.existing,
                "not_allowed": self.not_allowed}


def eligible_identities(unit_ids: list[int] | None = None) -> list[ReaderIdentity]:
    """Linked identities with a consent that stands, reminders not stopped, and the network's permission to
    write (``MessagingConsent.allowed``)."""
    qs = (ReaderIdentity.objects.filter(stopped_at__isnull=True, consent__isnull=False,
                                        consent__withdrawn_at__isnull=True)
          .select_related("reader__unit__system", "channel"))
    if unit_ids is not None:
        qs = qs.filter(reader__unit_id__in=unit_ids)
    identities = list(qs)
    channel_ids = {i.channel_id for i in identities}
    allowed = set(MessagingConsent.objects.filter(channel_id__in=channel_ids, allowed=True)
                  .values_list("channel_id", "person_id"))
    return [i for i in identities if (i.channel_id, i.person_id) in allowed]


def plan(*, now: datetime | None = None, unit_ids: list[int] | None = None) -> PlanReport:
    """Plan today's digests (each reader's local day, in the zone of the reader's unit). Idempotent."""

    now = now or timezone.now()
    report = PlanReport()
    identities = eligible_identities(unit_ids)
    if unit_ids is None:
        total = ReaderIdentity.objects.filter(stopped_at__isnull=True, consent__isnull=False).count()
    else:
        total = ReaderIdentity.objects.filter(stopped_at__isnull=True, consent__isnull=False,
                                              reader__unit_id__in=unit_ids).count()
    report.not_allowed = total - len(identities)
    if not identities:
        return report
    by_reader: dict[int, list[ReaderIdentity]] = defaultdict(list)
    readers: dict[int, Reader] = {}
    for identity in identities:
        by_reader[identity.reader_id].append(identity)
        readers[identity.reader_id] = identity.reader
    home_units = {r.unit_id: r.unit for r in readers.values()}
    today_of = {uid: timezone.localtime(now, unit.tz).date() for uid, unit in home_units.items()}
    lowest, highest = min(today_of.values()), max(today_of.values())
    linked = ReaderIdentity.objects.filter(stopped_at__isnull=True, consent__isnull=False).values("reader_id")
    loans = [loan for loan in Loan.objects.filter(
        reader_id__in=linked, returned__isnull=True, due__gte=lowest - timedelta(days=400),
        due__lte=highest + timedelta(days=60)).select_related("unit__system").order_by("reader_id", "due", "id")
        if loan.reader_id in readers]
    units = {loan.unit_id: loan.unit for loan in loans} | home_units
    rules = rules_for_units(list(units.values()))
    hits: dict[int, list[tuple[Loan, str]]] = defaultdict(list)
    for loan in loans:
        reader = readers[loan.reader_id]
        rule = rules[loan.unit_id]
        if not rule.enabled:
            continue
        step = step_of(loan.due, today_of[reader.unit_id], rule)
        if step:
            hits[loan.reader_id].append((loan, step))
    if not hits:
        return report
    days = {today_of[readers[rid].unit_id] for rid in hits}
    existing = set(Reminder.objects.filter(reader_id__in=list(hits), date__in=days)
                   .values_list("reader_id", "channel_id", "date"))
    reader_ids = list(hits)
    for first in range(0, len(reader_ids), CHUNK):
        try:
            _plan_chunk(reader_ids[first:first + CHUNK], hits, readers, by_reader, today_of, rules, existing, now,
                        report)
        except IntegrityError:  # a concurrent planner took some of these readers first: its rows stand
            log.warning("reminders: a concurrent planning run; %d readers left to it", len(reader_ids[first:]))
    return report


def _plan_chunk(reader_ids: list[int], hits: dict[int, list[tuple[Loan, str]]], readers: dict[int, Reader],
                by_reader: dict[int, list[ReaderIdentity]], today_of: dict[int, date],
                rules: dict[int, ReminderRule], existing: set[tuple[int, int, date]], now: datetime,
                report: PlanReport) -> None:
    """One transaction: the digests' messages (``message_send``, idempotent by key), then their reminders."""
    rows: list[tuple[Reminder, list[Loan]]] = []
    with transaction.atomic():
        for reader_id in reader_ids:
            loan_steps = hits[reader_id]
            reader = readers[reader_id]
            unit = reader.unit
            day = today_of[unit.pk]
            rule = rules[unit.pk]
            listed = [loan for loan, _step in loan_steps]
            text = render(rule_template(rule), {
                "name": reader.name or reader.card, "library": unit.short_name or unit.name,
                "books": books_phrase(len(listed)), "count": str(len(listed)), "loans": loans_text(listed, day)})
            report.readers += 1
            for identity in by_reader[reader_id]:
                if (reader_id, identity.channel_id, day) in existing:
                    report.existing += 1
                    continue
                key = f"reminder:{reader_id}:{identity.channel_id}:{day}"
                message = message_send(channel=identity.channel, recipient_id=identity.person_id, text=text,
                                       purpose="reminder", dedupe_key=key, due_at=send_time(now, unit, rule))
                rows.append((Reminder(reader_id=reader_id, channel_id=identity.channel_id, date=day, unit=unit,
                                      message=message, state=message.state,
                                      steps={str(loan.pk): step for loan, step in loan_steps}), listed))
        Reminder.objects.bulk_create([reminder for reminder, _listed in rows], batch_size=500)
        if rows and rows[0][0].pk is None:  # a backend that cannot return ids from a bulk insert
            ids = {(r, c): pk for pk, r, c in Reminder.objects.filter(
                reader_id__in=reader_ids, date__in={r.date for r, _l in rows}).values_list("pk", "reader_id",
                                                                                          "channel_id")}
            for reminder, _listed in rows:
                reminder.pk = ids[(reminder.reader_id, reminder.channel_id)]
        through = Reminder.loans.through
        through.objects.bulk_create([through(reminder_id=reminder.pk, loan_id=loan.pk)
                                     for reminder, listed in rows for loan in listed], batch_size=1000)
    report.planned += len(rows)
    report.messages += [reminder.message_id for reminder, _listed in rows if reminder.message_id]


def sync_states() -> int:
    """Mirror the messages' states onto the reminders that are not final yet."""
    changed = 0
    for state in OutgoingMessage.State.values:
        changed += (Reminder.objects.exclude(state__in=FINAL_STATES).exclude(state=state)
                    .filter(message__state=state).update(state=state))
    return changed
